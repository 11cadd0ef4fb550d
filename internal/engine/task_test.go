package engine

import (
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/rillstreams/rill/processor"
	"github.com/rillstreams/rill/serde"
)

// twoTopicGraph: sources of "a" and "b" both feed the spy processor "p", which feeds a sink.
func twoTopicGraph(ev *events) *graph {
	return newGraph().
		add(strSource("src-a", "a")).
		add(strSource("src-b", "b")).
		add(procSpec(spyProc("p", ev)), "src-a", "src-b").
		add(strSink("sink", "out"), "p")
}

func TestProcessPicksSmallestHeadTimestamp(t *testing.T) {
	ev := &events{}
	task, col := newTask(t, twoTopicGraph(ev), Config{})

	// Queues are created in the order b/0, a/0, a/1. Within a partition records stay in offset
	// order even when their timestamps go back (b/0@1).
	add(t, task, raw("b", 0, 0, 10, "b0", "x"), raw("b", 0, 1, 5, "b1", "x"))
	add(t, task, raw("a", 0, 0, 10, "a0", "x"), raw("a", 0, 1, 40, "a1", "x"))
	add(t, task, raw("a", 1, 0, 7, "a10", "x"))
	if got := task.Buffered(); got != 5 {
		t.Fatalf("Buffered = %d, want 5", got)
	}

	var buffered, processed []int64
	for {
		ok, err := task.Process()
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			break
		}
		buffered = append(buffered, int64(task.Buffered()))
		processed = append(processed, task.Processed())
	}

	wantEqual(t, "processing order", ev.list[1:], []string{ // ev.list[0] is "init p"
		"p a/1@0 ts=7 st=7 a10=x",  // smallest head
		"p b/0@0 ts=10 st=10 b0=x", // tie with a/0 at 10: b/0's queue was created first
		"p b/0@1 ts=5 st=10 b1=x",  // b/0's new head (5) is now the smallest; stream time stays 10
		"p a/0@0 ts=10 st=10 a0=x",
		"p a/0@1 ts=40 st=40 a1=x"})
	wantEqual(t, "Buffered after each Process", buffered, []int64{4, 3, 2, 1, 0})
	wantEqual(t, "Processed after each Process", processed, []int64{1, 2, 3, 4, 5})
	if got := task.StreamTime(); got != 40 {
		t.Errorf("StreamTime = %d, want 40", got)
	}
	wantEqual(t, "sink output", col.values(), []string{"out:a10=x", "out:b0=x", "out:b1=x", "out:a0=x", "out:a1=x"})
	if ok, err := task.Process(); ok || err != nil {
		t.Errorf("Process on empty queues = %v, %v; want false, nil", ok, err)
	}
}

func TestStreamTimeStartsUnknown(t *testing.T) {
	var inInit int64 = 42
	p := passProc[string, string]("p", nil)
	p.init = func(ctx processor.Context[string, string]) error { inInit = ctx.StreamTime(); return nil }
	task, _ := newTask(t, newGraph().add(strSource("src", "in")).add(procSpec(p), "src"), Config{})

	if processor.UnknownTime != -1 {
		t.Fatalf("processor.UnknownTime = %d, want -1 as in Kafka Streams", processor.UnknownTime)
	}
	if got := task.StreamTime(); got != processor.UnknownTime {
		t.Errorf("StreamTime before any record = %d, want %d", got, processor.UnknownTime)
	}
	if inInit != processor.UnknownTime {
		t.Errorf("ctx.StreamTime() in Init = %d, want %d", inInit, processor.UnknownTime)
	}
	// Stream time is the largest timestamp processed, not the last one.
	add(t, task, raw("in", 0, 0, 0, "k", "v"), raw("in", 0, 1, 30, "k", "v"), raw("in", 0, 2, 20, "k", "v"))
	var got []int64
	for range 3 {
		if err := processOne(t, task); err != nil {
			t.Fatal(err)
		}
		got = append(got, task.StreamTime())
	}
	wantEqual(t, "stream time after each record", got, []int64{0, 30, 30})
}

