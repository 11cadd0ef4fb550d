package engine

import (
	"fmt"
	"runtime/debug"

	"github.com/rillstreams/rill/processor"
)

// DeadLetterCollector is a Collector that wants to know which records are dead letters: the
// runtime's producer reports their failures later, and a dead letter that cannot be written
// must fail the task instead of going back to the handler (which would answer with another
// dead letter of the same record, forever).
type DeadLetterCollector interface {
	Collector
	SendDeadLetter(rec OutRecord) error
}

// LastDeadLetterCollector is a DeadLetterCollector told which dead letters are a record's
// last chance: those the production handler asks for about a dead letter the producer could
// not write (HandleDeadLetterError). One of those that cannot be written either fails the
// task, so a handler answering every failure with another dead letter cannot loop.
type LastDeadLetterCollector interface {
	DeadLetterCollector
	SendLastDeadLetter(rec OutRecord) error
}

// Current returns a copy of the input record being processed (false in punctuations). A
// collector that learns of a failed send only later keeps it to tell the production handler
// which input the lost output came from.
func (t *Task) Current() (RawRecord, bool) {
	if t.current == nil {
		return RawRecord{}, false
	}
	return *t.current, true
}

// SendingSink is the sink whose record the collector is being given (empty outside Send,
// and for dead letters).
func (t *Task) SendingSink() string { return t.sink }

// HandleProductionError hands a record the producer failed to write (reported after the send,
// from the broker or the client) to the production handler, as Kafka Streams'
// RecordCollectorImpl does with a failed send. src is the input record whose processing sent
// it (nil for records sent in punctuations); node the sink that sent it. It returns nil when
// the handler continues, the record counted as dropped (and dead-lettered if the handler
// asked), and a *processor.TaskError when it fails. A panicking handler fails the task: the
// panic must not escape the owner's goroutine.
func (t *Task) HandleProductionError(node string, src *RawRecord, err error) (ferr error) {
	defer func() {
		if p := recover(); p != nil {
			ferr = &processor.TaskError{Kind: processor.ProductionError, TaskID: t.id, Node: node, Partition: -1, Offset: -1,
				Err: fmt.Errorf("rill: production handler panicked on %w: %w", err, &processor.PanicError{Value: p, Stack: debug.Stack()})}
		}
	}()
	if ferr = t.handle(processor.ProductionError, node, src, err); ferr == nil && src == nil {
		t.dropped++ // handle counts only records with an input; this output is lost either way
	}
	return ferr
}

// HandleDeadLetterError hands a dead letter the producer could not write (too large for the
// producer or the topic, refused by a policy, not delivered in time) to the production
// handler, about src, the input record it carried: Continue drops the record (already counted
// as dropped when it was dead-lettered, so not counted again), Fail fails the task, and a
// dead-letter answer sends one more dead letter, whose failure is fatal
// (LastDeadLetterCollector). Without this a dead letter that can never be written stopped
// the app at the same input offset at every restart.
func (t *Task) HandleDeadLetterError(src *RawRecord, err error) error {
	t.deadLetterFailed = true
	defer func() { t.deadLetterFailed = false }()
	dropped := t.dropped
	ferr := t.HandleProductionError("", src, err)
	t.dropped = dropped
	return ferr
}
