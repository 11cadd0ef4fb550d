package dsl

import (
	"errors"
	"fmt"
	"time"
)

// ErrSuppressionBufferFull is the processing error of a Suppress whose buffer, configured with
// ShutDownWhenFull, went over its limits (Kafka Streams' "buffer exceeded its max capacity"):
// the processing error handler decides (by default the app stops).
var ErrSuppressionBufferFull = errors.New("rill: suppression buffer full")

// BufferConfig bounds the buffer of a Suppress (Kafka Streams' Suppressed.BufferConfig): how
// many records and bytes it may hold, and what happens when an update would take it over:
// emit the oldest held records early, or fail. Make one with Unbounded, MaxRecords or MaxBytes.
//
// Bytes are counted as the buffer's store holds them: serialized key and value, the prior
// value, the record's headers and timestamp.
type BufferConfig struct {
	maxRecords, maxBytes int64 // 0: no bound
	shutDown             bool  // fail when full; else emit early
	set                  bool
}

// Unbounded is a buffer without limits (Kafka Streams' BufferConfig.unbounded): it holds
// everything it must, at the cost of memory and store size.
func Unbounded() BufferConfig { return BufferConfig{set: true} }

// MaxRecords is a buffer of at most n records that emits its oldest records early when full
// (Kafka Streams' BufferConfig.maxRecords).
func MaxRecords(n int64) BufferConfig { return BufferConfig{maxRecords: n, set: true} }

// MaxBytes is a buffer of at most n bytes that emits its oldest records early when full
// (Kafka Streams' BufferConfig.maxBytes).
func MaxBytes(n int64) BufferConfig { return BufferConfig{maxBytes: n, set: true} }

// WithMaxRecords bounds the buffer's records too.
func (c BufferConfig) WithMaxRecords(n int64) BufferConfig {
	c.maxRecords = n
	return c
}

// WithMaxBytes bounds the buffer's bytes too.
func (c BufferConfig) WithMaxBytes(n int64) BufferConfig {
	c.maxBytes = n
	return c
}

// EmitEarlyWhenFull emits the oldest held records, before their time, while the buffer is
// over its limits: memory stays bounded, and downstream sees more than one result per key
// (Kafka Streams' emitEarlyWhenFull). Not allowed with UntilWindowCloses, whose results must
// be final.
func (c BufferConfig) EmitEarlyWhenFull() BufferConfig {
	c.shutDown = false
	return c
}

// ShutDownWhenFull fails processing with ErrSuppressionBufferFull when an update takes the
// buffer over its limits (Kafka Streams' shutDownWhenFull): results stay exact or the app
// stops.
func (c BufferConfig) ShutDownWhenFull() BufferConfig {
	c.shutDown = true
	return c
}

func (c BufferConfig) validate(finalResults bool) error {
	if c.maxRecords < 0 || c.maxBytes < 0 {
		return fmt.Errorf("negative buffer limit (records %d, bytes %d)", c.maxRecords, c.maxBytes)
	}
	if finalResults && c.bounded() && !c.shutDown {
		return errors.New("UntilWindowCloses needs an Unbounded buffer or one that ShutDownWhenFull: emitting early breaks final results")
	}
	return nil
}

func (c BufferConfig) bounded() bool { return c.maxRecords > 0 || c.maxBytes > 0 }

// full tells whether a buffer of records and bytes is over the limits.
func (c BufferConfig) full(records, bytes int64) bool {
	return (c.maxRecords > 0 && records > c.maxRecords) || (c.maxBytes > 0 && bytes > c.maxBytes)
}

// UntilTimeLimit holds each key's updates back until stream time has passed the latest
// update's timestamp by d, then emits the key's latest value (Kafka Streams'
// Suppressed.untilTimeLimit): a rate limit on a table's changes, for any table (windowed or
// not). Deletes are emitted too. buffer bounds what is held (Unbounded for none).
//
//	// At most one update per user per minute of stream time, buffer capped at 10,000 users.
//	profiles.Suppress(dsl.UntilTimeLimit(time.Minute, dsl.MaxRecords(10_000))).ToStream().To("profiles-1m")
func UntilTimeLimit(d time.Duration, buffer BufferConfig) Suppressed {
	if !buffer.set {
		buffer = Unbounded()
	}
	return Suppressed{timeLimit: d, buffer: buffer}
}
