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
//	committed, err := s.Commit(ctx, processed) // outputs, changelogs and the offsets processed, atomically under EOS
//	s.AllowRebalance()
package kafka

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/sasl/oauth"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
	"go.uber.org/zap"

	"github.com/rillstreams/rill/internal/engine"
	"github.com/rillstreams/rill/internal/partition"
	"github.com/rillstreams/rill/processor"
)

// SASL configures SASL authentication.
type SASL struct {
	// Mechanism is PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 or OAUTHBEARER.
	Mechanism          string
	Username, Password string
	// Token returns an OAUTHBEARER token; it is asked at each connection's authentication.
	Token func(ctx context.Context) (string, error)
}

// SASLMechanisms are the mechanisms SASL.Mechanism may name.
var SASLMechanisms = []string{"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "OAUTHBEARER"}

// ClientConfig is what every client of an app shares.
type ClientConfig struct {
	Bootstrap []string
	ClientID  string
	TLS       *tls.Config
	SASL      *SASL
	Logger    *zap.Logger
	// GroupInstanceID, when set, makes each stream thread's consumer a static group member
	// (KIP-345) with group.instance.id <GroupInstanceID>-<thread index>: see instanceID.
	GroupInstanceID string
	// Opts are franz-go options for what rill does not configure itself, applied after
	// rill's own client options (so they may tune what rill only defaults: fetch sizes and
	// waits, linger, compression, max record bytes) and checked afterwards not to have changed
	// what rill relies on (checkOpts).
	Opts []kgo.Opt
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
		case "OAUTHBEARER":
			if c.SASL.Token == nil {
				return nil, errors.New("rill: SASL OAUTHBEARER needs a Token function")
			}
			token := c.SASL.Token
			opts = append(opts, kgo.SASL(oauth.Oauth(func(ctx context.Context) (oauth.Auth, error) {
				t, err := token(ctx)
				return oauth.Auth{Token: t}, err
			})))
		default:
			return nil, fmt.Errorf("rill: unsupported SASL mechanism %q", c.SASL.Mechanism)
		}
	}
	// The user's options come after rill's client options in every client (admin, readers,
	// sessions); sessions apply them once more after their own (withUserOpts).
	return append(opts, c.Opts...), nil
}

// withUserOpts appends the user's options (ClientConfig.Opts) after a session's own, so that
// they win where both set one (fetch waits, linger, buffered records).
func (c ClientConfig) withUserOpts(opts []kgo.Opt) []kgo.Opt {
	return append(opts, c.Opts...)
}

// checkOpts refuses a client whose user options (ClientConfig.Opts) changed what the session
// relies on: the group, the topics, offset commits, transactions and read isolation.
func checkOpts(cl *kgo.Client, cfg SessionConfig) error {
	var bad []string
	if g, _ := cl.OptValue(kgo.ConsumerGroup).(string); g != cfg.Group {
		bad = append(bad, "ConsumerGroup")
	}
	if t, _ := cl.OptValue(kgo.TransactionalID).(string); t != cfg.TransactionalID {
		bad = append(bad, "TransactionalID")
	}
	if ac, _ := cl.OptValue(kgo.DisableAutoCommit).(bool); !ac {
		bad = append(bad, "DisableAutoCommit")
	}
	if b, _ := cl.OptValue(kgo.BlockRebalanceOnPoll).(bool); !b {
		bad = append(bad, "BlockRebalanceOnPoll")
	}
	if id, _ := cl.OptValue(kgo.InstanceID).(string); id != cfg.instanceID() {
		bad = append(bad, "InstanceID (use Config.GroupInstanceID)")
	}
	if len(bad) > 0 {
		return fmt.Errorf("rill: client options must not change %v: rill sets them", bad)
	}
	return nil
}

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
		kgo.OnPartitionsAssigned(func(ctx context.Context, _ *kgo.Client, m map[string][]int32) {
			s.forget()
			if cfg.OnAssigned != nil {
				cfg.OnAssigned(ctx, m)
			}
		}),
		kgo.OnPartitionsLost(func(ctx context.Context, _ *kgo.Client, m map[string][]int32) {
			s.forget()
			if cfg.OnLost != nil {
				cfg.OnLost(ctx, m)
			}
		}))
	if cfg.OnRevoked != nil {
		opts = append(opts, kgo.OnPartitionsRevoked(func(ctx context.Context, _ *kgo.Client, m map[string][]int32) { cfg.OnRevoked(ctx, m) }))
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
// It blocks while the producer's buffer is full, at most until the session's BlockTimeout
// passes without any record acknowledged: then this and every later record fail with
// ErrProduceStuck (see produceWatch).
func (s *Session) Produce(rec engine.OutRecord, done func(offset int64, err error)) {
	r := &kgo.Record{Topic: rec.Topic, Partition: rec.Partition, Key: rec.Key, Value: rec.Value,
		Timestamp: time.UnixMilli(rec.Timestamp)}
	if len(rec.Headers) > 0 {
		r.Headers = make([]kgo.RecordHeader, len(rec.Headers))
		for i, h := range rec.Headers {
			r.Headers[i] = kgo.RecordHeader{Key: h.Key, Value: h.Value}
		}
	}
	if rec.Partitioner != nil {
		// The partitioner below finds it here; the context stays the produce context, so
		// cancellation is unchanged.
		r.Context = context.WithValue(s.watch.ctx, recordPartitionerKey{}, rec.Partitioner)
	}
	s.cl.Produce(s.watch.ctx, r, func(r *kgo.Record, err error) {
		s.watch.acked.Add(1)
		if err != nil && errors.Is(context.Cause(s.watch.ctx), ErrProduceStuck) {
			err = errors.Join(ErrProduceStuck, err)
		}
		done(r.Offset, err)
	})
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
type partitioner struct{}

func (partitioner) ForTopic(string) kgo.TopicPartitioner { return &topicPartitioner{} }

type topicPartitioner struct{ next int }

// recordPartitionerKey keys a sink's custom partitioner (engine.OutRecord.Partitioner) in a
// record's context.
type recordPartitionerKey struct{}

func (*topicPartitioner) RequiresConsistency(*kgo.Record) bool { return true }

func (p *topicPartitioner) Partition(r *kgo.Record, n int) int {
	if r.Context != nil {
		if f, ok := r.Context.Value(recordPartitionerKey{}).(func(int32) (int32, bool)); ok {
			if pick, ok := f(int32(n)); ok {
				return int(pick) // out of range: franz-go fails the record, as Kafka's producer does
			}
		}
	}
	if r.Partition >= 0 && int(r.Partition) < n {
		return int(r.Partition)
	}
	if r.Key == nil {
		p.next++
		return p.next % n
	}
	return int(partition.ForKey(r.Key, int32(n)))
}
