package runtime

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/rillstreams/rill/changelog"
	"github.com/rillstreams/rill/internal/assign"
	"github.com/rillstreams/rill/internal/engine"
	"github.com/rillstreams/rill/internal/kafka"
	"github.com/rillstreams/rill/processor"
	"github.com/rillstreams/rill/state"
)

func zapTask(id processor.TaskID) zap.Field      { return zap.Stringer("task", id) }
func zapErr(err error) zap.Field                 { return zap.Error(err) }
func zapInt64(k string, v int64) zap.Field       { return zap.Int64(k, v) }
func zapDur(k string, v time.Duration) zap.Field { return zap.Duration(k, v) }

// thread is a stream thread: one group member whose loop polls, queues the records in their
// tasks, processes what each task is ready for (records of a task's partitions in timestamp
// order, waiting for empty partitions as MaxTaskIdle says), punctuates and commits the offsets
// of the records processed; records still queued are read again after a restart. Rebalance callbacks run on franz-go's goroutine,
// but only while the loop waits in Poll: the session blocks rebalances from Poll's return until
// AllowRebalance, which the loop calls after a commit.
type thread struct {
	rt    *Runtime
	index int
	log   *zap.Logger
	sess  groupSession
	bal   *kafka.Balancer

	// mu protects tasks, standbys (with their stores, standbyParts, reader), rebalanced,
	// assignErr and probeAt: the loop holds it while it processes, applies changelogs to
	// standbys and commits; the rebalance callbacks while they open, close and promote tasks;
	// the balancer while it reads what to report in the subscription.
	mu         sync.Mutex
	tasks      map[processor.TaskID]*runningTask
	standbys   map[processor.TaskID]*standbyTask
	rebalanced bool
	assignErr  error
	// standbyParts maps each changelog partition the standbys tail to its standby; reader
	// reads them (nil until the first standby).
	standbyParts map[changelog.TopicPartition]*standbyTask
	reader       *kafka.ChangelogReader
	readerWarned time.Time // when a read error was last logged
	// probeAt is when the group leader triggers a probing rebalance (zero: none due).
	probeAt time.Time

	// prodMu protects prodFailed: sends that failed, queued by produce callbacks on franz-go's
	// goroutines for the thread to handle (produce.go).
	prodMu     sync.Mutex
	prodFailed []produceFailure

	// runCtx is the context run was called with: rebalance callbacks, which franz-go runs
	// under the client's own context, stop their work when it ends too.
	runCtx context.Context

	// migrations are the times of the thread's recent task migrations (migrate.go).
	migrations []time.Time

	lastCommit time.Time
	// lastPurge is when the thread last purged its repartition partitions; purging is set
	// while a purge runs (purge.go).
	lastPurge time.Time
	purging   atomic.Bool
	// failure is the failure handler's answer when the thread failed (failure.go).
	failure FailureResponse
	// skipBelow is, per partition starting by its source's offset reset policy, the first
	// offset to process (offsetreset.go). Guarded by mu.
	skipBelow kafka.Offsets
	// resetStart is the start each such partition was first given, kept for the thread's life.
	resetStart kafka.Offsets
	// settleChangelogs tells the restorations of an assignment that a previous owner's
	// transaction just ended (waitPreviousOwnersLocked): its markers may not have reached
	// every changelog partition yet. mu protects it.
	settleChangelogs bool
	dirty            bool // processed something since the last commit

	// paused are the input partitions whose fetching the thread paused because their task
	// queued more than BufferedRecordsPerPartition records (back-pressure); mu protects it.
	paused map[tpKey]bool
	// lagFn is sess.Lag noting, in lagMisses, the partitions whose lag is unknown, so that the
	// loop asks the broker (the tasks call it while the loop holds mu).
	lagFn     engine.LagFunc
	lagMisses map[string][]int32

	// cache is the record cache the thread's active tasks share (Kafka Streams' ThreadCache):
	// its share of CacheMaxBytes. Touched only with mu held, by the loop and by the rebalance
	// callbacks that open and close tasks (whose stores take and give back their share).
	cache *state.RecordCache

	// migrating is set from the revocation of the thread's partitions until their new
	// assignment is applied: interactive queries fail fast (ErrStoreMigrating) instead of
	// waiting for mu through a restoration.
	migrating atomic.Bool
	// queryMu is what interactive queries take to read the tasks' and standbys' stores
	// (query.go). The thread holds it with mu (lock, unlock), but lets go of it while it only
	// waits for the brokers in a commit (the producer's flush, the transaction's end) and
	// between records when a query waits (queryWaiting): a query never waits for a commit's
	// round trips. Order: mu, then queryMu.
	queryMu      sync.Mutex
	queryWaiting atomic.Int32

	// counters are the thread's metrics (mu protects them); stats what it publishes of
	// them (stats.go).
	counters threadCounters
	stats    threadStats
}

