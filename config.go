package rill

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"

	"github.com/rillstreams/rill/changelog"
	"github.com/rillstreams/rill/internal/kafka"
	"github.com/rillstreams/rill/internal/runtime"
	"github.com/rillstreams/rill/processor"
	"github.com/rillstreams/rill/standby"
	"github.com/rillstreams/rill/state"
)

// ProcessingGuarantee selects at-least-once or exactly-once processing.
type ProcessingGuarantee int

const (
	// AtLeastOnce commits offsets after outputs are flushed: a crash may repeat records.
	AtLeastOnce ProcessingGuarantee = iota
	// ExactlyOnceV2 commits outputs, changelogs and offsets in one transaction per commit
	// (KIP-447): a crash neither loses nor repeats an effect.
	ExactlyOnceV2
)

// SASL configures SASL authentication to the brokers. New refuses a mechanism it does not
// know; credentials the brokers refuse fail Run with an error matching ErrAuthentication.
type SASL struct {
	// Mechanism is PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 or OAUTHBEARER.
	Mechanism string
	// Username and Password, for PLAIN and SCRAM.
	Username, Password string
	// Token returns the bearer token for OAUTHBEARER (required with it). It is called at
	// each connection's authentication, so it should cache a token until it expires.
	Token func(ctx context.Context) (string, error)
}

