package runtime

import (
	"context"
	"errors"
	"fmt"

	cl "github.com/rillstreams/rill/changelog"
	ichangelog "github.com/rillstreams/rill/internal/changelog"
	"github.com/rillstreams/rill/internal/engine"
	"github.com/rillstreams/rill/internal/kafka"
	"github.com/rillstreams/rill/processor"
)

// Failed sends. The producer reports them on franz-go's goroutines, long after the sink that
// sent the record returned; the callback only queues them (thread.prodFailed) and the thread
// hands them to the production handler where it owns its tasks: after each processing round
// and, flushing first, before every commit, so that no offset (and no transaction) is
// committed over a record whose fate the handler has not decided. The one commit made off the
// loop's goroutine, at least once in onRevoked, runs while the loop waits in Poll and holds
// th.mu like every owner of the tasks: the handler never runs concurrently with the task. This is Kafka Streams'
// RecordCollectorImpl.recordSendError, moved from the callback to the loop because rill's
// handlers may dead-letter, which sends through the task's collector.
//
// What is and is not the handler's to decide:
//   - Output records (sinks): the handler decides. Continue logs, counts the record as
//     dropped and goes on; the offsets of its input still commit (at least once, as Kafka
//     Streams). Fail stops the thread with a processor.TaskError matching
//     processor.ErrProduction.
//   - Changelog records: always fatal. The store already holds the write; skipping its
//     changelog record would leave a restored or standby copy different from the store.
//   - Dead letters: the handler decides (engine.Task.HandleDeadLetterError), once: a dead
//     letter too large for the producer, say, would otherwise stop the app at the same input
//     offset at every restart. Continue drops the record (counted once, when it was first
//     dead-lettered); a dead letter it asks for in answer is the record's last, and its
//     failure is fatal (sendLastDeadLetter), so a handler cannot loop.
//   - Errors about the client rather than the record (kafka.IsFatalProduceError: security,
//     fencing, a broken transaction, the client closing): never the handler's. They stop the
//     thread, except the ones that mean a task migration (kafka.IsTaskMigrated: the thread
//     reopens its tasks on a new producer, migrate.go).
//
// Exactly-once: Kafka's Java producer puts a transaction in an abortable state after any
// failed send, so Kafka Streams' CONTINUE cannot commit it (KAFKA-15259). franz-go does not:
// a batch the broker refused (MESSAGE_TOO_LARGE, say) fails its records without failing the
// producer id, and GroupTransactSession.End(TryCommit) commits the rest of the transaction
// and the offsets. rill takes what a user choosing Continue asks for: the transaction commits
// without the skipped record, exactly as at least once. When the handler fails (or the error
// is fatal), the thread aborts the open transaction before it stops, so nothing of it becomes
// visible and read_committed consumers are not held back until the transaction times out.
//
// franz-go fails every record buffered for a partition when the broker refuses a batch, not
// only the offending one (Java's producer splits the batch and retries). Records batched with
// a too-large record therefore fail with it and go to the handler one by one.

// sendKind tells what a produced record is to its task.
type sendKind uint8

const (
	sendOutput sendKind = iota
	sendChangelog
	sendDeadLetter
	sendLastDeadLetter
)

// sendOrigin is what a failed send needs to be handled: the task that sent it and, for the
// handler's ErrorContext and a dead letter, the input record being processed then. It is the
// arg of the send (kafka.Session.ProduceTo) and never changes once sent: the promise reads
// it on a producer goroutine.
type sendOrigin struct {
	rt   *runningTask
	kind sendKind
	src  *engine.RawRecord // nil in punctuations
	node string
	// acked, for a changelog record, is where its partition's acknowledged records reach.
	acked *ichangelog.Written
}

// changelogTo is where a logged store's changelog records go, with the origin they share.
type changelogTo struct {
	tp     cl.TopicPartition
	origin sendOrigin
}

// inputOrigin is a sendOrigin with its own copy of the input record: one allocation per
// input record that produces, however many outputs it has.
type inputOrigin struct {
	origin sendOrigin
	src    engine.RawRecord
}

// produceFailure is a failed send, queued by the producer callback for the thread.
type produceFailure struct {
	origin sendOrigin
	topic  string
	err    error
}

// origin describes a send of kind (an output or a dead letter) from the task's current state.
// Sends of one input record from one node share one origin.
func (c *taskCollector) origin(kind sendKind, node string) *sendOrigin {
	cur, ok := c.rt.task.Current()
	if o := c.last; o != nil && o.kind == kind && o.node == node && (o.src != nil) == ok &&
		(!ok || o.src.Topic == cur.Topic && o.src.Partition == cur.Partition && o.src.Offset == cur.Offset) {
		return o
	}
	if !ok {
		c.last = &sendOrigin{rt: c.rt, kind: kind, node: node}
		return c.last
	}
	if o := c.last; o != nil && o.src != nil && o.src.Topic == cur.Topic && o.src.Partition == cur.Partition && o.src.Offset == cur.Offset {
		// The same input from another node, or as a dead letter: the copy is shared.
		c.last = &sendOrigin{rt: c.rt, kind: kind, src: o.src, node: node}
		return c.last
	}
	in := &inputOrigin{src: cur}
	in.origin = sendOrigin{rt: c.rt, kind: kind, src: &in.src, node: node}
	c.last = &in.origin
	return c.last
}

// send sends rec from origin o; c is the promise.
func (c *taskCollector) send(rec engine.OutRecord, o *sendOrigin) {
	c.th.sess.ProduceTo(rec, c, o)
}

