package dsl

import (
	"fmt"

	"github.com/rillstreams/rill/serde"
	"github.com/rillstreams/rill/topology"
)

// PartitionerOption is what WithPartitioner returns.
type PartitionerOption[K, V any] struct {
	p topology.StreamPartitioner[K, V]
}

// WithPartitioner makes To, ToTopicFunc or Repartition write each record to the partition p picks, instead
// of Kafka's default partitioner (murmur2 of the serialized key): Kafka Streams'
// Produced.withStreamPartitioner and Repartitioned.withStreamPartitioner. p gets the topic, the
// record and the topic's partition count; returning ok false leaves that record to the default
// partitioner, and a partition outside [0, numPartitions) fails the send (the production error
// handler decides). p may be called on the producer's goroutine: it must depend on its
// arguments only.
//
//	// Every order of a region in one partition, whatever its key.
//	orders.Repartition(dsl.WithPartitioner(func(_ string, _ string, o Order, n int32) (int32, bool) {
//		return regionPartition(o.Region, n), true
//	}))
//
// Records co-partitioned downstream (a join or grouping reading the repartition topic with
// another topic) meet only if both sides are partitioned alike: a custom partitioner on one
// side needs the same partitioning on the other.
func WithPartitioner[K, V any](p func(topic string, key K, value V, numPartitions int32) (partition int32, ok bool)) PartitionerOption[K, V] {
	return PartitionerOption[K, V]{p: p}
}

func (o PartitionerOption[K, V]) applySink(c *sinkConfig)               { c.partitioner = o }
func (o PartitionerOption[K, V]) applyRepartition(c *repartitionConfig) { c.partitioner = o }

// resolvePartitioner returns the partitioner of a sink writing K, V records at node, nil when
// none was given; its types must be the stream's.
func resolvePartitioner[K, V any](node string, opt any) (topology.StreamPartitioner[K, V], error) {
	if opt == nil {
		return nil, nil
	}
	o, ok := opt.(PartitionerOption[K, V])
	if !ok {
		return nil, fmt.Errorf("%w: %s: WithPartitioner has types %T, the stream has key %s and value %s",
			ErrSerdeType, node, opt, serde.TypeName[K](), serde.TypeName[V]())
	}
	if o.p == nil {
		return nil, nil
	}
	return o.p, nil
}