func TestNegativeTimestampFailsByDefault(t *testing.T) {
	ev := &events{}
	task, col := newTask(t, newGraph().add(strSource("src", "in")).add(procSpec(spyProc("p", ev)), "src"), Config{})
	add(t, task, raw("in", 0, 0, 5, "k", "v"), raw("in", 0, 1, -3, "k", "v"))
	if err := processOne(t, task); err != nil {
		t.Fatal(err)
	}
	err := processOne(t, task)
	wantIs(t, err, processor.ErrDeserialization)
	wantIsNot(t, err, processor.ErrProcessing, processor.ErrProduction)
	te := asTaskError(t, err)
	wantEqual(t, "task error", *te, processor.TaskError{Kind: processor.DeserializationError, TaskID: testTaskID,
		Node: "src", Topic: "in", Partition: 0, Offset: 1, Err: te.Err})
	if !strings.Contains(te.Err.Error(), "-3") {
		t.Errorf("cause %q does not name the timestamp -3", te.Err)
	}
	if got := task.StreamTime(); got != 5 {
		t.Errorf("StreamTime = %d, want 5: a negative timestamp must not move it", got)
	}
	if len(ev.list) != 2 { // init p, the first record
		t.Errorf("processor saw %v; the record with a negative timestamp must not reach it", ev.list)
	}
	if len(col.recs) != 0 {
		t.Errorf("collector got %v", col.recs)
	}
}

func TestNegativeTimestampGoesToDeserializationHandler(t *testing.T) {
	ev := &events{}
	spy := &handlerSpy{h: processor.LogAndContinue}
	task, _ := newTask(t, newGraph().add(strSource("src", "in")).add(procSpec(spyProc("p", ev)), "src"),
		Config{DeserializationHandler: spy.handle})
	add(t, task, raw("in", 3, 8, -1, "k", "v"), raw("in", 3, 9, 12, "k2", "v2"))
	if n := processAll(t, task); n != 2 {
		t.Fatalf("processed %d records, want 2", n)
	}
	if len(spy.calls) != 1 {
		t.Fatalf("deserialization handler called %d times, want 1", len(spy.calls))
	}
	wantEqual(t, "error context", spy.calls[0], processor.ErrorContext{Kind: processor.DeserializationError,
		TaskID: testTaskID, Node: "src", Topic: "in", Partition: 3, Offset: 8, Timestamp: -1,
		Key: []byte("k"), Value: []byte("v")})
	if task.Dropped() != 1 || task.Processed() != 2 {
		t.Errorf("Dropped, Processed = %d, %d; want 1, 2", task.Dropped(), task.Processed())
	}
	wantEqual(t, "processor saw", ev.list, []string{"init p", "p in/3@9 ts=12 st=12 k2=v2"})
}

func TestAcceptsAndUnknownTopic(t *testing.T) {
	g := newGraph().
		add(strSource("src", "a", "b")).
		add(NewSource("pat", nil, regexp.MustCompile(`^orders-\d+$`), false, serde.String(), serde.String())).
		add(NewSource("rep", []string{"rekey"}, nil, true, serde.String(), serde.String())).
		add(procSpec(passProc[string, string]("p", nil)), "src", "pat", "rep")
	task, _ := newTask(t, g, Config{})

	for topic, want := range map[string]bool{
		"a": true, "b": true, "orders-12": true, "app-rekey": true, // internal topics get the app id prefix
		"c": false, "orders-x": false, "rekey": false, "": false,
	} {
		if got := task.Accepts(topic); got != want {
			t.Errorf("Accepts(%q) = %v, want %v", topic, got, want)
		}
	}

	err := task.AddRecords(raw("c", 0, 0, 1, "k", "v"))
	if err == nil || !strings.Contains(err.Error(), `"c"`) {
		t.Errorf("AddRecords(unknown topic) = %v, want an error naming topic \"c\"", err)
	}
	if task.Buffered() != 0 {
		t.Errorf("Buffered = %d after a refused record, want 0", task.Buffered())
	}
	add(t, task, raw("orders-12", 0, 0, 1, "k", "v"), raw("app-rekey", 0, 0, 1, "k", "v"))
	if task.Buffered() != 2 {
		t.Errorf("Buffered = %d, want 2", task.Buffered())
	}
	if n := processAll(t, task); n != 2 || task.Processed() != 2 || task.Buffered() != 0 {
		t.Errorf("processed %d, Processed %d, Buffered %d; want 2, 2, 0", n, task.Processed(), task.Buffered())
	}
}

