package dsl_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/rillstreams/rill/dsl"
	"github.com/rillstreams/rill/processor"
	"github.com/rillstreams/rill/serde"
	"github.com/rillstreams/rill/streamstest"
	"github.com/rillstreams/rill/topology"
)

// int64Topology reads string keys and int64 values from "in", doubles the values and writes
// them to "out".
func int64Topology(t *testing.T) *topology.Topology {
	b := dsl.NewBuilder()
	b.Stream("in", serde.String(), serde.Int64(), dsl.Named("source")).
		MapValues(func(_ string, v int64) int64 { return 2 * v }).
		To("out")
	return mustBuild(t, b)
}

func int64Bytes(v int64) []byte {
	b, _ := serde.Int64().Serialize("", v)
	return b
}

var poison = []byte{1, 2, 3} // not 8 bytes: no int64

func TestPoisonRecordFailsByDefault(t *testing.T) {
	d := streamstest.New(t, int64Topology(t))
	in := streamstest.Input(d, "in", serde.String(), serde.Int64())
	in.PipeAt("a", 1, at(10))
	in.PipeAt("b", 2, at(20))
	err := in.PipeRaw([]byte("c"), poison, at(30))
	if !errors.Is(err, processor.ErrDeserialization) || !errors.Is(err, serde.ErrSerialization) {
		t.Fatalf("error %v, want one matching ErrDeserialization and serde.ErrSerialization", err)
	}
	var te *processor.TaskError
	if !errors.As(err, &te) {
		t.Fatalf("error %T is no *processor.TaskError", err)
	}
	want := processor.TaskError{Kind: processor.DeserializationError, TaskID: processor.TaskID{}, Node: "source",
		Topic: "in", Partition: 0, Offset: 2, Err: te.Err}
	if !reflect.DeepEqual(*te, want) {
		t.Errorf("TaskError %+v, want %+v", *te, want)
	}
	var se *serde.Error
	if !errors.As(err, &se) || se.Key || se.Serialize || se.Topic != "in" || se.Offset != 2 {
		t.Errorf("serde.Error %+v, want the value of in@2 failing to deserialize", se)
	}
	expectRecords(t, streamstest.Output(d, "out", serde.String(), serde.Int64()),
		rec[string, int64]("a", 2, 10), rec[string, int64]("b", 4, 20))
}

func TestPoisonKeyFailsByDefault(t *testing.T) {
	b := dsl.NewBuilder()
	b.Stream("in", serde.Int64(), serde.String()).To("out")
	d := streamstest.New(t, mustBuild(t, b))
	err := streamstest.Input(d, "in", serde.Int64(), serde.String()).PipeRaw(poison, []byte("v"), at(1))
	var se *serde.Error
	if !errors.Is(err, processor.ErrDeserialization) || !errors.As(err, &se) || !se.Key {
		t.Errorf("error %v, want a deserialization error of the key", err)
	}
}

func TestPoisonRecordSkippedWithLogAndContinue(t *testing.T) {
	d := streamstest.New(t, int64Topology(t), streamstest.WithDeserializationHandler(processor.LogAndContinue))
	in := streamstest.Input(d, "in", serde.String(), serde.Int64())
	in.PipeAt("a", 1, at(10))
	if err := in.PipeRaw([]byte("b"), poison, at(20)); err != nil {
		t.Fatalf("poison record with LogAndContinue: %v", err)
	}
	in.PipeAt("c", 3, at(30))
	if d.Dropped() != 1 {
		t.Errorf("Dropped() = %d, want 1", d.Dropped())
	}
	expectRecords(t, streamstest.Output(d, "out", serde.String(), serde.Int64()),
		rec[string, int64]("a", 2, 10), rec[string, int64]("c", 6, 30))
	if n := rawOut(d, "dlq").Len(); n != 0 {
		t.Errorf("LogAndContinue wrote %d dead letters", n)
	}
}

