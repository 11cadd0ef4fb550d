package engine

import (
	"errors"
	"strings"
	"testing"

	"github.com/rillstreams/rill/processor"
	"github.com/rillstreams/rill/serde"
)

var errBadValue = errors.New("bad value")

// failOn returns a processor that fails with errBadValue on records whose value is "bad" and
// forwards the others.
func failOn(name string) *fproc[string, string, string, string] {
	p := passProc[string, string](name, nil)
	p.process = func(ctx processor.Context[string, string], rec processor.Record[string, string]) error {
		if rec.Value == "bad" {
			return errBadValue
		}
		return ctx.Forward(rec)
	}
	return p
}

// failingSerde serializes with String, or fails with errSer on the value "unserializable".
var errSer = errors.New("cannot encode")

func failingSerde() serde.Serde[string] {
	return serde.New(func(topic, v string) ([]byte, error) {
		if v == "unserializable" {
			return nil, errSer
		}
		return []byte(v), nil
	}, serde.String().Deserialize)
}

func TestLogAndFailReturnsTaskError(t *testing.T) {
	for _, tc := range []struct {
		name     string
		g        *graph
		value    string
		want     processor.TaskError // Err is checked apart
		is, isNo []error
		msg      string
	}{{
		name:  "deserialization",
		g:     newGraph().add(NewSource("src", []string{"in"}, nil, false, serde.String(), serde.Int64())).add(procSpec(passProc[string, int64]("p", nil)), "src"),
		value: "abc", // 3 bytes: not an int64
		want:  processor.TaskError{Kind: processor.DeserializationError, Node: "src"},
		is:    []error{processor.ErrDeserialization, serde.ErrSerialization},
		isNo:  []error{processor.ErrProcessing, processor.ErrProduction},
		msg:   "rill: task 4_2: deserialization failed at node src on record in[2]@7: rill: cannot deserialize value of record in[2]@7: rill: int64 needs 8 bytes, got 3",
	}, {
		name:  "processing",
		g:     newGraph().add(strSource("src", "in")).add(procSpec(failOn("p")), "src"),
		value: "bad",
		want:  processor.TaskError{Kind: processor.ProcessingError, Node: "p"},
		is:    []error{processor.ErrProcessing, errBadValue},
		isNo:  []error{processor.ErrDeserialization, processor.ErrProduction, serde.ErrSerialization},
		msg:   "rill: task 4_2: processing failed at node p on record in[2]@7: bad value",
	}, {
		name: "production",
		g: newGraph().add(strSource("src", "in")).add(procSpec(passProc[string, string]("p", nil)), "src").
			add(NewSink("sink", "out", false, serde.String(), failingSerde()), "p"),
		value: "unserializable",
		want:  processor.TaskError{Kind: processor.ProductionError, Node: "sink"},
		is:    []error{processor.ErrProduction, serde.ErrSerialization, errSer},
		isNo:  []error{processor.ErrDeserialization, processor.ErrProcessing},
		msg:   "rill: task 4_2: production failed at node sink on record in[2]@7: rill: cannot serialize value of record out: cannot encode",
	}} {
		t.Run(tc.name, func(t *testing.T) {
			task, col := newTask(t, tc.g, Config{})
			add(t, task, raw("in", 2, 7, 100, "k", tc.value))
			err := processOne(t, task)
			te := asTaskError(t, err)
			want := tc.want
			want.TaskID, want.Topic, want.Partition, want.Offset, want.Err = testTaskID, "in", 2, 7, te.Err
			wantEqual(t, "task error", *te, want)
			wantIs(t, err, tc.is...)
			wantIsNot(t, err, tc.isNo...)
			if err.Error() != tc.msg {
				t.Errorf("message:\n got  %q\n want %q", err.Error(), tc.msg)
			}
			if task.Dropped() != 0 || len(col.recs) != 0 {
				t.Errorf("Dropped = %d, sent %v; want 0 and nothing", task.Dropped(), col.values())
			}
		})
	}
}

