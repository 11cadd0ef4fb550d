package kafka

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rillstreams/rill/internal/engine"
	"github.com/rillstreams/rill/processor"
)

// Poll returns up to max records, partition by partition in offset order, and notes each
// polled partition's lag. Until AllowRebalance, the group does not rebalance.
func (s *Session) Poll(ctx context.Context, max int) ([]engine.RawRecord, error) {
	var fetches kgo.Fetches
	if s.txn != nil {
		fetches = s.txn.PollRecords(ctx, max)
	} else {
		fetches = s.cl.PollRecords(ctx, max)
	}
	if fetches.IsClientClosed() {
		return nil, ErrClosed
	}
	var errs []error
	fetches.EachError(func(t string, p int32, err error) {
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return
		}
		errs = append(errs, fmt.Errorf("rill: fetch %s[%d]: %w", t, p, err))
	})
	out := make([]engine.RawRecord, 0, fetches.NumRecords())
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	fetches.EachPartition(func(fp kgo.FetchTopicPartition) {
		if len(fp.Records) == 0 {
			return // no position to measure the lag from
		}
		end := fp.HighWatermark
		if s.txn != nil {
			end = fp.LastStableOffset // read_committed reads no further
		}
		s.lags[topicPartition{fp.Topic, fp.Partition}] = lagInfo{
			end: end, pos: fp.Records[len(fp.Records)-1].Offset + 1, fromFetch: true, at: now}
		for _, r := range fp.Records {
			if r.Attrs.IsControl() {
				continue
			}
			rec := engine.RawRecord{Topic: r.Topic, Partition: r.Partition, Offset: r.Offset,
				Timestamp: r.Timestamp.UnixMilli(), Key: r.Key, Value: r.Value}
			if len(r.Headers) > 0 {
				rec.Headers = make([]processor.Header, len(r.Headers))
				for i, h := range r.Headers {
					rec.Headers[i] = processor.Header{Key: h.Key, Value: h.Value}
				}
			}
			out = append(out, rec)
		}
	})
	return out, errors.Join(errs...)
}

// Lag tells how many records of a partition are on the broker past the consumer's position
// (engine.LagFunc). It is unknown until a poll returned records of the partition or
// RefreshLags asked the broker, and again after an assignment or an aborted transaction.
func (s *Session) Lag(topic string, partition int32) (lag int64, known bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	l, ok := s.lags[topicPartition{topic, partition}]
	if !ok {
		return 0, false
	}
	lag = max(l.end-l.pos, 0)
	if lag > 0 && !l.fromFetch && time.Since(l.at) > lagRefreshInterval {
		// The broker said records were there but no fetch brought them: ask again rather
		// than wait on an answer that may be stale (the log may have been truncated).
		return 0, false
	}
	return lag, true
}

// Measured returns the partition's last lag measurement, however old (Lag refuses a stale
// positive one): the consumer's position then (after the records of the last fetch, or the
// committed offset) and the lag; ok is false when the partition was never measured since the
// assignment. For status reports.
func (s *Session) Measured(topic string, partition int32) (pos, lag int64, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	l, ok := s.lags[topicPartition{topic, partition}]
	return l.pos, max(l.end-l.pos, 0), ok
}

// RefreshLags asks the broker for the lag of partitions whose lag is unknown (Lag), at most
// every lagRefreshInterval per partition: a caught-up partition never shows up in a poll, so
// the fetches alone would never tell. The position is the group's committed offset, or the
// log start when there is none (the consumer starts at the earliest offset).
func (s *Session) RefreshLags(ctx context.Context, tps map[string][]int32) error {
	now := time.Now()
	var topics []string
	s.mu.Lock()
	for t, ps := range tps {
		due := false
		for _, p := range ps {
			tp := topicPartition{t, p}
			if now.Sub(s.refreshed[tp]) >= lagRefreshInterval {
				s.refreshed[tp] = now
				due = true
			}
		}
		if due {
			topics = append(topics, t)
		}
	}
	s.mu.Unlock()
	if len(topics) == 0 {
		return nil
	}
	starts, err := s.adm.ListStartOffsets(ctx, topics...)
	if err != nil {
		return fmt.Errorf("rill: list start offsets: %w", err)
	}
	var ends kadm.ListedOffsets
	if s.txn != nil {
		ends, err = s.adm.ListCommittedOffsets(ctx, topics...) // last stable offsets
	} else {
		ends, err = s.adm.ListEndOffsets(ctx, topics...)
	}
	if err != nil {
		return fmt.Errorf("rill: list end offsets: %w", err)
	}
	committed := s.cl.CommittedOffsets()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range topics {
		for _, p := range tps[t] {
			tp := topicPartition{t, p}
			if _, known := s.lags[tp]; known && s.lags[tp].fromFetch {
				continue // a poll told meanwhile
			}
			start, ok1 := starts.Lookup(t, p)
			end, ok2 := ends.Lookup(t, p)
			if !ok1 || !ok2 || start.Err != nil || end.Err != nil {
				continue
			}
			pos := start.Offset
			if c, ok := committed[t][p]; ok && c.Offset > pos {
				pos = c.Offset
			}
			s.lags[tp] = lagInfo{end: end.Offset, pos: pos, at: now}
		}
	}
	return nil
}

// PausePartitions stops fetching partitions (back-pressure); franz-go drops what it buffered
// of them and fetches it again on ResumePartitions. Pauses outlast rebalances: the caller
// resumes what it no longer needs paused.
func (s *Session) PausePartitions(tps map[string][]int32) { s.cl.PauseFetchPartitions(tps) }

// ResumePartitions fetches paused partitions again.
func (s *Session) ResumePartitions(tps map[string][]int32) { s.cl.ResumeFetchPartitions(tps) }

// forget drops positions, lags and commits known for the previous assignment.
func (s *Session) forget() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.committed = Offsets{}
	clear(s.lags)
	clear(s.refreshed)
}

// ForceRebalance makes this member rejoin its group. A rejoin of the group leader always
// starts a rebalance (a follower's starts one only when its metadata changed), so the
// runtime calls it on the leader for KIP-441's probing rebalances. With BlockRebalanceOnPoll
// the rebalance still waits for AllowRebalance; the revoke and assign callbacks run as for
// any other rebalance.
func (s *Session) ForceRebalance() { s.cl.ForceRebalance() }