func TestPoisonRecordToDeadLetterQueue(t *testing.T) {
	d := streamstest.New(t, int64Topology(t), streamstest.WithDeserializationHandler(processor.DeadLetterQueue("dlq")))
	in := streamstest.Input(d, "in", serde.String(), serde.Int64())
	in.PipeAt("a", 1, at(10))
	if err := in.PipeRaw([]byte("b"), poison, at(20), hdrs("app", "h1")...); err != nil {
		t.Fatalf("poison record with DeadLetterQueue: %v", err)
	}
	in.PipeAt("c", 3, at(30))
	expectRecords(t, streamstest.Output(d, "out", serde.String(), serde.Int64()),
		rec[string, int64]("a", 2, 10), rec[string, int64]("c", 6, 30))
	if d.Dropped() != 1 {
		t.Errorf("Dropped() = %d, want 1", d.Dropped())
	}

	dlq := streamstest.Output(d, "dlq", serde.Bytes(), serde.Bytes())
	if dlq.Len() != 1 {
		t.Fatalf("%d dead letters, want 1", dlq.Len())
	}
	r := dlq.ReadRecord()
	if string(r.Key) != "b" || !reflect.DeepEqual(r.Value, poison) || r.Time.UnixMilli() != 20 {
		t.Errorf("dead letter %q=% x @%d, want the raw input b=% x @20", r.Key, r.Value, r.Time.UnixMilli(), poison)
	}
	checkDeadLetterHeaders(t, r.Headers, "in", "1", "deserialize value")
	if len(r.Headers) == 0 || r.Headers[0].Key != "app" || string(r.Headers[0].Value) != "h1" {
		t.Errorf("dead letter does not keep the input's headers first: %v", r.Headers)
	}
}

func checkDeadLetterHeaders(t *testing.T, h []processor.Header, topic, offset, msg string) {
	t.Helper()
	for key, want := range map[string]string{
		processor.HeaderErrorTopic:     topic,
		processor.HeaderErrorPartition: "0",
		processor.HeaderErrorOffset:    offset,
	} {
		if got, ok := headerValue(h, key); !ok || got != want {
			t.Errorf("header %s = %q (present %v), want %q", key, got, ok, want)
		}
	}
	if got, _ := headerValue(h, processor.HeaderErrorMessage); !strings.Contains(got, msg) {
		t.Errorf("header %s = %q, want it to mention %q", processor.HeaderErrorMessage, got, msg)
	}
	if got, _ := headerValue(h, processor.HeaderErrorException); got == "" {
		t.Errorf("header %s missing", processor.HeaderErrorException)
	}
}

// panicTopology's MapValues panics on the value "boom".
func panicTopology(t *testing.T) *topology.Topology {
	b := dsl.NewBuilder()
	b.Stream("in", serde.String(), serde.String()).
		MapValues(func(_, v string) string {
			if v == "boom" {
				panic("mapper exploded")
			}
			return strings.ToUpper(v)
		}, dsl.Named("upper")).
		To("out")
	return mustBuild(t, b)
}

// A panic in a DSL function is a processing error of the record, not a crash.
func TestPanicInMapValuesFailsTheTask(t *testing.T) {
	d := streamstest.New(t, panicTopology(t))
	in := strIn(d, "in")
	in.PipeAt("a", "x", at(1))
	err := in.TryPipe(streamstest.Record[string, string]{Key: "b", Value: "boom", Time: at(2)})
	var te *processor.TaskError
	if !errors.Is(err, processor.ErrProcessing) || !errors.As(err, &te) {
		t.Fatalf("error %v, want a processing TaskError", err)
	}
	if te.Kind != processor.ProcessingError || te.Topic != "in" || te.Offset != 1 || !strings.Contains(te.Err.Error(), "mapper exploded") {
		t.Errorf("TaskError %+v", te)
	}
	expectRecords(t, strOut(d, "out"), rec("a", "X", 1))
}

