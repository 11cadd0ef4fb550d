package processor

import (
	"errors"
	"time"
)

// Processor is the low-level processing API every DSL operator is built from (Kafka Streams'
// api.Processor). A task owns one instance per processor node, called from one goroutine only,
// so implementations need no locks.
//
// Errors returned from Process or from a Forward it made stop the record: they go to the
// application's processing error handler (fail by default).
type Processor[KIn, VIn, KOut, VOut any] interface {
	// Init is called once before the first record, with the context the processor keeps to
	// forward records, reach state stores and schedule punctuations.
	Init(ctx Context[KOut, VOut]) error
	// Process handles one record.
	Process(rec Record[KIn, VIn]) error
	// Close releases what Init acquired. Stores are closed by the task, not by processors.
	Close() error
}

// Supplier returns a new Processor; it is called once per task, so every task gets its own.
type Supplier[KIn, VIn, KOut, VOut any] func() Processor[KIn, VIn, KOut, VOut]

// PunctuationType selects the clock a punctuation follows.
type PunctuationType int

const (
	// StreamTime punctuations fire as stream time (the largest record timestamp the task has
	// seen) passes each interval; they never fire without new data.
	StreamTime PunctuationType = iota
	// WallClockTime punctuations fire as the task's wall clock advances (driven by the runtime,
	// or by AdvanceWallClock in the test driver), with or without data.
	WallClockTime
)

func (p PunctuationType) String() string {
	if p == WallClockTime {
		return "WallClockTime"
	}
	return "StreamTime"
}

// Punctuator is called with the current time (stream time or wall-clock time, in milliseconds)
// when a scheduled punctuation fires.
type Punctuator func(timestamp int64) error

// Context is a processor's view of its task. Its methods may be called only from Init, Process
// and punctuators: the task's own goroutine.
type Context[K, V any] interface {
	// Forward sends rec to every child of this processor node.
	Forward(rec Record[K, V]) error
	// ForwardTo sends rec to the named child only; it fails with ErrUnknownChild otherwise.
	ForwardTo(child string, rec Record[K, V]) error
	// Schedule registers fn to run every interval on the given clock; cancel stops it.
	Schedule(interval time.Duration, typ PunctuationType, fn Punctuator) (cancel func(), err error)
	// StateStore returns the store connected to this processor under name.
	StateStore(name string) (Store, error)
	// RecordMetadata tells where the current record came from; ok is false in a punctuation
	// or for a record that was not read from a topic.
	RecordMetadata() (md RecordMetadata, ok bool)
	// TaskID is the id of the task running this processor.
	TaskID() TaskID
	// StreamTime is the task's stream time in milliseconds: the largest record timestamp the
	// task has processed, or UnknownTime (-1, as Kafka Streams) before the first record.
	StreamTime() int64
	// ApplicationID is the application id of the running app ("test" in the test driver).
	ApplicationID() string
	// RecordDropped counts a record the processor drops on purpose — too late for its window,
	// without a key to join on — so that no record disappears without a trace: it adds to the
	// processor node's dropped-records count (Kafka Streams' dropped-records metric) and logs
	// a warning with the reason, the input record's topic, partition, offset and timestamp,
	// and how far behind stream time it is. Warnings are rate-limited per node (one per 10
	// seconds of wall-clock time, with the number of drops not logged since).
	RecordDropped(reason string)
}

// Errors of the processor API.
var (
	ErrUnknownChild = errors.New("rill: unknown child node")
	ErrUnknownStore = errors.New("rill: state store not connected to processor")
	ErrBadInterval  = errors.New("rill: punctuation interval must be at least 1ms")
)

// UnknownTime is the stream time of a task that has not processed a record yet.
const UnknownTime int64 = -1
