package state

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"math"
	"slices"
)

// WindowFlushListener receives what a cached window store flushes, one window at a time, in
// the cache's flush order: the key, the window's start, its new value (nil: deleted), its
// value in the store beneath before the flush when old values were asked for (nil: none), and
// the context of the write.
type WindowFlushListener func(key []byte, windowStart int64, newValue, oldValue []byte, rc RecordContext) error

// cachingWindow is Kafka Streams' CachingWindowStore: writes go to the store's part of the
// thread's RecordCache, keyed by key and window start, and reach the store beneath (and its
// changelog) and the flush listener only when the cache flushes them. Fetches read the cache
// first; range fetches merge the cache with the store beneath. Reads are never cached (as
// Kafka Streams): the cache holds only what was written.
//
// As in Kafka Streams, retention applies to the store beneath only: a window still in the
// cache is returned after it expired there (until the cache evicts it), which decides, for
// instance, whether a late record finds a session to merge with (see cachingSession). With
// expireCached (tests of the store contract), windows starting at or before observed stream
// time (the largest start put here) minus the retention are not returned, from the cache or
// the store.
type cachingWindow struct {
	WindowBytesStore // beneath: logged or raw
	cache            *namedCache
	task             TaskContext
	listener         WindowFlushListener
	sendOld          bool
	closed           bool
	observed         int64 // largest window start put; math.MinInt64 before the first
	expireCached     bool
	// byKey indexes the cache's entries by key, then window start; byStart by window start,
	// with starts listing byStart's keys in order: fetches of one key and time-range scans
	// (emit-final aggregations scan closed windows at each record) need not walk the cache.
	byKey   map[string]map[int64]*cacheEntry
	byStart map[int64]map[*cacheEntry]struct{}
	starts  []int64
}

func newCachingWindow(wrapped WindowBytesStore, rc *RecordCache, name string, task TaskContext) *cachingWindow {
	if task == nil {
		task = noTaskContext{}
	}
	s := &cachingWindow{WindowBytesStore: wrapped, task: task, observed: math.MinInt64,
		byKey: map[string]map[int64]*cacheEntry{}, byStart: map[int64]map[*cacheEntry]struct{}{}}
	s.cache = rc.named(name, s.flushEntries)
	s.cache.onAdd, s.cache.onRemove = s.indexAdd, s.indexRemove
	return s
}

// windowCacheKey is a window's key in the cache: the store key, then the window start (8 bytes,
// big-endian). The store key is all but the last 8 bytes.
func windowCacheKey(key []byte, start int64) []byte {
	k := make([]byte, len(key)+8)
	copy(k, key)
	binary.BigEndian.PutUint64(k[len(key):], uint64(start))
	return k
}

func splitWindowCacheKey(k []byte) (key []byte, start int64) {
	n := len(k) - 8
	return k[:n:n], int64(binary.BigEndian.Uint64(k[n:]))
}

func (s *cachingWindow) indexAdd(e *cacheEntry) {
	key, start := splitWindowCacheKey(e.key)
	m := s.byKey[string(key)]
	if m == nil {
		m = map[int64]*cacheEntry{}
		s.byKey[string(key)] = m
	}
	m[start] = e
	b := s.byStart[start]
	if b == nil {
		b = map[*cacheEntry]struct{}{}
		s.byStart[start] = b
		// Starts mostly come in increasing order: the search ends at the tail.
		i, _ := slices.BinarySearch(s.starts, start)
		s.starts = slices.Insert(s.starts, i, start)
	}
	b[e] = struct{}{}
}

func (s *cachingWindow) indexRemove(e *cacheEntry) {
	key, start := splitWindowCacheKey(e.key)
	if m := s.byKey[string(key)]; m != nil {
		delete(m, start)
		if len(m) == 0 {
			delete(s.byKey, string(key))
		}
	}
	if b := s.byStart[start]; b != nil {
		delete(b, e)
		if len(b) == 0 {
			delete(s.byStart, start)
			if i, ok := slices.BinarySearch(s.starts, start); ok {
				s.starts = slices.Delete(s.starts, i, i+1)
			}
		}
	}
}

// liveFrom is the earliest window start returned (math.MinInt64 unless expireCached).
func (s *cachingWindow) liveFrom() int64 {
	if !s.expireCached || s.observed < math.MinInt64+s.Retention() {
		return math.MinInt64
	}
	return s.observed - s.Retention() + 1
}

// flushEntries writes flushed windows to the store beneath and forwards them, each with the
// context it was written in (Kafka Streams' CachingWindowStore.putAndMaybeForward).
func (s *cachingWindow) flushEntries(entries []*cacheEntry) error {
	for _, e := range entries {
		if err := s.flushEntry(e); err != nil {
			return err
		}
	}
	return nil
}