func TestPanicInMapValuesSkippedWithLogAndContinue(t *testing.T) {
	d := streamstest.New(t, panicTopology(t), streamstest.WithProcessingHandler(processor.LogAndContinue))
	in := strIn(d, "in")
	in.PipeAt("a", "x", at(1))
	in.PipeAt("b", "boom", at(2))
	in.PipeAt("c", "y", at(3))
	if d.Dropped() != 1 {
		t.Errorf("Dropped() = %d, want 1", d.Dropped())
	}
	expectRecords(t, strOut(d, "out"), rec("a", "X", 1), rec("c", "Y", 3))
}

func TestPanicInMapValuesToDeadLetterQueue(t *testing.T) {
	d := streamstest.New(t, panicTopology(t), streamstest.WithProcessingHandler(processor.DeadLetterQueue("dlq")))
	in := strIn(d, "in")
	in.PipeAt("a", "x", at(1))
	in.PipeRecords(streamstest.Record[string, string]{Key: "b", Value: "boom", Time: at(2), Headers: hdrs("app", "h")})
	in.PipeAt("c", "y", at(3))
	expectRecords(t, strOut(d, "out"), rec("a", "X", 1), rec("c", "Y", 3))
	dlq := strOut(d, "dlq")
	if dlq.Len() != 1 {
		t.Fatalf("%d dead letters, want 1", dlq.Len())
	}
	r := dlq.ReadRecord()
	if r.Key != "b" || r.Value != "boom" || r.Time.UnixMilli() != 2 {
		t.Errorf("dead letter %+v, want the input b=boom @2", r)
	}
	checkDeadLetterHeaders(t, r.Headers, "in", "1", "mapper exploded")
}

// A processing handler sees the failed record as read, and the node that failed.
func TestProcessingHandlerContext(t *testing.T) {
	var got []processor.ErrorContext
	handler := func(ec *processor.ErrorContext, err error) processor.Response {
		c := *ec
		c.Logger = nil
		got = append(got, c)
		return processor.Response{}
	}
	b := dsl.NewBuilder()
	b.Stream("in", serde.String(), serde.String()).
		Filter(func(_, v string) bool { return v != "" }).
		Process(func() processor.Processor[string, string, string, string] {
			return &funcProcessor[string, string, string, string]{process: func(processor.Context[string, string], processor.Record[string, string]) error {
				return errBoom
			}}
		}, dsl.Named("failing"))
	d := streamstest.New(t, mustBuild(t, b), streamstest.WithProcessingHandler(handler))
	in := strIn(d, "in")
	in.PipeAt("k0", "", at(5)) // filtered out
	in.PipeRecords(streamstest.Record[string, string]{Key: "k1", Value: "v1", Time: at(7), Headers: hdrs("h", "1")})
	want := []processor.ErrorContext{{
		Kind: processor.ProcessingError, TaskID: processor.TaskID{}, Node: "failing",
		Topic: "in", Partition: 0, Offset: 1, Timestamp: 7,
		Key: []byte("k1"), Value: []byte("v1"), Headers: hdrs("h", "1"),
	}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("handler saw %+v, want %+v", got, want)
	}
	if d.Dropped() != 1 {
		t.Errorf("Dropped() = %d, want 1", d.Dropped())
	}
}

