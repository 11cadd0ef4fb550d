package state

import (
	"unsafe"

	"github.com/rillstreams/rill/processor"
)

// DefaultCacheMaxBytes is the default budget of a record cache: 10 MiB, Kafka Streams'
// statestore.cache.max.bytes.
const DefaultCacheMaxBytes int64 = 10 << 20

// RecordCache is Kafka Streams' record cache (its ThreadCache): one per stream thread, a budget
// in bytes shared by the cached stores of every task the thread runs. A cached store keeps its
// writes here and hands them on — to the store beneath (and its changelog) and, through its
// flush listener, to the processors downstream — only when flushed: at each commit, for every
// store, and when the cache is over budget, for the store whose write made it so. A key written
// many times between two flushes is then stored, logged and forwarded once, with its latest
// value, which is most of the throughput of a count or an aggregation.
//
// Each store has its own part of the cache (Kafka Streams' NamedCache): an LRU list of entries,
// clean (read from the store beneath) or dirty (written since the last flush), and the dirty
// keys in the order they were last written. Going over budget evicts the least recently used
// entry of the store being written; if that entry is dirty, the store's dirty entries are all
// flushed, the evicted one first, the others in write order.
//
// Like the stores that use it, a RecordCache belongs to one goroutine (its stream thread):
// it takes no locks.
type RecordCache struct {
	max  int64
	size int64
	// Counters, for tests and the metrics to come (Kafka Streams' record-cache metrics).
	puts, hits, misses, evictions, flushes int64
}

// NewRecordCache returns a cache of at most maxBytes; a budget of 0 or less caches nothing
// (stores built with it are not cached).
func NewRecordCache(maxBytes int64) *RecordCache {
	return &RecordCache{max: maxBytes}
}

// MaxBytes is the cache's budget.
func (c *RecordCache) MaxBytes() int64 { return c.max }

// SizeBytes is the estimated size of what the cache holds (Kafka Streams' estimate: keys,
// values, record contexts and a fixed overhead per entry).
func (c *RecordCache) SizeBytes() int64 { return c.size }

// CacheStats are a RecordCache's counters since it was made.
type CacheStats struct {
	Puts, Hits, Misses, Evictions, Flushes int64
}

// Stats returns the cache's counters.
func (c *RecordCache) Stats() CacheStats {
	return CacheStats{Puts: c.puts, Hits: c.hits, Misses: c.misses, Evictions: c.evictions, Flushes: c.flushes}
}

// RecordContext is where a write to a store came from: the timestamp and headers of the record
// the writing processor was given, and the topic, partition and offset of the input record
// (empty topic and offset -1 in a punctuation). A cached store keeps it with each entry and
// restores it while it flushes the entry, so that what flushing forwards and logs looks as if
// it happened when the entry was written (Kafka Streams' ProcessorRecordContext).
type RecordContext struct {
	Timestamp int64
	Headers   []processor.Header
	Topic     string
	Partition int32
	Offset    int64
}

// size is Kafka Streams' estimate of a record context's memory: timestamp, offset, topic,
// partition, header keys and values.
func (rc *RecordContext) size() int64 {
	n := int64(8 + 8 + len(rc.Topic) + 4)
	for _, h := range rc.Headers {
		n += int64(len(h.Key) + len(h.Value))
	}
	return n
}

// TaskContext is what a cached store needs from its task, which the task engine implements:
// the context of the current write, and a way to flush an entry as if it were being processed
// again, with the context it was written with.
type TaskContext interface {
	// RecordContext returns the context of the record being processed now.
	RecordContext() RecordContext
	// WithRecordContext runs fn with rc as the task's current record context (what
	// processors see in RecordMetadata, and the timestamp of changelog records), then
	// restores the context it had.
	WithRecordContext(rc RecordContext, fn func() error) error
}

// noTaskContext serves stores built without a task (in unit tests): no context to keep.
type noTaskContext struct{}

func (noTaskContext) RecordContext() RecordContext { return RecordContext{Partition: -1, Offset: -1} }
func (noTaskContext) WithRecordContext(_ RecordContext, fn func() error) error {
	return fn()
}

// cacheEntry is one key of a store's part of the cache. value nil is a delete (dirty) waiting
// to be flushed.
type cacheEntry struct {
	key   []byte
	value []byte
	dirty bool
	rc    RecordContext
	size  int64
	// prev and next link the LRU list (head: most recently used); dprev and dnext the dirty
	// list (head: written longest ago).
	prev, next   *cacheEntry
	dprev, dnext *cacheEntry
}

// entryOverhead is Kafka Streams' fixed estimate per entry: the LRU node's three references
// and the entry's dirty flag.
const entryOverhead = 8 + 8 + 8 + 1

func (e *cacheEntry) computeSize() int64 {
	return int64(len(e.key)+len(e.value)) + entryOverhead + e.rc.size()
}

// namedCache is one store's part of a RecordCache.
type namedCache struct {
	thread  *RecordCache
	name    string
	entries map[string]*cacheEntry
	// head and tail of the LRU list; dhead and dtail of the dirty list.
	head, tail   *cacheEntry
	dhead, dtail *cacheEntry
	size         int64
	// flush hands dirty entries on, in order; it may write to other caches of the thread
	// (downstream stores), never to this one while it runs.
	flush func(entries []*cacheEntry) error
	// flushing is reused by flushes.
	flushing []*cacheEntry
	// onAdd and onRemove, when set, see each entry come into and leave the cache: window and
	// session stores index their entries by key and time with them.
	onAdd, onRemove func(e *cacheEntry)
}

