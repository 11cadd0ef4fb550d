package state

import (
	"errors"

	"github.com/rillstreams/rill/processor"
)

// Errors of stores, matched with errors.Is.
var (
	// ErrClosed is returned by operations on a closed store or iterator.
	ErrClosed = errors.New("rill: store is closed")
	// ErrInvalidRange is returned for ranges whose from is after to.
	ErrInvalidRange = errors.New("rill: invalid range")
)

// KeyValueIterator walks key-value pairs in key order (byte order of the serialized keys) or,
// for reverse ranges, in reverse. It must be closed: stores track open iterators and some
// backends pin memory or files until Close. Closing a store closes its open iterators; using
// an iterator after that returns ErrClosed, never corrupts the store.
//
//	it, err := s.Range(from, to)
//	if err != nil { ... }
//	defer it.Close()
//	for it.Next() {
//		use(it.Key(), it.Value())
//	}
//	if err := it.Err(); err != nil { ... }
//
// Key and Value are valid until the next call to Next or Close; copy them to keep them.
type KeyValueIterator interface {
	Next() bool
	Key() []byte
	Value() []byte
	Err() error
	Close() error
}

// KeyValueBytesStore is a key-value store of bytes, ordered by key. A nil value is never
// stored: Put with a nil value deletes. Keys are compared as bytes (bytes.Compare).
type KeyValueBytesStore interface {
	processor.Store
	// Get returns the value of key, or nil when there is none.
	Get(key []byte) ([]byte, error)
	// Put stores value under key; a nil value deletes the key.
	Put(key, value []byte) error
	// PutIfAbsent stores value only when key has no value, and returns the value it had.
	PutIfAbsent(key, value []byte) ([]byte, error)
	// Delete removes key and returns the value it had (nil when none).
	Delete(key []byte) ([]byte, error)
	// Range iterates keys in [from, to], both inclusive; a nil bound is open.
	Range(from, to []byte) (KeyValueIterator, error)
	// ReverseRange is Range in descending key order.
	ReverseRange(from, to []byte) (KeyValueIterator, error)
	// All iterates every key in order.
	All() (KeyValueIterator, error)
	// PrefixScan iterates the keys starting with prefix, in order.
	PrefixScan(prefix []byte) (KeyValueIterator, error)
	// ApproximateCount estimates the number of keys (exact for in-memory stores).
	ApproximateCount() (int64, error)
	// Persistent tells whether the store keeps its data on disk across restarts.
	Persistent() bool
}

// WindowIterator walks the windows of one key: window start times and values, by start time.
type WindowIterator interface {
	Next() bool
	WindowStart() int64
	Value() []byte
	Err() error
	Close() error
}

// WindowKeyIterator walks windows of several keys: key, window start and value. Order is by
// key then window start for key ranges, by window start then key for time ranges (FetchAll,
// All), as in Kafka Streams.
type WindowKeyIterator interface {
	Next() bool
	Key() []byte
	WindowStart() int64
	Value() []byte
	Err() error
	Close() error
}

// WindowBytesStore holds values per key and window start time, for windowed aggregations and
// stream-stream join buffers. It keeps windows for Retention milliseconds of observed stream
// time (the largest window start it has been given): older windows are dropped, a whole
// segment at a time, and writes to them are ignored.
type WindowBytesStore interface {
	processor.Store
	// Put stores value for key's window starting at windowStart; nil deletes. With
	// RetainDuplicates, every Put adds a new entry instead (join buffers).
	Put(key, value []byte, windowStart int64) error
	// Fetch returns key's value for the window starting at windowStart, or nil.
	Fetch(key []byte, windowStart int64) ([]byte, error)
	// FetchRange iterates key's windows starting in [from, to].
	FetchRange(key []byte, from, to int64) (WindowIterator, error)
	// FetchKeyRange iterates windows of keys in [keyFrom, keyTo] (nil bounds open) starting in
	// [from, to].
	FetchKeyRange(keyFrom, keyTo []byte, from, to int64) (WindowKeyIterator, error)
	// FetchAll iterates every window starting in [from, to].
	FetchAll(from, to int64) (WindowKeyIterator, error)
	// All iterates every window kept.
	All() (WindowKeyIterator, error)
	// Retention is how long windows are kept, in milliseconds of stream time.
	Retention() int64
	Persistent() bool
}

// SessionIterator walks sessions: key, start and end (both inclusive, milliseconds) and
// value, ordered by key, then end time, then start time.
type SessionIterator interface {
	Next() bool
	Key() []byte
	Start() int64
	End() int64
	Value() []byte
	Err() error
	Close() error
}

// SessionBytesStore holds session-window aggregates: one value per key and [start, end]
// session. Sessions older than Retention (by end time, against observed stream time) are
// dropped.
type SessionBytesStore interface {
	processor.Store
	// Put stores value for key's session [start, end]; nil removes it.
	Put(key []byte, start, end int64, value []byte) error
	// Remove deletes key's session [start, end].
	Remove(key []byte, start, end int64) error
	// FetchSession returns the value of key's session [start, end], or nil.
	FetchSession(key []byte, start, end int64) ([]byte, error)
	// FindSessions iterates key's sessions that end at or after earliestEnd and start at or
	// before latestStart: the sessions a record at a given time could merge with.
	FindSessions(key []byte, earliestEnd, latestStart int64) (SessionIterator, error)
	// FindSessionsRange is FindSessions over keys in [keyFrom, keyTo] (nil bounds open).
	FindSessionsRange(keyFrom, keyTo []byte, earliestEnd, latestStart int64) (SessionIterator, error)
	// Fetch iterates every session of key.
	Fetch(key []byte) (SessionIterator, error)
	Retention() int64
	Persistent() bool
}

// WindowOptions configures a window or session store.
type WindowOptions struct {
	// Retention is how long windows (sessions: by end time) are kept, in milliseconds of
	// observed stream time. Must be positive.
	Retention int64
	// SegmentInterval is the width of the time segments retention drops whole; default
	// max(Retention/2, 60000) as Kafka Streams (at least 1 ms when Retention is tiny).
	SegmentInterval int64
	// RetainDuplicates keeps every Put of the same key and window as its own entry (for
	// stream-stream join buffers); Fetch then returns any one of them and iterators all.
	RetainDuplicates bool
}

// Backend makes byte stores: in memory (state/memory) or in RocksDB (state/rocksdb). The
// runtime and the test driver pick the default backend for DSL stores; a store can name its
// own.
type Backend interface {
	// Name is "memory" or "rocksdb", for logs and describe output.
	Name() string
	// KeyValue opens (or creates) key-value store name under dir (unused in memory).
	KeyValue(name, dir string) (KeyValueBytesStore, error)
	// Window opens a window store.
	Window(name, dir string, opts WindowOptions) (WindowBytesStore, error)
	// Session opens a session store.
	Session(name, dir string, opts WindowOptions) (SessionBytesStore, error)
}
