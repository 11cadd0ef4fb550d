package topology

import (
	"fmt"

	"github.com/rillstreams/rill/internal/engine"
	"github.com/rillstreams/rill/processor"
	"github.com/rillstreams/rill/serde"
)

// StreamPartitioner picks the partition of each record a sink writes (Kafka Streams'
// StreamPartitioner): ok false leaves the record to Kafka's default partitioner (murmur2 of the
// serialized key), and a partition outside [0, numPartitions) fails the send, which goes to the
// production error handler. It may run on the producer's goroutine once the topic's partition
// count is known, so it must depend on its arguments only.
type StreamPartitioner[K, V any] func(topic string, key K, value V, numPartitions int32) (partition int32, ok bool)

// AddSinkWithPartitioner adds a sink node writing its parents' records to topic, each to the
// partition p picks (Kafka Streams' Topology.addSink with a StreamPartitioner).
func (t *Topology) AddSinkWithPartitioner[K, V any](name, topic string, ks serde.Serializer[K], vs serde.Serializer[V],
	p StreamPartitioner[K, V], parents ...string) error {
	if topic == "" || ks == nil || vs == nil {
		return fmt.Errorf("%w: sink %s needs a topic and serializers", ErrInvalidTopology, name)
	}
	if p == nil {
		return fmt.Errorf("%w: sink %s: nil partitioner", ErrInvalidTopology, name)
	}
	spec := engine.WithPartitioner(engine.NewSink(name, topic, false, ks, vs), engine.StreamPartitioner[K, V](p))
	return t.addNode(spec, parents...)
}

// AddDynamicSinkWithPartitioner is AddDynamicSink whose records go to the partition p picks in
// the topic extract chose (Kafka Streams' KStream.to(TopicNameExtractor, Produced) with a
// StreamPartitioner).
func (t *Topology) AddDynamicSinkWithPartitioner[K, V any](name, extractorName string, extract func(K, V, processor.RecordMetadata) string,
	ks serde.Serializer[K], vs serde.Serializer[V], p StreamPartitioner[K, V], parents ...string) error {
	if extract == nil || ks == nil || vs == nil {
		return fmt.Errorf("%w: sink %s needs a topic-name extractor and serializers", ErrInvalidTopology, name)
	}
	if p == nil {
		return fmt.Errorf("%w: sink %s: nil partitioner", ErrInvalidTopology, name)
	}
	spec := engine.WithPartitioner(engine.NewDynamicSink(name, extractorName, extract, ks, vs), engine.StreamPartitioner[K, V](p))
	return t.addNode(spec, parents...)
}
