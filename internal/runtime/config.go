// Package runtime runs a topology against Kafka: stream threads, each a group member with
// tasks per partition, and a global thread for global tables. The root package rill is its
// public face; this package holds the moving parts.
//
// Each stream thread owns its active tasks and its standby tasks (standby.go): copies of other
// instances' stateful tasks whose stores it keeps current from their changelogs, promotes
// when the task comes to it, and reports (with the state left on disk) in its group
// subscription, so that the assignor (package assign) can place tasks where their state is.
//
// # Usage
//
//	rt, err := runtime.New(topo, runtime.Config{...}) // filled in by rill.New
//	err = rt.Run(ctx)
package runtime

import (
	"time"

	"github.com/rillstreams/rill/changelog"
	"github.com/rillstreams/rill/standby"

	"go.uber.org/zap"

	"github.com/rillstreams/rill/internal/kafka"
	"github.com/rillstreams/rill/processor"
	"github.com/rillstreams/rill/state"
)

// Config is the runtime's configuration, already defaulted and validated by rill.New.
type Config struct {
	ApplicationID          string
	Client                 kafka.ClientConfig
	StateDir               string
	ProcessID              string
	NumThreads             int
	ExactlyOnce            bool
	CommitInterval         time.Duration
	MaxPollRecords         int
	ApplicationServer      string
	ReplicationFactor      int16
	Backend                state.Backend
	Logger                 *zap.Logger
	DeserializationHandler processor.ErrorHandler
	ProcessingHandler      processor.ErrorHandler
	ProductionHandler      processor.ErrorHandler
	// Standby is the standby replicas' configuration (KIP-441's warm-ups and probing
	// rebalances included), as the user set it (rill.Config.Standby), defaulted.
	Standby standby.Config
	// SessionTimeout is the group session timeout of each stream thread.
	SessionTimeout time.Duration
	// MaxTaskIdle is how long a task with several input partitions waits for an empty one
	// that is caught up before processing without it (Kafka Streams' max.task.idle.ms): 0
	// waits only while the empty partition has records on the broker, negative never waits.
	MaxTaskIdle time.Duration
	// BufferedRecordsPerPartition is how many records a task queues per input partition
	// before the thread pauses fetching it (Kafka Streams' buffered.records.per.partition).
	BufferedRecordsPerPartition int
	// CacheMaxBytes is the record cache budget of the whole instance, split evenly between
	// its stream threads (Kafka Streams' statestore.cache.max.bytes); 0 caches nothing.
	CacheMaxBytes int64
	// StateRestoreListener and StandbyUpdateListener, when set, hear of restorations and of
	// standbys' updates (Kafka Streams' StateRestoreListener, StandbyUpdateListener). They are
	// called on the stream thread that owns the task: they must not block.
	StateRestoreListener  changelog.RestoreListener
	StandbyUpdateListener standby.UpdateListener
	// DebugMetrics turns on the debug-level metrics that cost per operation: record lateness
	// and a metered layer on every store (engine.Config.DebugMetrics).
	DebugMetrics bool
	// RepartitionPurgeInterval is how often a thread deletes, after a commit, the records of
	// its repartition partitions below the committed offsets (purge.go; 0: every 30 s, as
	// Kafka Streams; negative: never).
	RepartitionPurgeInterval time.Duration
	// OnThreadFailure answers what to do about a stream thread that failed (failure.go); nil
	// answers ShutdownClient.
	OnThreadFailure func(thread int, err error) FailureResponse
	// TimestampExtractor is the default of sources without their own (nil: record time).
	TimestampExtractor processor.TimestampExtractor
	// OnState is called on every state change of the runtime.
	OnState func(State)
	// RestoreListener, when set, is told about each restoration of a task's stores.
	RestoreListener func(RestoreEvent)
	// BlockTimeout bounds each blocking call of a stream thread to the brokers that must
	// finish even while the app stops (commit, flush, abort, leaving the group): past it the
	// thread fails instead of hanging (Kafka's max.block.ms; rill.New sets 60 s).
	BlockTimeout time.Duration
	// RestoreStallTimeout is how long a restoration (or the global tables' bootstrap) may make
	// no progress before Run fails; it waits and warns until then (kafka.Stall).
	RestoreStallTimeout time.Duration
	// PatternCheckInterval is how often the runtime looks for topics created since the start
	// that a pattern source matches, to warn that they are read only after a restart
	// (0: one minute).
	PatternCheckInterval time.Duration
}

// Defaults of the bounds rill.New does not expose or leaves unset.
const (
	// DefaultBlockTimeout is Kafka's max.block.ms default.
	DefaultBlockTimeout        = 60 * time.Second
	DefaultRestoreStallTimeout = 5 * time.Minute
)

// RestoreEvent reports one finished restoration: an active task's stores brought up to the
// end of their changelogs before it runs. Standbys tailing changelogs do not report.
type RestoreEvent struct {
	Task     processor.TaskID
	Records  int64
	Duration time.Duration
	// FromStandby tells that the task was promoted from a standby (or warm-up) replica this
	// instance kept: Records is then only the tail the standby had not applied yet.
	FromStandby bool
}

// State is the runtime's lifecycle state (Kafka Streams' KafkaStreams.State).
type State int

const (
	Created State = iota
	Rebalancing
	Running
	PendingShutdown
	NotRunning
	Error
)

func (s State) String() string {
	return [...]string{"CREATED", "REBALANCING", "RUNNING", "PENDING_SHUTDOWN", "NOT_RUNNING", "ERROR"}[s]
}
