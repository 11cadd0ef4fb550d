package kafkatest

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Record is a record produced or consumed by the helpers below.
type Record struct {
	Topic     string
	Partition int32
	Offset    int64
	Key       []byte
	Value     []byte
	Timestamp time.Time
}

// CreateTopic creates topic with the given partitions (replication 1).
func (b *Broker) CreateTopic(ctx context.Context, topic string, partitions int32) error {
	return CreateTopics(ctx, b.Addrs(), partitions, topic)
}

// CreateTopicWithConfigs creates topic with the given partitions and topic configs
// (max.message.bytes, say, to make a broker refuse records).
func (b *Broker) CreateTopicWithConfigs(ctx context.Context, topic string, partitions int32, configs map[string]string) error {
	return createTopics(ctx, b.Addrs(), partitions, configs, topic)
}

// CreateTopics creates topics on any cluster (replication factor: the brokers' default);
// topics that exist already are left as they are.
func CreateTopics(ctx context.Context, bootstrap []string, partitions int32, topics ...string) error {
	return createTopics(ctx, bootstrap, partitions, nil, topics...)
}

func createTopics(ctx context.Context, bootstrap []string, partitions int32, configs map[string]string, topics ...string) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(bootstrap...))
	if err != nil {
		return err
	}
	defer cl.Close()
	var cfgs map[string]*string
	if len(configs) > 0 {
		cfgs = make(map[string]*string, len(configs))
		for k, v := range configs {
			cfgs[k] = &v
		}
	}
	resps, err := kadm.NewClient(cl).CreateTopics(ctx, partitions, -1, cfgs, topics...)
	if err != nil {
		return err
	}
	for _, r := range resps.Sorted() {
		if r.Err != nil && !errors.Is(r.Err, kerr.TopicAlreadyExists) {
			return fmt.Errorf("create topic %s: %w", r.Topic, r.Err)
		}
	}
	return nil
}

// Produce writes records synchronously, partitioned by key like Kafka's default partitioner.
func (b *Broker) Produce(ctx context.Context, recs ...Record) error {
	return Produce(ctx, b.Addrs(), recs...)
}

// Produce writes records to any cluster synchronously, partitioned by key like Kafka's default
// partitioner.
func Produce(ctx context.Context, bootstrap []string, recs ...Record) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(bootstrap...),
		kgo.RecordPartitioner(kgo.StickyKeyPartitioner(nil)), kgo.ProducerLinger(0))
	if err != nil {
		return err
	}
	defer cl.Close()
	krs := make([]*kgo.Record, len(recs))
	for i, r := range recs {
		krs[i] = &kgo.Record{Topic: r.Topic, Key: r.Key, Value: r.Value, Timestamp: r.Timestamp}
	}
	return cl.ProduceSync(ctx, krs...).FirstErr()
}

// Consume reads topic from the start, read_committed when committed is true, until n records
// arrived or ctx is done (then it returns what it has and ctx's error).
func (b *Broker) Consume(ctx context.Context, topic string, n int, committed bool) ([]Record, error) {
	opts := []kgo.Opt{kgo.SeedBrokers(b.Addrs()...), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart())}
	if committed {
		opts = append(opts, kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	var out []Record
	for len(out) < n {
		fetches := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return out, err
		}
		var ferr error
		fetches.EachError(func(t string, p int32, err error) {
			if !errors.Is(err, context.Canceled) {
				ferr = fmt.Errorf("fetch %s[%d]: %w", t, p, err)
			}
		})
		if ferr != nil {
			return out, ferr
		}
		fetches.EachRecord(func(r *kgo.Record) {
			out = append(out, Record{Topic: r.Topic, Partition: r.Partition, Offset: r.Offset, Key: r.Key, Value: r.Value, Timestamp: r.Timestamp})
		})
	}
	return out, nil
}

// wipe deletes every consumer group and every non-internal topic of a cluster and waits until
// the topics are gone (a topic being deleted cannot be created again, and CreateTopics would
// take the old one for an existing topic).
func wipe(ctx context.Context, bootstrap []string) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(bootstrap...))
	if err != nil {
		return err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	groups, err := adm.ListGroups(ctx)
	if err != nil {
		return fmt.Errorf("list groups: %w", err)
	}
	if names := groups.Groups(); len(names) > 0 {
		resps, err := adm.DeleteGroups(ctx, names...)
		if err != nil {
			return fmt.Errorf("delete groups: %w", err)
		}
		for _, r := range resps.Sorted() {
			if r.Err != nil && !errors.Is(r.Err, kerr.GroupIDNotFound) {
				return fmt.Errorf("delete group %s: %w (is an app of an earlier test still running?)", r.Group, r.Err)
			}
		}
	}
	for {
		topics, err := adm.ListTopics(ctx)
		if err != nil {
			return fmt.Errorf("list topics: %w", err)
		}
		names := topics.Names()
		if len(names) == 0 {
			return nil
		}
		if _, err := adm.DeleteTopics(ctx, names...); err != nil {
			return fmt.Errorf("delete topics: %w", err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("topics %v still there: %w", names, ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}
