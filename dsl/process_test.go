package dsl_test

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/rillstreams/rill/dsl"
	"github.com/rillstreams/rill/processor"
	"github.com/rillstreams/rill/serde"
	"github.com/rillstreams/rill/state"
	"github.com/rillstreams/rill/streamstest"
	"github.com/rillstreams/rill/topology"
)

// mapStore is a tiny in-memory state store: a map, with counters of what the task did to it.
type mapStore struct {
	name    string
	ctx     state.StoreContext
	data    map[string]int64
	flushes int
	closed  bool
}

func (s *mapStore) Name() string { return s.name }
func (s *mapStore) Flush() error { s.flushes++; return nil }
func (s *mapStore) Close() error { s.closed = true; return nil }

// mapStoreBuilder opens a mapStore per task and remembers them.
type mapStoreBuilder struct {
	name  string
	built []*mapStore
}

func (b *mapStoreBuilder) Name() string { return b.name }
func (b *mapStoreBuilder) Build(ctx state.StoreContext) (processor.Store, error) {
	s := &mapStore{name: b.name, ctx: ctx, data: make(map[string]int64)}
	b.built = append(b.built, s)
	return s, nil
}

// Process plugs in a user processor: it may forward records with new keys, values, timestamps
// and headers, and sees where each record came from.
func TestProcessForwardsWithMetadata(t *testing.T) {
	b := dsl.NewBuilder()
	var initStreamTime int64
	var appID string
	supplied := 0
	b.Stream("in", serde.String(), serde.String()).
		Process(func() processor.Processor[string, string, int64, string] {
			supplied++
			return &funcProcessor[string, string, int64, string]{
				init: func(ctx processor.Context[int64, string]) error {
					initStreamTime, appID = ctx.StreamTime(), ctx.ApplicationID()
					return nil
				},
				process: func(ctx processor.Context[int64, string], r processor.Record[string, string]) error {
					md, ok := ctx.RecordMetadata()
					if !ok {
						return errors.New("no metadata")
					}
					v := fmt.Sprintf("%s/%s@%s[%d]:%d task=%s st=%d", r.Key, r.Value, md.Topic, md.Partition, md.Offset, ctx.TaskID(), ctx.StreamTime())
					out := processor.WithKeyValue(r, int64(len(r.Value)), v)
					out.Timestamp = r.Timestamp + 1
					out.Headers = append(slices.Clone(r.Headers), processor.Header{Key: "seen", Value: []byte("yes")})
					return ctx.Forward(out)
				},
			}
		}).
		To("out")
	d := streamstest.New(t, mustBuild(t, b))
	if supplied != 1 {
		t.Errorf("supplier called %d times for one task, want 1", supplied)
	}
	if initStreamTime != processor.UnknownTime || appID != "test" {
		t.Errorf("in Init: stream time %d, application id %q; want %d and \"test\"", initStreamTime, appID, processor.UnknownTime)
	}
	in := strIn(d, "in")
	in.PipeRecords(streamstest.Record[string, string]{Key: "a", Value: "xyz", Time: at(50), Headers: hdrs("h", "1")})
	in.PipeAt("b", "hello", at(20))
	in.PipeAt("c", "", at(70))

	out := streamstest.Output(d, "out", serde.Int64(), serde.String())
	first := out.ReadRecord()
	if !reflect.DeepEqual(first.Headers, hdrs("h", "1", "seen", "yes")) {
		t.Errorf("headers %v, want h=1 then seen=yes", first.Headers)
	}
	if first.Key != 3 || first.Value != "a/xyz@in[0]:0 task=0_0 st=50" || first.Time.UnixMilli() != 51 {
		t.Errorf("first record %+v", first)
	}
	expectRecords(t, out,
		rec[int64, string](5, "b/hello@in[0]:1 task=0_0 st=50", 21), // stream time stays at the maximum
		rec[int64, string](0, "c/@in[0]:2 task=0_0 st=70", 71))
}