// Config configures an App. New copies it, fills defaults and validates it.
type Config struct {
	// ApplicationID names the app: its consumer group, the prefix of its internal topics and
	// its state directory. Required.
	ApplicationID string
	// Bootstrap lists broker addresses. Required.
	Bootstrap []string
	// StateDir holds task state under <StateDir>/<ApplicationID>/<task id>/ (default: rill
	// in the user's cache directory, os.UserCacheDir: $XDG_CACHE_HOME or ~/.cache on Linux;
	// <os temp dir>/rill-<uid> when there is none). Directories rill creates there are
	// owner-only (0700), as are the files it writes itself (0600). An instance locks
	// <StateDir>/<ApplicationID> while it runs: a second instance of the app on the same
	// StateDir fails Run with ErrStateDirLocked, so instances sharing a machine need their
	// own StateDir. State written against another cluster, or ahead of its changelogs, is
	// wiped and restored with a warning.
	StateDir string
	// ProcessID identifies this instance in the group's assignment (default: GroupInstanceID
	// when set, else random per start; set it for instances whose state should stay theirs
	// across restarts).
	ProcessID string
	// GroupInstanceID makes this instance a static member of the group (KIP-345, Kafka
	// Streams' group.instance.id): stream thread i joins as <GroupInstanceID>-<i>. A static
	// member that stops does not leave the group, and one that comes back within
	// SessionTimeout gets its tasks back with no rebalance, so a rolling restart moves no
	// task; one that stays away longer is removed and its tasks move. Each instance needs its
	// own, stable id (letters, digits, '.', '_' or '-'); two live instances with one id fence
	// each other. Default: dynamic membership (every restart rebalances).
	GroupInstanceID string
	// NumThreads is the number of stream threads (default 1).
	NumThreads int
	// ProcessingGuarantee is AtLeastOnce (default) or ExactlyOnceV2.
	ProcessingGuarantee ProcessingGuarantee
	// CommitInterval is how often tasks commit (default 30s, or 100ms under ExactlyOnceV2,
	// as Kafka Streams).
	CommitInterval time.Duration
	// MaxPollRecords bounds the records taken per poll (default 1000).
	MaxPollRecords int
	// RepartitionPurgeInterval is how often, after a commit, a stream thread deletes the
	// records of the repartition topics it reads below the offsets it committed (Kafka
	// Streams' repartition.purge.interval.ms, default 30s; negative: never). Repartition
	// topics are created with infinite retention, so that no record goes before it is read:
	// without the purge they would grow without bound.
	RepartitionPurgeInterval time.Duration
	// MaxTaskIdle is how long a task reading several partitions (a join's two topics, say)
	// waits when one of them has no records queued, before processing the others anyway, as
	// Kafka Streams' max.task.idle.ms. A task processes its queued records in timestamp order
	// across its partitions, which is only right when every partition has records queued; an
	// empty partition may still have older records on the broker. Whatever the setting, a task
	// waits while an empty partition has records on the broker not yet fetched; MaxTaskIdle
	// is the extra wait for a partition that is caught up, in case records are about to be
	// produced to it. The default, 0, never waits for caught-up partitions (lowest latency;
	// records produced late to one side may be processed out of order); a positive value
	// trades that much latency for order; a negative value (-1) never waits at all, not even for
	// partitions with records on the broker, as max.task.idle.ms=-1.
	MaxTaskIdle time.Duration
	// BufferedRecordsPerPartition is how many records a task may queue per input partition
	// before its stream thread pauses fetching that partition, resuming once the queue has
	// drained to it (default 1000, as Kafka Streams' buffered.records.per.partition). It bounds
	// the memory of a task that waits for one partition (MaxTaskIdle) while others keep
	// arriving; lower saves memory, higher saves fetch round trips.
	BufferedRecordsPerPartition int
	// Standby configures standby replicas (default: none) and how stateful tasks move
	// between instances (KIP-441 warm-ups); see package standby.
	Standby standby.Config
	// SessionTimeout is how long the group waits to hear from an instance before declaring it
	// dead and moving its tasks (default 10 s). It bounds failover time after a crash: shorter
	// fails over sooner, at the risk of moving tasks of an instance that only paused (a long GC,
	// a slow commit). Kafka's consumer default is 45 s. Brokers accept 6 s to 30 min unless
	// configured otherwise (group.min/max.session.timeout.ms); one they refuse fails Run.
	SessionTimeout time.Duration
	// RestoreStallTimeout bounds how long the restoration of a task's stores (or the global
	// tables' bootstrap) may make no progress before Run fails (default 5 minutes). A task
	// never runs on a restoration that did not reach the end of its changelogs: while one is
	// stuck (a broker down, a partition without leader, a transaction left open on a
	// changelog that the broker has not aborted yet, which read_committed reads cannot pass),
	// rill waits and logs a warning every 10 s naming the partitions and offsets; then it fails.
	// Longer rides out longer outages; the broker aborts an abandoned transaction after its
	// transaction timeout (rill's producers use 10 s), which should stay well below this.
	RestoreStallTimeout time.Duration
	// ApplicationServer is this instance's host:port for interactive queries (optional).
	ApplicationServer string
	// ReplicationFactor of internal topics (default -1: the brokers' default).
	ReplicationFactor int
	// CacheMaxBytes is the size of the record cache (Kafka Streams' statestore.cache.max.bytes),
	// shared evenly by the stream threads; default 10 MiB. Tables and aggregations keep their
	// updates in it and, when it is flushed — at each commit, or when it is full — write to
	// their stores and changelogs and forward downstream only each key's latest value: a key
	// updated a thousand times between commits costs one store write, one changelog record and
	// one output record instead of a thousand. Larger caches save more writes and records;
	// longer CommitIntervals too, at the cost of latency (updates wait for the commit). Any
	// negative value disables the cache (every update is written and forwarded as it happens,
	// as statestore.cache.max.bytes=0); a store opts out with
	// dsl.Materialized(...).WithCachingDisabled().
	CacheMaxBytes int64
	// TimestampExtractor gives records their timestamps, for sources without their own
	// (dsl.WithTimestampExtractor); see processor.TimestampExtractor. Default: the record's
	// own timestamp, a negative one failing the record through the DeserializationHandler
	// (as Kafka Streams' FailOnInvalidTimestamp). processor.LogAndSkipOnInvalidTimestamp
	// and processor.UsePartitionTimeOnInvalidTimestamp handle negative timestamps otherwise.
	TimestampExtractor processor.TimestampExtractor
	// StoreBackend keeps stores that name no backend (default: RocksDB with a shared 50 MiB
	// block cache).
	StoreBackend state.Backend
	// Logger (default: zap.NewNop).
	Logger *zap.Logger
	// ErrorHandlers decide about records that fail and stream threads that fail (default:
	// fail the record's task, and stop the App).
	ErrorHandlers ErrorHandlers
	// Security is how the App's clients authenticate to the brokers (default: plaintext).
	Security Security
	// ClientOptions are franz-go options for every Kafka client of the app, for what Config
	// does not name: compression (kgo.ProducerBatchCompression), rack awareness (kgo.Rack),
	// fetch tuning (kgo.FetchMaxBytes, kgo.FetchMaxPartitionBytes, kgo.FetchMaxWait), the
	// largest record batch the producer sends (kgo.ProducerBatchMaxBytes: franz-go's
	// default is 1 MB, so records larger than that — dead letters of large inputs, say —
	// need it raised to the topic's max.message.bytes). They apply after rill's own
	// settings. Options that would change how rill consumes and commits (group, topics,
	// auto-commit, transactional id, static membership) make Run fail.
	ClientOptions []kgo.Opt
	// StateListener is called on every state change, from the goroutine that changed it.
	StateListener func(old, new State)
	// RestoreListener is told of each task restoration (records restored, time taken).
	RestoreListener func(RestoreEvent)
	// StateRestoreListener, when set, is told as each store's changelog is restored: start,
	// every batch, end or suspension (Kafka Streams' StateRestoreListener).
	StateRestoreListener changelog.RestoreListener
	// StandbyUpdateListener, when set, is told as standby replicas apply changelog batches
	// and when they stop (Kafka Streams' StandbyUpdateListener).
	StandbyUpdateListener standby.UpdateListener
	// Metrics, when set, is where the App registers its metrics (Kafka Streams' names under
	// a rill_ prefix: docs/metrics.md), e.g. prometheus.DefaultRegisterer or a
	// *prometheus.Registry of one's own. Default nil: registered nowhere but the App's own
	// registry, which only StatusHandler's /metrics serves. Several Apps may share one
	// registry (their threads' ids differ by ProcessID). Counting costs the same with or
	// without it: no lock, allocation or atomic per record; a scrape reads what each stream
	// thread published last (every 100 ms at most).
	Metrics prometheus.Registerer
	// MetricsLevel is MetricsInfo (default) or MetricsDebug (Kafka Streams'
	// metrics.recording.level).
	MetricsLevel MetricsLevel
	// StatusAddr, when set, is the host:port where Run serves StatusHandler (/metrics,
	// /healthz, /readyz, /topology, /tasks) while it runs. Default: none.
	StatusAddr string
}

