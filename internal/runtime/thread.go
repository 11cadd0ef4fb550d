package runtime

import (
	"context"
	"errors"
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
	sess  *kafka.Session
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
	dirty      bool // processed something since the last commit

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
		Tasks: rt.taskTopics, Stateful: rt.stateful, NumStandbyReplicas: rt.cfg.NumStandbyReplicas,
		AcceptableRecoveryLag: rt.cfg.AcceptableRecoveryLag, MaxWarmupReplicas: rt.cfg.MaxWarmupReplicas,
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

// produce sends rec for origin; acked, when set, gets its offset. A failed send is queued for
// the thread, which handles it (handleProduceFailuresLocked) on its own goroutine.
func (th *thread) produce(rec engine.OutRecord, origin sendOrigin, acked func(offset int64)) {
	th.sess.Produce(rec, func(offset int64, err error) {
		if err != nil {
			th.prodMu.Lock()
			th.prodFailed = append(th.prodFailed, produceFailure{origin: origin, topic: rec.Topic, err: err})
			th.prodMu.Unlock()
			return
		}
		if acked != nil {
			acked(offset)
		}
	})
}

// onRevoked: with the eager protocol every task's partitions are revoked at each rebalance.
// Tasks stay open (a task reassigned here needs no restore); what they did is committed here
// at least once (under exactly-once the loop committed before allowing the rebalance). Records
// still queued in the tasks are dropped: the consumer starts again from the committed offsets,
// which are those of the records processed, and fetches them again.
func (th *thread) onRevoked(ctx context.Context, _ map[string][]int32) {
	th.migrating.Store(true)
	th.lock()
	defer th.unlock()
	th.rt.setState(Rebalancing)
	if !th.rt.cfg.ExactlyOnce && th.dirty {
		if err := th.commitLocked(ctx); err != nil {
			th.assignErr = err
		}
	}
	th.resetQueuesLocked()
}

// resetQueuesLocked drops the records queued in every task, after the consumer rewound (or
// will rewind) to the committed offsets. th.mu must be held.
func (th *thread) resetQueuesLocked() {
	for _, rt := range th.tasks {
		rt.task.ResetQueues()
	}
}

// onLost: the member lost its partitions without a chance to commit (a session timeout):
// active tasks close dirty. Standbys stay: they only hold committed data.
func (th *thread) onLost(_ context.Context, _ map[string][]int32) {
	th.migrating.Store(true)
	// The state listener hears of it, as of any rebalance: the member's session ended (brokers
	// unreachable past the session timeout, or the thread stalled), and its tasks are gone
	// until it rejoins; the next assignment brings RUNNING back.
	th.rt.setState(Rebalancing)
	th.log.Warn("rill: the group session was lost (brokers unreachable past the session timeout, or the thread " +
		"stalled): closing the tasks dirty and rejoining")
	th.lock()
	defer th.unlock()
	for id, rt := range th.tasks {
		if err := th.closeTask(rt, false); err != nil {
			th.log.Warn("rill: close lost task", zapTask(id), zapErr(err))
		}
		delete(th.tasks, id)
		th.rt.dirs.release(id, th.index)
	}
	th.rebalanced = true
	th.stats.dirty = true
}

// onAssigned applies the member's new assignment: active tasks it no longer runs become
// standbys when it keeps one (their stores stay) or close; standbys it no longer keeps close;
// standbys that become active are promoted (restoring only the tail they lacked); new active
// tasks open, restoring; new standbys open and start tailing. Closed tasks leave their
// checkpointed state on disk for a later assignment.
func (th *thread) onAssigned(ctx context.Context, _ map[string][]int32) {
	// franz-go's context lives as long as the client: a restoration under it would go on
	// after the app was asked to stop (for minutes, on a large changelog). Stopping the app
	// cuts it short; the task is left closed and the loop stops (see run).
	ctx, cancel := context.WithCancel(ctx)
	defer context.AfterFunc(th.runCtx, cancel)()
	defer cancel()
	th.migrating.Store(true)
	th.lock()
	defer th.unlock()
	// Queries may read the tasks again once the assignment is applied (mu still held here).
	defer th.migrating.Store(false)
	defer func() { th.settleChangelogs = false }() // for this assignment's restorations only
	th.rebalanced = true
	info := th.bal.Assignment()
	if info.ErrorCode == assign.ErrorShutdownRequested {
		// Some instance asked the whole application to shut down (failure.go): this
		// assignment has no task, and the thread stops with the error.
		th.assignErr = ErrShutdownRequested
		return
	}
	wantActive, wantStandby := taskSet(info.Active), taskSet(info.Standby)
	th.probeAt = time.Time{}
	if info.ProbingRebalance && th.bal.Leader() {
		th.probeAt = time.Now().Add(th.rt.cfg.ProbingRebalanceInterval)
		th.log.Info("rill: probing rebalance scheduled", zapDur("in", th.rt.cfg.ProbingRebalanceInterval))
	}
	// Release first, then take: a task moving between threads of this process is released
	// by one callback while the other waits for it (see taskDirs).
	for _, id := range sortedIDs(th.tasks) {
		if wantActive[id] {
			continue
		}
		rt := th.tasks[id]
		delete(th.tasks, id)
		if err := th.closeTask(rt, true); err != nil {
			th.log.Warn("rill: close revoked task", zapTask(id), zapErr(err))
		}
		if !wantStandby[id] {
			th.rt.dirs.release(id, th.index)
			continue
		}
		// The instance keeps a standby of it: reopen the stores (closed cleanly and
		// checkpointed just now) as one, without restoring anything.
		st, err := th.openStandby(ctx, th.rt.subs[id.Subtopology], id)
		if err != nil {
			th.assignErr = err
			return
		}
		th.standbys[id] = st
	}
	for _, id := range sortedIDs(th.standbys) {
		if !wantStandby[id] && !wantActive[id] {
			if err := th.closeStandby(th.standbys[id]); err != nil {
				th.log.Warn("rill: close standby task", zapTask(id), zapErr(err))
			}
		}
	}
	if err := th.waitPreviousOwnersLocked(ctx, wantActive); err != nil {
		th.assignErr = err
		return
	}
	for _, id := range sortedIDs(wantActive) {
		if th.tasks[id] != nil {
			continue
		}
		sub := th.rt.subs[id.Subtopology]
		if sub == nil {
			th.assignErr = fmt.Errorf("rill: assigned task %s of unknown sub-topology", id)
			return
		}
		rt, err := th.openTask(ctx, sub, id, th.standbys[id])
		if err != nil {
			th.assignErr = err
			return
		}
		th.tasks[id] = rt
	}
	for _, id := range sortedIDs(wantStandby) {
		if th.tasks[id] != nil || th.standbys[id] != nil {
			continue
		}
		sub := th.rt.subs[id.Subtopology]
		if sub == nil {
			th.assignErr = fmt.Errorf("rill: standby task %s of unknown sub-topology", id)
			return
		}
		st, err := th.openStandby(ctx, sub, id)
		if err != nil {
			th.assignErr = err
			return
		}
		th.standbys[id] = st
	}
	if err := th.planResetsLocked(ctx); err != nil {
		th.assignErr = err
		return
	}
	th.log.Info("rill: tasks assigned", zap.Int("active", len(th.tasks)), zap.Int("standby", len(th.standbys)))
	th.stats.dirty = true
	th.rt.threadRunning(th.index)
}

// waitPreviousOwnersLocked waits, exactly once, until the tasks of want that the thread is
// about to open have no transaction of a previous owner pending: one that committed their input
// offsets but has not ended yet (a member the group gave up on while it committed, say). Their
// stores must not be restored before it ends: restored up to the changelogs' last stable offset
// at once, they would miss what the transaction wrote, while the consumer, waiting for the
// same offsets (RequireStable), would start after its input, and those records would never be
// counted again (issue 14). th.mu must be held.
func (th *thread) waitPreviousOwnersLocked(ctx context.Context, want map[processor.TaskID]bool) error {
	th.settleChangelogs = false
	if !th.rt.cfg.ExactlyOnce {
		return nil
	}
	tps := map[string][]int32{}
	for id := range want {
		if th.tasks[id] != nil {
			continue
		}
		for _, t := range th.rt.taskTopics[id.Subtopology] {
			tps[t] = append(tps[t], id.Partition)
		}
	}
	began := time.Now()
	waited, err := th.rt.admin.WaitStableOffsets(ctx, th.rt.cfg.ApplicationID, tps)
	if err != nil {
		return fmt.Errorf("rill: waiting for the transactions of the tasks' previous owners: %w", err)
	}
	if waited {
		th.log.Info("rill: waited for a transaction of the tasks' previous owner to end before restoring them",
			zapDur("took", time.Since(began)))
		// Its markers reach the changelogs' partitions on their own (a broker each): the
		// restorations wait for those too (settleChangelogEnds).
		th.settleChangelogs = true
	}
	return nil
}

func taskSet(ts []assign.TaskID) map[processor.TaskID]bool {
	out := make(map[processor.TaskID]bool, len(ts))
	for _, t := range ts {
		out[processor.TaskID{Subtopology: t.Subtopology, Partition: t.Partition}] = true
	}
	return out
}

// sortedIDs returns the keys of m in task id order, for deterministic logs and opening order.
func sortedIDs[V any](m map[processor.TaskID]V) []processor.TaskID {
	ids := make([]processor.TaskID, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	slices.SortFunc(ids, func(a, b processor.TaskID) int {
		return assign.TaskID{Subtopology: a.Subtopology, Partition: a.Partition}.Compare(
			assign.TaskID{Subtopology: b.Subtopology, Partition: b.Partition})
	})
	return ids
}

// bounded returns the context of one blocking call of the thread to the brokers that must
// finish even when the app is stopping (a commit, the flush before it, an abort): not cancelled
// with ctx, but bounded by BlockTimeout, so that unreachable brokers fail the thread instead of
// holding it, and the app's shutdown, for ever.
// leaveTimeout bounds how long a stopping thread waits to leave its group.
const leaveTimeout = 10 * time.Second

func (th *thread) bounded(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), th.rt.cfg.BlockTimeout)
}

