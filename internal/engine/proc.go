package engine

import (
	"fmt"
	"runtime/debug"
	"slices"
	"time"

	"github.com/rillstreams/rill/processor"
)

// NewProcessor describes a processor node running the processors supplier makes, connected to
// the named stores.
func NewProcessor[KIn, VIn, KOut, VOut any](name string, supplier processor.Supplier[KIn, VIn, KOut, VOut], stores []string) *NodeSpec {
	spec := &NodeSpec{
		Name: name, Kind: ProcessorNode, Stores: stores,
		InKey: typeOf[KIn](), InValue: typeOf[VIn](), OutKey: typeOf[KOut](), OutValue: typeOf[VOut](),
	}
	// Stores is read when a task is made: the topology connects stores after adding the processor.
	spec.New = func() Node {
		return &procNode[KIn, VIn, KOut, VOut]{name: name, proc: supplier(), stores: spec.Stores}
	}
	return spec
}

// procNode runs a user (or DSL) Processor and is that processor's Context.
type procNode[KIn, VIn, KOut, VOut any] struct {
	name     string
	proc     processor.Processor[KIn, VIn, KOut, VOut]
	stores   []string
	children children[KOut, VOut]
	task     *Task
	drops    dropLog
	// e2e is the end-to-end latency of the records a terminal node (one without children)
	// receives (metrics.go).
	e2e TimeHistogram
}

func (n *procNode[KIn, VIn, KOut, VOut]) e2eLatency() (*TimeHistogram, bool) {
	return &n.e2e, len(n.children.list) == 0
}

var _ processor.Context[int, int] = (*procNode[int, int, int, int])(nil)

func (n *procNode[KIn, VIn, KOut, VOut]) Name() string { return n.name }
func (n *procNode[KIn, VIn, KOut, VOut]) connect(child Node) error {
	return n.children.add(n.name, child)
}
func (n *procNode[KIn, VIn, KOut, VOut]) init(t *Task) error {
	n.task = t
	if n.proc == nil {
		return fmt.Errorf("rill: processor supplier of %s returned nil", n.name)
	}
	if err := n.proc.Init(n); err != nil {
		return fmt.Errorf("rill: init %s: %w", n.name, err)
	}
	return nil
}
func (n *procNode[KIn, VIn, KOut, VOut]) close() error { return n.proc.Close() }

func (n *procNode[KIn, VIn, KOut, VOut]) droppedRecords() int64 { return n.drops.count }

func (n *procNode[KIn, VIn, KOut, VOut]) process(rec processor.Record[KIn, VIn]) (err error) {
	// A panic in user code is this node's processing error, handled here as Kafka Streams
	// handles an exception at its ProcessorNode: the record's other branches still run when
	// the handler continues.
	t := n.task
	if len(n.children.list) == 0 {
		n.e2e.observe(t.now() - rec.Timestamp)
	}
	prevTS, prevHeaders := t.recTS, t.recHeaders
	t.recTS, t.recHeaders = rec.Timestamp, rec.Headers
	defer func() {
		t.recTS, t.recHeaders = prevTS, prevHeaders
		if p := recover(); p != nil {
			err = n.task.processingFailed(n.name, &processor.PanicError{Value: p, Stack: debug.Stack()})
		}
	}()
	if err := n.proc.Process(rec); err != nil {
		return n.task.processingFailed(n.name, err)
	}
	return nil
}

func (n *procNode[KIn, VIn, KOut, VOut]) Forward(rec processor.Record[KOut, VOut]) error {
	return n.children.forward(rec)
}

func (n *procNode[KIn, VIn, KOut, VOut]) ForwardTo(child string, rec processor.Record[KOut, VOut]) error {
	return n.children.forwardTo(n.name, child, rec)
}

func (n *procNode[KIn, VIn, KOut, VOut]) Schedule(interval time.Duration, typ processor.PunctuationType, fn processor.Punctuator) (func(), error) {
	return n.task.schedule(n.name, interval, typ, fn)
}

func (n *procNode[KIn, VIn, KOut, VOut]) StateStore(name string) (processor.Store, error) {
	if s, ok := n.task.cfg.GlobalStores[name]; ok {
		return s, nil // global stores are readable from every processor, as in Kafka Streams
	}
	if !slices.Contains(n.stores, name) {
		return nil, fmt.Errorf("%w: %s is not connected to %q", processor.ErrUnknownStore, n.name, name)
	}
	s, ok := n.task.stores[name]
	if !ok {
		return nil, fmt.Errorf("%w: %q is not open in task %s", processor.ErrUnknownStore, name, n.task.id)
	}
	return s, nil
}

func (n *procNode[KIn, VIn, KOut, VOut]) RecordMetadata() (processor.RecordMetadata, bool) {
	return n.task.RecordMetadata()
}
func (n *procNode[KIn, VIn, KOut, VOut]) TaskID() processor.TaskID { return n.task.id }
func (n *procNode[KIn, VIn, KOut, VOut]) RecordDropped(reason string) {
	n.task.recordDropped(n.name, reason, &n.drops)
}
func (n *procNode[KIn, VIn, KOut, VOut]) StreamTime() int64     { return n.task.streamTime }
func (n *procNode[KIn, VIn, KOut, VOut]) ApplicationID() string { return n.task.cfg.ApplicationID }