func (s *cachingWindow) flushEntry(e *cacheEntry) error {
	key, start := splitWindowCacheKey(e.key)
	if s.listener == nil {
		return s.task.WithRecordContext(e.rc, func() error { return s.WindowBytesStore.Put(key, e.value, start) })
	}
	var old []byte
	if e.value == nil || s.sendOld {
		v, err := s.WindowBytesStore.Fetch(key, start)
		if err != nil {
			return err
		}
		old = bytes.Clone(v)
	}
	if e.value == nil && old == nil {
		// A window deleted that the store never held: nothing to write or forward.
		return nil
	}
	if !s.sendOld {
		old = nil
	}
	return s.task.WithRecordContext(e.rc, func() error {
		if err := s.WindowBytesStore.Put(key, e.value, start); err != nil {
			return err
		}
		return s.listener(key, start, e.value, old, e.rc)
	})
}

// FlushCache flushes the store's dirty windows (the task calls it before each commit).
func (s *cachingWindow) FlushCache() error { return s.cache.flushDirty(nil) }

// Close drops what the cache holds (see cachingKeyValue.Close).
func (s *cachingWindow) Close() error {
	s.closed = true
	s.cache.drop()
	return s.WindowBytesStore.Close()
}

// Put caches value (nil: a delete) for key's window starting at windowStart.
func (s *cachingWindow) Put(key, value []byte, windowStart int64) error {
	if s.closed {
		return ErrClosed
	}
	s.observed = max(s.observed, windowStart)
	return s.cache.put(windowCacheKey(key, windowStart), value, true, s.task.RecordContext())
}

// Fetch reads the cache, then the store beneath.
func (s *cachingWindow) Fetch(key []byte, windowStart int64) ([]byte, error) {
	if s.closed {
		return nil, ErrClosed
	}
	if windowStart < s.liveFrom() {
		return nil, nil
	}
	if m := s.byKey[string(key)]; m != nil {
		if e := m[windowStart]; e != nil {
			s.cache.get(e.key) // counts the hit and makes the entry the most recently used
			return e.value, nil
		}
	}
	s.cache.thread.misses++
	return s.WindowBytesStore.Fetch(key, windowStart)
}

// cachedWindow is a snapshot of one cached window, for a merged iterator: the value is copied,
// since a write while iterating reuses the entry's buffer.
type cachedWindow struct {
	key   []byte
	start int64
	value []byte
}

func snapshotWindow(e *cacheEntry) cachedWindow {
	key, start := splitWindowCacheKey(e.key)
	return cachedWindow{key: key, start: start, value: bytes.Clone(e.value)}
}

// byKeyThenStart and byStartThenKey are the orders of the store's iterators.
func byKeyThenStart(ak []byte, as int64, bk []byte, bs int64) int {
	if c := bytes.Compare(ak, bk); c != 0 {
		return c
	}
	return cmp.Compare(as, bs)
}

func byStartThenKey(ak []byte, as int64, bk []byte, bs int64) int {
	if c := cmp.Compare(as, bs); c != 0 {
		return c
	}
	return bytes.Compare(ak, bk)
}

func (s *cachingWindow) FetchRange(key []byte, from, to int64) (WindowIterator, error) {
	if s.closed {
		return nil, ErrClosed
	}
	if from > to {
		return nil, ErrInvalidRange
	}
	live := s.liveFrom()
	var cached []cachedWindow
	for start, e := range s.byKey[string(key)] {
		if start >= from && start <= to && start >= live {
			cached = append(cached, snapshotWindow(e))
		}
	}
	under, err := s.WindowBytesStore.FetchRange(key, from, to)
	if err != nil {
		return nil, err
	}
	return s.merge(&fixedKeyIterator{WindowIterator: under, key: key}, cached, byKeyThenStart), nil
}

func (s *cachingWindow) FetchKeyRange(keyFrom, keyTo []byte, from, to int64) (WindowKeyIterator, error) {
	if s.closed {
		return nil, ErrClosed
	}
	if (keyFrom != nil && keyTo != nil && bytes.Compare(keyFrom, keyTo) > 0) || from > to {
		return nil, ErrInvalidRange
	}
	live := s.liveFrom()
	var cached []cachedWindow
	for e := s.cache.head; e != nil; e = e.next {
		key, start := splitWindowCacheKey(e.key)
		if start < from || start > to || start < live ||
			(keyFrom != nil && bytes.Compare(key, keyFrom) < 0) || (keyTo != nil && bytes.Compare(key, keyTo) > 0) {
			continue
		}
		cached = append(cached, snapshotWindow(e))
	}
	under, err := s.WindowBytesStore.FetchKeyRange(keyFrom, keyTo, from, to)
	if err != nil {
		return nil, err
	}
	return s.merge(under, cached, byKeyThenStart), nil
}