// run is the thread's loop; it returns on a fatal error or when ctx is done.
func (th *thread) run(ctx context.Context) (err error) {
	// cutShort tells that the cancellation interrupted work that could not finish (a task
	// reopening after an aborted transaction, say): the stop is clean for Run, but the tasks
	// close dirty, keeping only what their stores committed.
	cutShort := false
	defer func() {
		if err != nil && ctx.Err() == nil && !errors.Is(err, ErrShutdownRequested) {
			// Before the session closes: asking the application to shut down goes through
			// it (failure.go).
			th.failure = th.rt.threadFailure(th.index, err)
			if th.failure == ShutdownApplication && th.requestShutdown(ctx) {
				err = errors.Join(err, ErrShutdownRequested)
			}
		}
		th.lock()
		// A shutdown the application asked for (failure.go) stops cleanly: the rebalance that
		// brought it came after the thread committed what it processed.
		clean := (err == nil || errors.Is(err, ErrShutdownRequested)) && !cutShort
		if clean && th.dirty {
			clean = th.commitLocked(context.Background()) == nil
		}
		th.closeAllLocked(clean)
		th.unlock()
		// Leaving the group runs the revoke callback, which takes mu: not under it. The leave
		// is bounded by leaveTimeout: stopping must not wait out a rebalance (Session.Close).
		lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), min(th.rt.cfg.BlockTimeout, leaveTimeout))
		th.sess.Close(lctx)
		cancel()
	}()
	th.lastCommit = time.Now()
	// Poll blocks until records arrive; bound it so that commits (the last one before an
	// idle period above all) and wall-clock punctuations happen without new input.
	idle := min(th.rt.cfg.CommitInterval, 200*time.Millisecond)
	wait := idle
	for {
		pctx, cancel := context.WithTimeout(ctx, wait)
		polled := time.Now()
		recs, perr := th.sess.Poll(pctx, th.rt.cfg.MaxPollRecords)
		th.counters.pollTook = time.Since(polled) // counted by step, under mu
		cancel()
		if ctx.Err() != nil {
			return nil
		}
		if errors.Is(perr, kafka.ErrClosed) {
			return nil
		}
		if kafka.IsFatalPollError(perr) {
			// A broker refusing the session timeout, or credentials: retrying is waiting
			// for ever (see session.go; brokers allow 6 s to 30 min by default).
			return fmt.Errorf("rill: consumer group: %w", perr)
		}
		if perr != nil {
			th.log.Warn("rill: poll", zapErr(perr))
		}
		res, err := th.step(ctx, recs)
		if err != nil {
			if ctx.Err() != nil && errors.Is(err, context.Canceled) {
				th.log.Info("rill: stopping: the cancellation interrupted a step; tasks close without a final commit", zapErr(err))
				cutShort = true
				return nil
			}
			if (kafka.IsTaskMigrated(err) || errors.Is(err, errBrokersUnavailable)) && ctx.Err() == nil {
				if err := th.migrate(ctx, err); err != nil {
					return err
				}
				wait = idle
				continue
			}
			return err
		}
		// Standbys with records waiting (a warm-up catching up, say) should not wait for
		// input of the active tasks to come back to them; a task waiting for an idle
		// partition (MaxTaskIdle) should process when its wait is over, not at the next
		// record. A task waiting for records only wakes with them.
		wait = idle
		if res.standbyRecords > 0 {
			wait = 5 * time.Millisecond
		}
		if res.wakeAt != 0 {
			wait = min(wait, max(time.Until(time.UnixMilli(res.wakeAt)), time.Millisecond))
		}
		if res.committed || !th.rt.cfg.ExactlyOnce {
			th.sess.AllowRebalance()
		}
		if res.probe {
			// KIP-441's probing rebalance: the leader rejoins, the group rebalances, and
			// tasks held back for warm-ups move if their warm-ups caught up. The rebalance
			// itself waits until the loop allows it, as any other.
			th.log.Info("rill: triggering probing rebalance")
			th.sess.ForceRebalance()
		}
	}
}

