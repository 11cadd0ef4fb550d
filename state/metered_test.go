package state_test

import (
	"testing"

	"github.com/rillstreams/rill/serde"
	"github.com/rillstreams/rill/state"
	"github.com/rillstreams/rill/state/memory"
)

// opCounts returns each operation's count in s, and checks that the buckets never hold more
// than the count.
func opCounts(t *testing.T, s state.StoreStats) map[string]uint64 {
	t.Helper()
	out := map[string]uint64{}
	for _, op := range s.Ops {
		var inBuckets uint64
		for _, c := range op.Counts {
			inBuckets += c
		}
		if inBuckets > op.Count {
			t.Errorf("%s: %d in buckets, %d counted", op.Op, inBuckets, op.Count)
		}
		if op.Sum < 0 || (op.Count == 0 && op.Sum != 0) {
			t.Errorf("%s: %d operations took %v s", op.Op, op.Count, op.Sum)
		}
		out[op.Op.String()] = op.Count
	}
	return out
}

func wantCounts(t *testing.T, got, want map[string]uint64) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("operations %v, want %v", got, want)
	}
	for op, n := range want {
		if got[op] != n {
			t.Errorf("%s: %d, want %d (all: %v)", op, got[op], n, got)
		}
	}
}

// A metered key-value store counts what the typed view and Bytes ask, iterators once closed,
// and not what restoration writes.
func TestMeterKeyValueStore(t *testing.T) {
	s, err := state.NewKeyValueStoreBuilder("kv", serde.String(), serde.Int64()).WithLogging(false).
		WithBackend(memory.Backend()).Build(state.StoreContext{})
	if err != nil {
		t.Fatal(err)
	}
	kv := s.(*state.KeyValueStore[string, int64])
	m := state.Meter(kv)
	if m == nil || m.Store() != "kv" {
		t.Fatalf("Meter: %v", m)
	}
	if again := state.Meter(kv); again != m {
		t.Fatal("Meter twice made a second layer")
	}
	for i, k := range []string{"a", "b", "c"} {
		if err := kv.Put(k, int64(i)); err != nil {
			t.Fatal(err)
		}
	}
	if _, ok, err := kv.Get("b"); !ok || err != nil {
		t.Fatalf("get b: %v %v", ok, err)
	}
	if err := kv.Delete("c"); err != nil {
		t.Fatal(err)
	}
	b := kv.Bytes()
	if _, err := b.PutIfAbsent([]byte("d"), []byte{0, 0, 0, 0, 0, 0, 0, 1}); err != nil {
		t.Fatal(err)
	}
	it, err := b.Range([]byte("a"), []byte("z"))
	if err != nil {
		t.Fatal(err)
	}
	for it.Next() {
	}
	wantCounts(t, opCounts(t, m.Snapshot()), map[string]uint64{"put": 3, "put-if-absent": 1, "get": 1,
		"delete": 1, "range": 0, "all": 0, "prefix-scan": 0, "flush": 0})
	_ = it.Close()
	_ = it.Close() // a second Close counts nothing
	for _, open := range []func() (state.KeyValueIterator, error){b.All, func() (state.KeyValueIterator, error) { return b.PrefixScan([]byte("a")) },
		func() (state.KeyValueIterator, error) { return b.ReverseRange(nil, nil) }} {
		it, err := open()
		if err != nil {
			t.Fatal(err)
		}
		_ = it.Close()
	}
	if err := kv.Restore([]byte("e"), []byte{0, 0, 0, 0, 0, 0, 0, 2}); err != nil {
		t.Fatal(err)
	}
	if err := kv.Flush(); err != nil {
		t.Fatal(err)
	}
	wantCounts(t, opCounts(t, m.Snapshot()), map[string]uint64{"put": 3, "put-if-absent": 1, "get": 1,
		"delete": 1, "range": 2, "all": 1, "prefix-scan": 1, "flush": 1})
	if v, ok, _ := kv.Get("e"); !ok || v != 2 {
		t.Errorf("restored e: %v %v", v, ok)
	}
	if state.TransactionalOf(kv) != state.TransactionalOf(kv) {
		t.Error("unstable transactional store")
	}
}