func (s *cachingWindow) FetchAll(from, to int64) (WindowKeyIterator, error) {
	if s.closed {
		return nil, ErrClosed
	}
	if from > to {
		return nil, ErrInvalidRange
	}
	var cached []cachedWindow
	i, _ := slices.BinarySearch(s.starts, max(from, s.liveFrom()))
	for ; i < len(s.starts) && s.starts[i] <= to; i++ {
		for e := range s.byStart[s.starts[i]] {
			cached = append(cached, snapshotWindow(e))
		}
	}
	under, err := s.WindowBytesStore.FetchAll(from, to)
	if err != nil {
		return nil, err
	}
	return s.merge(under, cached, byStartThenKey), nil
}

func (s *cachingWindow) All() (WindowKeyIterator, error) {
	if s.closed {
		return nil, ErrClosed
	}
	live := s.liveFrom()
	var cached []cachedWindow
	for e := s.cache.head; e != nil; e = e.next {
		if _, start := splitWindowCacheKey(e.key); start >= live {
			cached = append(cached, snapshotWindow(e))
		}
	}
	under, err := s.WindowBytesStore.All()
	if err != nil {
		return nil, err
	}
	return s.merge(under, cached, byStartThenKey), nil
}

// merge sorts cached in the iterator's order and returns an iterator of both, the cache
// winning for equal windows (Kafka Streams' MergedSortedCacheWindowStoreIterator).
func (s *cachingWindow) merge(under WindowKeyIterator, cached []cachedWindow, order func([]byte, int64, []byte, int64) int) *mergedWindowIterator {
	slices.SortFunc(cached, func(a, b cachedWindow) int { return order(a.key, a.start, b.key, b.start) })
	it := &mergedWindowIterator{closedFn: func() bool { return s.closed }, under: under, cached: cached, cmp: order,
		live: s.liveFrom(), ci: -1}
	it.underOK = it.nextUnder()
	return it
}

// fixedKeyIterator makes a one-key WindowIterator a WindowKeyIterator.
type fixedKeyIterator struct {
	WindowIterator
	key []byte
}

func (it *fixedKeyIterator) Key() []byte { return it.key }

// mergedWindowIterator merges a store's window iterator with a sorted snapshot of cached
// windows; cached deletes hide the store's windows.
type mergedWindowIterator struct {
	closedFn func() bool // an iterator stops when its store closes
	under    WindowKeyIterator
	underOK  bool
	advance  bool // under moves on at the next Next: its Key and Value stay valid until then
	cached   []cachedWindow
	ci       int
	cmp      func([]byte, int64, []byte, int64) int
	live     int64 // windows starting before it are expired
	key      []byte
	start    int64
	value    []byte
	closed   bool
}

// nextUnder moves under to its next window that has not expired.
func (it *mergedWindowIterator) nextUnder() bool {
	for it.under.Next() {
		if it.under.WindowStart() >= it.live {
			return true
		}
	}
	return false
}

func (it *mergedWindowIterator) Next() bool {
	if it.closed || it.closedFn() {
		return false
	}
	for {
		if it.advance {
			it.underOK, it.advance = it.nextUnder(), false
		}
		hasCache := it.ci+1 < len(it.cached)
		if !hasCache && !it.underOK {
			return false
		}
		if !hasCache || (it.underOK && it.cmp(it.cached[it.ci+1].key, it.cached[it.ci+1].start, it.under.Key(), it.under.WindowStart()) > 0) {
			it.key, it.start, it.value = it.under.Key(), it.under.WindowStart(), it.under.Value()
			it.advance = true
			return true
		}
		it.ci++
		c := &it.cached[it.ci]
		if it.underOK && it.cmp(c.key, c.start, it.under.Key(), it.under.WindowStart()) == 0 {
			it.advance = true // the cache's window replaces the store's
		}
		if c.value != nil {
			it.key, it.start, it.value = c.key, c.start, c.value
			return true
		}
	}
}

func (it *mergedWindowIterator) Key() []byte        { return it.key }
func (it *mergedWindowIterator) WindowStart() int64 { return it.start }
func (it *mergedWindowIterator) Value() []byte      { return it.value }
func (it *mergedWindowIterator) Err() error {
	if it.closedFn() && !it.closed {
		return ErrClosed
	}
	return it.under.Err()
}
func (it *mergedWindowIterator) Close() error {
	it.closed = true
	return it.under.Close()
}
