package engine

import (
	"errors"
	"fmt"
	"reflect"
	"testing"

	"go.uber.org/zap/zaptest"

	"github.com/rillstreams/rill/processor"
	"github.com/rillstreams/rill/serde"
	"github.com/rillstreams/rill/state"
)

// The engine tests build sub-topologies by hand (the topology package imports engine, so a
// white-box test cannot use it) and drive tasks directly: no clock, no goroutine.

// events is an ordered log shared by the fakes of one test, to check call order.
type events struct{ list []string }

func (e *events) add(format string, args ...any) {
	if e != nil {
		e.list = append(e.list, fmt.Sprintf(format, args...))
	}
}

// fproc is a processor whose behaviour is given by functions; nil ones do nothing. It logs
// "init <name>" and "close <name>" to ev.
type fproc[KIn, VIn, KOut, VOut any] struct {
	name     string
	ev       *events
	init     func(ctx processor.Context[KOut, VOut]) error
	process  func(ctx processor.Context[KOut, VOut], rec processor.Record[KIn, VIn]) error
	closeErr error
	ctx      processor.Context[KOut, VOut]
	closes   int
}

func (p *fproc[KIn, VIn, KOut, VOut]) Init(ctx processor.Context[KOut, VOut]) error {
	p.ev.add("init %s", p.name)
	p.ctx = ctx
	if p.init != nil {
		return p.init(ctx)
	}
	return nil
}

func (p *fproc[KIn, VIn, KOut, VOut]) Process(rec processor.Record[KIn, VIn]) error {
	if p.process != nil {
		return p.process(p.ctx, rec)
	}
	return nil
}

func (p *fproc[KIn, VIn, KOut, VOut]) Close() error {
	p.ev.add("close %s", p.name)
	p.closes++
	return p.closeErr
}

// procSpec describes a processor node running p (a single instance: tests make one task).
func procSpec[KIn, VIn, KOut, VOut any](p *fproc[KIn, VIn, KOut, VOut], stores ...string) *NodeSpec {
	return NewProcessor(p.name, func() processor.Processor[KIn, VIn, KOut, VOut] { return p }, stores)
}

// passProc is a processor that forwards every record unchanged.
func passProc[K, V any](name string, ev *events) *fproc[K, V, K, V] {
	return &fproc[K, V, K, V]{name: name, ev: ev,
		process: func(ctx processor.Context[K, V], rec processor.Record[K, V]) error { return ctx.Forward(rec) }}
}

// spyProc forwards every record unchanged and logs what it saw (stream time included).
func spyProc(name string, ev *events) *fproc[string, string, string, string] {
	p := passProc[string, string](name, ev)
	p.process = func(ctx processor.Context[string, string], rec processor.Record[string, string]) error {
		md, ok := ctx.RecordMetadata()
		if !ok {
			return errors.New("spy: no record metadata while processing a record")
		}
		ev.add("%s %s/%d@%d ts=%d st=%d %s=%s", name, md.Topic, md.Partition, md.Offset, rec.Timestamp, ctx.StreamTime(), rec.Key, rec.Value)
		return ctx.Forward(rec)
	}
	return p
}

// graph builds a Subtopology node by node.
type graph struct{ sub Subtopology }

func newGraph() *graph { return &graph{sub: Subtopology{Edges: map[string][]string{}}} }

// add appends spec, connected as a child of parents (in order).
func (g *graph) add(spec *NodeSpec, parents ...string) *graph {
	g.sub.Nodes = append(g.sub.Nodes, spec)
	for _, p := range parents {
		g.sub.Edges[p] = append(g.sub.Edges[p], spec.Name)
	}
	return g
}

func (g *graph) store(sb state.StoreBuilder) *graph {
	g.sub.Stores = append(g.sub.Stores, sb)
	return g
}

func strSource(name string, topics ...string) *NodeSpec {
	return NewSource(name, topics, nil, false, serde.String(), serde.String())
}

func strSink(name, topic string) *NodeSpec {
	return NewSink(name, topic, false, serde.String(), serde.String())
}

// memCollector keeps what sinks send; fail, when set, may refuse a record.
type memCollector struct {
	recs []OutRecord
	fail func(OutRecord) error
}

func (c *memCollector) Send(rec OutRecord) error {
	if c.fail != nil {
		if err := c.fail(rec); err != nil {
			return err
		}
	}
	c.recs = append(c.recs, rec)
	return nil
}

// values returns the topic:key=value strings of what was sent, in order.
func (c *memCollector) values() []string {
	out := []string{}
	for _, r := range c.recs {
		out = append(out, fmt.Sprintf("%s:%s=%s", r.Topic, r.Key, r.Value))
	}
	return out
}

