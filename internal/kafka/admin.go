package kafka

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sort"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Admin wraps the admin calls the runtime makes at start and during restoration.
type Admin struct {
	cl   *kgo.Client
	adm  *kadm.Client
	auth *authWatch
	// Patience is how long each call retries while the brokers fail it retriably (refused
	// connections, no leader, ...), warning as it waits; zero FailAfter: no retry.
	Patience Stall
}

// NewAdmin connects an admin client.
func NewAdmin(cfg ClientConfig) (*Admin, error) {
	opts, err := cfg.opts()
	if err != nil {
		return nil, err
	}
	auth := &authWatch{}
	cl, err := kgo.NewClient(append(opts, kgo.WithHooks(auth))...)
	if err != nil {
		return nil, err
	}
	return &Admin{cl: cl, adm: kadm.NewClient(cl), auth: auth}, nil
}

// Close closes the admin client.
func (a *Admin) Close() { a.cl.Close() }

// PartitionCounts returns the partition count of each existing topic among topics; missing
// topics are absent from the map.
func (a *Admin) PartitionCounts(ctx context.Context, topics ...string) (map[string]int32, error) {
	return retry(ctx, a, "topic metadata", func(ctx context.Context) (map[string]int32, error) { return a.partitionCounts(ctx, topics...) })
}

func (a *Admin) partitionCounts(ctx context.Context, topics ...string) (map[string]int32, error) {
	md, err := a.adm.Metadata(ctx, topics...)
	if err != nil {
		return nil, err
	}
	out := make(map[string]int32)
	for _, t := range md.Topics {
		if t.Err == nil {
			out[t.Topic] = int32(len(t.Partitions))
		}
	}
	return out, nil
}

// MatchingTopics lists existing topics whose names match re, sorted.
func (a *Admin) MatchingTopics(ctx context.Context, re *regexp.Regexp) ([]string, error) {
	return retry(ctx, a, "list topics", func(ctx context.Context) ([]string, error) { return a.matchingTopics(ctx, re) })
}

func (a *Admin) matchingTopics(ctx context.Context, re *regexp.Regexp) ([]string, error) {
	td, err := a.adm.ListTopics(ctx)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, t := range td.Names() {
		if re.MatchString(t) {
			out = append(out, t)
		}
	}
	sort.Strings(out)
	return out, nil
}

// TopicSpec is a topic to create if missing.
type TopicSpec struct {
	Name              string
	Partitions        int32
	ReplicationFactor int16 // -1: the broker's default
	Configs           map[string]string
}

// EnsureTopics creates the topics that do not exist yet; existing ones are left alone (their
// partition counts are validated by the caller).
func (a *Admin) EnsureTopics(ctx context.Context, specs []TopicSpec) error {
	_, err := retry(ctx, a, "create topics", func(ctx context.Context) (struct{}, error) { return struct{}{}, a.ensureTopics(ctx, specs) })
	return err
}

func (a *Admin) ensureTopics(ctx context.Context, specs []TopicSpec) error {
	var errs []error
	for _, s := range specs {
		configs := make(map[string]*string, len(s.Configs))
		for k, v := range s.Configs {
			configs[k] = &v
		}
		resp, err := a.adm.CreateTopic(ctx, s.Partitions, s.ReplicationFactor, configs, s.Name)
		if err == nil {
			err = resp.Err
		}
		if err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
			errs = append(errs, fmt.Errorf("rill: create topic %s: %w", s.Name, err))
		}
	}
	return errors.Join(errs...)
}

// EndOffsets returns the read_committed end (last stable offset) of each partition of topics.
func (a *Admin) EndOffsets(ctx context.Context, topics ...string) (map[string]map[int32]int64, error) {
	return retry(ctx, a, "end offsets", func(ctx context.Context) (map[string]map[int32]int64, error) { return a.endOffsets(ctx, topics...) })
}

func (a *Admin) endOffsets(ctx context.Context, topics ...string) (map[string]map[int32]int64, error) {
	lo, err := a.adm.ListCommittedOffsets(ctx, topics...)
	if err != nil {
		return nil, err
	}
	out := make(map[string]map[int32]int64)
	var errs []error
	lo.Each(func(o kadm.ListedOffset) {
		if o.Err != nil {
			errs = append(errs, fmt.Errorf("rill: end offset of %s[%d]: %w", o.Topic, o.Partition, o.Err))
			return
		}
		if out[o.Topic] == nil {
			out[o.Topic] = make(map[int32]int64)
		}
		out[o.Topic][o.Partition] = o.Offset
	})
	return out, errors.Join(errs...)
}

// HighWatermarks returns the high watermark (the end of the log, committed or not) of each
// partition of the existing topics among topics; a missing topic is absent from the map.
// A checkpoint past it was not written against this log (see runtime's checkpoint vetting).
func (a *Admin) HighWatermarks(ctx context.Context, topics ...string) (map[string]map[int32]int64, error) {
	return retry(ctx, a, "high watermarks", func(ctx context.Context) (map[string]map[int32]int64, error) { return a.highWatermarks(ctx, topics...) })
}

func (a *Admin) highWatermarks(ctx context.Context, topics ...string) (map[string]map[int32]int64, error) {
	lo, err := a.adm.ListEndOffsets(ctx, topics...)
	if err != nil {
		return nil, err
	}
	out := make(map[string]map[int32]int64)
	var errs []error
	lo.Each(func(o kadm.ListedOffset) {
		if errors.Is(o.Err, kerr.UnknownTopicOrPartition) {
			return
		}
		if o.Err != nil {
			errs = append(errs, fmt.Errorf("rill: end offset of %s[%d]: %w", o.Topic, o.Partition, o.Err))
			return
		}
		if out[o.Topic] == nil {
			out[o.Topic] = make(map[int32]int64)
		}
		out[o.Topic][o.Partition] = o.Offset
	})
	return out, errors.Join(errs...)
}

// ClusterID returns the id of the cluster the client talks to ("" when the brokers report
// none). It is the runtime's first request: credentials the brokers refuse fail it with an
// error matching ErrAuthentication.
func (a *Admin) ClusterID(ctx context.Context) (string, error) {
	return retry(ctx, a, "cluster metadata", func(ctx context.Context) (string, error) {
		md, err := a.adm.BrokerMetadata(ctx)
		if err != nil {
			return "", fmt.Errorf("rill: cluster metadata: %w", a.auth.explain(err))
		}
		return md.Cluster, nil
	})
}

// DeleteRecordsBefore deletes, per partition, the records before the given offset (Kafka's
// DeleteRecords: the partition's log start offset moves up). One attempt, no retry: the
// runtime purges repartition topics this way after commits, and a purge that fails is made
// again, further on, after a later commit.
func (a *Admin) DeleteRecordsBefore(ctx context.Context, before map[string]map[int32]int64) error {
	os := kadm.Offsets{}
	for t, ps := range before {
		for p, o := range ps {
			os.Add(kadm.Offset{Topic: t, Partition: p, At: o, LeaderEpoch: -1})
		}
	}
	resp, err := a.adm.DeleteRecords(ctx, os)
	if err != nil {
		return err
	}
	var errs []error
	resp.Each(func(r kadm.DeleteRecordsResponse) {
		if r.Err != nil {
			errs = append(errs, fmt.Errorf("%s[%d]: %w", r.Topic, r.Partition, r.Err))
		}
	})
	return errors.Join(errs...)
}
