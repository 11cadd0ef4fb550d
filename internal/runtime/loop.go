package runtime

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/rillstreams/rill/internal/engine"
	"github.com/rillstreams/rill/internal/kafka"
	"github.com/rillstreams/rill/processor"
)

// leaveTimeout bounds how long a stopping thread waits to leave its group.
const leaveTimeout = 10 * time.Second

// bounded returns the context of one blocking call of the thread to the brokers that must
// finish even when the app is stopping (a commit, the flush before it, an abort): not cancelled
// with ctx, but bounded by BlockTimeout, so that unreachable brokers fail the thread instead of
// holding it, and the app's shutdown, for ever.
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
		if res.committed || th.rt.g.rebalanceAnytime() {
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
		if th.rt.g.dropsPolledAfterRebalance() {
			if err := th.rt.g.abort(ctx, th.sess); err != nil {
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
		// A poll returns records in runs of one partition: one task lookup per run.
		for i := 0; i < len(recs); {
			topic, part := recs[i].Topic, recs[i].Partition
			j := i + 1
			for j < len(recs) && recs[j].Partition == part && recs[j].Topic == topic {
				j++
			}
			id := processor.TaskID{Subtopology: th.rt.topicSub[topic], Partition: part}
			rt := th.tasks[id]
			if rt == nil {
				return false, 0, fmt.Errorf("rill: record of %s[%d] for task %s, which this thread does not run", topic, part, id)
			}
			if rt.state != taskRunning {
				// Fetched before a revocation took the partition away: the consumer reads
				// them again from the committed offsets if the task resumes here.
				th.log.Warn("rill: records for a task that is not running, left to be fetched again",
					zapTask(id), zap.Stringer("taskState", rt.state), zap.Int("records", j-i))
				i = j
				continue
			}
			if err := rt.task.AddRecords(recs[i:j]...); err != nil {
				return false, 0, err
			}
			i = j
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
		if rt.state != taskRunning {
			continue
		}
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
		if rt.state != taskRunning {
			continue // suspended by a revocation: it runs again once reassigned
		}
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