func TestLogAndContinueSkipsAndCounts(t *testing.T) {
	g := newGraph().add(NewSource("src", []string{"in"}, nil, false, serde.String(), serde.String())).
		add(procSpec(failOn("p")), "src").add(strSink("sink", "out"), "p")
	task, col := newTask(t, g, Config{ProcessingHandler: processor.LogAndContinue})
	add(t, task, raw("in", 0, 0, 1, "a", "ok"), raw("in", 0, 1, 2, "b", "bad"), raw("in", 0, 2, 3, "c", "ok"),
		raw("in", 0, 3, 4, "d", "bad"))
	if n := processAll(t, task); n != 4 {
		t.Fatalf("processed %d, want 4", n)
	}
	wantEqual(t, "sent", col.values(), []string{"out:a=ok", "out:c=ok"})
	if task.Dropped() != 2 || task.Processed() != 4 {
		t.Errorf("Dropped, Processed = %d, %d; want 2, 4", task.Dropped(), task.Processed())
	}
	if task.StreamTime() != 4 {
		t.Errorf("StreamTime = %d, want 4: a skipped record still counts", task.StreamTime())
	}
}

func TestDeserializationLogAndContinue(t *testing.T) {
	spy := &handlerSpy{h: processor.LogAndContinue}
	g := newGraph().add(NewSource("src", []string{"in"}, nil, false, serde.Int64(), serde.String())).
		add(NewSink("sink", "out", false, serde.Int64(), serde.String()), "src")
	task, col := newTask(t, g, Config{DeserializationHandler: spy.handle})
	add(t, task, raw("in", 1, 0, 1, "short", "v"), raw("in", 1, 1, 2, "8 bytes!", "w"))
	processAll(t, task)
	if len(col.recs) != 1 || string(col.recs[0].Value) != "w" || task.Dropped() != 1 {
		t.Errorf("sent %v, Dropped %d; want only w, 1", col.values(), task.Dropped())
	}
	if len(spy.calls) != 1 {
		t.Fatalf("handler called %d times, want 1", len(spy.calls))
	}
	var se *serde.Error
	if !errors.As(spy.errs[0], &se) || !se.Key || se.Serialize || se.Topic != "in" || se.Partition != 1 || se.Offset != 0 {
		t.Errorf("handler error = %#v, want a *serde.Error about the key of in[1]@0", spy.errs[0])
	}
}

func TestDeadLetterQueue(t *testing.T) {
	orig := []processor.Header{{Key: "trace", Value: []byte("t1")}, {Key: "trace", Value: []byte("t2")}}
	dlqHeaders := func(exception, message, partition, offset string) []processor.Header {
		return append(append([]processor.Header{}, orig...),
			processor.Header{Key: "__streams.errors.exception", Value: []byte(exception)},
			processor.Header{Key: "__streams.errors.message", Value: []byte(message)},
			processor.Header{Key: "__streams.errors.topic", Value: []byte("in")},
			processor.Header{Key: "__streams.errors.partition", Value: []byte(partition)},
			processor.Header{Key: "__streams.errors.offset", Value: []byte(offset)})
	}

	t.Run("processing", func(t *testing.T) {
		g := newGraph().add(strSource("src", "in")).add(procSpec(failOn("p")), "src").add(strSink("sink", "out"), "p")
		task, col := newTask(t, g, Config{ProcessingHandler: processor.DeadLetterQueue("dlq")})
		r := raw("in", 3, 42, 1234, "key-1", "bad")
		r.Headers = orig
		add(t, task, r, raw("in", 3, 43, 1235, "key-2", "good"))
		processAll(t, task)

		wantEqual(t, "sent", col.recs, []OutRecord{
			{Topic: "dlq", Partition: -1, Timestamp: 1234, Key: []byte("key-1"), Value: []byte("bad"),
				Headers: dlqHeaders("*errors.errorString", "bad value", "3", "42")},
			{Topic: "out", Partition: -1, Timestamp: 1235, Key: []byte("key-2"), Value: []byte("good")},
		})
		if task.Dropped() != 1 {
			t.Errorf("Dropped = %d, want 1", task.Dropped())
		}
		wantEqual(t, "original headers", orig, []processor.Header{{Key: "trace", Value: []byte("t1")}, {Key: "trace", Value: []byte("t2")}})
	})
	t.Run("deserialization keeps the raw bytes", func(t *testing.T) {
		g := newGraph().add(NewSource("src", []string{"in"}, nil, false, serde.String(), serde.Int64())).
			add(NewSink("sink", "out", false, serde.String(), serde.Int64()), "src")
		task, col := newTask(t, g, Config{DeserializationHandler: processor.DeadLetterQueue("dlq")})
		r := RawRecord{Topic: "in", Partition: 0, Offset: 9, Timestamp: 5, Key: nil, Value: []byte{0xff, 0x00, 0x01}, Headers: orig}
		add(t, task, r)
		processAll(t, task)
		wantEqual(t, "sent", col.recs, []OutRecord{{Topic: "dlq", Partition: -1, Timestamp: 5, Key: nil, Value: []byte{0xff, 0x00, 0x01},
			Headers: dlqHeaders("*serde.Error", "rill: cannot deserialize value of record in[0]@9: rill: int64 needs 8 bytes, got 3", "0", "9")}})
	})
	t.Run("production", func(t *testing.T) {
		g := newGraph().add(strSource("src", "in")).add(NewSink("sink", "out", false, serde.String(), failingSerde()), "src")
		task, col := newTask(t, g, Config{ProductionHandler: processor.DeadLetterQueue("dlq")})
		add(t, task, raw("in", 0, 0, 5, "k", "unserializable"))
		processAll(t, task)
		if len(col.recs) != 1 || col.recs[0].Topic != "dlq" || string(col.recs[0].Value) != "unserializable" {
			t.Errorf("sent %v, want the input record in dlq", col.values())
		}
	})
}