// stepResult is what one turn of the loop did.
type stepResult struct {
	committed      bool // the tasks have nothing uncommitted: a rebalance may proceed
	standbyRecords int  // changelog records the standbys took
	probe          bool // a probing rebalance is due
	// wakeAt is when a task waiting for an idle partition gives up waiting (Unix
	// milliseconds; 0: none waits for a time).
	wakeAt int64
}

// step processes one poll's records, applies changelog records to the standbys, and commits
// when due.
func (th *thread) step(ctx context.Context, recs []engine.RawRecord) (res stepResult, err error) {
	th.lock()
	defer th.unlock()
	th.counters.polls++
	th.counters.pollLatency.observeN(th.counters.pollTook, 1)
	defer func() { th.publishStatsLocked(time.Now(), false) }()
	if res.standbyRecords, err = th.updateStandbysLocked(); err != nil {
		return res, err
	}
	if !th.probeAt.IsZero() && !time.Now().Before(th.probeAt) {
		th.probeAt = time.Time{}
		res.probe = true
	}
	res.committed, res.wakeAt, err = th.processLocked(ctx, recs)
	return res, err
}

// processLocked adds one poll's records to their tasks, processes what the tasks are ready to
// process (timestamp synchronization: a task may wait for an empty input partition, see
// engine.Task.Readiness), pauses or resumes partitions for back-pressure and commits when due.
// Records a task is not ready for stay queued until a later step. th.mu must be held.
func (th *thread) processLocked(ctx context.Context, recs []engine.RawRecord) (committed bool, wakeAt int64, err error) {
	if th.assignErr != nil {
		return false, 0, th.assignErr
	}
	if th.rebalanced {
		th.rebalanced = false
		// Pauses outlast rebalances in franz-go, but the records that caused them were
		// dropped at the revocation (or with their task): fetch every partition again.
		th.resumeAllLocked()
		// A rebalance happened (while Poll waited). Under exactly-once the session marked it
		// and would abort the next transaction; ending an empty one clears the mark, and rewinds
		// the consumer to the committed offsets, which are exactly what the tasks processed
		// (every rebalance comes after a commit). The batch just polled is dropped: it is
		// fetched again from there.
		if th.rt.cfg.ExactlyOnce {
			if err := th.sess.Abort(ctx); err != nil {
				return false, 0, err
			}
			recs = nil
		}
	}
	recs = th.skipResetLocked(recs)
	if len(recs) > 0 {
		if err := th.sess.Begin(); err != nil {
			return false, 0, err
		}
		for i := range recs {
			id := processor.TaskID{Subtopology: th.rt.topicSub[recs[i].Topic], Partition: recs[i].Partition}
			rt := th.tasks[id]
			if rt == nil {
				return false, 0, fmt.Errorf("rill: record of %s[%d] for task %s, which this thread does not run", recs[i].Topic, recs[i].Partition, id)
			}
			if err := rt.task.AddRecords(recs[i]); err != nil {
				return false, 0, err
			}
		}
	}
	now := time.Now().UnixMilli()
	if wakeAt, err = th.processTasksLocked(now); err != nil {
		return false, 0, err
	}
	if len(th.lagMisses) > 0 {
		// Tasks wait for partitions whose lag nobody knows yet (a caught-up partition never
		// shows up in a poll): ask the broker, and process what that unblocked.
		if err := th.sess.RefreshLags(ctx, th.lagMisses); err != nil {
			th.log.Warn("rill: refresh partition lags", zapErr(err))
		}
		clear(th.lagMisses)
		if wakeAt, err = th.processTasksLocked(now); err != nil {
			return false, 0, err
		}
		clear(th.lagMisses) // asked again at the next step (RefreshLags paces itself)
	}
	for _, rt := range th.tasks {
		if rt.task.WallClockDue(now) {
			// A punctuator may write stores and produce: inside a transaction, and what it
			// did is committed like processed records (a turn without input included).
			if err := th.sess.Begin(); err != nil {
				return false, 0, err
			}
			th.dirty = true
		}
		if err := rt.task.AdvanceWallClock(now); err != nil {
			return false, 0, err
		}
	}
	th.backPressureLocked()
	if _, err := th.handleProduceFailuresLocked(ctx); err != nil {
		return false, 0, err
	}
	if th.dirty && (time.Since(th.lastCommit) >= th.rt.cfg.CommitInterval || th.bufferFull()) {
		if err := th.commitLocked(ctx); err != nil {
			return false, 0, err
		}
		return true, wakeAt, nil
	}
	return !th.dirty, wakeAt, nil
}

