package kafka

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rillstreams/rill/internal/engine"
)

// ErrClosed is returned by Poll once the session is closed.
var ErrClosed = errors.New("rill: kafka session closed")

// AllowRebalance lets a pending rebalance proceed (its callbacks run then).
func (s *Session) AllowRebalance() { s.cl.AllowRebalance() }

// Begin opens a transaction under exactly-once (no-op at least once, or when one is open).
func (s *Session) Begin() error {
	if s.txn == nil || s.open {
		return nil
	}
	if err := s.txn.Begin(); err != nil {
		return err
	}
	s.open = true
	return nil
}

// ProduceTo sends rec (in the open transaction, if any) and tells p, with arg, its offset or
// error, from a franz-go goroutine. It blocks while the producer's buffer is full, at most
// until the session's BlockTimeout passes without any record acknowledged: then this and every
// later record fail with ErrProduceStuck (see produceWatch). It allocates nothing of its
// own (pooled records, one promise function per session): the stream threads' hot path.
func (s *Session) ProduceTo(rec engine.OutRecord, p Promise, arg any) {
	sr := sendRecords.Get().(*sendRecord)
	sr.s, sr.promise, sr.arg = s, p, arg
	r := &sr.rec
	r.Topic, r.Partition, r.Key, r.Value, r.Timestamp = rec.Topic, rec.Partition, rec.Key, rec.Value, time.UnixMilli(rec.Timestamp)
	for _, h := range rec.Headers {
		r.Headers = append(r.Headers, kgo.RecordHeader{Key: h.Key, Value: h.Value})
	}
	if rec.Partitioner != nil {
		// The partitioner below finds it here; the context stays the produce context, so
		// cancellation is unchanged.
		r.Context = context.WithValue(s.watch.ctx, recordPartitionerKey{}, rec.Partitioner)
	}
	s.cl.Produce(s.watch.ctx, r, produced)
}

// produced is the promise of every record ProduceTo sends: a function, not a closure or a
// method value, so that passing it allocates nothing.
func produced(r *kgo.Record, err error) {
	sr := fromRecord(r)
	s := sr.s
	s.watch.acked.Add(1)
	if err != nil && errors.Is(context.Cause(s.watch.ctx), ErrProduceStuck) {
		err = errors.Join(ErrProduceStuck, err)
	}
	sr.promise.Produced(sr.arg, r.Topic, r.Offset, err)
	sr.release()
}

// Flush waits until every record produced so far is acknowledged or failed: their done
// callbacks have all run when it returns (unless ctx ends first). The thread flushes before
// Commit so that a failed send is handled (skipped, dead-lettered or failing the thread)
// before the offsets, or the transaction, that would cover it are committed.
func (s *Session) Flush(ctx context.Context) error { return s.cl.Flush(ctx) }

// Commit makes everything since the last commit durable, with processed as the input offsets
// (the offset after the last record processed, per partition; partitions absent keep their
// committed offset): under exactly-once it ends the transaction (committed is false when it
// had to abort: a rebalance or a fencing cut in, and the consumer is rewound to the committed
// offsets); at least once it flushes the producer and commits the offsets.
func (s *Session) Commit(ctx context.Context, processed Offsets) (committed bool, err error) {
	if s.txn == nil {
		if err := s.cl.Flush(ctx); err != nil {
			return false, err
		}
		want := s.changed(processed)
		if len(want) == 0 {
			return true, nil
		}
		if err := s.commitSync(ctx, want); err != nil {
			return false, err
		}
		s.merge(want)
		return true, nil
	}
	if !s.open {
		// Nothing produced: still commit offsets, so consumed-but-filtered input is not read
		// again after a restart.
		if err := s.txn.Begin(); err != nil {
			return false, err
		}
	}
	s.open = false
	// Swap: a signal that came late (after its callbacks ran) costs one abort, not every
	// commit until the next rebalance.
	if s.rebalanceWaiting.Swap(false) {
		// A rebalance waits for the thread (its member left the heartbeat loop: the group is
		// rebalancing, or the session was lost). franz-go's End would ask for a heartbeat that
		// only that loop answers, and wait for the commit's whole bound (BlockTimeout) before
		// aborting: rill-torture's exactly-once instances spent a minute in each such commit
		// and were killed for not stopping (their goroutine dumps: End waiting to force a
		// heartbeat, the group's manage loop waiting in manageFailWait for AllowRebalance).
		// The rebalance would abort the transaction anyway; abort it now, and let it in.
		_, err := s.txn.End(ctx, kgo.TryAbort)
		s.rewind()
		return false, err
	}
	// franz-go's transaction session commits the offsets polled (it has no notion of records
	// polled but not processed) and, after a commit, records them as committed: the offsets
	// it rewinds to after a later abort. So the session (1) notes the group's committed
	// offsets of the partitions about to be overwritten, for its own rewinds (see rewind), and
	// (2) rewrites the transaction's TxnOffsetCommit to the processed offsets.
	s.mu.Lock()
	known := s.cl.CommittedOffsets()
	for t, ps := range s.cl.UncommittedOffsets() {
		for p := range ps {
			if _, ok := s.committed.get(t, p); !ok {
				if eo, ok := known[t][p]; ok {
					s.committed.Set(t, p, eo.Offset)
				}
			}
		}
	}
	s.mu.Unlock()
	want := s.changed(processed)
	ctx = kgo.PreTxnCommitFnContext(ctx, func(req *kmsg.TxnOffsetCommitRequest) error {
		rewriteTxnOffsets(req, want)
		return nil
	})
	ok, err := s.txn.End(ctx, kgo.TryCommit)
	if err == nil && ok {
		s.merge(want)
		return true, nil
	}
	s.rewind()
	return ok, err
}

