package streamstest_test

import (
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rillstreams/rill/internal/topoaccess"
	"github.com/rillstreams/rill/processor"
	"github.com/rillstreams/rill/serde"
	"github.com/rillstreams/rill/state"
	"github.com/rillstreams/rill/streamstest"
	"github.com/rillstreams/rill/topology"
)

// proc is a processor made of functions; nil ones do nothing. It counts its Close calls.
type proc[KIn, VIn, KOut, VOut any] struct {
	init    func(ctx processor.Context[KOut, VOut]) error
	process func(ctx processor.Context[KOut, VOut], rec processor.Record[KIn, VIn]) error
	ctx     processor.Context[KOut, VOut]
	closes  int
}

func (p *proc[KIn, VIn, KOut, VOut]) Init(ctx processor.Context[KOut, VOut]) error {
	p.ctx = ctx
	if p.init != nil {
		return p.init(ctx)
	}
	return nil
}

func (p *proc[KIn, VIn, KOut, VOut]) Process(rec processor.Record[KIn, VIn]) error {
	if p.process != nil {
		return p.process(p.ctx, rec)
	}
	return nil
}

func (p *proc[KIn, VIn, KOut, VOut]) Close() error { p.closes++; return nil }

// supply returns a supplier of p itself: the driver makes one task per sub-topology.
func supply[KIn, VIn, KOut, VOut any](p *proc[KIn, VIn, KOut, VOut]) processor.Supplier[KIn, VIn, KOut, VOut] {
	return func() processor.Processor[KIn, VIn, KOut, VOut] { return p }
}

// mapValues returns a processor forwarding every record with fn applied to its value.
func mapValues(fn func(string) string) *proc[string, string, string, string] {
	return &proc[string, string, string, string]{
		process: func(ctx processor.Context[string, string], rec processor.Record[string, string]) error {
			return ctx.Forward(processor.WithValue(rec, fn(rec.Value)))
		}}
}

func must(t *testing.T, errs ...error) {
	t.Helper()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
}

var str = serde.String()

func TestRecordsWrittenToAReadTopicAreRoutedBack(t *testing.T) {
	// in -> upper -> t; t -> exclaim -> out: two sub-topologies joined through topic t.
	var seenOnT []string
	exclaim := mapValues(func(v string) string { return v + "!" })
	exclaim.process = func(ctx processor.Context[string, string], rec processor.Record[string, string]) error {
		md, _ := ctx.RecordMetadata()
		seenOnT = append(seenOnT, fmt.Sprintf("%s@%d ts=%d %s=%s", md.Topic, md.Offset, rec.Timestamp, rec.Key, rec.Value))
		return ctx.Forward(processor.WithValue(rec, rec.Value+"!"))
	}
	topo := topology.New()
	must(t,
		topo.AddSource("src-in", str, str, "in"),
		topo.AddProcessor("upper", supply(mapValues(strings.ToUpper)), "src-in"),
		topo.AddSink("to-t", "t", str, str, "upper"),
		topo.AddSource("src-t", str, str, "t"),
		topo.AddProcessor("exclaim", supply(exclaim), "src-t"),
		topo.AddSink("to-out", "out", str, str, "exclaim"),
		topo.Seal())
	if n := len(topoaccess.Subtopologies(topo)); n != 2 {
		t.Fatalf("%d sub-topologies, want 2", n)
	}

	d := streamstest.New(t, topo)
	in := streamstest.Input(d, "in", str, str)
	in.PipeAt("a", "x", time.UnixMilli(10))
	in.PipeAt("b", "y", time.UnixMilli(5))

	wantEqual(t, "seen on t", seenOnT, []string{"t@0 ts=10 a=X", "t@1 ts=5 b=Y"})
	out := streamstest.Output(d, "out", str, str)
	wantEqual(t, "out", out.ReadAll(), []streamstest.Record[string, string]{
		{Key: "a", Value: "X!", Time: time.UnixMilli(10)},
		{Key: "b", Value: "Y!", Time: time.UnixMilli(5)},
	})
	// What was written to t can be read too.
	wantEqual(t, "t", streamstest.Output(d, "t", str, str).ReadKeyValues(), []streamstest.KeyValue[string, string]{
		{Key: "a", Value: "X"}, {Key: "b", Value: "Y"}})
}

