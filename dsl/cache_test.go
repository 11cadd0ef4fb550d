package dsl_test

import (
	"errors"
	"testing"
	"time"

	"github.com/rillstreams/rill/dsl"
	"github.com/rillstreams/rill/processor"
	"github.com/rillstreams/rill/serde"
	"github.com/rillstreams/rill/state"
	"github.com/rillstreams/rill/streamstest"
	"github.com/rillstreams/rill/topology"
)

// countTopology counts words per key and writes the counts to "counts".
func countTopology(t *testing.T, opts ...dsl.TableOption) *topology.Topology {
	b := dsl.NewBuilder()
	b.Stream("words", serde.String(), serde.String()).
		GroupByKey().
		Count(opts...).
		ToStream().
		To("counts", dsl.WithSerdes(serde.String(), serde.Int64()))
	return mustBuild(t, b)
}

func pipeWords(d *streamstest.Driver) {
	in := streamstest.Input(d, "words", serde.String(), serde.String())
	in.PipeAt("a", "x", at(1))
	in.PipeAt("a", "x", at(5))
	in.PipeAt("b", "x", at(3))
	in.PipeAt("a", "x", at(2))
}

// With the record cache and commits only when asked, a count forwards one record per key per
// commit: the latest count, in the order the keys were last updated, stamped with the row's
// timestamp. The store sees the latest counts before the commit (reads go through the cache).
func TestCacheCountEmitsLatestPerKeyOnCommit(t *testing.T) {
	d := streamstest.New(t, countTopology(t, dsl.Materialized("counts-store")), streamstest.WithManualCommit())
	out := streamstest.Output(d, "counts", serde.String(), serde.Int64())
	pipeWords(d)
	if !out.IsEmpty() {
		t.Fatalf("%d records before the commit, want none", out.Len())
	}
	if n := storeValue[string, int64](t, d, "counts-store", "a"); n != 3 {
		t.Fatalf("store has a=%d before the commit, want 3", n)
	}
	d.Commit()
	expectRecords(t, out, rec("b", int64(1), 3), rec("a", int64(3), 5))
	// Nothing new: a second commit forwards nothing.
	d.Commit()
	expectRecords(t, out)
	in := streamstest.Input(d, "words", serde.String(), serde.String())
	in.PipeAt("b", "x", at(7))
	d.Commit()
	expectRecords(t, out, rec("b", int64(2), 7))
}

// Caching off, for the store or the app, forwards every update as it happens, commits or not.
func TestCacheDisabledEmitsEveryUpdate(t *testing.T) {
	all := []kvt[string, int64]{rec("a", int64(1), 1), rec("a", int64(2), 5), rec("b", int64(1), 3), rec("a", int64(3), 5)}
	cases := map[string]struct {
		topo *topology.Topology
		opts []streamstest.Option
	}{
		"store opts out": {countTopology(t, dsl.Materialized("s").WithCachingDisabled()), []streamstest.Option{streamstest.WithManualCommit()}},
		"no cache":       {countTopology(t), []streamstest.Option{streamstest.WithManualCommit(), streamstest.WithCacheMaxBytes(0)}},
		// The driver's default, as TopologyTestDriver: a commit after every record.
		"commit per record": {countTopology(t), nil},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			d := streamstest.New(t, c.topo, c.opts...)
			out := streamstest.Output(d, "counts", serde.String(), serde.Int64())
			pipeWords(d)
			expectRecords(t, out, all...)
		})
	}
}

