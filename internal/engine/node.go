package engine

import (
	"fmt"
	"reflect"
	"regexp"

	"github.com/rillstreams/rill/processor"
)

// NodeKind is the role of a node in a sub-topology.
type NodeKind int

const (
	SourceNode NodeKind = iota
	ProcessorNode
	SinkNode
)

// NodeSpec describes one node of a sub-topology: what it is, the record types it takes and
// emits (checked when nodes are connected, so a hand-built topology with mismatched types fails
// at build time, not on the first record), and how to make a fresh instance for a task.
type NodeSpec struct {
	Name string
	Kind NodeKind
	// In and Out are the key and value types the node consumes and emits (nil where none).
	InKey, InValue, OutKey, OutValue reflect.Type
	// Stores are the names of the state stores a processor is connected to.
	Stores []string
	// Topics or Pattern: what a source reads. Topic or TopicFunc: what a sink writes.
	Topics  []string
	Pattern *regexp.Regexp
	Topic   string
	// TopicFuncName names a sink's topic-name extractor in Describe output.
	TopicFuncName string
	// TimestampExtractor of a source (nil: the task's default, Config.TimestampExtractor).
	TimestampExtractor processor.TimestampExtractor
	// OffsetReset of a source: where it starts reading a partition without a committed offset.
	OffsetReset processor.OffsetReset
	// Internal marks sources and sinks of repartition topics, whose names the task prefixes
	// with the application id.
	Internal bool
	// New returns a new, unconnected instance for one task.
	New func() Node
}

// Accepts tells whether child can take the records this node emits.
func (s *NodeSpec) Accepts(child *NodeSpec) error {
	if s.Kind == SinkNode {
		return fmt.Errorf("rill: sink %s cannot have children (got %s)", s.Name, child.Name)
	}
	if child.Kind == SourceNode {
		return fmt.Errorf("rill: source %s cannot have a parent (got %s)", child.Name, s.Name)
	}
	if s.OutKey != child.InKey || s.OutValue != child.InValue {
		return fmt.Errorf("rill: %s emits (%v, %v) but its child %s takes (%v, %v)",
			s.Name, s.OutKey, s.OutValue, child.Name, child.InKey, child.InValue)
	}
	return nil
}

// Node is one task's instance of a NodeSpec. Nodes are created, connected, initialized, run and
// closed by their task's goroutine only.
type Node interface {
	Name() string
	connect(child Node) error
	init(t *Task) error
	close() error
}

// receiver is a node that takes typed records from its parent. Records pass by value, typed end
// to end, so a chain of operators boxes nothing.
type receiver[K, V any] interface {
	Node
	process(rec processor.Record[K, V]) error
}

// rawSource is a source node: it takes raw records from the task's queues.
type rawSource interface {
	Node
	processRaw(r *RawRecord) error
}

// typeOf returns the reflect.Type of T, including interface types.
func typeOf[T any]() reflect.Type { return reflect.TypeFor[T]() }

// children is the fan-out list shared by sources and processors.
type children[K, V any] struct {
	list   []receiver[K, V]
	byName map[string]receiver[K, V]
}

func (c *children[K, V]) add(parent string, child Node) error {
	r, ok := child.(receiver[K, V])
	if !ok {
		var k K
		var v V
		return fmt.Errorf("rill: %s emits (%T, %T) records that child %s cannot take", parent, k, v, child.Name())
	}
	c.list = append(c.list, r)
	if c.byName == nil {
		c.byName = make(map[string]receiver[K, V])
	}
	c.byName[child.Name()] = r
	return nil
}

func (c *children[K, V]) forward(rec processor.Record[K, V]) error {
	for _, ch := range c.list {
		if err := ch.process(rec); err != nil {
			return err
		}
	}
	return nil
}

func (c *children[K, V]) forwardTo(parent, child string, rec processor.Record[K, V]) error {
	ch, ok := c.byName[child]
	if !ok {
		return fmt.Errorf("%w: %s has no child %q", processor.ErrUnknownChild, parent, child)
	}
	return ch.process(rec)
}
