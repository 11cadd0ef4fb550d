package kafka

import (
	"cmp"
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// instanceID is the thread's group.instance.id: Kafka Streams gives each stream thread's
// consumer <group.instance.id>-<thread index>, so that the threads of one instance are distinct
// static members; rill's thread client ids end in -StreamThread-<index>.
func (c SessionConfig) instanceID() string {
	if c.GroupInstanceID == "" {
		return ""
	}
	id := c.GroupInstanceID
	if i := strings.LastIndex(c.ClientID, "-StreamThread-"); i >= 0 {
		id += c.ClientID[i+len("-StreamThread"):]
	}
	return id
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
	// BlockTimeout bounds how long Produce may block on a full producer buffer without any
	// record being acknowledged (see produceWatch; 0: no bound).
	BlockTimeout time.Duration
}

// Session is one stream thread's connection: a group consumer and a producer, transactional
// under exactly-once.
//
// Records may wait in the thread's task queues across polls (timestamp synchronization,
// back-pressure), so the session commits the offsets the thread says it processed, not the
// ones polled: at least once with explicit offset commits, under exactly-once by rewriting
// the offsets of the transaction's TxnOffsetCommit (see Commit).
type Session struct {
	cl     *kgo.Client
	adm    *kadm.Client
	txn    *kgo.GroupTransactSession // nil at least once
	open   bool                      // a transaction is open
	closed bool                      // Close was called
	// rebalanceWaiting is set when franz-go holds a rebalance's callbacks until the thread
	// allows them (BlockRebalanceOnPoll), and cleared when they run: a transaction must not
	// try to commit then (see Commit).
	rebalanceWaiting atomic.Bool
	// watch bounds Produce (produce_watch.go).
	watch produceWatch

	// mu protects committed, lags and refreshed: the thread reads and writes them, the
	// rebalance callbacks (franz-go's goroutine) forget them.
	mu sync.Mutex
	// committed is, per partition, the offset this member last committed, or (exactly-once)
	// the group's committed offset as franz-go knew it before its transaction session
	// overwrote it with the polled one. Forgotten at each assignment: the group's offsets
	// are fetched again then.
	committed Offsets
	lags      map[topicPartition]lagInfo
	refreshed map[topicPartition]time.Time // when RefreshLags last asked the broker
}

// Offsets maps topic → partition → offset (the next to read).
type Offsets map[string]map[int32]int64

func (o Offsets) Set(topic string, partition int32, offset int64) {
	ps := o[topic]
	if ps == nil {
		ps = make(map[int32]int64)
		o[topic] = ps
	}
	ps[partition] = offset
}

func (o Offsets) get(topic string, partition int32) (int64, bool) {
	off, ok := o[topic][partition]
	return off, ok
}

type topicPartition struct {
	topic     string
	partition int32
}

// lagInfo is what the session knows of a partition's lag: the end offset (high watermark, or
// last stable offset under read_committed) and the consumer's position after the records
// polled, both from the last fetch that returned records of the partition, or from
// RefreshLags' list-offsets answers.
type lagInfo struct {
	end, pos  int64
	fromFetch bool
	at        time.Time
}

// lagRefreshInterval bounds how often RefreshLags asks the broker about one partition, and
// how long a positive lag learnt that way is believed without the fetch that should follow.
const lagRefreshInterval = 200 * time.Millisecond

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
		// Control records (transaction markers) are dropped in Poll, but their offsets move
		// the position: without them a partition written transactionally would look one
		// record behind its last stable offset forever, and tasks would wait for it.
		kgo.KeepControlRecords(),
		// Rebalances wait until the thread has committed what it processed, so revoked tasks
		// can close cleanly and an open transaction is never cut short by one.
		kgo.BlockRebalanceOnPoll(),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), // auto.offset.reset=earliest, as Kafka Streams
		kgo.RecordPartitioner(partitioner{}),
		kgo.SessionTimeout(cmp.Or(cfg.SessionTimeout, 10*time.Second)),
		// A third of the session timeout, as Kafka's clients advise, and at most franz-go's
		// 3 s default: with a session timeout under 3 s the default would make the client
		// refuse to start.
		kgo.HeartbeatInterval(min(3*time.Second, cmp.Or(cfg.SessionTimeout, 10*time.Second)/3)),
		kgo.FetchMaxWait(200*time.Millisecond),
		kgo.ProducerLinger(5*time.Millisecond),
		kgo.MaxBufferedRecords(maxBufferedRecords),
		// A connection a broker closes on its first request is, to franz-go, a TLS or SASL
		// misconfiguration: it fails the records buffered for the partitions whose metadata it
		// was loading, for good. A session starts only after the admin client reached the
		// cluster with the same configuration, so here it is a broker shutting down, and Kafka's
		// Java producer retries it until delivery.timeout.ms. Failing the sends instead made
		// at-least-once lose outputs on real Kafka: the task migrated, its changelog records
		// (sent to another broker) survived, and the replay counted the records again, so the
		// lost updates never came back (issue 14; TestSessionRetriesSendsOverFirstReadEOF).
		kgo.AlwaysRetryEOF(),
	)
	if cfg.Balancer != nil {
		opts = append(opts, kgo.Balancers(cfg.Balancer))
	}
	if id := cfg.instanceID(); id != "" {
		// Static membership (KIP-345): a restart within the session timeout gets its
		// assignment back with no rebalance, and Close does not leave the group (franz-go
		// sends no LeaveGroup for a static member).
		opts = append(opts, kgo.InstanceID(id))
	}
	s := &Session{committed: Offsets{}, lags: map[topicPartition]lagInfo{}, refreshed: map[topicPartition]time.Time{}}
	// After an assignment (or a loss) the consumer starts again from the group's committed
	// offsets: what the session knew of positions, lags and its own commits is stale.
	opts = append(opts,
		kgo.OnPartitionsCallbackBlocked(func(context.Context, *kgo.Client) { s.rebalanceWaiting.Store(true) }),
		kgo.OnPartitionsAssigned(func(ctx context.Context, _ *kgo.Client, m map[string][]int32) {
			s.rebalanceWaiting.Store(false)
			s.forget()
			if cfg.OnAssigned != nil {
				cfg.OnAssigned(ctx, m)
			}
		}),
		kgo.OnPartitionsLost(func(ctx context.Context, _ *kgo.Client, m map[string][]int32) {
			s.rebalanceWaiting.Store(false)
			s.forget()
			if cfg.OnLost != nil {
				cfg.OnLost(ctx, m)
			}
		}))
	if cfg.OnRevoked != nil {
		opts = append(opts, kgo.OnPartitionsRevoked(func(ctx context.Context, _ *kgo.Client, m map[string][]int32) {
			s.rebalanceWaiting.Store(false)
			cfg.OnRevoked(ctx, m)
		}))
	}
	if cfg.TransactionalID == "" {
		s.cl, err = kgo.NewClient(cfg.withUserOpts(opts)...)
		if err != nil {
			return nil, err
		}
		if err := checkOpts(s.cl, cfg); err != nil {
			s.cl.Close()
			return nil, err
		}
		s.adm = kadm.NewClient(s.cl)
		s.watch.start(s.cl, cfg.BlockTimeout)
		return s, nil
	}
	opts = append(opts,
		kgo.TransactionalID(cfg.TransactionalID),
		kgo.TransactionTimeout(10*time.Second), // Kafka Streams' EOS default
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.RequireStableFetchOffsets(),
	)
	s.txn, err = kgo.NewGroupTransactSession(cfg.withUserOpts(opts)...)
	if err != nil {
		return nil, err
	}
	s.cl = s.txn.Client()
	if err := checkOpts(s.cl, cfg); err != nil {
		s.txn.Close()
		return nil, err
	}
	s.adm = kadm.NewClient(s.cl)
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
	s.watch.start(s.cl, cfg.BlockTimeout)
	return s, nil
}

// left to notice the session timeout. Later calls do nothing.
func (s *Session) Close(ctx context.Context) {
	if s.closed {
		return
	}
	s.closed = true
	s.watch.stop()
	// A rebalance blocked since the last Poll would keep the group loop, and so the leave,
	// waiting forever.
	s.cl.AllowRebalance()
	// franz-go's Close waits for the group to be left, and the leave for the group loop,
	// which may be waiting on a JoinGroup the coordinator holds until the rebalance ends (up
	// to the rebalance timeout, 60 s): rill-torture saw an instance take over a minute to stop
	// on SIGTERM. Past ctx the close goes on in the background and Close returns; the
	// coordinator drops the member after its session timeout if the leave never arrives.
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = s.cl.LeaveGroupContext(ctx)
		if s.txn != nil {
			s.txn.Close()
			return
		}
		s.cl.Close()
	}()
	select {
	case <-done:
	case <-ctx.Done():
	}
}

// partitioner keeps partitions the engine chose (changelog records go to their task's
// partition) and otherwise picks Kafka's default partition for the key (murmur2), so rill and
// Java producers agree; keyless records go round-robin.