func TestRecordsLoopWithinOneTask(t *testing.T) {
	// loop -> inc -> loop: a sub-topology writing to the topic it reads, until the value is 3.
	var seen []string
	inc := &proc[string, int64, string, int64]{
		process: func(ctx processor.Context[string, int64], rec processor.Record[string, int64]) error {
			md, _ := ctx.RecordMetadata()
			seen = append(seen, fmt.Sprintf("%d@%d", rec.Value, md.Offset))
			if rec.Value >= 3 {
				return nil
			}
			return ctx.Forward(processor.WithValue(rec, rec.Value+1))
		}}
	topo := topology.New()
	must(t,
		topo.AddSource("src", str, serde.Int64(), "loop"),
		topo.AddProcessor("inc", supply(inc), "src"),
		topo.AddSink("sink", "loop", str, serde.Int64(), "inc"),
		topo.Seal())
	d := streamstest.New(t, topo)
	streamstest.Input(d, "loop", str, serde.Int64()).Pipe("k", 0)

	wantEqual(t, "seen", seen, []string{"0@0", "1@1", "2@2", "3@3"})
	out := streamstest.Output(d, "loop", str, serde.Int64())
	var values []int64
	for !out.IsEmpty() {
		values = append(values, out.ReadValue())
	}
	wantEqual(t, "written to loop", values, []int64{1, 2, 3})
}

func TestAdvanceWallClockFiresPunctuations(t *testing.T) {
	// in -> ticker -> ticks, where ticker emits a tick every 10s of wall-clock time; ticks ->
	// seen -> seen-ticks in another sub-topology.
	n := 0
	ticker := &proc[string, string, string, string]{
		init: func(ctx processor.Context[string, string]) error {
			_, err := ctx.Schedule(10*time.Second, processor.WallClockTime, func(now int64) error {
				n++
				return ctx.Forward(processor.Record[string, string]{Key: "tick", Value: strconv.Itoa(n), Timestamp: now})
			})
			return err
		},
		process: func(ctx processor.Context[string, string], rec processor.Record[string, string]) error {
			return ctx.Forward(rec)
		}}
	topo := topology.New()
	must(t,
		topo.AddSource("src", str, str, "in"),
		topo.AddProcessor("ticker", supply(ticker), "src"),
		topo.AddSink("to-ticks", "ticks", str, str, "ticker"),
		topo.AddSource("src-ticks", str, str, "ticks"),
		topo.AddProcessor("seen", supply(mapValues(func(v string) string { return "seen " + v })), "src-ticks"),
		topo.AddSink("to-seen", "seen-ticks", str, str, "seen"),
		topo.Seal())

	d := streamstest.New(t, topo, streamstest.WithWallClock(time.UnixMilli(1000)))
	ticks := streamstest.Output(d, "ticks", str, str)
	seen := streamstest.Output(d, "seen-ticks", str, str)

	d.AdvanceWallClock(9999 * time.Millisecond) // 10999: first tick due at 11000
	if !ticks.IsEmpty() {
		t.Fatalf("ticks before the first interval: %v", ticks.ReadAll())
	}
	d.AdvanceWallClock(time.Millisecond)
	wantEqual(t, "first tick", ticks.ReadRecord(), streamstest.Record[string, string]{Key: "tick", Value: "1", Time: time.UnixMilli(11_000)})
	d.AdvanceWallClock(25 * time.Second) // 36000: fires once, next due 41000
	d.AdvanceWallClock(4999 * time.Millisecond)
	wantEqual(t, "second tick", ticks.ReadAll(), []streamstest.Record[string, string]{{Key: "tick", Value: "2", Time: time.UnixMilli(36_000)}})
	d.AdvanceWallClock(time.Millisecond)
	wantEqual(t, "third tick", ticks.ReadValue(), "3")
	wantEqual(t, "seen ticks", seen.ReadKeyValues(), []streamstest.KeyValue[string, string]{
		{Key: "tick", Value: "seen 1"}, {Key: "tick", Value: "seen 2"}, {Key: "tick", Value: "seen 3"}})
	if got := d.WallClock(); !got.Equal(time.UnixMilli(41_000)) {
		t.Errorf("WallClock = %v, want 41s after the epoch", got.UnixMilli())
	}

	// Pipe stamps records with the driver's wall clock.
	streamstest.Input(d, "in", str, str).Pipe("k", "v")
	wantEqual(t, "piped", ticks.ReadRecord(), streamstest.Record[string, string]{Key: "k", Value: "v", Time: time.UnixMilli(41_000)})
}

// fatalTB is a testing.TB whose Fatal functions record the message and stop the caller with a
// panic that expectFatal recovers, so that a test can check that the driver fails its test.
type fatalTB struct {
	testing.TB
	msg string
}

type fatalStop struct{}

