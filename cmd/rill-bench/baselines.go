package main

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// The raw baselines: the fastest plain franz-go programs doing each workload's Kafka work, with
// the client settings rill's session uses (internal/kafka), so a ratio measures what rill adds
// on top of its client and nothing else.

const (
	maxPollRecords = 1000                   // rill's default MaxPollRecords
	alosCommit     = 30 * time.Second       // rill's at-least-once commit interval
	eosCommit      = 100 * time.Millisecond // rill's exactly-once commit interval
)

func clientOpts(s childSpec) []kgo.Opt {
	return []kgo.Opt{
		kgo.SeedBrokers(s.Bootstrap...),
		kgo.ClientID(s.AppID),
		kgo.ConsumeTopics(s.topic("in")),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchMaxWait(200 * time.Millisecond),
		kgo.ProducerLinger(5 * time.Millisecond),
	}
}

func groupOpts(s childSpec) []kgo.Opt {
	return append(clientOpts(s), kgo.ConsumerGroup(s.AppID), kgo.DisableAutoCommit(), kgo.SessionTimeout(10*time.Second))
}

// fetchErr returns the first fetch error that is not the context ending.
func fetchErr(fs kgo.Fetches) error {
	var first error
	fs.EachError(func(t string, p int32, err error) {
		if first == nil && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
			first = fmt.Errorf("fetch %s[%d]: %w", t, p, err)
		}
	})
	return first
}

// produceErrs keeps the first asynchronous produce error.
type produceErrs struct {
	mu  sync.Mutex // protects err
	err error
}

func (p *produceErrs) callback(_ *kgo.Record, err error) {
	if err != nil && !errors.Is(err, context.Canceled) {
		p.mu.Lock()
		if p.err == nil {
			p.err = err
		}
		p.mu.Unlock()
	}
}

func (p *produceErrs) first() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

// runConsume reads the input with a plain (group-less) consumer: SimpleBenchmark's consume.
func runConsume(ctx context.Context, s childSpec, p *progress) error {
	cl, err := kgo.NewClient(clientOpts(s)...)
	if err != nil {
		return err
	}
	defer cl.Close()
	for ctx.Err() == nil {
		fs := cl.PollRecords(ctx, maxPollRecords)
		if err := fetchErr(fs); err != nil {
			return err
		}
		p.add(int64(fs.NumRecords()))
	}
	return nil
}

// runConsumeProduce copies the input to "out" at least once: poll, produce, and every commit
// interval flush the producer and commit the offsets polled, as rill does.
func runConsumeProduce(ctx context.Context, s childSpec, _ *progress) error {
	return groupCopy(ctx, s, func(r *kgo.Record) []byte { return r.Value })
}

// runRawCount counts records per key in a Go map and writes each new count to "out" (8-byte
// big-endian, as serde.Int64): one output per input, at least once.
func runRawCount(ctx context.Context, s childSpec, _ *progress) error {
	counts := make(map[string]int64)
	return groupCopy(ctx, s, func(r *kgo.Record) []byte {
		n := counts[string(r.Key)] + 1 // the lookup does not allocate; new keys do
		counts[string(r.Key)] = n
		return binary.BigEndian.AppendUint64(nil, uint64(n))
	})
}

func groupCopy(ctx context.Context, s childSpec, value func(*kgo.Record) []byte) error {
	cl, err := kgo.NewClient(groupOpts(s)...)
	if err != nil {
		return err
	}
	defer cl.Close()
	out := s.topic("out")
	var perr produceErrs
	last := time.Now()
	for ctx.Err() == nil {
		fs := cl.PollRecords(ctx, maxPollRecords)
		if err := fetchErr(fs); err != nil {
			return err
		}
		fs.EachRecord(func(r *kgo.Record) {
			cl.Produce(ctx, &kgo.Record{Topic: out, Key: r.Key, Value: value(r), Timestamp: r.Timestamp}, perr.callback)
		})
		if err := perr.first(); err != nil {
			return err
		}
		if time.Since(last) >= alosCommit {
			if err := cl.Flush(ctx); err != nil {
				return nil // stopped while flushing
			}
			if err := cl.CommitUncommittedOffsets(ctx); err != nil && ctx.Err() == nil {
				return err
			}
			last = time.Now()
		}
	}
	return nil
}

// runTxCopy copies the input to "out" exactly once with franz-go's GroupTransactSession: one
// transaction per commit interval (rill's exactly-once default, 100 ms) holding the copies
// and the consumed offsets.
func runTxCopy(ctx context.Context, s childSpec, _ *progress) error {
	opts := append(groupOpts(s),
		kgo.TransactionalID(s.AppID),
		kgo.TransactionTimeout(10*time.Second),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.RequireStableFetchOffsets(),
	)
	sess, err := kgo.NewGroupTransactSession(opts...)
	if err != nil {
		return err
	}
	defer sess.Close()
	out := s.topic("out")
	var perr produceErrs
	open := false
	last := time.Now()
	for ctx.Err() == nil {
		// Bounded, so that the last transaction commits once the input runs dry.
		pctx, cancel := context.WithTimeout(ctx, eosCommit)
		fs := sess.PollRecords(pctx, maxPollRecords)
		cancel()
		if err := fetchErr(fs); err != nil {
			return err
		}
		if fs.NumRecords() > 0 && !open {
			if err := sess.Begin(); err != nil {
				return err
			}
			open = true
		}
		fs.EachRecord(func(r *kgo.Record) {
			sess.Produce(ctx, &kgo.Record{Topic: out, Key: r.Key, Value: r.Value, Timestamp: r.Timestamp}, perr.callback)
		})
		if err := perr.first(); err != nil {
			return err
		}
		if open && time.Since(last) >= eosCommit {
			if _, err := sess.End(ctx, kgo.TryCommit); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return err
			}
			open = false
			last = time.Now()
		}
	}
	return nil
}