// processTasksLocked processes each task's records while it is ready to (now in Unix
// milliseconds), and returns the earliest time a waiting task gives up waiting for an idle
// partition (0: none). th.mu must be held.
func (th *thread) processTasksLocked(now int64) (wakeAt int64, err error) {
	began, n := time.Now(), 0
	defer func() {
		if n > 0 {
			th.counters.processed += int64(n)
			th.counters.processLatency.observeN(time.Since(began)/time.Duration(n), uint64(n))
		}
	}()
	for _, rt := range th.tasks {
		for {
			r, wake := rt.task.Readiness(now, th.lagFn)
			if r == engine.NotReady {
				if wake != 0 && (wakeAt == 0 || wake < wakeAt) {
					wakeAt = wake
				}
				break
			}
			if r == engine.Enforced {
				if ce := th.log.Check(zap.DebugLevel, "rill: enforced processing: an input partition is empty past MaxTaskIdle"); ce != nil {
					ce.Write(zapTask(rt.task.ID()), zapInt64("enforced", rt.task.EnforcedProcessing()))
				}
			}
			if err := th.sess.Begin(); err != nil {
				return 0, err
			}
			ok, err := rt.task.Process()
			if err != nil {
				return 0, err
			}
			if !ok {
				break
			}
			n++
			th.dirty = true
			th.yieldToQueries()
		}
	}
	return wakeAt, nil
}