func (f *fatalTB) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	panic(fatalStop{})
}

func (f *fatalTB) Fatal(args ...any) {
	f.msg = fmt.Sprint(args...)
	panic(fatalStop{})
}

func (f *fatalTB) FailNow() { panic(fatalStop{}) }

// expectFatal runs fn and returns the message it failed tb with, failing t if it did not.
func expectFatal(t *testing.T, tb *fatalTB, fn func()) (msg string) {
	t.Helper()
	tb.msg = ""
	stopped := false
	func() {
		defer func() {
			if r := recover(); r != nil {
				if _, ok := r.(fatalStop); !ok {
					panic(r)
				}
				stopped = true
			}
		}()
		fn()
	}()
	if !stopped {
		t.Errorf("the driver did not fail the test")
	}
	return tb.msg
}

func passThrough(t *testing.T) *topology.Topology {
	topo := topology.New()
	must(t,
		topo.AddSource("src", str, str, "in"),
		topo.AddSink("sink", "out", str, str, "src"),
		topo.Seal())
	return topo
}

func TestReadRecordOnEmptyTopicFailsTheTest(t *testing.T) {
	tb := &fatalTB{TB: t}
	d := streamstest.New(tb, passThrough(t))
	out := streamstest.Output(d, "out", str, str)

	msg := expectFatal(t, tb, func() { out.ReadRecord() })
	if msg != "streamstest: no more records in out" {
		t.Errorf("failure message %q", msg)
	}
	streamstest.Input(d, "in", str, str).Pipe("k", "v")
	if kv := out.ReadKeyValue(); kv != (streamstest.KeyValue[string, string]{Key: "k", Value: "v"}) {
		t.Errorf("ReadKeyValue = %v", kv)
	}
	expectFatal(t, tb, func() { out.ReadValue() })
	expectFatal(t, tb, func() { streamstest.Output(d, "never-written", str, str).ReadKeyValue() })
	if got := out.ReadAll(); len(got) != 0 {
		t.Errorf("ReadAll on an empty topic = %v", got)
	}
}

func TestPipeFailsTheTestOnTaskError(t *testing.T) {
	tb := &fatalTB{TB: t}
	topo := topology.New()
	must(t,
		topo.AddSource("src", str, serde.Int64(), "in"),
		topo.AddSink("sink", "out", str, serde.Int64(), "src"),
		topo.Seal())
	d := streamstest.New(tb, topo)
	// A string value is not 8 bytes: deserialization fails, and so does the test.
	msg := expectFatal(t, tb, func() { streamstest.Input(d, "in", str, str).Pipe("k", "abc") })
	if !strings.HasPrefix(msg, "streamstest: pipe into in: ") || !strings.Contains(msg, "deserialization failed") {
		t.Errorf("failure message %q", msg)
	}
}

// countStore is a store counting what its processor tells it to, and its own closes.
type countStore struct {
	name   string
	count  int
	closes int
}

func (s *countStore) Name() string { return s.name }
func (s *countStore) Flush() error { return nil }
func (s *countStore) Close() error { s.closes++; return nil }

type countStoreBuilder struct {
	name  string
	built []*countStore
}

func (b *countStoreBuilder) Name() string { return b.name }
func (b *countStoreBuilder) Build(state.StoreContext) (processor.Store, error) {
	s := &countStore{name: b.name}
	b.built = append(b.built, s)
	return s, nil
}

// countingTopology: in -> counter (connected to store "counts") -> out.
func countingTopology(t *testing.T) (*topology.Topology, *countStoreBuilder, *proc[string, string, string, string]) {
	sb := &countStoreBuilder{name: "counts"}
	counter := &proc[string, string, string, string]{
		process: func(ctx processor.Context[string, string], rec processor.Record[string, string]) error {
			s, err := ctx.StateStore("counts")
			if err != nil {
				return err
			}
			s.(*countStore).count++
			return ctx.Forward(rec)
		}}
	topo := topology.New()
	must(t,
		topo.AddSource("src", str, str, "in"),
		topo.AddProcessor("counter", supply(counter), "src"),
		topo.AddSink("sink", "out", str, str, "counter"),
		topo.AddStore(sb, "counter"),
		topo.Seal())
	return topo, sb, counter
}

