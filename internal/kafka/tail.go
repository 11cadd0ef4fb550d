package kafka

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rillstreams/rill/internal/engine"
	"github.com/rillstreams/rill/processor"
)

// Tailer reads partitions from given offsets onwards, read_committed, without a group: the
// global thread's consumer.
type Tailer struct{ cl *kgo.Client }

// NewTailer starts reading each topic partition at its offset.
func NewTailer(cfg ClientConfig, from map[string]map[int32]int64) (*Tailer, error) {
	opts, err := cfg.opts()
	if err != nil {
		return nil, err
	}
	want := make(map[string]map[int32]kgo.Offset)
	for t, ps := range from {
		want[t] = make(map[int32]kgo.Offset)
		for p, o := range ps {
			want[t][p] = kgo.NewOffset().At(o)
		}
	}
	opts = append(opts, kgo.ConsumePartitions(want), kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.FetchMaxWait(200*time.Millisecond))
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, err
	}
	return &Tailer{cl: cl}, nil
}

// Poll returns the next records.
func (t *Tailer) Poll(ctx context.Context) ([]engine.RawRecord, error) {
	fetches := t.cl.PollFetches(ctx)
	if fetches.IsClientClosed() {
		return nil, ErrClosed
	}
	var errs []error
	fetches.EachError(func(tp string, p int32, err error) {
		if !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
			errs = append(errs, fmt.Errorf("rill: fetch %s[%d]: %w", tp, p, err))
		}
	})
	var out []engine.RawRecord
	fetches.EachRecord(func(r *kgo.Record) {
		rec := engine.RawRecord{Topic: r.Topic, Partition: r.Partition, Offset: r.Offset,
			Timestamp: r.Timestamp.UnixMilli(), Key: r.Key, Value: r.Value}
		for _, h := range r.Headers {
			rec.Headers = append(rec.Headers, processor.Header{Key: h.Key, Value: h.Value})
		}
		out = append(out, rec)
	})
	return out, errors.Join(errs...)
}

// Close closes the consumer.
func (t *Tailer) Close() { t.cl.Close() }