// Gets and puts through the metered layer allocate nothing more than without it.
func TestMeterAllocatesNothingPerOperation(t *testing.T) {
	plain := memory.NewKeyValueStore("plain")
	metered := state.NewKeyValueStore(memory.NewKeyValueStore("metered"), serde.Bytes(), serde.Bytes())
	state.Meter(metered)
	key, value := []byte("key"), []byte("value")
	for _, b := range []state.KeyValueBytesStore{plain, metered.Bytes()} {
		_ = b.Put(key, value)
	}
	allocs := func(b state.KeyValueBytesStore) float64 {
		return testing.AllocsPerRun(200, func() {
			_ = b.Put(key, value)
			_, _ = b.Get(key)
			_ = b.Flush()
		})
	}
	if p, m := allocs(plain), allocs(metered.Bytes()); m > p {
		t.Errorf("metered put+get+flush: %v allocations, unmetered %v", m, p)
	}
}

// A cached store stays cached under the metered layer: its flush listener, Cached and
// FlushCache see the cache, and the cache's flush into the store beneath is not a put.
func TestMeterCachedStore(t *testing.T) {
	s, err := state.NewKeyValueStoreBuilder("cached", serde.String(), serde.Int64()).WithLogging(false).
		WithCaching(true).WithBackend(memory.Backend()).
		Build(state.StoreContext{Cache: state.NewRecordCache(1 << 20)})
	if err != nil {
		t.Fatal(err)
	}
	kv := s.(*state.KeyValueStore[string, int64])
	m := state.Meter(kv)
	var flushed []string
	if !kv.SetFlushListener(false, func(r state.CachedRecord[string, int64]) error {
		flushed = append(flushed, r.Key)
		return nil
	}) || !kv.Cached() {
		t.Fatal("metered cached store is not cached")
	}
	_ = kv.Put("a", 1)
	_ = kv.Put("a", 2)
	if err := kv.FlushCache(); err != nil {
		t.Fatal(err)
	}
	if len(flushed) != 1 || flushed[0] != "a" {
		t.Errorf("flushed %v, want [a]", flushed)
	}
	wantCounts(t, opCounts(t, m.Snapshot()), map[string]uint64{"put": 2, "put-if-absent": 0, "get": 0,
		"delete": 0, "range": 0, "all": 0, "prefix-scan": 0, "flush": 0})
}

// Window and session stores count puts, fetches (iterators when closed), removes and flushes.
func TestMeterWindowAndSessionStores(t *testing.T) {
	wo := state.WindowOptions{Retention: 60_000}
	ws, err := state.NewWindowStoreBuilder("w", serde.String(), serde.Int64(), wo).WithLogging(false).
		WithBackend(memory.Backend()).Build(state.StoreContext{})
	if err != nil {
		t.Fatal(err)
	}
	w := ws.(*state.WindowStore[string, int64])
	wm := state.Meter(w)
	_ = w.Put("a", 1, 0)
	_ = w.Put("a", 2, 1000)
	if _, ok, _ := w.Fetch("a", 0); !ok {
		t.Error("fetch a@0: none")
	}
	if got, _ := w.FetchRange("a", 0, 1000); len(got) != 2 {
		t.Errorf("fetch range: %v", got)
	}
	if got, _ := w.All(); len(got) != 2 {
		t.Errorf("all: %v", got)
	}
	_ = w.Flush()
	wantCounts(t, opCounts(t, wm.Snapshot()), map[string]uint64{"put": 2, "fetch": 3, "flush": 1})

	ss, err := state.NewSessionStoreBuilder("s", serde.String(), serde.Int64(), wo).WithLogging(false).
		WithBackend(memory.Backend()).Build(state.StoreContext{})
	if err != nil {
		t.Fatal(err)
	}
	se := ss.(*state.SessionStore[string, int64])
	sm := state.Meter(se)
	_ = se.Put("a", 0, 10, 1)
	_ = se.Put("b", 0, 10, 1)
	if got, _ := se.FindSessions("a", 0, 100); len(got) != 1 {
		t.Errorf("find sessions: %v", got)
	}
	_ = se.Remove("b", 0, 10)
	if got, _ := se.Fetch("b"); len(got) != 0 {
		t.Errorf("b after remove: %v", got)
	}
	wantCounts(t, opCounts(t, sm.Snapshot()), map[string]uint64{"put": 2, "remove": 1, "fetch": 2, "flush": 0})
}

// Stores this package did not build are left alone.
func TestMeterOtherStores(t *testing.T) {
	if m := state.Meter(memory.NewKeyValueStore("raw")); m != nil {
		t.Errorf("Meter of a byte store: %v", m)
	}
}
