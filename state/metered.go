package state

import (
	"sync/atomic"
	"time"

	"github.com/rillstreams/rill/processor"
)

// Per-store metrics are Kafka Streams' debug-level MeteredKeyValueStore, MeteredWindowStore
// and MeteredSessionStore sensors: the count and latency of each operation of a store. Meter
// wraps the byte store of a store built by this package in a metered layer, on top of the
// record cache and the changelog logging beneath it (as Kafka Streams' metered layer is the
// outermost), so it times what the processors (through the typed view or Bytes) and
// interactive queries ask, not the cache's flushes into the store beneath.
//
// Counting is three atomic additions and two monotonic clock reads per operation, no lock, no map and
// no allocation, except for iterators: an iterator is timed from its opening to its Close (as
// Kafka Streams' metered iterators), which takes one small wrapper per iterator opened.
// Atomics rather than plain integers because interactive queries read stores from other
// goroutines, and a scrape reads the counts while the task runs.

// StoreOp is an operation of a store that StoreMetrics times.
type StoreOp int

// The operations, by Kafka Streams' sensor names (put, put-if-absent, get, delete, range,
// all, prefix-scan, fetch, remove, flush).
const (
	OpPut StoreOp = iota
	OpPutIfAbsent
	OpGet
	OpDelete
	OpRange // Range and ReverseRange
	OpAll
	OpPrefixScan
	OpFetch  // window and session stores: every fetch and find, single or iterated
	OpRemove // session stores
	OpFlush
	numStoreOps
)

// StoreOps are every operation, in order.
var StoreOps = func() (out [numStoreOps]StoreOp) {
	for i := range out {
		out[i] = StoreOp(i)
	}
	return out
}()

var storeOpNames = [numStoreOps]string{"put", "put-if-absent", "get", "delete", "range", "all",
	"prefix-scan", "fetch", "remove", "flush"}

// String is Kafka Streams' name of the operation ("put-if-absent").
func (op StoreOp) String() string {
	if op < 0 || op >= numStoreOps {
		return "unknown"
	}
	return storeOpNames[op]
}

// The operations each kind of store has.
var (
	keyValueOps = []StoreOp{OpPut, OpPutIfAbsent, OpGet, OpDelete, OpRange, OpAll, OpPrefixScan, OpFlush}
	windowOps   = []StoreOp{OpPut, OpFetch, OpFlush}
	sessionOps  = []StoreOp{OpPut, OpRemove, OpFetch, OpFlush}
)

// StoreLatencyBuckets are the upper bounds, in seconds, of the buckets of store operation
// latencies: from 1 µs (an in-memory get) to 1 s.
var StoreLatencyBuckets = [...]float64{1e-6, 5e-6, 1e-5, 5e-5, 1e-4, 5e-4, 1e-3, 5e-3, 0.01, 0.05, 0.1, 0.5, 1}

// storeBucketNanos are StoreLatencyBuckets in nanoseconds, compared with an integer duration.
var storeBucketNanos = func() (out [len(StoreLatencyBuckets)]int64) {
	for i, b := range StoreLatencyBuckets {
		out[i] = int64(b * 1e9)
	}
	return out
}()

// StoreMetrics are the operation counts and latencies of one store of one task.
type StoreMetrics struct {
	store string
	ops   []StoreOp // those the store has, in StoreOp order
	lat   [numStoreOps]opLatency
}

// opLatency is one operation's latency distribution.
type opLatency struct {
	count, sumNanos atomic.Int64
	buckets         [len(StoreLatencyBuckets)]atomic.Int64
}

// clockBase is the origin of monoNow.
var clockBase = time.Now()

// monoNow reads the monotonic clock only: one clock read, where time.Now reads the wall clock
// too (two), which on virtual machines without a fast clock source costs enough to show in a
// profile.
func monoNow() time.Duration { return time.Since(clockBase) }