// An error in a punctuator goes to the processing handler, without a record.
func TestPunctuatorError(t *testing.T) {
	build := func() *topology.Topology {
		b := dsl.NewBuilder()
		b.Stream("in", serde.String(), serde.String()).
			Process(func() processor.Processor[string, string, string, string] {
				return &funcProcessor[string, string, string, string]{init: func(ctx processor.Context[string, string]) error {
					_, err := ctx.Schedule(10*time.Millisecond, processor.WallClockTime, func(int64) error { return errBoom })
					return err
				}}
			}, dsl.Named("ticker"))
		return mustBuild(t, b)
	}
	d := streamstest.New(t, build())
	err := d.TryAdvanceWallClock(10 * time.Millisecond)
	var te *processor.TaskError
	if !errors.Is(err, errBoom) || !errors.As(err, &te) || te.Node != "ticker" || te.Topic != "" || te.Kind != processor.ProcessingError {
		t.Errorf("punctuator error %v (%+v), want a processing TaskError at ticker without a topic", err, te)
	}

	calls := 0
	counting := func(ec *processor.ErrorContext, err error) processor.Response {
		calls++
		return processor.LogAndContinue(ec, err)
	}
	d = streamstest.New(t, build(), streamstest.WithProcessingHandler(counting))
	if err := d.TryAdvanceWallClock(25 * time.Millisecond); err != nil {
		t.Fatalf("a continuing handler must not fail the punctuation: %v", err)
	}
	// Advancing 25ms fires the 10ms punctuation once, at 25; a failed punctuation drops no record.
	if calls != 1 || d.Dropped() != 0 {
		t.Errorf("handler called %d times, Dropped() = %d; want 1 and 0", calls, d.Dropped())
	}
}

// In Kafka Streams (KIP-1033) an exception thrown by an operator's function is handled by the
// node that threw it (ProcessorNode.process): the error context names that node, and when the
// handler continues, the record still reaches the node's siblings.
func TestPanicHandledAtItsNode(t *testing.T) {
	var nodes []string
	handler := func(ec *processor.ErrorContext, err error) processor.Response {
		nodes = append(nodes, ec.Node)
		return processor.Response{}
	}
	b := dsl.NewBuilder()
	s := b.Stream("in", serde.String(), serde.String())
	s.MapValues(func(_, v string) string { panic("first child exploded") }, dsl.Named("exploding")).To("a")
	s.MapValues(func(_, v string) string { return v + "!" }, dsl.Named("sibling")).To("b")
	d := streamstest.New(t, mustBuild(t, b), streamstest.WithProcessingHandler(handler))
	strIn(d, "in").PipeAt("k", "v", at(1))
	sibling := strOut(d, "b").ReadAll()
	if len(nodes) != 1 || nodes[0] != "exploding" {
		t.Errorf("handler saw nodes %q, want [exploding]", nodes)
	}
	if len(sibling) != 1 || sibling[0].Value != "v!" {
		t.Errorf("sibling wrote %+v, want k=v! ", sibling)
	}
}

// Returned errors, unlike panics, are handled at their node: with a continuing handler the
// record goes on to the failing node's siblings.
func TestProcessingErrorDoesNotStopSiblings(t *testing.T) {
	b := dsl.NewBuilder()
	s := b.Stream("in", serde.String(), serde.String())
	s.Process(func() processor.Processor[string, string, string, string] {
		return &funcProcessor[string, string, string, string]{process: func(processor.Context[string, string], processor.Record[string, string]) error {
			return errBoom
		}}
	}).To("a")
	s.To("b")
	d := streamstest.New(t, mustBuild(t, b), streamstest.WithProcessingHandler(processor.LogAndContinue))
	strIn(d, "in").PipeAt("k", "v", at(4))
	expectRecords(t, strOut(d, "b"), rec("k", "v", 4))
	if d.Dropped() != 1 {
		t.Errorf("Dropped() = %d, want 1", d.Dropped())
	}
}

// Kafka's default timestamp extractor refuses negative timestamps; the record is not processed.
func TestNegativeTimestamp(t *testing.T) {
	b := dsl.NewBuilder()
	b.Stream("in", serde.String(), serde.String()).To("out")
	d := streamstest.New(t, mustBuild(t, b))
	if err := strIn(d, "in").TryPipe(streamstest.Record[string, string]{Key: "k", Value: "v", Time: at(-5)}); err == nil {
		t.Error("a record with a negative timestamp was accepted")
	}
	if n := strOut(d, "out").Len(); n != 0 {
		t.Errorf("%d records written", n)
	}
}