// ForwardTo sends a record to one named child; an unknown child is a processing error.
func TestProcessForwardTo(t *testing.T) {
	build := func(target func(k string) string) *dsl.Builder {
		b := dsl.NewBuilder()
		p := b.Stream("in", serde.String(), serde.String()).
			Process(func() processor.Processor[string, string, string, string] {
				return &funcProcessor[string, string, string, string]{process: func(ctx processor.Context[string, string], r processor.Record[string, string]) error {
					return ctx.ForwardTo(target(r.Key), r)
				}}
			}, dsl.Named("router"))
		p.Peek(func(string, string) {}, dsl.Named("left")).To("l")
		p.Peek(func(string, string) {}, dsl.Named("right")).To("r")
		return b
	}
	b := build(func(k string) string {
		if k == "L" {
			return "left"
		}
		return "right"
	})
	d := streamstest.New(t, mustBuild(t, b))
	in := strIn(d, "in")
	in.PipeAt("L", "1", at(1))
	in.PipeAt("R", "2", at(2))
	in.PipeAt("L", "3", at(3))
	expectRecords(t, strOut(d, "l"), rec("L", "1", 1), rec("L", "3", 3))
	expectRecords(t, strOut(d, "r"), rec("R", "2", 2))

	d = streamstest.New(t, mustBuild(t, build(func(string) string { return "nowhere" })))
	err := strIn(d, "in").TryPipe(streamstest.Record[string, string]{Key: "k", Value: "v", Time: at(1)})
	var te *processor.TaskError
	if !errors.Is(err, processor.ErrUnknownChild) || !errors.Is(err, processor.ErrProcessing) || !errors.As(err, &te) {
		t.Fatalf("error %v, want a processing TaskError matching ErrUnknownChild", err)
	}
	if te.Node != "router" || te.Topic != "in" || te.Offset != 0 || te.TaskID.String() != "0_0" {
		t.Errorf("TaskError %+v", te)
	}
}

// tickProcessor forwards its records and, at each punctuation, a record "tick" whose value is
// the punctuation's time, stamped with it.
type tickProcessor struct {
	typ               processor.PunctuationType
	interval          time.Duration
	cancelAt          int // cancel after this many punctuations (0: never)
	ticks             []int64
	metaInPunctuation []bool
	ctx               processor.Context[string, int64]
}

func (p *tickProcessor) Init(ctx processor.Context[string, int64]) error {
	p.ctx = ctx
	var cancel func()
	cancel, err := ctx.Schedule(p.interval, p.typ, func(now int64) error {
		p.ticks = append(p.ticks, now)
		_, ok := ctx.RecordMetadata()
		p.metaInPunctuation = append(p.metaInPunctuation, ok)
		if p.cancelAt > 0 && len(p.ticks) == p.cancelAt {
			cancel()
		}
		return ctx.Forward(processor.Record[string, int64]{Key: "tick", Value: now, Timestamp: now})
	})
	return err
}

func (p *tickProcessor) Process(r processor.Record[string, int64]) error { return p.ctx.Forward(r) }
func (p *tickProcessor) Close() error                                    { return nil }

func tickTopology(t *testing.T, p *tickProcessor) *topology.Topology {
	b := dsl.NewBuilder()
	b.Stream("in", serde.String(), serde.Int64()).
		Process(func() processor.Processor[string, int64, string, int64] { return p }).
		To("out")
	return mustBuild(t, b)
}