func TestInternalSinkTopicIsPrefixed(t *testing.T) {
	g := newGraph().add(strSource("src", "in")).add(NewSink("sink", "rekey", true, serde.String(), serde.String()), "src")
	task, col := newTask(t, g, Config{})
	if got := task.InternalTopic("rekey"); got != "app-rekey" {
		t.Errorf("InternalTopic = %q, want app-rekey", got)
	}
	add(t, task, raw("in", 0, 0, 1, "k", "v"))
	processAll(t, task)
	wantEqual(t, "sink output", col.values(), []string{"app-rekey:k=v"})
}

// chainGraph: src -> p1 -> p2 -> p3 -> sink, with store "s" connected to p2.
func chainGraph(ev *events, procs ...*fproc[string, string, string, string]) *graph {
	g := newGraph().add(strSource("src", "in"))
	parent := "src"
	for _, p := range procs {
		g.add(procSpec(p, "s"), parent)
		parent = p.name
	}
	return g.add(strSink("sink", "out"), parent).store(&fakeStoreBuilder{name: "s", ev: ev})
}

func TestCloseClosesProcessorsThenStoresOnce(t *testing.T) {
	ev := &events{}
	p1, p2 := passProc[string, string]("p1", ev), passProc[string, string]("p2", ev)
	task, _ := newTask(t, chainGraph(ev, p1, p2), Config{})
	sb := task.cfg.Topology.Stores[0].(*fakeStoreBuilder)
	ev.list = nil

	if err := task.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	wantEqual(t, "close sequence", ev.list, []string{"close p1", "close p2", "flush s", "close s"})
	if err := task.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	st := sb.built[0]
	if p1.closes != 1 || p2.closes != 1 || st.closes != 1 || st.flushes != 1 {
		t.Errorf("closes p1=%d p2=%d store=%d, store flushes=%d; want 1 each", p1.closes, p2.closes, st.closes, st.flushes)
	}
	if len(task.Stores()) != 0 {
		t.Errorf("Stores() after Close = %v, want none", task.Stores())
	}
}

func TestCloseErrorsDoNotStopClosing(t *testing.T) {
	ev := &events{}
	errClose := errors.New("p1 close failed")
	p1, p2 := passProc[string, string]("p1", ev), passProc[string, string]("p2", ev)
	p1.closeErr = errClose
	task, _ := newTask(t, chainGraph(ev, p1, p2), Config{})
	ev.list = nil

	err := task.Close()
	wantIs(t, err, errClose)
	wantEqual(t, "close sequence", ev.list, []string{"close p1", "close p2", "flush s", "close s"})
}

func TestNewFailsWhenStoreBuilderFails(t *testing.T) {
	ev := &events{}
	errBuild := errors.New("disk full")
	p := passProc[string, string]("p", ev)
	g := newGraph().add(strSource("src", "in")).add(procSpec(p, "s1", "s2"), "src").
		store(&fakeStoreBuilder{name: "s1", ev: ev}).
		store(&fakeStoreBuilder{name: "s2", ev: ev, err: errBuild})

	task, err := New(Config{ID: testTaskID, Topology: &g.sub, Collector: &memCollector{}})
	if task != nil {
		t.Errorf("New returned a task with error %v", err)
	}
	wantIs(t, err, errBuild)
	if err != nil && !strings.Contains(err.Error(), "s2") {
		t.Errorf("error %q does not name store s2", err)
	}
	// s1 was opened and must be closed again; no processor was initialized.
	wantEqual(t, "events", ev.list, []string{"build s1", "build s2", "close s1"})
}

func TestNewFailsWhenInitFails(t *testing.T) {
	ev := &events{}
	errInit := errors.New("no connection")
	p1, p2, p3 := passProc[string, string]("p1", ev), passProc[string, string]("p2", ev), passProc[string, string]("p3", ev)
	p2.init = func(processor.Context[string, string]) error { return errInit }
	g := chainGraph(ev, p1, p2, p3)

	task, err := New(Config{ID: testTaskID, Topology: &g.sub, Collector: &memCollector{}})
	if task != nil {
		t.Errorf("New returned a task with error %v", err)
	}
	wantIs(t, err, errInit)
	if err != nil && !strings.Contains(err.Error(), "p2") {
		t.Errorf("error %q does not name processor p2", err)
	}
	// Processors are initialized downstream first: p3 was initialized and is closed again, p1
	// never was, p2's own Init failed (it cleans up after itself); the store is closed.
	wantEqual(t, "events", ev.list, []string{"build s", "init p3", "init p2", "close p3", "close s"})
}

