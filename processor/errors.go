package processor

import (
	"errors"
	"fmt"
	"strconv"

	"go.uber.org/zap"
)

// ErrorKind tells which stage of the pipeline a handled error came from.
type ErrorKind int

const (
	// DeserializationError: a record's key or value could not be deserialized at a source.
	DeserializationError ErrorKind = iota
	// ProcessingError: a processor (or a DSL function) returned an error or panicked.
	ProcessingError
	// ProductionError: a record could not be serialized or handed to the producer at a sink.
	ProductionError
)

func (k ErrorKind) String() string {
	switch k {
	case DeserializationError:
		return "deserialization"
	case ProcessingError:
		return "processing"
	default:
		return "production"
	}
}

// ErrorContext describes the record an error handler is asked about. The raw input record
// (key, value, headers as read) is there when the error happened while processing a record
// read from a topic; in a punctuation Topic is empty.
type ErrorContext struct {
	Kind      ErrorKind
	TaskID    TaskID
	Node      string // the node that failed, when known
	Topic     string
	Partition int32
	Offset    int64
	Timestamp int64
	Key       []byte
	Value     []byte
	Headers   []Header
	// Logger is the task's logger, for handlers that log.
	Logger *zap.Logger
}

// Response is an error handler's verdict on one failed record.
type Response struct {
	// Fail stops the task (and the application) with the error.
	Fail bool
	// DeadLetterTopic, when not empty, sends the failed input record, unchanged, to this
	// topic with the error described in headers (KIP-1034's __streams.errors.* headers).
	DeadLetterTopic string
}

// ErrorHandler decides what happens to a record whose deserialization, processing or
// production failed: the record is never lost silently, it either stops the task, is logged
// and skipped, or goes to a dead-letter topic.
type ErrorHandler func(ec *ErrorContext, err error) Response

// LogAndFail logs the error and stops the task: Kafka Streams' default.
func LogAndFail(ec *ErrorContext, err error) Response {
	logError(ec, err, "failing")
	return Response{Fail: true}
}

// LogAndContinue logs the error and skips the record. The skip is counted in the task's
// dropped-records count.
func LogAndContinue(ec *ErrorContext, err error) Response {
	logError(ec, err, "skipping record")
	return Response{}
}

// DeadLetterQueue returns a handler that sends each failed record to topic and continues.
func DeadLetterQueue(topic string) ErrorHandler {
	return func(ec *ErrorContext, err error) Response {
		logError(ec, err, "sending record to dead-letter topic "+topic)
		return Response{DeadLetterTopic: topic}
	}
}

func logError(ec *ErrorContext, err error, action string) {
	if ec.Logger == nil {
		return
	}
	ec.Logger.Error("rill: "+ec.Kind.String()+" error, "+action,
		zap.Stringer("task", ec.TaskID), zap.String("node", ec.Node),
		zap.String("topic", ec.Topic), zap.Int32("partition", ec.Partition),
		zap.Int64("offset", ec.Offset), zap.Error(err))
}

// PanicError is a panic in user code, recovered and handled as a processing error of the
// record (or punctuation) that caused it.
type PanicError struct {
	Value any    // what was passed to panic
	Stack []byte // the goroutine's stack at the panic
}

func (e *PanicError) Error() string { return fmt.Sprintf("rill: panic: %v", e.Value) }

// Unwrap returns the panic value when it is an error.
func (e *PanicError) Unwrap() error {
	err, _ := e.Value.(error)
	return err
}

// Header names of records sent to a dead-letter topic (KIP-1034).
const (
	HeaderErrorException  = "__streams.errors.exception"
	HeaderErrorStacktrace = "__streams.errors.stacktrace"
	HeaderErrorMessage    = "__streams.errors.message"
	HeaderErrorTopic      = "__streams.errors.topic"
	HeaderErrorPartition  = "__streams.errors.partition"
	HeaderErrorOffset     = "__streams.errors.offset"
)

// Sentinels a failed task's error matches with errors.Is, by the stage that failed.
var (
	ErrDeserialization = errors.New("rill: deserialization failed")
	ErrProcessing      = errors.New("rill: processing failed")
	ErrProduction      = errors.New("rill: production failed")
)

// TaskError is the error a task stops with when an error handler answers Fail. It matches the
// sentinel of its Kind and the underlying cause with errors.Is.
type TaskError struct {
	Kind      ErrorKind
	TaskID    TaskID
	Node      string
	Topic     string // empty when the error did not happen on a record read from a topic
	Partition int32
	Offset    int64
	Err       error
}

func (e *TaskError) Error() string {
	s := "rill: task " + e.TaskID.String() + ": " + e.Kind.String() + " failed"
	if e.Node != "" {
		s += " at node " + e.Node
	}
	if e.Topic != "" {
		s += " on record " + e.Topic + "[" + strconv.FormatInt(int64(e.Partition), 10) + "]@" + strconv.FormatInt(e.Offset, 10)
	}
	return s + ": " + e.Err.Error()
}

// Unwrap returns the sentinel of the error's kind and the cause.
func (e *TaskError) Unwrap() []error {
	var kind error
	switch e.Kind {
	case DeserializationError:
		kind = ErrDeserialization
	case ProcessingError:
		kind = ErrProcessing
	default:
		kind = ErrProduction
	}
	return []error{kind, e.Err}
}
