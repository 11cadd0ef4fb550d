// Package kafka is rill's one door to franz-go: group membership with rill's task balancer,
// polling, producing (transactionally under exactly-once), admin calls and changelog reads.
// Nothing else in rill imports kgo or kadm, so the client can be reasoned about (and replaced)
// here alone.
//
// # Usage
//
//	s, err := kafka.NewSession(kafka.SessionConfig{Bootstrap: addrs, Group: "app",
//		Topics: []string{"orders"}, TransactionalID: "app-p1-0"})
//	recs, err := s.Poll(ctx, 1000)
//	s.Begin()
//	s.Produce(out, func(offset int64, err error) { ... })
//	committed, err := s.Commit(ctx) // outputs, changelogs and offsets, atomically under EOS
//	s.AllowRebalance()
package kafka

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
	"go.uber.org/zap"

	"github.com/rillstreams/rill/internal/engine"
	"github.com/rillstreams/rill/internal/partition"
	"github.com/rillstreams/rill/processor"
)

// SASL configures SASL authentication.
type SASL struct {
	// Mechanism is PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512.
	Mechanism          string
	Username, Password string
}

// ClientConfig is what every client of an app shares.
type ClientConfig struct {
	Bootstrap []string
	ClientID  string
	TLS       *tls.Config
	SASL      *SASL
	Logger    *zap.Logger
}

func (c ClientConfig) opts() ([]kgo.Opt, error) {
	opts := []kgo.Opt{kgo.SeedBrokers(c.Bootstrap...), kgo.ClientID(c.ClientID)}
	if lvl := os.Getenv("RILL_KGO_LOG"); lvl != "" {
		// Debugging aid: franz-go's own log, on stderr (RILL_KGO_LOG=info or debug).
		level := kgo.LogLevelInfo
		if lvl == "debug" {
			level = kgo.LogLevelDebug
		}
		id := c.ClientID
		opts = append(opts, kgo.WithLogger(kgo.BasicLogger(os.Stderr, level, func() string { return id + " " })))
	}
	if c.TLS != nil {
		opts = append(opts, kgo.DialTLSConfig(c.TLS))
	}
	if c.SASL != nil {
		switch c.SASL.Mechanism {
		case "PLAIN":
			opts = append(opts, kgo.SASL(plain.Auth{User: c.SASL.Username, Pass: c.SASL.Password}.AsMechanism()))
		case "SCRAM-SHA-256":
			opts = append(opts, kgo.SASL(scram.Auth{User: c.SASL.Username, Pass: c.SASL.Password}.AsSha256Mechanism()))
		case "SCRAM-SHA-512":
			opts = append(opts, kgo.SASL(scram.Auth{User: c.SASL.Username, Pass: c.SASL.Password}.AsSha512Mechanism()))
		default:
			return nil, fmt.Errorf("rill: unsupported SASL mechanism %q", c.SASL.Mechanism)
		}
	}
	return opts, nil
}

// SessionConfig configures one stream thread's consumer-producer.
type SessionConfig struct {
	ClientConfig
	Group  string
	Topics []string
	// TransactionalID turns on exactly-once: one transaction per commit, offsets included.
	TransactionalID string
	// SessionTimeout is the group session timeout (0: 10 s).
	SessionTimeout time.Duration
	Balancer       kgo.GroupBalancer
	// Callbacks run on franz-go's group goroutine while the thread is not processing (the
	// session blocks rebalances between Poll and AllowRebalance).
	OnAssigned func(ctx context.Context, assigned map[string][]int32)
	OnRevoked  func(ctx context.Context, revoked map[string][]int32)
	OnLost     func(ctx context.Context, lost map[string][]int32)
}

// Session is one stream thread's connection: a group consumer and a producer, transactional
// under exactly-once.
type Session struct {
	cl   *kgo.Client
	txn  *kgo.GroupTransactSession // nil at least once
	open bool                      // a transaction is open
}

// NewSession joins the group.
func NewSession(cfg SessionConfig) (*Session, error) {
	opts, err := cfg.opts()
	if err != nil {
		return nil, err
	}
	opts = append(opts,
		kgo.ConsumerGroup(cfg.Group),
		kgo.ConsumeTopics(cfg.Topics...),
		kgo.DisableAutoCommit(),
		// Rebalances wait until the thread has committed what it processed, so revoked tasks
		// can close cleanly and an open transaction is never cut short by one.
		kgo.BlockRebalanceOnPoll(),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), // auto.offset.reset=earliest, as Kafka Streams
		kgo.RecordPartitioner(partitioner{}),
		kgo.SessionTimeout(cmp.Or(cfg.SessionTimeout, 10*time.Second)),
		kgo.FetchMaxWait(200*time.Millisecond),
		kgo.ProducerLinger(5*time.Millisecond),
	)
	if cfg.Balancer != nil {
		opts = append(opts, kgo.Balancers(cfg.Balancer))
	}
	if cfg.OnAssigned != nil {
		opts = append(opts, kgo.OnPartitionsAssigned(func(ctx context.Context, _ *kgo.Client, m map[string][]int32) { cfg.OnAssigned(ctx, m) }))
	}
	if cfg.OnRevoked != nil {
		opts = append(opts, kgo.OnPartitionsRevoked(func(ctx context.Context, _ *kgo.Client, m map[string][]int32) { cfg.OnRevoked(ctx, m) }))
	}
	if cfg.OnLost != nil {
		opts = append(opts, kgo.OnPartitionsLost(func(ctx context.Context, _ *kgo.Client, m map[string][]int32) { cfg.OnLost(ctx, m) }))
	}
	s := &Session{}
	if cfg.TransactionalID == "" {
		s.cl, err = kgo.NewClient(opts...)
		return s, err
	}
	opts = append(opts,
		kgo.TransactionalID(cfg.TransactionalID),
		kgo.TransactionTimeout(10*time.Second), // Kafka Streams' EOS default
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.RequireStableFetchOffsets(),
	)
	s.txn, err = kgo.NewGroupTransactSession(opts...)
	if err != nil {
		return nil, err
	}
	s.cl = s.txn.Client()
	// Initialize the producer id now, not at the first record: that fences a previous
	// incarnation of this transactional id (a crashed instance) and aborts its open
	// transaction, which would otherwise hold back the group's committed offsets and the
	// changelogs' last stable offsets until it timed out.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, _, err := s.cl.ProducerID(ctx); err != nil {
		s.txn.Close()
		return nil, fmt.Errorf("rill: init transactional producer %s: %w", cfg.TransactionalID, err)
	}
	return s, nil
}