// Stream-time punctuations are aligned to 0, fire when a record moves stream time to or past
// the next multiple of the interval (right after the first record), get the stream time, and
// skip the intervals that passed without one; late records do not move stream time.
func TestProcessStreamTimePunctuation(t *testing.T) {
	p := &tickProcessor{typ: processor.StreamTime, interval: 10 * time.Millisecond}
	d := streamstest.New(t, tickTopology(t, p))
	d.AdvanceWallClock(time.Hour) // wall-clock time does not drive stream-time punctuations
	if len(p.ticks) != 0 {
		t.Fatalf("punctuated %v before any record", p.ticks)
	}
	in := streamstest.Input(d, "in", serde.String(), serde.Int64())
	for _, ts := range []int64{3, 7, 12, 35, 36, 5, 41, 49} {
		in.PipeAt("r", ts, at(ts))
	}
	if want := []int64{3, 12, 35, 41}; !slices.Equal(p.ticks, want) {
		t.Errorf("punctuations at %v, want %v", p.ticks, want)
	}
	if slices.Contains(p.metaInPunctuation, true) {
		t.Errorf("RecordMetadata reported a record inside a punctuation: %v", p.metaInPunctuation)
	}
	// Punctuations run after the record that triggered them.
	expectRecords(t, streamstest.Output(d, "out", serde.String(), serde.Int64()),
		rec[string, int64]("r", 3, 3), rec[string, int64]("tick", 3, 3),
		rec[string, int64]("r", 7, 7),
		rec[string, int64]("r", 12, 12), rec[string, int64]("tick", 12, 12),
		rec[string, int64]("r", 35, 35), rec[string, int64]("tick", 35, 35),
		rec[string, int64]("r", 36, 36),
		rec[string, int64]("r", 5, 5),
		rec[string, int64]("r", 41, 41), rec[string, int64]("tick", 41, 41),
		rec[string, int64]("r", 49, 49))
}

func TestProcessStreamTimePunctuationCancel(t *testing.T) {
	p := &tickProcessor{typ: processor.StreamTime, interval: 10 * time.Millisecond, cancelAt: 2}
	d := streamstest.New(t, tickTopology(t, p))
	in := streamstest.Input(d, "in", serde.String(), serde.Int64())
	for _, ts := range []int64{0, 10, 20, 30} {
		in.PipeAt("r", ts, at(ts))
	}
	if want := []int64{0, 10}; !slices.Equal(p.ticks, want) {
		t.Errorf("punctuations at %v, want %v (cancelled after two)", p.ticks, want)
	}
}

// Wall-clock punctuations are aligned to the wall clock when scheduled, fire only as
// AdvanceWallClock moves it (records do not), get the wall-clock time and skip missed intervals.
func TestProcessWallClockPunctuation(t *testing.T) {
	p := &tickProcessor{typ: processor.WallClockTime, interval: 100 * time.Millisecond}
	d := streamstest.New(t, tickTopology(t, p), streamstest.WithWallClock(at(1000)))
	in := streamstest.Input(d, "in", serde.String(), serde.Int64())
	in.PipeAt("r", 1, at(5000)) // stream time far ahead of the wall clock: no wall-clock punctuation
	var fired [][]int64
	for _, step := range []time.Duration{50, 60, 250, 40, 99} {
		d.AdvanceWallClock(step * time.Millisecond)
		fired = append(fired, slices.Clone(p.ticks))
	}
	want := [][]int64{nil, {1110}, {1110, 1360}, {1110, 1360, 1400}, {1110, 1360, 1400}}
	if !reflect.DeepEqual(fired, want) {
		t.Errorf("punctuations after each advance %v, want %v", fired, want)
	}
	if got := d.WallClock().UnixMilli(); got != 1499 {
		t.Errorf("wall clock %d, want 1499", got)
	}
	expectRecords(t, streamstest.Output(d, "out", serde.String(), serde.Int64()),
		rec[string, int64]("r", 1, 5000),
		rec[string, int64]("tick", 1110, 1110), rec[string, int64]("tick", 1360, 1360), rec[string, int64]("tick", 1400, 1400))
}

