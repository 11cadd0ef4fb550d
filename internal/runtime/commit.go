package runtime

import (
	"context"
	"fmt"
	"time"

	"github.com/rillstreams/rill/internal/kafka"
)

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
	for _, rt := range th.tasks {
		if err := th.rt.g.beforeOffsets(rt); err != nil {
			return err
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
		if err := th.rt.g.afterOffsets(rt); err != nil {
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
		if rt.Txns.Buffered() > maxBufferedWrites {
			return true
		}
	}
	return false
}

// maxBufferedWrites bounds the writes a task's stores hold for a commit: beyond it, at least
// once applies them at once, and exactly-once commits early (Kafka Streams'
// statestore.uncommitted.max.bytes, counted in writes).
const maxBufferedWrites = 100_000