// ThreadFailureResponse is a ThreadFailureHandler's answer (Kafka Streams'
// StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse).
type ThreadFailureResponse int

const (
	// ShutdownClient stops this instance: Run stops every stream thread, commits what they
	// can, and returns the error (state ERROR). The default, as in Kafka Streams.
	ShutdownClient ThreadFailureResponse = iota
	// ReplaceThread starts a new stream thread in place of the failed one: its tasks were
	// closed without a commit and go on from the committed offsets. A record that fails every
	// time fails every replacement; replacements are a second apart.
	ReplaceThread
	// ShutdownApplication stops every instance of the application: the group leader tells
	// every member to shut down, and each Run returns ErrShutdownRequested (this instance's
	// with the thread's error too). For failures every instance would meet sooner or later.
	ShutdownApplication
)

var appIDPattern = regexp.MustCompile(`^[a-zA-Z0-9._-]+$`)

func (c *Config) defaults() {
	if c.StateDir == "" {
		c.StateDir = defaultStateDir()
	}
	if c.ProcessID == "" && c.GroupInstanceID != "" {
		c.ProcessID = c.GroupInstanceID
	}
	if c.ProcessID == "" {
		c.ProcessID = fmt.Sprintf("p%x", time.Now().UnixNano())
	}
	if c.NumThreads == 0 {
		c.NumThreads = 1
	}
	if c.CommitInterval == 0 {
		c.CommitInterval = 30 * time.Second
		if c.ProcessingGuarantee == ExactlyOnceV2 {
			c.CommitInterval = 100 * time.Millisecond
		}
	}
	if c.MaxPollRecords == 0 {
		c.MaxPollRecords = 1000
	}
	if c.BufferedRecordsPerPartition == 0 {
		c.BufferedRecordsPerPartition = 1000
	}
	c.Standby = c.Standby.WithDefaults()
	if c.SessionTimeout == 0 {
		c.SessionTimeout = 10 * time.Second
	}
	if c.RestoreStallTimeout == 0 {
		c.RestoreStallTimeout = runtime.DefaultRestoreStallTimeout
	}
	if c.ReplicationFactor == 0 {
		c.ReplicationFactor = -1
	}
	switch {
	case c.CacheMaxBytes == 0:
		c.CacheMaxBytes = state.DefaultCacheMaxBytes
	case c.CacheMaxBytes < 0:
		c.CacheMaxBytes = 0 // disabled
	}
	if c.Logger == nil {
		c.Logger = zap.NewNop()
	}
}

