package rill_test

import (
	"context"
	"testing"
	"time"

	"github.com/rillstreams/rill"
	"github.com/rillstreams/rill/dsl"
	"github.com/rillstreams/rill/kafkatest"
	"github.com/rillstreams/rill/serde"
	"github.com/rillstreams/rill/state"
)

// A versioned table on the broker: its history is queryable as of a time, and an instance
// with an empty state directory rebuilds the same history from the store's changelog (the
// versioned changelog format: one record per version, restored through the runtime).
func TestVersionedTableQueryAndRestore(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	broker := newBroker(t, ctx, 1, "prices", "out")
	base := time.Now().Add(-time.Hour).UnixMilli()
	rec := func(k, v string, dt int64) kafkatest.Record {
		r := kafkatest.Record{Topic: "prices", Key: []byte(k), Timestamp: time.UnixMilli(base + dt)}
		if v != "" {
			r.Value = []byte(v)
		}
		return r
	}
	// b's tombstone at 30 and the out-of-order update of a at 15 are history too.
	must(t, broker.Produce(ctx, rec("a", "p10", 10), rec("a", "p20", 20), rec("a", "p15", 15),
		rec("b", "q5", 5), rec("b", "", 30)))
	build := func() *dsl.Builder {
		b := dsl.NewBuilder()
		prices := b.Table("prices", serde.String(), serde.String(), dsl.Materialized("prices-store").WithVersioned(time.Hour))
		prices.ToStream().To("out", dsl.WithSerdes(serde.String(), serde.String()))
		// A derived table in a versioned store of its own: the same versions, out-of-order
		// ones and tombstones included, logged and restored the same way.
		prices.Filter(func(string, string) bool { return true }, dsl.Materialized("filtered-store").WithVersioned(time.Hour))
		return b
	}
	type probe struct {
		key  string
		asOf int64 // relative to base; -1: latest
		want string
		from int64
		to   int64 // relative; -1: none
	}
	probes := []probe{
		{"a", -1, "p20", 20, -1}, {"a", 12, "p10", 10, 15}, {"a", 17, "p15", 15, 20}, {"a", 9, "", 0, 0},
		{"b", 10, "q5", 5, 30}, {"b", 31, "", 0, 0}, {"b", -1, "", 0, 0},
	}
	check := func(app *rill.App, label, store string) {
		t.Helper()
		vs := rill.VersionedKeyValueStore(app, store, serde.String(), serde.String())
		for _, p := range probes {
			var row rill.VersionedRow[string, string]
			var ok bool
			var err error
			for {
				if p.asOf < 0 {
					row, ok, err = vs.Get(ctx, p.key)
				} else {
					row, ok, err = vs.GetAsOf(ctx, p.key, base+p.asOf)
				}
				if !rill.IsRetriable(err) {
					break
				}
				select {
				case <-ctx.Done():
					t.Fatalf("%s: store never became queryable: %v", label, err)
				case <-time.After(20 * time.Millisecond):
				}
			}
			if err != nil {
				t.Fatalf("%s: %+v: %v", label, p, err)
			}
			wantTo := state.NoValidTo
			if p.to >= 0 {
				wantTo = base + p.to
			}
			if ok != (p.want != "") || (ok && (row.Value != p.want || row.Timestamp != base+p.from || row.ValidTo != wantTo)) {
				t.Fatalf("%s: %+v: got %+v %v", label, p, row, ok)
			}
		}
	}
	for i, dir := range []string{t.TempDir(), t.TempDir()} {
		b := build()
		tp, err := b.Build()
		must(t, err)
		app, err := rill.New(tp, rill.Config{ApplicationID: "versioned", Bootstrap: broker.Addrs(), StateDir: dir,
			CacheMaxBytes: -1, CommitInterval: 100 * time.Millisecond})
		must(t, err)
		done := make(chan error, 1)
		runCtx, stop := context.WithCancel(ctx)
		go func() { done <- app.Run(runCtx) }()
		if i == 0 {
			// Every update is forwarded, the out-of-order one included (KIP-914).
			out, err := broker.Consume(ctx, "out", 5, false)
			if err != nil {
				t.Fatalf("consumed %d of 5: %v", len(out), err)
			}
		}
		for _, store := range []string{"prices-store", "filtered-store"} {
			check(app, map[int]string{0: "first run", 1: "restored from the changelog"}[i]+" "+store, store)
		}
		stop()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
}
