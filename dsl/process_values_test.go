package dsl_test

import (
	"fmt"
	"testing"

	"github.com/rillstreams/rill/dsl"
	"github.com/rillstreams/rill/processor"
	"github.com/rillstreams/rill/serde"
	"github.com/rillstreams/rill/state"
	"github.com/rillstreams/rill/streamstest"
)

// seqValues numbers each key's values with a count kept in a store, and moves timestamps on by
// one millisecond: it changes values and timestamps, never keys.
type seqValues struct {
	ctx   processor.FixedKeyContext[string, string]
	store *state.KeyValueStore[string, int64]
}

func (p *seqValues) Init(ctx processor.FixedKeyContext[string, string]) error {
	p.ctx = ctx
	s, err := ctx.StateStore("seq")
	if err != nil {
		return err
	}
	p.store = s.(*state.KeyValueStore[string, int64])
	return nil
}

func (p *seqValues) Process(r processor.FixedKeyRecord[string, string]) error {
	n, _, err := p.store.Get(r.Key())
	if err != nil {
		return err
	}
	n++
	if err := p.store.Put(r.Key(), n); err != nil {
		return err
	}
	return p.ctx.Forward(r.WithValue(fmt.Sprintf("%s#%d", r.Value, n)).WithTimestamp(r.Timestamp + 1))
}

func (p *seqValues) Close() error { return nil }

// ProcessValues keeps keys, so a grouping after it needs no repartition topic; its store,
// value and timestamp changes go through.
func TestProcessValuesKeepsKeys(t *testing.T) {
	b := dsl.NewBuilder()
	b.AddStateStore(state.NewKeyValueStoreBuilder("seq", serde.String(), serde.Int64()))
	seq := b.Stream("in", serde.String(), serde.String()).
		ProcessValues(func() processor.FixedKeyProcessor[string, string, string] { return &seqValues{} },
			dsl.WithStores("seq"), dsl.Named("seq-values"))
	seq.To("numbered")
	seq.GroupByKey().Count().ToStream().To("counts", dsl.WithSerdes(serde.String(), serde.Int64()))
	topo := mustBuild(t, b)
	if n := len(topo.Describe().Subtopologies); n != 1 {
		t.Fatalf("%d sub-topologies, want 1 (no repartition):\n%s", n, topo.Describe())
	}
	d := streamstest.New(t, topo)
	in := streamstest.Input(d, "in", serde.String(), serde.String())
	in.PipeAt("a", "x", at(10))
	in.PipeAt("a", "y", at(20))
	in.PipeAt("b", "z", at(30))
	expectRecords(t, streamstest.Output(d, "numbered", serde.String(), serde.String()),
		rec("a", "x#1", 11), rec("a", "y#2", 21), rec("b", "z#1", 31))
	expectRecords(t, streamstest.Output(d, "counts", serde.String(), serde.Int64()),
		rec("a", int64(1), 11), rec("a", int64(2), 21), rec("b", int64(1), 31))
}

// A key changed upstream still needs a repartition after ProcessValues; Process, which may
// change keys, always does.
func TestProcessValuesRepartitionFlag(t *testing.T) {
	upper := func() processor.FixedKeyProcessor[string, string, string] { return &passValues{} }
	for _, c := range []struct {
		name string
		add  func(*dsl.Builder) *dsl.Stream[string, string]
		subs int
	}{
		{"after SelectKey", func(b *dsl.Builder) *dsl.Stream[string, string] {
			return b.Stream("in", serde.String(), serde.String()).
				SelectKey(func(_, v string) string { return v }).ProcessValues(upper)
		}, 2},
		{"Process", func(b *dsl.Builder) *dsl.Stream[string, string] {
			return b.Stream("in", serde.String(), serde.String()).
				Process(processor.Supplier[string, string, string, string](func() processor.Processor[string, string, string, string] {
					return processor.Processor[string, string, string, string](nil)
				}))
		}, 2},
		{"ProcessValues alone", func(b *dsl.Builder) *dsl.Stream[string, string] {
			return b.Stream("in", serde.String(), serde.String()).ProcessValues(upper)
		}, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := dsl.NewBuilder()
			c.add(b).GroupByKey().Count()
			topo := mustBuild(t, b)
			if n := len(topo.Describe().Subtopologies); n != c.subs {
				t.Fatalf("%d sub-topologies, want %d:\n%s", n, c.subs, topo.Describe())
			}
		})
	}
}

type passValues struct {
	ctx processor.FixedKeyContext[string, string]
}

func (p *passValues) Init(ctx processor.FixedKeyContext[string, string]) error {
	p.ctx = ctx
	return nil
}
func (p *passValues) Process(r processor.FixedKeyRecord[string, string]) error {
	return p.ctx.Forward(r)
}
func (p *passValues) Close() error { return nil }