// defaultStateDir is the user's own: a shared /tmp/rill mixed the state of every user, app
// and run on the machine (and another user could read or plant it).
func defaultStateDir() string {
	if dir, err := os.UserCacheDir(); err == nil {
		return filepath.Join(dir, "rill")
	}
	return filepath.Join(os.TempDir(), fmt.Sprintf("rill-%d", os.Getuid()))
}

func (c *Config) validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrInvalidConfig}, args...)...))
	}
	if !appIDPattern.MatchString(c.ApplicationID) {
		bad("ApplicationID %q must be non-empty letters, digits, '.', '_' or '-'", c.ApplicationID)
	}
	if len(c.Bootstrap) == 0 {
		bad("Bootstrap is empty")
	}
	if c.NumThreads < 1 || c.MaxPollRecords < 1 || c.CommitInterval < time.Millisecond {
		bad("NumThreads, MaxPollRecords and CommitInterval must be positive")
	}
	if c.BufferedRecordsPerPartition < 1 {
		bad("BufferedRecordsPerPartition %d must be positive", c.BufferedRecordsPerPartition)
	}
	if c.MaxTaskIdle > 0 && c.MaxTaskIdle < time.Millisecond {
		bad("MaxTaskIdle %v is below a millisecond (0 waits only for lagging partitions)", c.MaxTaskIdle)
	}
	if c.RestoreStallTimeout < time.Second {
		bad("RestoreStallTimeout %v is below a second", c.RestoreStallTimeout)
	}
	if c.SessionTimeout < time.Second {
		bad("SessionTimeout %v is below a second", c.SessionTimeout)
	}
	if err := c.Standby.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("%w: Standby: %w", ErrInvalidConfig, err))
	}
	if c.GroupInstanceID != "" && !appIDPattern.MatchString(c.GroupInstanceID) {
		bad("GroupInstanceID %q must be letters, digits, '.', '_' or '-'", c.GroupInstanceID)
	}
	if c.Security.SASL != nil {
		switch {
		case !slices.Contains(kafka.SASLMechanisms, c.Security.SASL.Mechanism):
			bad("SASL mechanism %q is not one of %v", c.Security.SASL.Mechanism, kafka.SASLMechanisms)
		case c.Security.SASL.Mechanism == "OAUTHBEARER" && c.Security.SASL.Token == nil:
			bad("SASL OAUTHBEARER needs a Token function")
		case c.Security.SASL.Mechanism != "OAUTHBEARER" && c.Security.SASL.Username == "":
			bad("SASL %s needs a Username", c.Security.SASL.Mechanism)
		}
	}
	if c.MetricsLevel != MetricsInfo && c.MetricsLevel != MetricsDebug {
		bad("unknown MetricsLevel %d", c.MetricsLevel)
	}
	if c.ProcessingGuarantee != AtLeastOnce && c.ProcessingGuarantee != ExactlyOnceV2 {
		bad("unknown ProcessingGuarantee %d", c.ProcessingGuarantee)
	}
	return errors.Join(errs...)
}