func TestDeadLetterSendFailureIsFatal(t *testing.T) {
	errSend := errors.New("broker unreachable")
	col := &memCollector{fail: func(r OutRecord) error {
		if r.Topic == "dlq" {
			return errSend
		}
		return nil
	}}
	g := newGraph().add(strSource("src", "in")).add(procSpec(failOn("p")), "src").add(strSink("sink", "out"), "p")
	task, _ := newTask(t, g, Config{Collector: col, ProcessingHandler: processor.DeadLetterQueue("dlq")})
	add(t, task, raw("in", 1, 5, 10, "k", "bad"), raw("in", 1, 6, 11, "k", "good"))

	err := processOne(t, task)
	wantIs(t, err, processor.ErrProduction, errSend, errBadValue)
	wantIsNot(t, err, processor.ErrProcessing)
	te := asTaskError(t, err)
	if te.Kind != processor.ProductionError || te.Node != "p" || te.Topic != "in" || te.Partition != 1 || te.Offset != 5 {
		t.Errorf("task error = %+v, want a production error at p on in[1]@5", te)
	}
	if !strings.Contains(err.Error(), "dlq") {
		t.Errorf("error %q does not name the dead-letter topic", err)
	}
	if len(col.recs) != 0 {
		t.Errorf("sent %v", col.values())
	}
}