// A cache too small for every key evicts: the least recently used key's store flushes all its
// dirty keys before the commit.
func TestCacheEvictionFlushesBeforeCommit(t *testing.T) {
	// Room for two count entries (key, 8-byte count with its 8-byte timestamp, context).
	d := streamstest.New(t, countTopology(t), streamstest.WithManualCommit(), streamstest.WithCacheMaxBytes(2*90))
	out := streamstest.Output(d, "counts", serde.String(), serde.Int64())
	in := streamstest.Input(d, "words", serde.String(), serde.String())
	in.PipeAt("a", "x", at(1))
	in.PipeAt("b", "x", at(2))
	in.PipeAt("a", "x", at(3))
	if !out.IsEmpty() {
		t.Fatalf("%d records before the cache is full", out.Len())
	}
	in.PipeAt("c", "x", at(4)) // evicts b (least recently used), dirty: b, a and c flush
	expectRecords(t, out, rec("b", int64(1), 2), rec("a", int64(2), 3), rec("c", int64(1), 4))
	in.PipeAt("c", "x", at(5))
	d.Commit()
	expectRecords(t, out, rec("c", int64(2), 5))
}

// A table's cache forwards each key's latest row with the old value from before the commit,
// so a regrouping aggregation downstream subtracts what it had added, never intermediate rows
// it never saw: here k1 moves from g1 to g2 and back within one commit, and the groups' counts
// never change.
func TestCacheTableGroupByOldValues(t *testing.T) {
	topo := func() *topology.Topology {
		b := dsl.NewBuilder()
		b.Table("members", serde.String(), serde.String()).
			GroupBy(func(k, g string) (string, string) { return g, k }).
			Count().
			ToStream().
			To("group-sizes", dsl.WithSerdes(serde.String(), serde.Int64()))
		return mustBuild(t, b)
	}
	d := streamstest.New(t, topo(), streamstest.WithManualCommit())
	in := streamstest.Input(d, "members", serde.String(), serde.String())
	out := streamstest.Output(d, "group-sizes", serde.String(), serde.Int64())
	in.PipeAt("k1", "g1", at(1))
	in.PipeAt("k2", "g1", at(2))
	d.Commit()
	expectRecords(t, out, rec("g1", int64(2), 2))
	in.PipeAt("k1", "g2", at(3))
	in.PipeAt("k1", "g1", at(4))
	d.Commit()
	// k1's latest row (g1) replaces its old one (g1): g1 is subtracted from and added to.
	expectRecords(t, out, rec("g1", int64(2), 4))

	// Without caching every intermediate row goes through.
	d2 := streamstest.New(t, topo(), streamstest.WithManualCommit(), streamstest.WithCacheMaxBytes(0))
	in2 := streamstest.Input(d2, "members", serde.String(), serde.String())
	out2 := streamstest.Output(d2, "group-sizes", serde.String(), serde.Int64())
	in2.PipeAt("k1", "g1", at(1))
	in2.PipeAt("k2", "g1", at(2))
	in2.PipeAt("k1", "g2", at(3))
	in2.PipeAt("k1", "g1", at(4))
	expectRecords(t, out2, rec("g1", int64(1), 1), rec("g1", int64(2), 2),
		rec("g1", int64(1), 3), rec("g2", int64(1), 3), rec("g2", int64(0), 4), rec("g1", int64(2), 4))
}

// What a cache forwards carries the headers and timestamp of the key's last write, and the
// processors downstream see the metadata of the record that made it.
func TestCacheForwardsContextOfLastWrite(t *testing.T) {
	b := dsl.NewBuilder()
	var offsets []int64
	b.Table("rows", serde.String(), serde.String(), dsl.Materialized("rows")).
		ToStream().
		Process(processor.Supplier[string, string, string, string](func() processor.Processor[string, string, string, string] {
			return &metadataPeek{offsets: &offsets}
		})).
		To("out")
	d := streamstest.New(t, mustBuild(t, b), streamstest.WithManualCommit())
	in := streamstest.Input(d, "rows", serde.String(), serde.String())
	out := streamstest.Output(d, "out", serde.String(), serde.String())
	in.PipeRecords(
		streamstest.Record[string, string]{Key: "k", Value: "v1", Time: at(10), Headers: []processor.Header{{Key: "h", Value: []byte("1")}}},
		streamstest.Record[string, string]{Key: "k", Value: "v2", Time: at(20), Headers: []processor.Header{{Key: "h", Value: []byte("2")}}},
	)
	d.Commit()
	got := out.ReadAll()
	if len(got) != 1 || got[0].Value != "v2" || got[0].Time.UnixMilli() != 20 ||
		len(got[0].Headers) != 1 || string(got[0].Headers[0].Value) != "2" {
		t.Fatalf("got %+v, want one record v2 @20 with header h=2", got)
	}
	if len(offsets) != 1 || offsets[0] != 1 {
		t.Fatalf("downstream saw offsets %v, want [1] (the second record's)", offsets)
	}
}

