package changelog

import (
	"testing"

	"github.com/rillstreams/rill/processor"
	"github.com/rillstreams/rill/serde"
	"github.com/rillstreams/rill/state"
	"github.com/rillstreams/rill/state/memory"
	"github.com/rillstreams/rill/state/rocksdb"
)

// Empty sees into every store kind package state builds, on both backends, without
// writing anything: an empty store says so, one entry is enough to say otherwise.
func TestStoreEmpty(t *testing.T) {
	rdb, err := rocksdb.NewBackend(rocksdb.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer rdb.Close()
	opts := state.WindowOptions{Retention: 3_600_000}
	for _, b := range []state.Backend{memory.Backend(), rdb} {
		dir := t.TempDir()
		kv, err := b.KeyValue("kv", dir)
		if err != nil {
			t.Fatal(err)
		}
		win, err := b.Window("win", dir, opts)
		if err != nil {
			t.Fatal(err)
		}
		ses, err := b.Session("ses", dir, opts)
		if err != nil {
			t.Fatal(err)
		}
		stores := map[string]processor.Store{
			"kv":      state.NewKeyValueStore(kv, serde.String(), serde.String()),
			"window":  state.NewWindowStore(win, serde.String(), serde.String()),
			"session": state.NewSessionStore(ses, serde.String(), serde.String()),
		}
		check := func(when string, want bool) {
			t.Helper()
			for name, s := range stores {
				empty, known, err := Empty(s)
				if err != nil || !known || empty != want {
					t.Errorf("%s %s %s: Empty = %v, %v, %v; want %v, true, nil", b.Name(), name, when, empty, known, err, want)
				}
			}
		}
		check("fresh", true)
		if err := kv.Put([]byte("k"), []byte("v")); err != nil {
			t.Fatal(err)
		}
		if err := win.Put([]byte("k"), []byte("v"), 1_000_000); err != nil {
			t.Fatal(err)
		}
		if err := ses.Put([]byte("k"), 1_000_000, 1_000_500, []byte("v")); err != nil {
			t.Fatal(err)
		}
		check("written", false)
		for _, s := range stores {
			_ = s.Close()
		}
	}
	if _, known, _ := Empty(nil); known {
		t.Error("a store of unknown kind was looked into")
	}
}
