package runtime

import (
	"context"
	"fmt"
	"slices"
	"time"

	"go.uber.org/zap"

	"github.com/rillstreams/rill/internal/assign"
	"github.com/rillstreams/rill/processor"
)

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
	if th.rt.g.commitsOnRevoke() && th.dirty {
		if err := th.commitLocked(ctx); err != nil {
			th.assignErr = err
		}
	}
	th.resetQueuesLocked()
	if err := th.suspendLocked(); err != nil {
		th.assignErr = err
	}
}

// resetQueuesLocked drops the records queued in every task, after the consumer rewound (or
// will rewind) to the committed offsets. th.mu must be held.
func (th *thread) resetQueuesLocked() {
	for _, rt := range th.tasks {
		rt.task.ResetQueues()
	}
}

// suspendLocked suspends every running task at a revocation (eager: the whole assignment),
// until the assignment that follows resumes those the thread keeps. th.mu must be held.
func (th *thread) suspendLocked() error {
	for _, rt := range th.tasks {
		if rt.state == taskRunning {
			if err := rt.moveTo(taskSuspended); err != nil {
				return err
			}
		}
	}
	return nil
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
		th.probeAt = time.Now().Add(th.rt.cfg.Standby.ProbingRebalanceInterval)
		th.log.Info("rill: probing rebalance scheduled", zapDur("in", th.rt.cfg.Standby.ProbingRebalanceInterval))
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
		if rt := th.tasks[id]; rt != nil {
			// Kept through the rebalance: it runs on (suspended at the revocation).
			if rt.state == taskSuspended {
				if err := rt.moveTo(taskRunning); err != nil {
					th.assignErr = err
					return
				}
			}
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
	if !th.rt.g.waitsForPreviousOwners() {
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