// lock takes mu and queryMu: the thread's tasks and stores are its alone.
func (th *thread) lock() {
	th.mu.Lock()
	th.queryMu.Lock()
}

func (th *thread) unlock() {
	th.queryMu.Unlock()
	th.mu.Unlock()
}

// waitUnlocked runs f, a wait for the brokers that touches no task or store, with queryMu
// released so that queries go on meanwhile. The thread must hold both locks (lock).
func (th *thread) waitUnlocked(f func()) {
	th.queryMu.Unlock()
	defer th.queryMu.Lock()
	f()
}

type tpKey struct {
	topic     string
	partition int32
}

// maxTaskIdleMillis converts MaxTaskIdle for engine.Config (negative: never wait).
func maxTaskIdleMillis(d time.Duration) int64 {
	if d < 0 {
		return -1
	}
	return d.Milliseconds()
}

// newThread makes stream thread index of rt, to run with ctx (see runCtx).
func newThread(ctx context.Context, rt *Runtime, index int) (*thread, error) {
	th := &thread{rt: rt, index: index, runCtx: ctx, tasks: map[processor.TaskID]*runningTask{},
		standbys: map[processor.TaskID]*standbyTask{}, standbyParts: map[changelog.TopicPartition]*standbyTask{},
		log: rt.cfg.Logger.With(zap.Int("thread", index)), paused: map[tpKey]bool{}, lagMisses: map[string][]int32{}, skipBelow: kafka.Offsets{}, resetStart: kafka.Offsets{},
		cache: state.NewRecordCache(rt.cfg.CacheMaxBytes / int64(max(rt.cfg.NumThreads, 1)))}
	th.stats.pub.ThreadID = fmt.Sprintf("%s-StreamThread-%d", rt.cfg.ProcessID, index+1)
	th.bal = kafka.NewBalancer(kafka.BalancerConfig{
		Tasks: rt.taskTopics, Stateful: rt.stateful, NumStandbyReplicas: rt.cfg.Standby.Replicas,
		AcceptableRecoveryLag: rt.cfg.Standby.AcceptableRecoveryLag, MaxWarmupReplicas: rt.cfg.Standby.MaxWarmupReplicas,
		Subscription: th.subscription, EndOffsetSums: rt.endOffsetSums, Logger: th.log,
	})
	if err := th.openSession(); err != nil {
		return nil, err
	}
	th.lagFn = func(topic string, partition int32) (int64, bool) {
		lag, known := th.sess.Lag(topic, partition)
		if !known && !slices.Contains(th.lagMisses[topic], partition) {
			th.lagMisses[topic] = append(th.lagMisses[topic], partition)
		}
		return lag, known
	}
	return th, nil
}

// subscription is what this member reports to the group leader: its tasks and, per task with
// local state, the sum of its changelog offsets (KIP-441's lag signal): running actives are
// current by definition, standbys report what they applied, and task directories left on
// disk what their checkpoints say.
func (th *thread) subscription() assign.Subscription {
	sums := th.rt.diskOffsetSums() // outside mu: file reads
	th.mu.Lock()
	defer th.mu.Unlock()
	sub := assign.Subscription{ProcessID: th.rt.cfg.ProcessID, HostPort: th.rt.cfg.ApplicationServer,
		TaskOffsetSums: sums, ShutdownRequested: th.rt.shutdownRequested.Load()}
	for t, s := range th.standbyOffsetSumsLocked() {
		sub.PrevStandby = append(sub.PrevStandby, t)
		sums[t] = s
	}
	for id := range th.tasks {
		t := assign.TaskID{Subtopology: id.Subtopology, Partition: id.Partition}
		sub.PrevActive = append(sub.PrevActive, t)
		sums[t] = assign.OffsetSumLatest
	}
	slices.SortFunc(sub.PrevActive, assign.TaskID.Compare)
	slices.SortFunc(sub.PrevStandby, assign.TaskID.Compare)
	return sub
}