// since records an operation that began at start (a monoNow reading).
func (o *opLatency) since(start time.Duration) {
	d := int64(monoNow() - start)
	o.count.Add(1)
	o.sumNanos.Add(d)
	for i, b := range storeBucketNanos {
		if d <= b {
			o.buckets[i].Add(1)
			return
		}
	}
}

// StoreOpStats is one operation's count and latencies, as of a Snapshot.
type StoreOpStats struct {
	Op StoreOp
	// Counts are per bucket of StoreLatencyBuckets, not cumulative; operations slower than
	// the last bound are only in Count.
	Counts [len(StoreLatencyBuckets)]uint64
	Count  uint64
	Sum    float64 // seconds
}

// StoreStats are a store's operation counts and latencies.
type StoreStats struct {
	Store string
	Ops   []StoreOpStats // the store's operations, in StoreOp order
}

// Store is the name of the store measured.
func (m *StoreMetrics) Store() string { return m.store }

// Snapshot returns the counts so far. Each operation's values are read one atomic at a time:
// a snapshot taken while the store is used may count an operation in Count and not yet in
// its bucket, never the reverse by more than the operations under way.
func (m *StoreMetrics) Snapshot() StoreStats {
	out := StoreStats{Store: m.store, Ops: make([]StoreOpStats, len(m.ops))}
	for i, op := range m.ops {
		l := &m.lat[op]
		s := StoreOpStats{Op: op}
		for j := range l.buckets {
			s.Counts[j] = uint64(l.buckets[j].Load())
		}
		s.Sum = float64(l.sumNanos.Load()) / 1e9
		s.Count = uint64(l.count.Load())
		out.Ops[i] = s
	}
	return out
}

// Meter puts a metered layer on top of the byte store of s, a store built by this package's
// key-value, window or session builders (or made with NewKeyValueStore, NewWindowStore or
// NewSessionStore), and returns its metrics; it returns nil, leaving s as it is, for any other
// store (versioned stores, stores of other packages). The task that owns s calls it once,
// right after building it and before its processors' Init, so that they and Bytes see the
// metered layer. Restoration writes beneath it and is not counted.
func Meter(s processor.Store) *StoreMetrics {
	m, ok := s.(interface{ meter() *StoreMetrics })
	if !ok {
		return nil
	}
	return m.meter()
}

func (s *KeyValueStore[K, V]) meter() *StoreMetrics {
	if _, done := s.bytes.(*meteredKeyValue); done {
		return s.bytes.(*meteredKeyValue).m
	}
	m := &StoreMetrics{store: s.bytes.Name(), ops: keyValueOps}
	if s.restore == nil {
		s.restore = s.bytes.Put // restoration stays beneath the metered layer
	}
	if s.raw == nil {
		s.raw = s.bytes
	}
	s.bytes = &meteredKeyValue{KeyValueBytesStore: s.bytes, m: m}
	return m
}

func (s *WindowStore[K, V]) meter() *StoreMetrics {
	if w, done := s.bytes.(*meteredWindow); done {
		return w.m
	}
	m := &StoreMetrics{store: s.bytes.Name(), ops: windowOps}
	if s.raw == nil {
		s.raw = s.bytes
	}
	s.bytes = &meteredWindow{WindowBytesStore: s.bytes, m: m}
	return m
}

func (s *SessionStore[K, V]) meter() *StoreMetrics {
	if w, done := s.bytes.(*meteredSession); done {
		return w.m
	}
	m := &StoreMetrics{store: s.bytes.Name(), ops: sessionOps}
	if s.raw == nil {
		s.raw = s.bytes
	}
	s.bytes = &meteredSession{SessionBytesStore: s.bytes, m: m}
	return m
}

// unmetered returns the byte store beneath a metered layer, or b itself.
func unmetered(b KeyValueBytesStore) KeyValueBytesStore {
	if m, ok := b.(*meteredKeyValue); ok {
		return m.KeyValueBytesStore
	}
	return b
}