func TestProcessScheduleBadInterval(t *testing.T) {
	var err error
	b := dsl.NewBuilder()
	b.Stream("in", serde.String(), serde.String()).
		Process(func() processor.Processor[string, string, string, string] {
			return &funcProcessor[string, string, string, string]{init: func(ctx processor.Context[string, string]) error {
				_, err = ctx.Schedule(time.Microsecond, processor.StreamTime, func(int64) error { return nil })
				return nil
			}}
		})
	streamstest.New(t, mustBuild(t, b))
	if !errors.Is(err, processor.ErrBadInterval) {
		t.Errorf("Schedule(1µs) error %v, want ErrBadInterval", err)
	}
}

// countProcessor counts records per key in the store "counts" and forwards the count.
type countProcessor struct {
	ctx   processor.Context[string, int64]
	store *mapStore
	// errors StateStore returned for other names
	unknown, unconnected error
}

func (p *countProcessor) Init(ctx processor.Context[string, int64]) error {
	p.ctx = ctx
	s, err := ctx.StateStore("counts")
	if err != nil {
		return err
	}
	p.store = s.(*mapStore)
	_, p.unknown = ctx.StateStore("no-such-store")
	_, p.unconnected = ctx.StateStore("other")
	return nil
}

func (p *countProcessor) Process(r processor.Record[string, string]) error {
	p.store.data[r.Key]++
	return p.ctx.Forward(processor.WithValue(r, p.store.data[r.Key]))
}

func (p *countProcessor) Close() error { return nil }

func TestProcessWithStateStore(t *testing.T) {
	b := dsl.NewBuilder()
	counts := &mapStoreBuilder{name: "counts"}
	other := &mapStoreBuilder{name: "other"}
	b.AddStateStore(counts)
	b.AddStateStore(other)
	p := &countProcessor{}
	s := b.Stream("in", serde.String(), serde.String())
	s.Process(func() processor.Processor[string, string, string, int64] { return p }, dsl.WithStores("counts"), dsl.Named("count")).
		To("counts-out")
	// "other" belongs to another processor, in the same sub-topology.
	s.Process(func() processor.Processor[string, string, string, string] {
		return &funcProcessor[string, string, string, string]{}
	}, dsl.WithStores("other"), dsl.Named("other-user"))
	topo := mustBuild(t, b)

	n, _ := describeNode(t, topo, "count")
	if got, want := n.String(), "Processor: count (stores: [counts])\n      --> KSTREAM-SINK-0000000001\n      <-- KSTREAM-SOURCE-0000000000"; got != want {
		t.Errorf("count renders as %q, want %q", got, want)
	}

	d := streamstest.New(t, topo)
	if len(counts.built) != 1 {
		t.Fatalf("store built %d times, want once (one task)", len(counts.built))
	}
	st := counts.built[0]
	if st.ctx.ApplicationID != "test" || st.ctx.TaskID.String() != "0_0" {
		t.Errorf("store context %+v", st.ctx)
	}
	if p.store != st {
		t.Errorf("StateStore returned %p, want the store the builder built (%p)", p.store, st)
	}
	if got, ok := d.Store("counts"); !ok || got != processor.Store(st) {
		t.Errorf("Driver.Store(counts) = %v, %v", got, ok)
	}
	if !errors.Is(p.unknown, processor.ErrUnknownStore) {
		t.Errorf("StateStore(no-such-store) error %v, want ErrUnknownStore", p.unknown)
	}
	if !errors.Is(p.unconnected, processor.ErrUnknownStore) {
		t.Errorf("StateStore(other), a store of another processor: error %v, want ErrUnknownStore", p.unconnected)
	}

	in := strIn(d, "in")
	in.PipeAt("a", "x", at(1))
	in.PipeAt("b", "x", at(2))
	in.PipeAt("a", "x", at(3))
	expectRecords(t, streamstest.Output(d, "counts-out", serde.String(), serde.Int64()),
		rec[string, int64]("a", 1, 1), rec[string, int64]("b", 1, 2), rec[string, int64]("a", 2, 3))
	if want := map[string]int64{"a": 2, "b": 1}; !reflect.DeepEqual(st.data, want) {
		t.Errorf("store holds %v, want %v", st.data, want)
	}

	d.Close()
	if !st.closed || st.flushes == 0 {
		t.Errorf("after Close: store closed=%v flushes=%d, want closed and flushed", st.closed, st.flushes)
	}
}

