package kafka

import (
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rillstreams/rill/internal/partition"
)

type partitioner struct{}

func (partitioner) ForTopic(string) kgo.TopicPartitioner { return &topicPartitioner{} }

type topicPartitioner struct{ next int }

// recordPartitionerKey keys a sink's custom partitioner (engine.OutRecord.Partitioner) in a
// record's context.
type recordPartitionerKey struct{}

func (*topicPartitioner) RequiresConsistency(*kgo.Record) bool { return true }

func (p *topicPartitioner) Partition(r *kgo.Record, n int) int {
	if r.Context != nil {
		if f, ok := r.Context.Value(recordPartitionerKey{}).(func(int32) (int32, bool)); ok {
			if pick, ok := f(int32(n)); ok {
				return int(pick) // out of range: franz-go fails the record, as Kafka's producer does
			}
		}
	}
	if r.Partition >= 0 && int(r.Partition) < n {
		return int(r.Partition)
	}
	if r.Key == nil {
		p.next++
		return p.next % n
	}
	return int(partition.ForKey(r.Key, int32(n)))
}
