package runtime

import (
	"context"
	"time"

	"github.com/rillstreams/rill/internal/kafka"
)

// Purging repartition topics (Kafka Streams' repartition.purge.interval.ms). Repartition topics
// are rill's own: created with infinite retention so that no record is deleted before a task
// has read it, they would grow without bound. After a commit, at most once per
// RepartitionPurgeInterval, the thread deletes the records of its repartition partitions
// before the offsets it just committed: nothing there is read again, whatever happens next
// (a restart or a new owner starts from the committed offsets). Under exactly-once those are
// the offsets of a committed transaction.
//
// The deletion runs on its own goroutine and nothing waits for it: a purge is an optimisation,
// and a slow or failed one must not hold the stream thread. One purge at a time per thread; a
// failed one is tried again after a later commit, with later offsets.

// DefaultRepartitionPurgeInterval is Kafka Streams' repartition.purge.interval.ms default.
const DefaultRepartitionPurgeInterval = 30 * time.Second

// purgeTimeout bounds one purge: it runs off the thread, but must not pile up either.
const purgeTimeout = 30 * time.Second

// purgeAfterCommitLocked starts a purge of the repartition partitions in committed (the input
// offsets of a commit that succeeded) when the interval has passed. th.mu must be held.
func (th *thread) purgeAfterCommitLocked(committed kafka.Offsets) {
	every := th.rt.cfg.RepartitionPurgeInterval
	if every < 0 || len(th.rt.repartition) == 0 || time.Since(th.lastPurge) < every {
		return
	}
	before := kafka.Offsets{}
	for t, ps := range committed {
		if !th.rt.repartition[t] {
			continue
		}
		for p, o := range ps {
			if o > 0 {
				before.Set(t, p, o)
			}
		}
	}
	if len(before) == 0 || !th.purging.CompareAndSwap(false, true) {
		return
	}
	th.lastPurge = time.Now()
	adm := th.rt.admin
	go func() {
		defer th.purging.Store(false)
		ctx, cancel := context.WithTimeout(context.Background(), purgeTimeout)
		defer cancel()
		if err := adm.DeleteRecordsBefore(ctx, before); err != nil {
			th.log.Info("rill: purge of repartition topics failed; tried again after a later commit", zapErr(err))
		}
	}()
}