// Processors sharing a store run in one task, so a store joins their sub-topologies, as in
// Kafka Streams.
func TestProcessSharedStoreJoinsSubtopologies(t *testing.T) {
	b := dsl.NewBuilder()
	shared := &mapStoreBuilder{name: "counts"}
	b.AddStateStore(shared)
	var ps []*countProcessor
	for _, topic := range []string{"a", "b"} {
		b.Stream(topic, serde.String(), serde.String()).
			Process(func() processor.Processor[string, string, string, int64] {
				p := &countProcessor{}
				ps = append(ps, p)
				return p
			}, dsl.WithStores("counts")).
			To("out")
	}
	topo := mustBuild(t, b)
	if n := len(topo.Describe().Subtopologies); n != 1 {
		t.Fatalf("%d sub-topologies, want 1:\n%s", n, topo.Describe())
	}
	d := streamstest.New(t, topo)
	if len(shared.built) != 1 || len(ps) != 2 || ps[0].store != shared.built[0] || ps[1].store != shared.built[0] {
		t.Fatalf("stores built %d, processors %d; want one store used by both", len(shared.built), len(ps))
	}
	strIn(d, "a").PipeAt("k", "1", at(1))
	strIn(d, "b").PipeAt("k", "2", at(2))
	expectRecords(t, streamstest.Output(d, "out", serde.String(), serde.Int64()),
		rec[string, int64]("k", 1, 1), rec[string, int64]("k", 2, 2))
}

func TestProcessStoreWiringErrors(t *testing.T) {
	noop := func() processor.Processor[string, string, string, string] {
		return &funcProcessor[string, string, string, string]{}
	}
	tests := []struct {
		name  string
		build func(b *dsl.Builder)
		want  error
	}{
		{"WithStores names a store never added", func(b *dsl.Builder) {
			b.Stream("in", serde.String(), serde.String()).Process(noop, dsl.WithStores("missing"))
		}, topology.ErrUnknownNode},
		{"store added but connected to nothing", func(b *dsl.Builder) {
			b.AddStateStore(&mapStoreBuilder{name: "lonely"})
			b.Stream("in", serde.String(), serde.String()).Process(noop)
		}, topology.ErrInvalidTopology},
		{"store added twice", func(b *dsl.Builder) {
			b.AddStateStore(&mapStoreBuilder{name: "twice"})
			b.AddStateStore(&mapStoreBuilder{name: "twice"})
			b.Stream("in", serde.String(), serde.String()).Process(noop, dsl.WithStores("twice"))
		}, topology.ErrDuplicateName},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := dsl.NewBuilder()
			tc.build(b)
			if err := buildErr(t, b); !errors.Is(err, tc.want) {
				t.Errorf("Build error %v, want %v", err, tc.want)
			}
		})
	}
}

