package kafka

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Admin wraps the admin calls the runtime makes at start and during restoration.
type Admin struct {
	cl  *kgo.Client
	adm *kadm.Client
}

// NewAdmin connects an admin client.
func NewAdmin(cfg ClientConfig) (*Admin, error) {
	opts, err := cfg.opts()
	if err != nil {
		return nil, err
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, err
	}
	return &Admin{cl: cl, adm: kadm.NewClient(cl)}, nil
}

// Close closes the admin client.
func (a *Admin) Close() { a.cl.Close() }

// PartitionCounts returns the partition count of each existing topic among topics; missing
// topics are absent from the map.
func (a *Admin) PartitionCounts(ctx context.Context, topics ...string) (map[string]int32, error) {
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
// none).
func (a *Admin) ClusterID(ctx context.Context) (string, error) {
	md, err := a.adm.BrokerMetadata(ctx)
	if err != nil {
		return "", fmt.Errorf("rill: cluster metadata: %w", err)
	}
	return md.Cluster, nil
}

// ReadRange reads, read_committed, the records of the given partitions from their start
// offsets up to their end offsets, calling apply in offset order per partition. It returns when
// every partition reached its end, compared by position, not by "last record seen": the last
// offsets before the end are often transaction markers. Markers are asked for (they are
// records of the log, just not data) and move the position without being applied; aborted
// records are filtered out but always followed by their abort marker. So every partition
// reaches its end exactly, however slow the broker; only a log whose tail was compacted
// away could leave a gap, and for that alone a partition without progress for
// readRangeGiveUp counts as done (another client hung on exactly that). An earlier version
// gave up after a few idle polls, which on a loaded machine returned before the first fetch
// and lost state.
// readRangeGiveUp is how long ReadRange waits for progress before it takes a partition
// for done (see ReadRange): long enough for any broker that answers at all.
var readRangeGiveUp = 15 * time.Second

func ReadRange(ctx context.Context, cfg ClientConfig, start, end map[string]map[int32]int64, idle time.Duration,
	apply func(topic string, partition int32, offset int64, key, value []byte, timestamp int64) error) error {
	want := make(map[string]map[int32]kgo.Offset)
	remaining := 0
	for t, ps := range start {
		for p, o := range ps {
			if o >= end[t][p] {
				continue
			}
			if want[t] == nil {
				want[t] = make(map[int32]kgo.Offset)
			}
			want[t][p] = kgo.NewOffset().At(o)
			remaining++
		}
	}
	if remaining == 0 {
		return nil
	}
	opts, err := cfg.opts()
	if err != nil {
		return err
	}
	opts = append(opts, kgo.ConsumePartitions(want), kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.KeepControlRecords(), kgo.FetchMaxWait(100*time.Millisecond), kgo.FetchMaxBytes(64<<20))
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return err
	}
	defer cl.Close()
	next := make(map[string]map[int32]int64)
	for t, ps := range want {
		next[t] = make(map[int32]int64)
		for p := range ps {
			next[t][p] = start[t][p]
		}
	}
	lastProgress := time.Now()
	for remaining > 0 {
		pctx, cancel := context.WithTimeout(ctx, idle)
		fetches := cl.PollFetches(pctx)
		cancel()
		if err := ctx.Err(); err != nil {
			return err
		}
		var ferr error
		fetches.EachError(func(t string, p int32, err error) {
			if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
				ferr = fmt.Errorf("rill: read %s[%d]: %w", t, p, err)
			}
		})
		if ferr != nil {
			return ferr
		}
		progressed := false
		var aerr error
		fetches.EachRecord(func(r *kgo.Record) {
			if aerr != nil || r.Offset >= end[r.Topic][r.Partition] {
				return
			}
			if !r.Attrs.IsControl() {
				aerr = apply(r.Topic, r.Partition, r.Offset, r.Key, r.Value, r.Timestamp.UnixMilli())
			}
			next[r.Topic][r.Partition] = r.Offset + 1
			progressed = true
		})
		if aerr != nil {
			return aerr
		}
		remaining = 0
		for t, ps := range next {
			for p, o := range ps {
				if o < end[t][p] {
					remaining++
				}
			}
		}
		if progressed {
			lastProgress = time.Now()
		} else if remaining > 0 && time.Since(lastProgress) > readRangeGiveUp {
			return nil // a gap at the tail: nothing left to read before the end
		}
	}
	return nil
}