// changed returns the offsets of processed that differ from the committed ones.
func (s *Session) changed(processed Offsets) Offsets {
	s.mu.Lock()
	defer s.mu.Unlock()
	want := Offsets{}
	for t, ps := range processed {
		for p, off := range ps {
			if c, ok := s.committed.get(t, p); !ok || c != off {
				want.Set(t, p, off)
			}
		}
	}
	return want
}

func (s *Session) merge(done Offsets) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for t, ps := range done {
		for p, off := range ps {
			s.committed.Set(t, p, off)
		}
	}
}

func (s *Session) commitSync(ctx context.Context, offsets Offsets) error {
	req := make(map[string]map[int32]kgo.EpochOffset, len(offsets))
	for t, ps := range offsets {
		req[t] = make(map[int32]kgo.EpochOffset, len(ps))
		for p, off := range ps {
			req[t][p] = kgo.EpochOffset{Epoch: -1, Offset: off}
		}
	}
	var rerr error
	s.cl.CommitOffsetsSync(ctx, req, func(_ *kgo.Client, _ *kmsg.OffsetCommitRequest, resp *kmsg.OffsetCommitResponse, err error) {
		if err != nil {
			rerr = err
			return
		}
		for _, t := range resp.Topics {
			for _, p := range t.Partitions {
				if err := kerr.ErrorForCode(p.ErrorCode); err != nil && rerr == nil {
					rerr = fmt.Errorf("rill: commit %s[%d]: %w", t.Topic, p.Partition, err)
				}
			}
		}
	})
	return rerr
}

// rewriteTxnOffsets replaces the offsets of a TxnOffsetCommit with offsets. Topic ids the
// client filled in are kept; franz-go fills in missing ones before sending.
func rewriteTxnOffsets(req *kmsg.TxnOffsetCommitRequest, offsets Offsets) {
	ids := make(map[string][16]byte, len(req.Topics))
	for _, t := range req.Topics {
		ids[t.Topic] = t.TopicID
	}
	req.Topics = req.Topics[:0]
	for t, ps := range offsets {
		rt := kmsg.NewTxnOffsetCommitRequestTopic()
		rt.Topic, rt.TopicID = t, ids[t]
		for p, off := range ps {
			rp := kmsg.NewTxnOffsetCommitRequestTopicPartition()
			rp.Partition, rp.Offset, rp.LeaderEpoch = p, off, -1
			rp.Metadata = &req.MemberID
			rt.Partitions = append(rt.Partitions, rp)
		}
		req.Topics = append(req.Topics, rt)
	}
}

// rewind moves the consumer back to the committed offsets after an aborted transaction.
// franz-go rewinds to what it recorded as committed, which after an earlier commit is the
// polled offset, beyond records that waited in the tasks unprocessed; the session knows the
// offsets it committed and sets those.
func (s *Session) rewind() {
	known := s.cl.CommittedOffsets()
	set := map[string]map[int32]kgo.EpochOffset{}
	s.mu.Lock()
	for t, ps := range s.committed {
		for p, off := range ps {
			if eo, ok := known[t][p]; ok && eo.Offset != off {
				if set[t] == nil {
					set[t] = map[int32]kgo.EpochOffset{}
				}
				set[t][p] = kgo.EpochOffset{Epoch: -1, Offset: off}
			}
		}
	}
	clear(s.lags) // the positions moved
	clear(s.refreshed)
	s.mu.Unlock()
	if len(set) > 0 {
		s.cl.SetOffsets(set)
	}
}

// Abort abandons the open transaction (exactly-once); its records are never visible to
// read_committed consumers, the consumed offsets are not committed, and the consumer is
// rewound to the committed offsets.
func (s *Session) Abort(ctx context.Context) error {
	if s.txn == nil {
		return nil
	}
	s.open = false
	_, err := s.txn.End(ctx, kgo.TryAbort)
	s.rewind()
	return err
}

// Close leaves the group at once (so other members take over without waiting for a session
// timeout) and closes the client. Leaving is bounded by ctx: brokers that do not answer are