// named returns the part of the cache for one store of one task.
func (c *RecordCache) named(name string, flush func([]*cacheEntry) error) *namedCache {
	return &namedCache{thread: c, name: name, entries: make(map[string]*cacheEntry), flush: flush}
}

// get returns key's entry, making it the most recently used, or nil.
func (n *namedCache) get(key []byte) *cacheEntry {
	e := n.entries[string(key)]
	if e == nil {
		n.thread.misses++
		return nil
	}
	n.thread.hits++
	n.moveToHead(e)
	return e
}

// put stores value under key (nil: a delete) as a dirty entry with rc, or as a clean one read
// from the store beneath, and evicts while the thread's cache is over budget. It copies key
// and value.
func (n *namedCache) put(key, value []byte, dirty bool, rc RecordContext) error {
	n.thread.puts++
	e := n.entries[string(key)]
	if e == nil {
		// The map's string is the entry's key too: one allocation, never written to.
		k := string(key)
		e = &cacheEntry{key: unsafe.Slice(unsafe.StringData(k), len(k))}
		n.entries[k] = e
		n.pushHead(e)
		if n.onAdd != nil {
			n.onAdd(e)
		}
	} else {
		n.resize(-e.size)
		n.moveToHead(e)
	}
	e.setValue(value)
	e.rc = rc
	if dirty {
		// Dirty keys flush in the order of their last write, as Kafka Streams' dirtyKeys set.
		if e.dirty {
			n.unlinkDirty(e)
		}
		e.dirty = true
		n.pushDirty(e)
	}
	e.size = e.computeSize()
	n.resize(e.size)
	return n.thread.evictFrom(n)
}

// setValue copies value into the entry, reusing its buffer when it fits.
func (e *cacheEntry) setValue(value []byte) {
	if value == nil {
		e.value = nil
		return
	}
	if cap(e.value) >= len(value) && e.value != nil {
		e.value = e.value[:len(value)]
	} else {
		e.value = make([]byte, len(value))
	}
	copy(e.value, value)
}

// evictFrom evicts the least recently used entries of n while the cache is over budget: only
// n's, as Kafka Streams' ThreadCache.maybeEvict, since only n's flush is known to happen in
// the right task.
func (c *RecordCache) evictFrom(n *namedCache) error {
	for c.size > c.max && n.tail != nil {
		e := n.tail
		n.remove(e)
		c.evictions++
		if e.dirty {
			if err := n.flushDirty(e); err != nil {
				return err
			}
		}
	}
	return nil
}

// flushDirty hands every dirty entry to the flush function: evicted (already out of the
// cache) first, then the others in write order. Flushed entries stay, clean; deletes leave.
func (n *namedCache) flushDirty(evicted *cacheEntry) error {
	if n.dhead == nil && evicted == nil {
		return nil
	}
	n.thread.flushes++
	// The batch buffer is taken while the flush runs: flushing forwards downstream, which may
	// read this store and evict from it.
	batch := n.flushing[:0]
	n.flushing = nil
	if evicted != nil {
		batch = append(batch, evicted)
	}
	for e := n.dhead; e != nil; {
		next := e.dnext
		e.dprev, e.dnext, e.dirty = nil, nil, false
		batch = append(batch, e)
		e = next
	}
	n.dhead, n.dtail = nil, nil
	if evicted != nil {
		evicted.dirty = false
	}
	err := n.flush(batch)
	for _, e := range batch {
		if e.value == nil && e != evicted && n.entries[string(e.key)] == e && !e.dirty {
			n.remove(e)
		}
	}
	clear(batch)
	n.flushing = batch[:0]
	return err
}

// drop empties n without flushing: its store closes.
func (n *namedCache) drop() {
	for e := n.head; e != nil; e = e.next {
		n.thread.size -= e.size
		if n.onRemove != nil {
			n.onRemove(e)
		}
	}
	n.entries = make(map[string]*cacheEntry)
	n.head, n.tail, n.dhead, n.dtail, n.size = nil, nil, nil, nil, 0
}

// remove takes e out of the cache (and the dirty list).
func (n *namedCache) remove(e *cacheEntry) {
	if e.dirty {
		n.unlinkDirty(e)
	}
	n.unlink(e)
	delete(n.entries, string(e.key))
	n.resize(-e.size)
	if n.onRemove != nil {
		n.onRemove(e)
	}
}

func (n *namedCache) resize(delta int64) {
	n.size += delta
	n.thread.size += delta
}

func (n *namedCache) pushHead(e *cacheEntry) {
	e.prev, e.next = nil, n.head
	if n.head != nil {
		n.head.prev = e
	}
	n.head = e
	if n.tail == nil {
		n.tail = e
	}
}

func (n *namedCache) unlink(e *cacheEntry) {
	if e.prev != nil {
		e.prev.next = e.next
	} else {
		n.head = e.next
	}
	if e.next != nil {
		e.next.prev = e.prev
	} else {
		n.tail = e.prev
	}
	e.prev, e.next = nil, nil
}

func (n *namedCache) moveToHead(e *cacheEntry) {
	if n.head == e {
		return
	}
	n.unlink(e)
	n.pushHead(e)
}

func (n *namedCache) pushDirty(e *cacheEntry) {
	e.dnext, e.dprev = nil, n.dtail
	if n.dtail != nil {
		n.dtail.dnext = e
	} else {
		n.dhead = e
	}
	n.dtail = e
}

func (n *namedCache) unlinkDirty(e *cacheEntry) {
	if e.dprev != nil {
		e.dprev.dnext = e.dnext
	} else {
		n.dhead = e.dnext
	}
	if e.dnext != nil {
		e.dnext.dprev = e.dprev
	} else {
		n.dtail = e.dprev
	}
	e.dprev, e.dnext = nil, nil
}
