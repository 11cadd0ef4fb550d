package kafka

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// ChangelogRecord is one record a ChangelogReader read: a store update, or a transaction
// marker (Control), which carries no data but moves the partition's position past it.
type ChangelogRecord struct {
	Topic      string
	Partition  int32
	Offset     int64
	Key, Value []byte
	Control    bool
}

// ChangelogReader tails changelog partitions, read_committed, without a group: a stream
// thread's consumer for its standby tasks (Kafka Streams' restore consumer in standby mode).
// Partitions are added at the offset a standby continues from and removed when it goes.
//
// Transaction markers are delivered as Control records so that a standby's position reaches
// the changelog's end offset (the last stable offset) exactly: the position is what the
// standby checkpoints and reports as its offset sum, and a promoted standby restores from it
// without waiting for markers it cannot see.
type ChangelogReader struct {
	cl *kgo.Client
	// ends is, per partition, the last stable offset the last fetch of it reported (the
	// standby lag the metrics export). Only the goroutine that polls touches it.
	ends map[tp]int64
}

type tp struct {
	topic     string
	partition int32
}

// End returns the partition's end offset (its last stable offset) as of the last fetch that
// returned it, and whether one did. Call it from the goroutine that polls.
func (r *ChangelogReader) End(topic string, partition int32) (int64, bool) {
	e, ok := r.ends[tp{topic, partition}]
	return e, ok
}

// NewChangelogReader returns a reader with no partitions yet.
func NewChangelogReader(cfg ClientConfig) (*ChangelogReader, error) {
	opts, err := cfg.opts()
	if err != nil {
		return nil, err
	}
	opts = append(opts,
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.KeepControlRecords(),
		// A position before the log start (compaction or retention removed it) restarts at
		// the start: what was removed is not state any more.
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchMaxWait(200*time.Millisecond),
		kgo.FetchMaxBytes(64<<20),
		kgo.FetchMaxPartitionBytes(8<<20),
	)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, err
	}
	return &ChangelogReader{cl: cl, ends: map[tp]int64{}}, nil
}

// Add starts reading each partition at its offset. A partition already read restarts there.
func (r *ChangelogReader) Add(from map[string]map[int32]int64) {
	want := make(map[string]map[int32]kgo.Offset, len(from))
	for t, ps := range from {
		want[t] = make(map[int32]kgo.Offset, len(ps))
		for p, o := range ps {
			want[t][p] = kgo.NewOffset().At(max(o, 0))
		}
	}
	r.cl.AddConsumePartitions(want)
}

// Remove stops reading the partitions; what was buffered for them is dropped.
func (r *ChangelogReader) Remove(parts map[string][]int32) {
	for t, ps := range parts {
		for _, p := range ps {
			delete(r.ends, tp{t, p})
		}
	}
	r.cl.RemoveConsumePartitions(parts)
}

// Poll returns up to max records already fetched, without waiting; the client fetches in
// the background meanwhile. Records of one partition come in offset order.
func (r *ChangelogReader) Poll(max int) ([]ChangelogRecord, error) {
	// A nil context is franz-go's documented way to take what is buffered without waiting.
	fetches := r.cl.PollRecords(nil, max)
	if fetches.IsClientClosed() {
		return nil, ErrClosed
	}
	var errs []error
	fetches.EachError(func(t string, p int32, err error) {
		if !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
			errs = append(errs, fmt.Errorf("rill: read changelog %s[%d]: %w", t, p, err))
		}
	})
	fetches.EachPartition(func(fp kgo.FetchTopicPartition) {
		if fp.Err == nil {
			r.ends[tp{fp.Topic, fp.Partition}] = fp.LastStableOffset
		}
	})
	out := make([]ChangelogRecord, 0, fetches.NumRecords())
	fetches.EachRecord(func(rec *kgo.Record) {
		out = append(out, ChangelogRecord{Topic: rec.Topic, Partition: rec.Partition, Offset: rec.Offset,
			Key: rec.Key, Value: rec.Value, Control: rec.Attrs.IsControl()})
	})
	return out, errors.Join(errs...)
}

// Close closes the reader.
func (r *ChangelogReader) Close() { r.cl.Close() }
