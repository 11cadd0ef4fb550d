package engine

import (
	"strconv"
	"testing"

	"github.com/rillstreams/rill/processor"
	"github.com/rillstreams/rill/serde"
)

// Small stateless operators, written as the DSL would write them: one processor type each.

type filterOp[K, V any] struct {
	pred func(K, V) bool
	ctx  processor.Context[K, V]
}

func (p *filterOp[K, V]) Init(ctx processor.Context[K, V]) error { p.ctx = ctx; return nil }
func (p *filterOp[K, V]) Close() error                           { return nil }
func (p *filterOp[K, V]) Process(rec processor.Record[K, V]) error {
	if !p.pred(rec.Key, rec.Value) {
		return nil
	}
	return p.ctx.Forward(rec)
}

type mapValuesOp[K, V, VR any] struct {
	fn  func(V) VR
	ctx processor.Context[K, VR]
}

func (p *mapValuesOp[K, V, VR]) Init(ctx processor.Context[K, VR]) error { p.ctx = ctx; return nil }
func (p *mapValuesOp[K, V, VR]) Close() error                            { return nil }
func (p *mapValuesOp[K, V, VR]) Process(rec processor.Record[K, V]) error {
	return p.ctx.Forward(processor.WithValue(rec, p.fn(rec.Value)))
}

type peekOp[K, V any] struct {
	fn  func(K, V)
	ctx processor.Context[K, V]
}

func (p *peekOp[K, V]) Init(ctx processor.Context[K, V]) error { p.ctx = ctx; return nil }
func (p *peekOp[K, V]) Close() error                           { return nil }
func (p *peekOp[K, V]) Process(rec processor.Record[K, V]) error {
	p.fn(rec.Key, rec.Value)
	return p.ctx.Forward(rec)
}

type countingCollector struct{ n int }

func (c *countingCollector) Send(OutRecord) error { c.n++; return nil }

// chain5 builds source -> filter -> mapValues -> peek -> filter -> mapValues -> sink over K, V
// with the given serde, the operators' functions coming from the caller.
func chain5[K, V any](kd serde.Serde[K], vd serde.Serde[V],
	keep1 func(K, V) bool, map1 func(V) V, peek func(K, V), keep2 func(K, V) bool, map2 func(V) V) *Subtopology {
	g := newGraph().
		add(NewSource("src", []string{"in"}, nil, false, kd, vd)).
		add(NewProcessor("filter1", func() processor.Processor[K, V, K, V] { return &filterOp[K, V]{pred: keep1} }, nil), "src").
		add(NewProcessor("map1", func() processor.Processor[K, V, K, V] { return &mapValuesOp[K, V, V]{fn: map1} }, nil), "filter1").
		add(NewProcessor("peek", func() processor.Processor[K, V, K, V] { return &peekOp[K, V]{fn: peek} }, nil), "map1").
		add(NewProcessor("filter2", func() processor.Processor[K, V, K, V] { return &filterOp[K, V]{pred: keep2} }, nil), "peek").
		add(NewProcessor("map2", func() processor.Processor[K, V, K, V] { return &mapValuesOp[K, V, V]{fn: map2} }, nil), "filter2").
		add(NewSink("sink", "out", false, kd, vd), "map2")
	return &g.sub
}

const benchRecords = 1024

// runChain5 pushes one record per iteration through sub: AddRecords then Process.
func runChain5(b *testing.B, sub *Subtopology, recs []RawRecord) {
	col := &countingCollector{}
	task, err := New(Config{ID: testTaskID, ApplicationID: "bench", Topology: sub, Collector: col})
	if err != nil {
		b.Fatal(err)
	}
	defer task.Close()
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		if err := task.AddRecords(recs[n%benchRecords]); err != nil {
			b.Fatal(err)
		}
		if ok, err := task.Process(); !ok || err != nil {
			b.Fatal(ok, err)
		}
		n++
	}
	if col.n != n { // every record passes both filters
		b.Fatalf("sink got %d records of %d", col.n, n)
	}
}

// BenchmarkChain5 measures the per-record cost (ns/op = ns/record) of a source with String
// keys and Int64 values, five stateless operators and a sink, serdes included.
func BenchmarkChain5(b *testing.B) {
	var peeked int64
	sub := chain5(serde.String(), serde.Int64(),
		func(_ string, v int64) bool { return v >= 0 },
		func(v int64) int64 { return v * 2 },
		func(_ string, v int64) { peeked += v },
		func(k string, _ int64) bool { return k != "" },
		func(v int64) int64 { return v + 1 })
	recs := make([]RawRecord, benchRecords)
	for i := range recs {
		k, _ := serde.String().Serialize("in", "user-"+strconv.Itoa(i))
		v, _ := serde.Int64().Serialize("in", int64(i))
		recs[i] = RawRecord{Topic: "in", Partition: 0, Offset: int64(i), Timestamp: int64(i), Key: k, Value: v}
	}
	runChain5(b, sub, recs)
}

// BenchmarkChain5NoSerde is BenchmarkChain5 with pass-through []byte serdes, which allocate
// nothing: what is left is the engine's own cost.
func BenchmarkChain5NoSerde(b *testing.B) {
	var peeked int
	sub := chain5(serde.Bytes(), serde.Bytes(),
		func(_, v []byte) bool { return len(v) > 0 },
		func(v []byte) []byte { return v[1:] },
		func(_, v []byte) { peeked += len(v) },
		func(k, _ []byte) bool { return len(k) > 0 },
		func(v []byte) []byte { return v[:len(v)-1] })
	recs := make([]RawRecord, benchRecords)
	for i := range recs {
		recs[i] = RawRecord{Topic: "in", Partition: 0, Offset: int64(i), Timestamp: int64(i),
			Key: []byte("user-" + strconv.Itoa(i)), Value: []byte("value-" + strconv.Itoa(i))}
	}
	runChain5(b, sub, recs)
}