func TestDeepErrorIsHandledOnce(t *testing.T) {
	// src -> p1 -> p2 -> p3 (fails on "bad"), and p1 -> side (a sink). p1 and p2 wrap what
	// Forward returns, as user code may.
	build := func(ev *events) *graph {
		wrap := func(name string) *fproc[string, string, string, string] {
			p := passProc[string, string](name, ev)
			p.process = func(ctx processor.Context[string, string], rec processor.Record[string, string]) error {
				err := ctx.Forward(rec)
				ev.add("%s forward returned %v", name, err != nil)
				if err != nil {
					return errors.Join(errors.New(name+" saw an error"), err)
				}
				return nil
			}
			return p
		}
		return newGraph().add(strSource("src", "in")).
			add(procSpec(wrap("p1")), "src").
			add(procSpec(wrap("p2")), "p1").
			add(procSpec(failOn("p3")), "p2").
			add(strSink("side", "side"), "p1")
	}

	t.Run("fail", func(t *testing.T) {
		ev := &events{}
		spy := &handlerSpy{h: processor.LogAndFail}
		task, col := newTask(t, build(ev), Config{ProcessingHandler: spy.handle})
		ev.list = nil
		add(t, task, raw("in", 0, 0, 1, "k", "bad"))
		err := processOne(t, task)
		if len(spy.calls) != 1 || spy.calls[0].Node != "p3" {
			t.Fatalf("handler calls %+v, want one for p3", spy.calls)
		}
		wantIs(t, err, processor.ErrProcessing, errBadValue)
		if te := asTaskError(t, err); te.Node != "p3" {
			t.Errorf("task error node = %q, want p3", te.Node)
		}
		wantEqual(t, "events", ev.list, []string{"p2 forward returned true", "p1 forward returned true"})
		if len(col.recs) != 0 {
			t.Errorf("sent %v: the side sink comes after the failed child", col.values())
		}
	})
	t.Run("continue", func(t *testing.T) {
		ev := &events{}
		spy := &handlerSpy{h: processor.LogAndContinue}
		task, col := newTask(t, build(ev), Config{ProcessingHandler: spy.handle})
		ev.list = nil
		add(t, task, raw("in", 0, 0, 1, "k", "bad"))
		if err := processOne(t, task); err != nil {
			t.Fatal(err)
		}
		if len(spy.calls) != 1 || spy.calls[0].Node != "p3" || task.Dropped() != 1 {
			t.Fatalf("handler calls %+v, Dropped %d; want one for p3, 1", spy.calls, task.Dropped())
		}
		// Handled at p3's node, as Kafka Streams' processing handler: the parents carry on and
		// the record still reaches p1's other child.
		wantEqual(t, "events", ev.list, []string{"p2 forward returned false", "p1 forward returned false"})
		wantEqual(t, "sent", col.values(), []string{"side:k=bad"})
	})
	t.Run("dead letter queue", func(t *testing.T) {
		ev := &events{}
		task, col := newTask(t, build(ev), Config{ProcessingHandler: processor.DeadLetterQueue("dlq")})
		add(t, task, raw("in", 0, 0, 1, "k", "bad"))
		processAll(t, task)
		wantEqual(t, "sent", col.values(), []string{"dlq:k=bad", "side:k=bad"})
	})
	t.Run("production error below processors keeps its kind", func(t *testing.T) {
		spy := &handlerSpy{h: processor.LogAndFail}
		g := newGraph().add(strSource("src", "in")).add(procSpec(passProc[string, string]("p1", nil)), "src").
			add(procSpec(passProc[string, string]("p2", nil)), "p1").
			add(NewSink("sink", "out", false, serde.String(), failingSerde()), "p2")
		task, _ := newTask(t, g, Config{ProcessingHandler: spy.handle, ProductionHandler: spy.handle})
		add(t, task, raw("in", 0, 0, 1, "k", "unserializable"))
		err := processOne(t, task)
		if len(spy.calls) != 1 || spy.calls[0].Kind != processor.ProductionError {
			t.Fatalf("handler calls %+v, want one production error", spy.calls)
		}
		if te := asTaskError(t, err); te.Kind != processor.ProductionError || te.Node != "sink" {
			t.Errorf("task error = %+v, want a production error at sink", te)
		}
	})
}

func TestPanicInProcessorIsProcessingError(t *testing.T) {
	panicky := func() *fproc[string, string, string, string] {
		p := passProc[string, string]("p", nil)
		p.process = func(ctx processor.Context[string, string], rec processor.Record[string, string]) error {
			if rec.Value == "bad" {
				var m map[string]int
				m["x"] = 1 // assignment to entry in nil map
			}
			return ctx.Forward(rec)
		}
		return p
	}
	g := func() *graph {
		return newGraph().add(strSource("src", "in")).add(procSpec(panicky()), "src").add(strSink("sink", "out"), "p")
	}

	t.Run("fail", func(t *testing.T) {
		task, _ := newTask(t, g(), Config{})
		add(t, task, raw("in", 2, 11, 1, "k", "bad"))
		err := processOne(t, task)
		wantIs(t, err, processor.ErrProcessing)
		te := asTaskError(t, err)
		if te.Kind != processor.ProcessingError || te.Topic != "in" || te.Partition != 2 || te.Offset != 11 {
			t.Errorf("task error = %+v, want a processing error on in[2]@11", te)
		}
		if !strings.Contains(err.Error(), "nil map") {
			t.Errorf("error %q does not describe the panic", err)
		}
		if _, ok := task.RecordMetadata(); ok {
			t.Error("RecordMetadata still reports a record after the panic")
		}
	})
	t.Run("continue", func(t *testing.T) {
		spy := &handlerSpy{h: processor.LogAndContinue}
		task, col := newTask(t, g(), Config{ProcessingHandler: spy.handle})
		add(t, task, raw("in", 0, 0, 1, "a", "bad"), raw("in", 0, 1, 2, "b", "good"))
		processAll(t, task)
		if len(spy.calls) != 1 || spy.calls[0].Kind != processor.ProcessingError || spy.calls[0].Offset != 0 {
			t.Errorf("handler calls %+v, want one processing error for offset 0", spy.calls)
		}
		wantEqual(t, "sent", col.values(), []string{"out:b=good"})
		if task.Dropped() != 1 {
			t.Errorf("Dropped = %d, want 1", task.Dropped())
		}
	})
}