// An error returned by a processor is a processing error of the record at that node.
func TestProcessReturnsError(t *testing.T) {
	b := dsl.NewBuilder()
	b.Stream("in", serde.String(), serde.String()).
		Process(func() processor.Processor[string, string, string, string] {
			return &funcProcessor[string, string, string, string]{process: func(ctx processor.Context[string, string], r processor.Record[string, string]) error {
				if r.Value == "bad" {
					return errBoom
				}
				return ctx.Forward(r)
			}}
		}, dsl.Named("picky")).
		To("out")
	topo := mustBuild(t, b)

	d := streamstest.New(t, topo)
	in := strIn(d, "in")
	in.PipeAt("k", "good", at(1))
	err := in.TryPipe(streamstest.Record[string, string]{Key: "k", Value: "bad", Time: at(2)})
	var te *processor.TaskError
	if !errors.Is(err, errBoom) || !errors.Is(err, processor.ErrProcessing) || !errors.As(err, &te) {
		t.Fatalf("error %v, want a processing TaskError wrapping errBoom", err)
	}
	if te.Kind != processor.ProcessingError || te.Node != "picky" || te.Topic != "in" || te.Partition != 0 || te.Offset != 1 {
		t.Errorf("TaskError %+v", te)
	}
	expectRecords(t, strOut(d, "out"), rec("k", "good", 1))

	d = streamstest.New(t, topo, streamstest.WithProcessingHandler(processor.LogAndContinue))
	in = strIn(d, "in")
	in.PipeAt("k", "bad", at(1))
	in.PipeAt("k", "fine", at(2))
	expectRecords(t, strOut(d, "out"), rec("k", "fine", 2))
	if d.Dropped() != 1 {
		t.Errorf("Dropped() = %d, want 1", d.Dropped())
	}
}

// The driver closes processors when it closes.
func TestProcessCloseCalled(t *testing.T) {
	closed := 0
	b := dsl.NewBuilder()
	b.Stream("in", serde.String(), serde.String()).
		Process(func() processor.Processor[string, string, string, string] { return &closeCounter{closed: &closed} })
	d := streamstest.New(t, mustBuild(t, b))
	if closed != 0 {
		t.Fatalf("closed before Close")
	}
	d.Close()
	d.Close() // closing twice closes once
	if closed != 1 {
		t.Errorf("Close called %d times, want 1", closed)
	}
}

type closeCounter struct{ closed *int }

func (c *closeCounter) Init(processor.Context[string, string]) error { return nil }
func (c *closeCounter) Process(processor.Record[string, string]) error {
	return nil
}
func (c *closeCounter) Close() error { *c.closed++; return nil }

// A punctuation's records go on through a repartition topic to the next sub-topology, whose
// stream-time punctuations follow the timestamps of what it reads.
func TestPunctuationThroughRepartition(t *testing.T) {
	up := &tickProcessor{typ: processor.WallClockTime, interval: time.Second}
	down := &tickProcessor{typ: processor.StreamTime, interval: time.Second}
	b := dsl.NewBuilder()
	b.Stream("in", serde.String(), serde.Int64()).
		Process(func() processor.Processor[string, int64, string, int64] { return up }).
		Repartition(dsl.Named("r")).
		Process(func() processor.Processor[string, int64, string, int64] { return down }).
		To("out")
	d := streamstest.New(t, mustBuild(t, b), streamstest.WithWallClock(at(10_000)))
	d.AdvanceWallClock(time.Second)
	streamstest.Input(d, "in", serde.String(), serde.Int64()).PipeAt("r", 7, at(12_500))
	if want := []int64{11_000}; !slices.Equal(up.ticks, want) {
		t.Errorf("upstream wall-clock punctuations %v, want %v", up.ticks, want)
	}
	// Downstream stream time: 11000 from the tick, then 12500 from the record.
	if want := []int64{11_000, 12_500}; !slices.Equal(down.ticks, want) {
		t.Errorf("downstream stream-time punctuations %v, want %v", down.ticks, want)
	}
	expectRecords(t, streamstest.Output(d, "test-r-repartition", serde.String(), serde.Int64()),
		rec[string, int64]("tick", 11_000, 11_000), rec[string, int64]("r", 7, 12_500))
	expectRecords(t, streamstest.Output(d, "out", serde.String(), serde.Int64()),
		rec[string, int64]("tick", 11_000, 11_000), rec[string, int64]("tick", 11_000, 11_000),
		rec[string, int64]("r", 7, 12_500), rec[string, int64]("tick", 12_500, 12_500))
}