// Poll returns up to max records, partition by partition in offset order. Until
// AllowRebalance, the group does not rebalance.
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
	fetches.EachRecord(func(r *kgo.Record) {
		rec := engine.RawRecord{Topic: r.Topic, Partition: r.Partition, Offset: r.Offset,
			Timestamp: r.Timestamp.UnixMilli(), Key: r.Key, Value: r.Value}
		if len(r.Headers) > 0 {
			rec.Headers = make([]processor.Header, len(r.Headers))
			for i, h := range r.Headers {
				rec.Headers[i] = processor.Header{Key: h.Key, Value: h.Value}
			}
		}
		out = append(out, rec)
	})
	return out, errors.Join(errs...)
}

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

// Produce sends a record; done is called from a franz-go goroutine with its offset or error.
func (s *Session) Produce(ctx context.Context, rec engine.OutRecord, done func(offset int64, err error)) {
	r := &kgo.Record{Topic: rec.Topic, Partition: rec.Partition, Key: rec.Key, Value: rec.Value,
		Timestamp: time.UnixMilli(rec.Timestamp)}
	if len(rec.Headers) > 0 {
		r.Headers = make([]kgo.RecordHeader, len(rec.Headers))
		for i, h := range rec.Headers {
			r.Headers[i] = kgo.RecordHeader{Key: h.Key, Value: h.Value}
		}
	}
	s.cl.Produce(ctx, r, func(r *kgo.Record, err error) { done(r.Offset, err) })
}

// Flush waits until every record produced so far is acknowledged or failed: their done
// callbacks have all run when it returns (unless ctx ends first). The thread flushes before
// Commit so that a failed send is handled (skipped, dead-lettered or failing the thread)
// before the offsets, or the transaction, that would cover it are committed.
func (s *Session) Flush(ctx context.Context) error { return s.cl.Flush(ctx) }

// Commit makes everything since the last commit durable: under exactly-once it ends the
// transaction with the consumed offsets (committed is false when it had to abort: a rebalance
// or a fencing cut in); at least once it flushes the producer and commits the offsets polled.
func (s *Session) Commit(ctx context.Context) (committed bool, err error) {
	if s.txn == nil {
		if err := s.cl.Flush(ctx); err != nil {
			return false, err
		}
		return true, s.cl.CommitUncommittedOffsets(ctx)
	}
	if !s.open {
		// Nothing produced: still commit offsets, so consumed-but-filtered input is not read
		// again after a restart.
		if err := s.txn.Begin(); err != nil {
			return false, err
		}
	}
	s.open = false
	return s.txn.End(ctx, kgo.TryCommit)
}

// Abort abandons the open transaction (exactly-once); its records are never visible to
// read_committed consumers, and the consumed offsets are not committed.
func (s *Session) Abort(ctx context.Context) error {
	if s.txn == nil {
		return nil
	}
	s.open = false
	_, err := s.txn.End(ctx, kgo.TryAbort)
	return err
}

// Close leaves the group at once (so other members take over without waiting for a session
// timeout) and closes the client.
func (s *Session) Close() {
	// A rebalance blocked since the last Poll would keep the group loop, and so the leave,
	// waiting forever.
	s.cl.AllowRebalance()
	if s.txn != nil {
		s.txn.Close()
		return
	}
	s.cl.Close()
}

// partitioner keeps partitions the engine chose (changelog records go to their task's
// partition) and otherwise picks Kafka's default partition for the key (murmur2), so rill and
// Java producers agree; keyless records go round-robin.
type partitioner struct{}

func (partitioner) ForTopic(string) kgo.TopicPartitioner { return &topicPartitioner{} }

type topicPartitioner struct{ next int }

func (*topicPartitioner) RequiresConsistency(*kgo.Record) bool { return true }

func (p *topicPartitioner) Partition(r *kgo.Record, n int) int {
	if r.Partition >= 0 && int(r.Partition) < n {
		return int(r.Partition)
	}
	if r.Key == nil {
		p.next++
		return p.next % n
	}
	return int(partition.ForKey(r.Key, int32(n)))
}
