package runtime

import (
	"context"
	"fmt"

	"github.com/rillstreams/rill/changelog"
	"github.com/rillstreams/rill/internal/engine"
	"github.com/rillstreams/rill/internal/kafka"
)

// The processing guarantee is chosen once, when the runtime is made (Config.ExactlyOnce), as a
// committer: every step of the commit protocol that differs between at least once and exactly
// once is one of its methods, and nothing else in the runtime asks which guarantee it runs.
//
// At least once, a commit makes the stores durable (their buffered writes applied, memtables
// flushed), then flushes the producer and commits the offsets, then writes the checkpoint: a
// crash anywhere replays records whose effects may already be in the stores and outputs.
//
// Exactly once, a commit is one Kafka transaction holding the outputs, the changelog records
// and the input offsets; the stores apply the writes they buffered only once it committed,
// with the changelog offsets they reach (see txn.go). A rebalance may only come right after a
// commit, and anything that goes wrong aborts the transaction.
type committer interface {
	// String names the guarantee for logs.
	String() string
	// transactionalID is the transactional id of a thread's producer ("": none).
	transactionalID(cfg Config, thread int) string
	// exact tells the stores' transactions (storeTxns) to record their changelog offsets
	// with each commit; at least once they are deleted instead, since the changelog may lag.
	exact() bool
	// beforeOffsets readies a task's stores before the producer's flush and the offsets.
	beforeOffsets(rt *runningTask) error
	// afterOffsets finishes a task's commit once the offsets (the transaction) committed.
	afterOffsets(rt *runningTask) error
	// commitsOnRevoke tells whether the revocation commits what the tasks did: at least once
	// it does; exactly once the loop committed before it allowed the rebalance.
	commitsOnRevoke() bool
	// rebalanceAnytime tells whether the loop may let a rebalance in between commits.
	rebalanceAnytime() bool
	// abort ends the open transaction, if any, without committing it.
	abort(ctx context.Context, sess groupSession) error
	// dropsPolledAfterRebalance tells whether the first batch polled after a rebalance is
	// dropped, after an abort that rewinds the consumer to the committed offsets.
	dropsPolledAfterRebalance() bool
	// restoredBatch makes a restoration's batch durable (see restore).
	restoredBatch(rt *runningTask) error
	// waitsForPreviousOwners tells whether opening tasks waits for their previous owners'
	// pending transactions (waitPreviousOwnersLocked).
	waitsForPreviousOwners() bool
	// keepsCheckpointFile tells whether a task's checkpoint file stays while it runs: exactly
	// once it is written at clean closes only, since the stores' own offsets are the truth
	// and a crash must not leave an old file to trust.
	keepsCheckpointFile() bool
}

func newCommitter(transactional bool) committer {
	if transactional {
		return exactlyOnce{}
	}
	return atLeastOnce{}
}

type atLeastOnce struct{}

func (atLeastOnce) String() string                            { return "at_least_once" }
func (atLeastOnce) transactionalID(Config, int) string        { return "" }
func (atLeastOnce) exact() bool                               { return false }
func (atLeastOnce) commitsOnRevoke() bool                     { return true }
func (atLeastOnce) rebalanceAnytime() bool                    { return true }
func (atLeastOnce) abort(context.Context, groupSession) error { return nil }
func (atLeastOnce) dropsPolledAfterRebalance() bool           { return false }
func (atLeastOnce) waitsForPreviousOwners() bool              { return false }
func (atLeastOnce) keepsCheckpointFile() bool                 { return true }
func (atLeastOnce) afterOffsets(rt *runningTask) error        { return writeCheckpoint(rt) }
func (atLeastOnce) restoredBatch(rt *runningTask) error       { return rt.task.Flush() }
func (atLeastOnce) beforeOffsets(rt *runningTask) error {
	// Buffered writes to RocksDB, then its memtables to disk, before the offsets. The
	// batches go without the WAL: only the Flush makes them durable, and lets window stores
	// drop the segments they expired (which they hold back until then).
	if err := rt.Txns.Commit(nil); err != nil {
		return err
	}
	return rt.task.Flush()
}

type exactlyOnce struct{}

func (exactlyOnce) String() string { return "exactly_once_v2" }
func (exactlyOnce) transactionalID(cfg Config, thread int) string {
	return fmt.Sprintf("%s-%s-%d", cfg.ApplicationID, cfg.ProcessID, thread)
}
func (exactlyOnce) exact() bool                                        { return true }
func (exactlyOnce) commitsOnRevoke() bool                              { return false }
func (exactlyOnce) rebalanceAnytime() bool                             { return false }
func (exactlyOnce) dropsPolledAfterRebalance() bool                    { return true }
func (exactlyOnce) waitsForPreviousOwners() bool                       { return true }
func (exactlyOnce) keepsCheckpointFile() bool                          { return false }
func (exactlyOnce) beforeOffsets(*runningTask) error                   { return nil } // the stores wait for the transaction
func (exactlyOnce) restoredBatch(*runningTask) error                   { return nil } // committed with its offsets, WAL on
func (exactlyOnce) abort(ctx context.Context, sess groupSession) error { return sess.Abort(ctx) }
func (exactlyOnce) afterOffsets(rt *runningTask) error {
	// The transaction committed: now the stores may apply its writes.
	return rt.Txns.Commit(rt.Checkpoint())
}

// groupSession is what a stream thread needs of its group member and producer
// (kafka.Session): a seam the commit protocol's unit tests fill with a fake.
type groupSession interface {
	Poll(ctx context.Context, max int) ([]engine.RawRecord, error)
	// ProduceTo sends rec and tells p, with arg, its fate (on a producer goroutine).
	ProduceTo(rec engine.OutRecord, p kafka.Promise, arg any)
	// Begin opens a transaction if none is open (exactly once; at least once it does nothing).
	Begin() error
	Flush(ctx context.Context) error
	// Commit commits the offsets of the records processed (processed), with the open
	// transaction if any; committed is false when the transaction aborted instead.
	Commit(ctx context.Context, processed kafka.Offsets) (committed bool, err error)
	Abort(ctx context.Context) error
	AllowRebalance()
	ForceRebalance()
	Lag(topic string, partition int32) (lag int64, known bool)
	Measured(topic string, partition int32) (pos, lag int64, ok bool)
	RefreshLags(ctx context.Context, tps map[string][]int32) error
	PausePartitions(tps map[string][]int32)
	ResumePartitions(tps map[string][]int32)
	Close(ctx context.Context)
}

var _ groupSession = (*kafka.Session)(nil)

// newKafkaSession is the runtime's default session factory.
func newKafkaSession(cfg kafka.SessionConfig) (groupSession, error) {
	s, err := kafka.NewSession(cfg)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// writeCheckpoint writes the offsets rt's stores hold to its directory's checkpoint file.
func writeCheckpoint(rt *runningTask) error {
	return changelog.WriteCheckpoint(rt.Dir, rt.Checkpoint())
}