func TestNewRejectsBadGraphs(t *testing.T) {
	unknownChild := newGraph().add(strSource("src", "in"))
	unknownChild.sub.Edges["src"] = []string{"ghost"}

	mismatch := newGraph().add(strSource("src", "in")).
		add(NewSink("sink", "out", false, serde.Int64(), serde.String()), "src") // source emits string keys

	for name, g := range map[string]*graph{"unknown child": unknownChild, "type mismatch": mismatch} {
		t.Run(name, func(t *testing.T) {
			task, err := New(Config{ID: testTaskID, Topology: &g.sub, Collector: &memCollector{}})
			if err == nil || task != nil {
				t.Errorf("New = %v, %v; want an error", task, err)
			}
		})
	}
	if _, err := New(Config{Collector: &memCollector{}}); err == nil {
		t.Error("New without a topology succeeded")
	}
	if _, err := New(Config{Topology: &newGraph().add(strSource("src", "in")).sub}); err == nil {
		t.Error("New without a collector succeeded")
	}
}

func TestProcessorCanForwardFromInit(t *testing.T) {
	ev := &events{}
	p1 := &fproc[string, string, string, string]{name: "p1", ev: ev,
		init: func(ctx processor.Context[string, string]) error {
			return ctx.Forward(processor.Record[string, string]{Key: "hello", Value: "world", Timestamp: 77})
		}}
	p2 := &fproc[string, string, string, int64]{name: "p2", ev: ev,
		process: func(ctx processor.Context[string, int64], rec processor.Record[string, string]) error {
			_, ok := ctx.RecordMetadata()
			ev.add("p2 got %s=%s st=%d metadata=%v", rec.Key, rec.Value, ctx.StreamTime(), ok)
			return ctx.Forward(processor.WithValue(rec, int64(len(rec.Value))))
		}}
	g := newGraph().add(strSource("src", "in")).add(procSpec(p1), "src").add(procSpec(p2), "p1").
		add(NewSink("sink", "out", false, serde.String(), serde.Int64()), "p2")
	task, col := newTask(t, g, Config{})

	wantEqual(t, "events", ev.list, []string{"init p2", "init p1", "p2 got hello=world st=-1 metadata=false"})
	wantEqual(t, "sent", col.recs, []OutRecord{{Topic: "out", Partition: -1, Timestamp: 77,
		Key: []byte("hello"), Value: []byte{0, 0, 0, 0, 0, 0, 0, 5}}})
	if task.Processed() != 0 {
		t.Errorf("Processed = %d, want 0", task.Processed())
	}
}

func TestStateStoreAccess(t *testing.T) {
	ev := &events{}
	var got processor.Store
	var errOther, errMissing error
	p := passProc[string, string]("p", ev)
	p.init = func(ctx processor.Context[string, string]) error {
		var err error
		got, err = ctx.StateStore("s")
		_, errOther = ctx.StateStore("other") // exists in the task, not connected to p
		_, errMissing = ctx.StateStore("missing")
		return err
	}
	q := passProc[string, string]("q", ev)
	g := newGraph().add(strSource("src", "in")).add(procSpec(p, "s"), "src").add(procSpec(q, "other"), "p").
		store(&fakeStoreBuilder{name: "s", ev: ev}).store(&fakeStoreBuilder{name: "other", ev: ev})
	task, _ := newTask(t, g, Config{})
	if got == nil || got != task.Stores()["s"] || got.Name() != "s" {
		t.Errorf("StateStore(s) = %v, want the task's store s", got)
	}
	wantIs(t, errOther, processor.ErrUnknownStore)
	wantIs(t, errMissing, processor.ErrUnknownStore)
}

// The topology package connects stores to a processor after adding it (ConnectStore appends to
// the spec's Stores), so a task must read Stores when it instantiates the node.
func TestStoresConnectedAfterNewProcessor(t *testing.T) {
	ev := &events{}
	var errS error
	p := passProc[string, string]("p", ev)
	p.init = func(ctx processor.Context[string, string]) error { _, errS = ctx.StateStore("s"); return nil }
	spec := procSpec(p)
	spec.Stores = append(spec.Stores, "s")
	newTask(t, newGraph().add(strSource("src", "in")).add(spec, "src").store(&fakeStoreBuilder{name: "s", ev: ev}), Config{})
	if errS != nil {
		t.Errorf("StateStore(s) = %v, want the store connected after NewProcessor", errS)
	}
}