// Produced is kafka.Promise, called on a producer goroutine: a failed send is queued for the
// thread with its origin; an acknowledged changelog record moves its partition's written
// offset (the checkpoint's, and what exactly-once stores commit with).
func (c *taskCollector) Produced(arg any, topic string, offset int64, err error) {
	o := arg.(*sendOrigin)
	if err != nil {
		th := c.th
		th.prodMu.Lock()
		th.prodFailed = append(th.prodFailed, produceFailure{origin: *o, topic: topic, err: err})
		th.prodMu.Unlock()
		return
	}
	if o.acked != nil {
		o.acked.Acked(offset)
	}
}

// SendDeadLetter is engine.DeadLetterCollector: a dead letter whose send fails stops the task.
func (c *taskCollector) SendDeadLetter(rec engine.OutRecord) error {
	c.send(rec, c.origin(sendDeadLetter, ""))
	return nil
}

// SendLastDeadLetter is engine.LastDeadLetterCollector: the dead letter the production handler
// asked for about a dead letter that could not be written; its own failure stops the task.
func (c *taskCollector) SendLastDeadLetter(rec engine.OutRecord) error {
	c.send(rec, c.origin(sendLastDeadLetter, ""))
	return nil
}

// flushProducedLocked waits for every record sent so far and handles the failed ones, again
// while handling them sent more (dead letters). th.mu must be held.
func (th *thread) flushProducedLocked(ctx context.Context) error {
	for {
		// A flush that has begun finishes even when the app is stopping, as the commit
		// it precedes, within the same bound (see commitLocked).
		fctx, cancel := th.bounded(ctx)
		var err error
		th.waitUnlocked(func() { err = th.sess.Flush(fctx) })
		cancel()
		if err != nil {
			return fmt.Errorf("rill: flush producer (bounded by %v): %w", th.rt.cfg.BlockTimeout, err)
		}
		n, err := th.handleProduceFailuresLocked(ctx)
		if err != nil || n == 0 {
			return err
		}
	}
}

// handleProduceFailuresLocked handles the sends that failed since the last call and returns
// how many there were; the error is fatal for the thread. th.mu must be held.
func (th *thread) handleProduceFailuresLocked(ctx context.Context) (int, error) {
	th.prodMu.Lock()
	failed := th.prodFailed
	th.prodFailed = nil
	th.prodMu.Unlock()
	var fatal error
	var after []produceFailure
	for _, f := range failed {
		if fatal != nil {
			after = append(after, f)
			continue
		}
		fatal = th.handleProduceFailureLocked(f)
	}
	if len(after) > 0 {
		// The thread stops with the first fatal failure, as Kafka Streams keeps the first send
		// exception. The rest (a fenced producer fails every record in flight: thousands) are
		// told in one line; their inputs are not committed, so nothing is lost.
		th.log.Warn("rill: more sends failed after a fatal produce error", zapInt64("failed", int64(len(after))),
			zapTask(after[0].origin.rt.task.ID()), zapErr(after[0].err))
	}
	if fatal != nil {
		actx, cancel := th.bounded(ctx)
		defer cancel()
		if err := th.rt.g.abort(actx, th.sess); err != nil {
			fatal = errors.Join(fatal, fmt.Errorf("rill: abort transaction: %w", err))
		}
	}
	return len(failed), fatal
}

func (th *thread) handleProduceFailureLocked(f produceFailure) error {
	o := f.origin
	id := o.rt.task.ID()
	err := fmt.Errorf("rill: produce to %s: %w", f.topic, f.err)
	fail := func(err error) error {
		te := &processor.TaskError{Kind: processor.ProductionError, TaskID: id, Node: o.node, Partition: -1, Offset: -1, Err: err}
		if o.src != nil {
			te.Topic, te.Partition, te.Offset = o.src.Topic, o.src.Partition, o.src.Offset
		}
		return te
	}
	switch {
	case th.tasks[id] != o.rt:
		// The task was closed since (its partitions lost, or a task migration closed it
		// dirty and its session with it, failing its sends with "client closed"): its
		// uncommitted input is processed again wherever it runs now, and this output with
		// it. Checked first: such a failure says nothing about the session running now
		// (rill-torture on real Kafka: 7 instances died of "client closed" after migrations).
		th.log.Warn("rill: produce failed for a task no longer running here", zapTask(id), zapErr(err))
		return nil
	case kafka.IsFatalProduceError(f.err):
		return fail(err)
	case kafka.IsBrokerUnavailable(f.err):
		// Not the record's fault: a broker restarting under the send. A task migration
		// (migrate.go) keeps exactly-once and at-least-once, where the handler would drop
		// the record or kill the instance.
		return fmt.Errorf("%w: %w", errBrokersUnavailable, fail(err))
	case o.kind == sendChangelog:
		return fail(fmt.Errorf("rill: changelog record lost, the store would diverge from its changelog: %w", err))
	case o.kind == sendLastDeadLetter:
		return fail(fmt.Errorf("rill: dead letter lost (the production handler's answer to a dead letter that failed): %w", err))
	case o.kind == sendDeadLetter:
		th.log.Warn("rill: dead letter not written; asking the production handler", zapTask(id), zapErr(err))
		return o.rt.task.HandleDeadLetterError(o.src, fmt.Errorf("rill: dead letter not written: %w", err))
	}
	return o.rt.task.HandleProductionError(o.node, o.src, err)
}