var testTaskID = processor.TaskID{Subtopology: 4, Partition: 2}

// newTask creates a task for g with app id "app" and task id 4_2, failing the test on error.
// cfg supplies handlers, wall clock and collector (a fresh memCollector when nil).
func newTask(t *testing.T, g *graph, cfg Config) (*Task, *memCollector) {
	t.Helper()
	col, _ := cfg.Collector.(*memCollector)
	if cfg.Collector == nil {
		col = &memCollector{}
		cfg.Collector = col
	}
	cfg.ID = testTaskID
	cfg.ApplicationID = "app"
	cfg.Topology = &g.sub
	if cfg.Logger == nil {
		cfg.Logger = zaptest.NewLogger(t)
	}
	task, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = task.Close() })
	return task, col
}

// raw makes a raw record with string key and value (nil when "").
func raw(topic string, partition int32, offset, ts int64, key, value string) RawRecord {
	r := RawRecord{Topic: topic, Partition: partition, Offset: offset, Timestamp: ts}
	if key != "" {
		r.Key = []byte(key)
	}
	if value != "" {
		r.Value = []byte(value)
	}
	return r
}

// add queues records, failing the test on error.
func add(t *testing.T, task *Task, recs ...RawRecord) {
	t.Helper()
	if err := task.AddRecords(recs...); err != nil {
		t.Fatalf("AddRecords: %v", err)
	}
}

// processAll processes every queued record, failing the test on error, and returns how many.
func processAll(t *testing.T, task *Task) int {
	t.Helper()
	n := 0
	for {
		ok, err := task.Process()
		if err != nil {
			t.Fatalf("Process (record %d): %v", n, err)
		}
		if !ok {
			return n
		}
		n++
	}
}

// processOne processes one record and returns its error, failing the test if there was none.
func processOne(t *testing.T, task *Task) error {
	t.Helper()
	ok, err := task.Process()
	if !ok {
		t.Fatalf("Process: no record queued")
	}
	return err
}

// handlerSpy records every call of the handler it wraps.
type handlerSpy struct {
	h     processor.ErrorHandler
	calls []processor.ErrorContext
	errs  []error
}

func (s *handlerSpy) handle(ec *processor.ErrorContext, err error) processor.Response {
	c := *ec
	c.Logger = nil
	s.calls = append(s.calls, c)
	s.errs = append(s.errs, err)
	return s.h(ec, err)
}

// fakeStore is a processor.Store that logs flushes and closes.
type fakeStore struct {
	name    string
	ev      *events
	flushes int
	closes  int
}

func (s *fakeStore) Name() string { return s.name }
func (s *fakeStore) Flush() error { s.ev.add("flush %s", s.name); s.flushes++; return nil }
func (s *fakeStore) Close() error { s.ev.add("close %s", s.name); s.closes++; return nil }

// fakeStoreBuilder builds fakeStores, or fails with err.
type fakeStoreBuilder struct {
	name  string
	ev    *events
	err   error
	built []*fakeStore
}

func (b *fakeStoreBuilder) Name() string { return b.name }
func (b *fakeStoreBuilder) Build(state.StoreContext) (processor.Store, error) {
	b.ev.add("build %s", b.name)
	if b.err != nil {
		return nil, b.err
	}
	s := &fakeStore{name: b.name, ev: b.ev}
	b.built = append(b.built, s)
	return s, nil
}

func wantEqual[T any](t *testing.T, what string, got, want T) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s:\n got  %#v\n want %#v", what, got, want)
	}
}

// asTaskError returns err as a *processor.TaskError, failing the test if it is not one.
func asTaskError(t *testing.T, err error) *processor.TaskError {
	t.Helper()
	var te *processor.TaskError
	if !errors.As(err, &te) {
		t.Fatalf("error %v (%T) is not a *processor.TaskError", err, err)
	}
	return te
}

// wantIs checks errors.Is(err, target) for every target.
func wantIs(t *testing.T, err error, targets ...error) {
	t.Helper()
	for _, target := range targets {
		if !errors.Is(err, target) {
			t.Errorf("errors.Is(%v, %v) = false, want true", err, target)
		}
	}
}

// wantIsNot checks !errors.Is(err, target) for every target.
func wantIsNot(t *testing.T, err error, targets ...error) {
	t.Helper()
	for _, target := range targets {
		if errors.Is(err, target) {
			t.Errorf("errors.Is(%v, %v) = true, want false", err, target)
		}
	}
}