// backPressureLocked pauses fetching input partitions whose task queued more than
// BufferedRecordsPerPartition records and resumes those that drained to it (Kafka Streams
// does the same), so a task waiting for one partition does not queue the others without
// bound. th.mu must be held.
func (th *thread) backPressureLocked() {
	limit := th.rt.cfg.BufferedRecordsPerPartition
	var pause, resume map[string][]int32
	for id, rt := range th.tasks {
		for _, topic := range th.rt.taskTopics[id.Subtopology] {
			k := tpKey{topic, id.Partition}
			n := rt.task.BufferedIn(topic, id.Partition)
			switch {
			case n > limit && !th.paused[k]:
				th.paused[k] = true
				pause = addTP(pause, k)
			case n <= limit && th.paused[k]:
				delete(th.paused, k)
				resume = addTP(resume, k)
			}
		}
	}
	if pause != nil {
		th.sess.PausePartitions(pause)
	}
	if resume != nil {
		th.sess.ResumePartitions(resume)
	}
}

// resumeAllLocked resumes every partition the thread paused. th.mu must be held.
func (th *thread) resumeAllLocked() {
	var resume map[string][]int32
	for k := range th.paused {
		resume = addTP(resume, k)
	}
	clear(th.paused)
	if resume != nil {
		th.sess.ResumePartitions(resume)
	}
}

func addTP(m map[string][]int32, k tpKey) map[string][]int32 {
	if m == nil {
		m = map[string][]int32{}
	}
	m[k.topic] = append(m[k.topic], k.partition)
	return m
}