func TestStoreFindsTheTaskStore(t *testing.T) {
	topo, sb, _ := countingTopology(t)
	d := streamstest.New(t, topo)
	in := streamstest.Input(d, "in", str, str)
	in.Pipe("a", "1")
	in.Pipe("b", "2")

	s, ok := d.Store("counts")
	if !ok || len(sb.built) != 1 || s != processor.Store(sb.built[0]) {
		t.Fatalf("Store(counts) = %v, %v; want the store the task built", s, ok)
	}
	if got := s.(*countStore).count; got != 2 {
		t.Errorf("count = %d, want 2", got)
	}
	if s, ok := d.Store("missing"); ok || s != nil {
		t.Errorf("Store(missing) = %v, %v; want nil, false", s, ok)
	}
}

func TestCloseIsIdempotent(t *testing.T) {
	topo, sb, counter := countingTopology(t)
	// Cleanups run last-in first-out: this one runs after the driver's own Close.
	t.Cleanup(func() {
		if counter.closes != 1 || sb.built[0].closes != 1 {
			t.Errorf("after cleanup: processor closed %d times, store %d times; want 1 each", counter.closes, sb.built[0].closes)
		}
	})
	d := streamstest.New(t, topo)
	in := streamstest.Input(d, "in", str, str)
	in.Pipe("a", "1")

	d.Close()
	d.Close()
	if counter.closes != 1 || sb.built[0].closes != 1 {
		t.Errorf("processor closed %d times, store %d times; want 1 each", counter.closes, sb.built[0].closes)
	}
	err := in.TryPipe(streamstest.Record[string, string]{Key: "b", Value: "2"})
	if err == nil || !strings.Contains(err.Error(), "closed") {
		t.Errorf("TryPipe after Close = %v, want an error saying the driver is closed", err)
	}
	if got := sb.built[0].count; got != 1 {
		t.Errorf("count = %d, want 1: nothing is processed after Close", got)
	}
}

func TestTryPipeReturnsTheTaskError(t *testing.T) {
	errBad := errors.New("bad value")
	build := func() *topology.Topology {
		p := &proc[string, string, string, string]{
			process: func(ctx processor.Context[string, string], rec processor.Record[string, string]) error {
				if rec.Value == "bad" {
					return errBad
				}
				return ctx.Forward(rec)
			}}
		topo := topology.New()
		must(t,
			topo.AddSource("src", str, str, "in"),
			topo.AddProcessor("p", supply(p), "src"),
			topo.AddSink("sink", "out", str, str, "p"),
			topo.Seal())
		return topo
	}

	t.Run("fail", func(t *testing.T) {
		d := streamstest.New(t, build())
		in := streamstest.Input(d, "in", str, str)
		if err := in.TryPipe(streamstest.Record[string, string]{Key: "k", Value: "good", Time: time.UnixMilli(2)}); err != nil {
			t.Fatalf("TryPipe(good) = %v", err)
		}
		err := in.TryPipe(streamstest.Record[string, string]{Key: "k", Value: "bad", Time: time.UnixMilli(3)})
		if !errors.Is(err, processor.ErrProcessing) || !errors.Is(err, errBad) {
			t.Fatalf("TryPipe(bad) = %v, want a processing error caused by errBad", err)
		}
		var te *processor.TaskError
		if !errors.As(err, &te) {
			t.Fatalf("TryPipe(bad) = %T, want a *processor.TaskError", err)
		}
		wantEqual(t, "task error", *te, processor.TaskError{Kind: processor.ProcessingError,
			TaskID: processor.TaskID{Subtopology: 0, Partition: 0}, Node: "p", Topic: "in", Partition: 0, Offset: 1, Err: errBad})
		wantEqual(t, "out", streamstest.Output(d, "out", str, str).ReadKeyValues(), []streamstest.KeyValue[string, string]{{Key: "k", Value: "good"}})
		if err := streamstest.Input(d, "nowhere", str, str).TryPipe(streamstest.Record[string, string]{Time: time.UnixMilli(2)}); err == nil {
			t.Error("TryPipe into a topic nothing reads succeeded")
		}
	})
	t.Run("continue", func(t *testing.T) {
		d := streamstest.New(t, build(), streamstest.WithProcessingHandler(processor.LogAndContinue))
		in := streamstest.Input(d, "in", str, str)
		if err := in.TryPipe(streamstest.Record[string, string]{Key: "k", Value: "bad", Time: time.UnixMilli(2)}); err != nil {
			t.Fatalf("TryPipe(bad) with LogAndContinue = %v", err)
		}
		if d.Dropped() != 1 {
			t.Errorf("Dropped = %d, want 1", d.Dropped())
		}
	})
}

func wantEqual[T any](t *testing.T, what string, got, want T) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s:\n got  %+v\n want %+v", what, got, want)
	}
}
