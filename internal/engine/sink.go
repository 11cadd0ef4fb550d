package engine

import (
	"fmt"

	"github.com/rillstreams/rill/processor"
	"github.com/rillstreams/rill/serde"
)

// OutRecord is a record a sink hands to the task's Collector.
type OutRecord struct {
	Topic string
	// Partition is -1: the producer's partitioner picks one from the key, as Kafka's default
	// partitioner does, so that equal keys meet in one partition.
	Partition int32
	Timestamp int64
	Key       []byte
	Value     []byte
	Headers   []processor.Header
	// Partitioner, when set, picks the partition (Partition is then -1) once the topic's
	// partition count is known, as Kafka Streams' StreamPartitioner; ok false means Kafka's
	// default partitioner. A pick outside [0, numPartitions) fails the send.
	Partitioner func(numPartitions int32) (partition int32, ok bool)
}

// Collector receives what a task's sinks produce (a Kafka producer in the runtime, in-memory
// topics in the test driver). Send must not keep rec's slices beyond the record's own lifetime
// expectations: they are not reused by the engine.
type Collector interface {
	Send(rec OutRecord) error
}

// TopicNameExtractor picks the topic for a record at a dynamic sink.
type TopicNameExtractor[K, V any] func(key K, value V, md processor.RecordMetadata) string

// NewSink describes a sink writing to a fixed topic.
func NewSink[K, V any](name, topic string, internal bool, ks serde.Serializer[K], vs serde.Serializer[V]) *NodeSpec {
	spec := &NodeSpec{
		Name: name, Kind: SinkNode, Topic: topic, Internal: internal,
		InKey: typeOf[K](), InValue: typeOf[V](),
	}
	// Internal is read when a task is made: the topology marks repartition sinks after adding them.
	spec.New = func() Node { return &sinkNode[K, V]{name: name, topic: topic, internal: spec.Internal, ks: ks, vs: vs} }
	return spec
}

// NewDynamicSink describes a sink whose topic extract picks per record.
func NewDynamicSink[K, V any](name, extractorName string, extract TopicNameExtractor[K, V], ks serde.Serializer[K], vs serde.Serializer[V]) *NodeSpec {
	return &NodeSpec{
		Name: name, Kind: SinkNode, TopicFuncName: extractorName,
		InKey: typeOf[K](), InValue: typeOf[V](),
		New: func() Node { return &sinkNode[K, V]{name: name, extract: extract, ks: ks, vs: vs} },
	}
}

type sinkNode[K, V any] struct {
	name     string
	topic    string
	internal bool
	extract  TopicNameExtractor[K, V]
	part     StreamPartitioner[K, V]
	ks       serde.Serializer[K]
	vs       serde.Serializer[V]
	task     *Task
	// e2e is the end-to-end latency of the records the sink receives (metrics.go).
	e2e TimeHistogram
}

func (s *sinkNode[K, V]) e2eLatency() (*TimeHistogram, bool) { return &s.e2e, true }

func (s *sinkNode[K, V]) Name() string { return s.name }
func (s *sinkNode[K, V]) connect(child Node) error {
	return fmt.Errorf("rill: sink %s cannot have children (got %s)", s.name, child.Name())
}
func (s *sinkNode[K, V]) init(t *Task) error {
	s.task = t
	if s.internal {
		s.topic = t.InternalTopic(s.topic)
	}
	return nil
}
func (s *sinkNode[K, V]) close() error { return nil }

func (s *sinkNode[K, V]) process(rec processor.Record[K, V]) error {
	// Counted as the record reaches the sink, as Kafka Streams does when a record is
	// forwarded to a terminal node, whether or not the send then succeeds.
	s.e2e.observe(s.task.now() - rec.Timestamp)
	topic := s.topic
	if s.extract != nil {
		md, _ := s.task.RecordMetadata()
		topic = s.extract(rec.Key, rec.Value, md)
		if topic == "" {
			return s.task.productionFailed(s.name, fmt.Errorf("rill: topic-name extractor of %s returned an empty topic", s.name))
		}
	}
	k, err := s.ks.Serialize(topic, rec.Key)
	if err != nil {
		return s.task.productionFailed(s.name, &serde.Error{Topic: topic, Partition: -1, Offset: -1, Key: true, Serialize: true, Err: err})
	}
	var v []byte
	if !rec.Null { // a Null record is a tombstone: Kafka's null value, whatever V's serde says
		if v, err = s.vs.Serialize(topic, rec.Value); err != nil {
			return s.task.productionFailed(s.name, &serde.Error{Topic: topic, Partition: -1, Offset: -1, Serialize: true, Err: err})
		}
	}
	out := OutRecord{Topic: topic, Partition: -1, Timestamp: rec.Timestamp, Key: k, Value: v, Headers: rec.Headers}
	if s.part != nil {
		out.Partitioner = partitionerFor(s.part, topic, rec.Key, rec.Value)
	}
	s.task.sink = s.name // for a collector that reports failures later (SendingSink)
	err = s.task.collector.Send(out)
	s.task.sink = ""
	if err != nil {
		return s.task.productionFailed(s.name, err)
	}
	return nil
}
