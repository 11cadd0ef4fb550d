package engine

import (
	"regexp"

	"github.com/rillstreams/rill/processor"
	"github.com/rillstreams/rill/serde"
)

// RawRecord is a record as read from a topic partition: bytes, not yet deserialized.
type RawRecord struct {
	Topic     string
	Partition int32
	Offset    int64
	Timestamp int64
	Key       []byte
	Value     []byte
	Headers   []processor.Header

	// extractErr and skip are a timestamp extractor's verdict, set when the record was
	// queued: fail it (the deserialization handler decides) or drop it (negative timestamp).
	extractErr error
	skip       bool
}

// NewSource describes a source node reading topics (or every topic matching pattern) with the
// given deserializers.
func NewSource[K, V any](name string, topics []string, pattern *regexp.Regexp, internal bool,
	kd serde.Deserializer[K], vd serde.Deserializer[V]) *NodeSpec {
	return &NodeSpec{
		Name: name, Kind: SourceNode, Topics: topics, Pattern: pattern, Internal: internal,
		OutKey: typeOf[K](), OutValue: typeOf[V](),
		New: func() Node { return &sourceNode[K, V]{name: name, kd: kd, vd: vd} },
	}
}

type sourceNode[K, V any] struct {
	name     string
	kd       serde.Deserializer[K]
	vd       serde.Deserializer[V]
	children children[K, V]
	task     *Task
	// e2e is the end-to-end latency of the records the source takes (metrics.go).
	e2e TimeHistogram
}

func (s *sourceNode[K, V]) e2eLatency() (*TimeHistogram, bool) { return &s.e2e, true }

func (s *sourceNode[K, V]) Name() string             { return s.name }
func (s *sourceNode[K, V]) connect(child Node) error { return s.children.add(s.name, child) }
func (s *sourceNode[K, V]) init(t *Task) error       { s.task = t; return nil }
func (s *sourceNode[K, V]) close() error             { return nil }
func (s *sourceNode[K, V]) processRaw(r *RawRecord) error {
	s.e2e.observe(s.task.now() - r.Timestamp)
	k, err := s.kd.Deserialize(r.Topic, r.Key)
	if err != nil {
		return s.task.deserializationFailed(s.name, r, &serde.Error{
			Topic: r.Topic, Partition: r.Partition, Offset: r.Offset, Key: true, Err: err})
	}
	v, err := s.vd.Deserialize(r.Topic, r.Value)
	if err != nil {
		return s.task.deserializationFailed(s.name, r, &serde.Error{
			Topic: r.Topic, Partition: r.Partition, Offset: r.Offset, Err: err})
	}
	return s.children.forward(processor.Record[K, V]{Key: k, Value: v, Timestamp: r.Timestamp, Headers: r.Headers})
}