func TestSinkFailuresGoToProductionHandler(t *testing.T) {
	t.Run("serialization", func(t *testing.T) {
		spy := &handlerSpy{h: processor.LogAndContinue}
		g := newGraph().add(strSource("src", "in")).add(NewSink("sink", "out", false, failingSerde(), serde.String()), "src")
		task, col := newTask(t, g, Config{ProductionHandler: spy.handle, ProcessingHandler: processor.LogAndFail})
		add(t, task, raw("in", 0, 4, 1, "unserializable", "v"), raw("in", 0, 5, 2, "k", "v"))
		processAll(t, task)
		if len(spy.calls) != 1 {
			t.Fatalf("production handler called %d times, want 1", len(spy.calls))
		}
		wantEqual(t, "error context", spy.calls[0], processor.ErrorContext{Kind: processor.ProductionError, TaskID: testTaskID,
			Node: "sink", Topic: "in", Partition: 0, Offset: 4, Timestamp: 1, Key: []byte("unserializable"), Value: []byte("v")})
		var se *serde.Error
		if !errors.As(spy.errs[0], &se) || !se.Key || !se.Serialize || se.Topic != "out" || se.Partition != -1 || se.Offset != -1 {
			t.Errorf("handler error = %#v, want a *serde.Error serializing the key for out", spy.errs[0])
		}
		wantIs(t, spy.errs[0], errSer, serde.ErrSerialization)
		wantEqual(t, "sent", col.values(), []string{"out:k=v"})
		if task.Dropped() != 1 {
			t.Errorf("Dropped = %d, want 1", task.Dropped())
		}
	})
	t.Run("collector", func(t *testing.T) {
		errSend := errors.New("record too large")
		col := &memCollector{fail: func(OutRecord) error { return errSend }}
		g := newGraph().add(strSource("src", "in")).add(strSink("sink", "out"), "src")
		task, _ := newTask(t, g, Config{Collector: col})
		add(t, task, raw("in", 0, 0, 1, "k", "v"))
		err := processOne(t, task)
		wantIs(t, err, processor.ErrProduction, errSend)
		if te := asTaskError(t, err); te.Node != "sink" {
			t.Errorf("task error node %q, want sink", te.Node)
		}
	})
}

func TestForwardTo(t *testing.T) {
	router := func(child string) *fproc[string, string, string, string] {
		p := passProc[string, string]("router", nil)
		p.process = func(ctx processor.Context[string, string], rec processor.Record[string, string]) error {
			return ctx.ForwardTo(child, rec)
		}
		return p
	}
	g := func(child string) *graph {
		return newGraph().add(strSource("src", "in")).add(procSpec(router(child)), "src").
			add(strSink("a", "out-a"), "router").add(strSink("b", "out-b"), "router")
	}

	t.Run("known child", func(t *testing.T) {
		task, col := newTask(t, g("b"), Config{})
		add(t, task, raw("in", 0, 0, 1, "k", "v"))
		processAll(t, task)
		wantEqual(t, "sent", col.values(), []string{"out-b:k=v"})
	})
	t.Run("unknown child", func(t *testing.T) {
		task, col := newTask(t, g("c"), Config{})
		add(t, task, raw("in", 0, 0, 1, "k", "v"))
		err := processOne(t, task)
		wantIs(t, err, processor.ErrUnknownChild, processor.ErrProcessing)
		if te := asTaskError(t, err); te.Node != "router" {
			t.Errorf("task error node %q, want router", te.Node)
		}
		if len(col.recs) != 0 {
			t.Errorf("sent %v", col.values())
		}
	})
}