type metadataPeek struct {
	ctx     processor.Context[string, string]
	offsets *[]int64
}

func (p *metadataPeek) Init(ctx processor.Context[string, string]) error { p.ctx = ctx; return nil }
func (p *metadataPeek) Close() error                                     { return nil }
func (p *metadataPeek) Process(r processor.Record[string, string]) error {
	if md, ok := p.ctx.RecordMetadata(); ok {
		*p.offsets = append(*p.offsets, md.Offset)
	}
	return p.ctx.Forward(r)
}

// storeValue reads key from the driver's table store name.
func storeValue[K, V any](t *testing.T, d *streamstest.Driver, name string, key K) V {
	t.Helper()
	s, ok := d.Store(name)
	if !ok {
		t.Fatalf("no store %s", name)
	}
	ts, ok := s.(*state.TimestampedKeyValueStore[K, V])
	if !ok {
		t.Fatalf("store %s is a %T", name, s)
	}
	v, _, err := ts.Get(key)
	if err != nil {
		t.Fatal(err)
	}
	return v.Value
}

// punctuatedCounter counts records per key in a cached store, forwarding what the cache
// flushes, and bumps key "tick" from a wall-clock punctuation.
type punctuatedCounter struct {
	ctx   processor.Context[string, int64]
	store *state.KeyValueStore[string, int64]
}

func (p *punctuatedCounter) Init(ctx processor.Context[string, int64]) error {
	p.ctx = ctx
	s, err := ctx.StateStore("cached")
	if err != nil {
		return err
	}
	p.store = s.(*state.KeyValueStore[string, int64])
	if !p.store.SetFlushListener(false, func(r state.CachedRecord[string, int64]) error {
		return ctx.Forward(processor.Record[string, int64]{Key: r.Key, Value: r.New, Timestamp: r.Context.Timestamp})
	}) {
		return errors.New("store not cached")
	}
	_, err = ctx.Schedule(time.Second, processor.WallClockTime, func(int64) error { return p.bump("tick") })
	return err
}

func (p *punctuatedCounter) bump(k string) error {
	n, _, err := p.store.Get(k)
	if err != nil {
		return err
	}
	return p.store.Put(k, n+1)
}

func (p *punctuatedCounter) Process(r processor.Record[string, string]) error { return p.bump(r.Key) }
func (p *punctuatedCounter) Close() error                                     { return nil }

// A user store built WithCaching forwards through its flush listener; the driver commits after
// every record and every wall-clock punctuation, as TopologyTestDriver does.
func TestCacheUserStoreFlushedAfterPunctuation(t *testing.T) {
	b := dsl.NewBuilder()
	b.AddStateStore(state.NewKeyValueStoreBuilder("cached", serde.String(), serde.Int64()).WithCaching(true))
	b.Stream("in", serde.String(), serde.String()).
		Process(processor.Supplier[string, string, string, int64](func() processor.Processor[string, string, string, int64] {
			return &punctuatedCounter{}
		}), dsl.WithStores("cached")).
		To("out", dsl.WithSerdes(serde.String(), serde.Int64()))
	d := streamstest.New(t, mustBuild(t, b))
	in := streamstest.Input(d, "in", serde.String(), serde.String())
	out := streamstest.Output(d, "out", serde.String(), serde.Int64())
	in.PipeAt("a", "x", at(5))
	expectRecords(t, out, rec("a", int64(1), 5))
	d.AdvanceWallClock(time.Second)
	got := out.ReadKeyValues()
	if len(got) != 1 || got[0].Key != "tick" || got[0].Value != 1 {
		t.Fatalf("after the punctuation: %v, want tick=1", got)
	}
}
