package engine

// StreamPartitioner picks the partition of a record a sink writes (Kafka Streams'
// StreamPartitioner.partition): topic is the record's topic, numPartitions its partition
// count. ok false leaves the record to Kafka's default partitioner (murmur2 of the serialized
// key). It may be called on the producer's goroutine, after the sink has returned, once the
// topic's partition count is known: it must depend on its arguments only.
type StreamPartitioner[K, V any] func(topic string, key K, value V, numPartitions int32) (partition int32, ok bool)

// partitionerFor binds one record to p, for the collector to call with the partition count.
func partitionerFor[K, V any](p StreamPartitioner[K, V], topic string, key K, value V) func(int32) (int32, bool) {
	return func(n int32) (int32, bool) { return p(topic, key, value, n) }
}

// WithPartitioner makes the sink spec write with p (nil keeps the default partitioner).
func WithPartitioner[K, V any](spec *NodeSpec, p StreamPartitioner[K, V]) *NodeSpec {
	if p == nil {
		return spec
	}
	inner := spec.New
	spec.New = func() Node {
		n := inner()
		n.(*sinkNode[K, V]).part = p
		return n
	}
	return spec
}
