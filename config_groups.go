package rill

import (
	"crypto/tls"

	"github.com/rillstreams/rill/processor"
)

// ErrorHandlers decide what happens to records that fail and to stream threads that fail:
// Kafka Streams' default.deserialization.exception.handler, processing.exception.handler,
// production.exception.handler and uncaught exception handler. A nil handler takes the
// default. See processor.ErrorHandler for the handlers rill ships (LogAndFail,
// LogAndContinue, DeadLetterQueue).
type ErrorHandlers struct {
	// Deserialization is asked about input records whose key or value cannot be deserialized
	// or whose timestamp is invalid (default: processor.LogAndFail).
	Deserialization processor.ErrorHandler
	// Processing is asked about records a processor failed on (default:
	// processor.LogAndFail).
	Processing processor.ErrorHandler
	// Production is asked about output records that cannot be serialized and about those the
	// producer fails to write (the broker refusing a record too large, say), on the stream
	// thread before the next commit; the ErrorContext describes the input record that led to
	// the output (default: processor.LogAndFail). Continue drops the output and still commits
	// its input's offset, also under ExactlyOnceV2 (the transaction commits without it).
	// Changelog records and dead letters that cannot be written, and errors about the client
	// rather than the record (authorization, a broken transaction), always fail the app; a
	// producer fenced or whose epoch the brokers lost is a task migration instead (tasks
	// closed dirty, a new producer, a rejoin), as in Kafka Streams.
	Production processor.ErrorHandler
	// ThreadFailure decides what happens when a stream thread fails with an error no other
	// handler took (Kafka Streams' uncaught exception handler): ShutdownClient (the default,
	// when nil), ReplaceThread or ShutdownApplication. It is called on the failed thread's
	// goroutine while the thread is still a group member (ShutdownApplication asks through
	// that membership), before its tasks close without a commit.
	ThreadFailure func(err error) ThreadFailureResponse
}

// Security is how an App's Kafka clients reach and authenticate to the brokers (Kafka's
// security.protocol, ssl.* and sasl.* settings). The zero value is plaintext without
// authentication.
type Security struct {
	// TLS, when set, encrypts every connection (SSL, or SASL_SSL with SASL).
	TLS *tls.Config
	// SASL, when set, authenticates every connection (SASL_PLAINTEXT, or SASL_SSL with TLS).
	SASL *SASL
}