// commitLocked commits: at least once, flush stores, the producer and the offsets, then
// checkpoint; exactly once, end the transaction (outputs, changelogs and offsets together).
func (th *thread) commitLocked(ctx context.Context) error {
	began := time.Now()
	defer func() {
		th.counters.commits++
		th.counters.commitLatency.observeN(time.Since(began), 1)
	}()
	// Record caches first: what they hold goes to the stores, changelogs and outputs of
	// this commit (Kafka Streams' StreamTask.prepareCommit).
	for _, rt := range th.tasks {
		if err := rt.task.FlushCaches(); err != nil {
			return err
		}
	}
	if !th.rt.cfg.ExactlyOnce {
		for _, rt := range th.tasks {
			// Buffered writes to RocksDB, then its memtables to disk, before the offsets.
			if err := rt.txns.commit(nil); err != nil {
				return err
			}
			if err := rt.task.Flush(); err != nil {
				return err
			}
		}
	}
	// The offsets are those of the records processed: records still queued (a task waiting
	// for another partition, say) are read again after a restart.
	processed := kafka.Offsets{}
	for _, rt := range th.tasks {
		rt.task.Positions(processed.Set)
	}
	// A commit that has begun finishes even when the app is stopping: cut short, it would
	// leave the transaction open and fail the thread, closing its tasks dirty instead of
	// cleanly. But not at any price: brokers that stopped answering must not hold the thread
	// (and the app's shutdown) for ever, so the commit has BlockTimeout, and failing it fails
	// the thread (issue 14: a commit after a broker restart hung for over 10 minutes and
	// SIGINT did nothing).
	if err := th.flushProducedLocked(ctx); err != nil {
		return err
	}
	cctx, cancel := th.bounded(ctx)
	var ok bool
	var err error
	th.waitUnlocked(func() { ok, err = th.sess.Commit(cctx, processed) })
	timedOut := cctx.Err() != nil
	cancel()
	if err != nil {
		if timedOut {
			// Brokers that stopped answering (a restart taking long on a loaded host): the
			// commit's outcome is unknown, which a task migration settles as below; the
			// migration's new session gives up after RestoreStallTimeout if they stay away.
			return fmt.Errorf("%w: rill: commit did not finish within %v: %w", errBrokersUnavailable, th.rt.cfg.BlockTimeout, err)
		}
		if kafka.IsBrokerUnavailable(err) {
			// A broker restarting under the commit: its outcome is unknown (under exactly-once
			// the transaction may have committed or not), which closing the tasks dirty and
			// rejoining settles either way (migrate.go), as Kafka Streams rides out such errors
			// instead of dying.
			return fmt.Errorf("%w: %w", errBrokersUnavailable, err)
		}
		return fmt.Errorf("rill: commit: %w", err)
	}
	if _, err := th.handleProduceFailuresLocked(ctx); err != nil {
		return err
	}
	if !ok {
		// The transaction aborted (a rebalance or a fencing cut in): the tasks hold writes
		// that never happened, and the session rewound the consumer to the committed offsets.
		// Close every task dirty (its transactional stores drop their buffered writes) and
		// reopen it from its stores' committed offsets and the changelog's tail (Kafka
		// Streams' TaskCorruptedException path). The reopened tasks queue nothing: records
		// are fetched again from the committed offsets, so no partition stays paused either.
		th.resumeAllLocked()
		// Queries fail fast (ErrStoreMigrating) rather than wait while the tasks restore.
		was := th.migrating.Swap(true)
		defer th.migrating.Store(was)
		th.log.Warn("rill: transaction aborted; reinitializing tasks from their changelogs")
		for id, rt := range th.tasks {
			_ = th.closeTask(rt, false)
			reopened, err := th.openTask(ctx, th.rt.subs[id.Subtopology], id, nil)
			if err != nil {
				delete(th.tasks, id)
				return err
			}
			th.tasks[id] = reopened
		}
		th.dirty = false
		th.lastCommit = time.Now()
		return nil
	}
	for _, rt := range th.tasks {
		if th.rt.cfg.ExactlyOnce {
			// The transaction committed: now the stores may apply its writes.
			if err := rt.txns.commit(rt.checkpoint()); err != nil {
				return err
			}
			continue
		}
		if err := writeCheckpoint(rt); err != nil {
			return err
		}
	}
	th.dirty = false
	th.lastCommit = time.Now()
	th.purgeAfterCommitLocked(processed)
	return nil
}

// bufferFull tells whether some task's stores hold more writes than a commit should carry
// (maxBufferedWrites): time to commit, whatever the interval.
func (th *thread) bufferFull() bool {
	for _, rt := range th.tasks {
		if rt.txns.buffered() > maxBufferedWrites {
			return true
		}
	}
	return false
}
