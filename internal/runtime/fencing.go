package runtime

import (
	"context"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/rillstreams/rill/internal/kafka"
)

// maxFencingsWithoutCommit bounds recoverFromFencing: a producer fenced again and again with
// no commit in between is not a transaction that timed out once but two instances sharing a
// transactional id (the same ProcessID), and retrying would only hide it.
const maxFencingsWithoutCommit = 5

// recoverFromFencing handles a fenced transactional producer under exactly-once: the broker
// aborted the open transaction (it outlived the transaction timeout: a stalled thread, a slow
// commit, a broker restart) or another producer took the transactional id. The transaction's
// outputs, changelog records and offsets will never be visible, so the tasks' uncommitted
// state is void. As Kafka Streams does on a TaskMigratedException, the thread closes every
// active task dirty (transactional stores drop their uncommitted writes; state is reopened
// from the stores' committed offsets and the changelogs), replaces its producer and consumer
// with a new session (the fenced client cannot begin another transaction; the new one gets a
// new producer epoch) and rejoins the group, which assigns the tasks again. Records are then
// processed again from the committed offsets: nothing lost, nothing twice. Standbys stay: they
// hold committed data only. th.mu must not be held.
func (th *thread) recoverFromFencing(ctx context.Context, cause error) error {
	th.fencings++
	if th.fencings > maxFencingsWithoutCommit {
		return fmt.Errorf("rill: producer fenced %d times without a commit in between (do two instances share a ProcessID?): %w",
			th.fencings-1, cause)
	}
	th.log.Warn("rill: transactional producer fenced, its transaction aborted; closing tasks dirty, "+
		"replacing the producer and rejoining the group (Kafka Streams' task migration)", zapErr(cause))
	th.mu.Lock()
	for id, rt := range th.tasks {
		if err := th.closeTask(rt, false); err != nil {
			th.log.Warn("rill: close fenced task", zapTask(id), zapErr(err))
		}
		delete(th.tasks, id)
		th.rt.dirs.release(id, th.index)
	}
	th.dirty = false
	clear(th.paused)
	clear(th.lagMisses)
	th.prodMu.Lock()
	th.prodFailed = nil // sends of the lost transaction: processed again after the rejoin
	th.prodMu.Unlock()
	th.mu.Unlock()

	// The old session leaves the group (its revoke callback finds no task to commit) and its
	// client is closed, aborting what it can; bounded, as the broker may be what failed.
	old := th.sess
	closed := make(chan struct{})
	go func() { old.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(30 * time.Second):
		th.log.Warn("rill: closing the fenced session takes over 30s; going on without waiting")
	case <-ctx.Done():
		return nil
	}
	var sess *kafka.Session
	var err error
	for attempt := 0; ; attempt++ {
		if sess, err = kafka.NewSession(th.scfg); err == nil {
			break
		}
		if attempt == 5 || ctx.Err() != nil {
			return fmt.Errorf("rill: new session after a fenced producer: %w (fenced by: %v)", err, cause)
		}
		th.log.Warn("rill: new session after a fenced producer", zapErr(err), zap.Int("attempt", attempt+1))
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(time.Second << attempt):
		}
	}
	th.mu.Lock()
	th.sess = sess
	th.lastCommit = time.Now()
	th.mu.Unlock()
	return nil
}
