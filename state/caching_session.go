package state

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"math"
	"slices"
)

// SessionFlushListener receives what a cached session store flushes, one session at a time,
// in the cache's flush order: the key, the session's start and end, its new value (nil:
// removed), its value in the store beneath before the flush when old values were asked for
// (nil: none), and the context of the write.
type SessionFlushListener func(key []byte, start, end int64, newValue, oldValue []byte, rc RecordContext) error

// cachingSession is Kafka Streams' CachingSessionStore: writes and removals go to the store's
// part of the thread's RecordCache, keyed by key and session, and reach the store beneath
// (and its changelog) and the flush listener only when the cache flushes them; lookups merge
// the cache with the store beneath. Retention applies to the store beneath only, as in
// cachingWindow (expireCached: by session end): Kafka Streams' session aggregation merges a
// late record with a session the cache still holds after the store beneath expired it.
type cachingSession struct {
	SessionBytesStore // beneath: logged or raw
	cache             *namedCache
	task              TaskContext
	listener          SessionFlushListener
	sendOld           bool
	closed            bool
	observed          int64 // largest session end put; math.MinInt64 before the first
	// storeTime is the largest session end written to the store beneath (Kafka Streams' store
	// moves its stream time on every put, removals included); storeTimeBefore its value
	// before the entry being flushed, for the listener.
	storeTime, storeTimeBefore int64
	expireCached               bool
	// byKey indexes the cache's entries by key (sessions merge within one key).
	byKey map[string]map[[2]int64]*cacheEntry
}

func newCachingSession(wrapped SessionBytesStore, rc *RecordCache, name string, task TaskContext) *cachingSession {
	if task == nil {
		task = noTaskContext{}
	}
	s := &cachingSession{SessionBytesStore: wrapped, task: task, observed: math.MinInt64, storeTime: math.MinInt64,
		byKey: map[string]map[[2]int64]*cacheEntry{}}
	s.cache = rc.named(name, s.flushEntries)
	s.cache.onAdd, s.cache.onRemove = s.indexAdd, s.indexRemove
	return s
}

// sessionCacheKey is a session's key in the cache: the store key, then end and start (8 bytes
// each, big-endian).
func sessionCacheKey(key []byte, start, end int64) []byte {
	k := make([]byte, len(key)+16)
	copy(k, key)
	binary.BigEndian.PutUint64(k[len(key):], uint64(end))
	binary.BigEndian.PutUint64(k[len(key)+8:], uint64(start))
	return k
}

func splitSessionCacheKey(k []byte) (key []byte, start, end int64) {
	n := len(k) - 16
	return k[:n:n], int64(binary.BigEndian.Uint64(k[n+8:])), int64(binary.BigEndian.Uint64(k[n:]))
}

func (s *cachingSession) indexAdd(e *cacheEntry) {
	key, start, end := splitSessionCacheKey(e.key)
	m := s.byKey[string(key)]
	if m == nil {
		m = map[[2]int64]*cacheEntry{}
		s.byKey[string(key)] = m
	}
	m[[2]int64{start, end}] = e
}

func (s *cachingSession) indexRemove(e *cacheEntry) {
	key, start, end := splitSessionCacheKey(e.key)
	if m := s.byKey[string(key)]; m != nil {
		delete(m, [2]int64{start, end})
		if len(m) == 0 {
			delete(s.byKey, string(key))
		}
	}
}

// liveFrom is the earliest session end returned (math.MinInt64 unless expireCached).
func (s *cachingSession) liveFrom() int64 {
	if !s.expireCached || s.observed < math.MinInt64+s.Retention() {
		return math.MinInt64
	}
	return s.observed - s.Retention() + 1
}

// flushEntries writes flushed sessions to the store beneath and forwards them (Kafka Streams'
// CachingSessionStore.putAndMaybeForward).
func (s *cachingSession) flushEntries(entries []*cacheEntry) error {
	for _, e := range entries {
		if err := s.flushEntry(e); err != nil {
			return err
		}
	}
	return nil
}

func (s *cachingSession) write(key []byte, start, end int64, value []byte) error {
	s.storeTime = max(s.storeTime, end)
	if value == nil {
		// A removal, or a Put of nil: the stream time a Put of nil moves was moved above the
		// cache already, and the sessions put with it flush with it.
		return s.SessionBytesStore.Remove(key, start, end)
	}
	return s.SessionBytesStore.Put(key, start, end, value)
}

func (s *cachingSession) flushEntry(e *cacheEntry) error {
	key, start, end := splitSessionCacheKey(e.key)
	if s.listener == nil {
		return s.task.WithRecordContext(e.rc, func() error { return s.write(key, start, end, e.value) })
	}
	var old []byte
	if e.value == nil || s.sendOld {
		v, err := s.SessionBytesStore.FetchSession(key, start, end)
		if err != nil {
			return err
		}
		old = bytes.Clone(v)
	}
	if e.value == nil && old == nil {
		// A session created and merged away between two flushes: the store never held it.
		return nil
	}
	if !s.sendOld {
		old = nil
	}
	return s.task.WithRecordContext(e.rc, func() error {
		s.storeTimeBefore = s.storeTime
		if err := s.write(key, start, end, e.value); err != nil {
			return err
		}
		return s.listener(key, start, end, e.value, old, e.rc)
	})
}

// FlushCache flushes the store's dirty sessions (the task calls it before each commit).
func (s *cachingSession) FlushCache() error { return s.cache.flushDirty(nil) }

// Close drops what the cache holds (see cachingKeyValue.Close).
func (s *cachingSession) Close() error {
	s.closed = true
	s.cache.drop()
	return s.SessionBytesStore.Close()
}

func (s *cachingSession) Put(key []byte, start, end int64, value []byte) error {
	if s.closed {
		return ErrClosed
	}
	s.observed = max(s.observed, end)
	return s.cache.put(sessionCacheKey(key, start, end), value, true, s.task.RecordContext())
}

func (s *cachingSession) Remove(key []byte, start, end int64) error {
	if s.closed {
		return ErrClosed
	}
	return s.cache.put(sessionCacheKey(key, start, end), nil, true, s.task.RecordContext())
}

func (s *cachingSession) FetchSession(key []byte, start, end int64) ([]byte, error) {
	if s.closed {
		return nil, ErrClosed
	}
	if end < s.liveFrom() {
		return nil, nil
	}
	if m := s.byKey[string(key)]; m != nil {
		if e := m[[2]int64{start, end}]; e != nil {
			s.cache.get(e.key)
			return e.value, nil
		}
	}
	s.cache.thread.misses++
	return s.SessionBytesStore.FetchSession(key, start, end)
}

// cachedSession is a snapshot of one cached session for a merged iterator.
type cachedSession struct {
	key        []byte
	start, end int64
	value      []byte
}

func snapshotSession(e *cacheEntry) cachedSession {
	key, start, end := splitSessionCacheKey(e.key)
	return cachedSession{key: key, start: start, end: end, value: bytes.Clone(e.value)}
}

// sessionOrder is the session stores' order: key, end, start.
func sessionOrder(ak []byte, as, ae int64, bk []byte, bs, be int64) int {
	if c := bytes.Compare(ak, bk); c != 0 {
		return c
	}
	if c := cmp.Compare(ae, be); c != 0 {
		return c
	}
	return cmp.Compare(as, bs)
}

func (s *cachingSession) FindSessions(key []byte, earliestEnd, latestStart int64) (SessionIterator, error) {
	if s.closed {
		return nil, ErrClosed
	}
	live := s.liveFrom()
	var cached []cachedSession
	for se, e := range s.byKey[string(key)] {
		if se[1] >= earliestEnd && se[0] <= latestStart && se[1] >= live {
			cached = append(cached, snapshotSession(e))
		}
	}
	under, err := s.SessionBytesStore.FindSessions(key, earliestEnd, latestStart)
	if err != nil {
		return nil, err
	}
	return s.merge(under, cached), nil
}

func (s *cachingSession) FindSessionsRange(keyFrom, keyTo []byte, earliestEnd, latestStart int64) (SessionIterator, error) {
	if s.closed {
		return nil, ErrClosed
	}
	if keyFrom != nil && keyTo != nil && bytes.Compare(keyFrom, keyTo) > 0 {
		return nil, ErrInvalidRange
	}
	live := s.liveFrom()
	var cached []cachedSession
	for e := s.cache.head; e != nil; e = e.next {
		key, start, end := splitSessionCacheKey(e.key)
		if end < earliestEnd || start > latestStart || end < live ||
			(keyFrom != nil && bytes.Compare(key, keyFrom) < 0) || (keyTo != nil && bytes.Compare(key, keyTo) > 0) {
			continue
		}
		cached = append(cached, snapshotSession(e))
	}
	under, err := s.SessionBytesStore.FindSessionsRange(keyFrom, keyTo, earliestEnd, latestStart)
	if err != nil {
		return nil, err
	}
	return s.merge(under, cached), nil
}

func (s *cachingSession) Fetch(key []byte) (SessionIterator, error) {
	if s.closed {
		return nil, ErrClosed
	}
	live := s.liveFrom()
	var cached []cachedSession
	for se, e := range s.byKey[string(key)] {
		if se[1] >= live {
			cached = append(cached, snapshotSession(e))
		}
	}
	under, err := s.SessionBytesStore.Fetch(key)
	if err != nil {
		return nil, err
	}
	return s.merge(under, cached), nil
}

func (s *cachingSession) merge(under SessionIterator, cached []cachedSession) *mergedSessionIterator {
	slices.SortFunc(cached, func(a, b cachedSession) int { return sessionOrder(a.key, a.start, a.end, b.key, b.start, b.end) })
	it := &mergedSessionIterator{store: s, under: under, cached: cached, live: s.liveFrom(), ci: -1}
	it.underOK = it.nextUnder()
	return it
}

// mergedSessionIterator merges a session store's iterator with a sorted snapshot of cached
// sessions; cached removals hide the store's sessions.
type mergedSessionIterator struct {
	store      *cachingSession
	under      SessionIterator
	underOK    bool
	advance    bool
	cached     []cachedSession
	ci         int
	live       int64
	key        []byte
	start, end int64
	value      []byte
	closed     bool
	fromCache  bool
}

// FromCache tells whether the current session comes from the cache, not the store beneath
// (whose retention the session aggregation mirrors for the sessions it returns).
func (it *mergedSessionIterator) FromCache() bool { return it.fromCache }

func (it *mergedSessionIterator) nextUnder() bool {
	for it.under.Next() {
		if it.under.End() >= it.live {
			return true
		}
	}
	return false
}

func (it *mergedSessionIterator) Next() bool {
	if it.closed || it.store.closed {
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
		var c *cachedSession
		order := 0
		if hasCache {
			c = &it.cached[it.ci+1]
			if it.underOK {
				order = sessionOrder(c.key, c.start, c.end, it.under.Key(), it.under.Start(), it.under.End())
			}
		}
		if !hasCache || (it.underOK && order > 0) {
			it.key, it.start, it.end, it.value = it.under.Key(), it.under.Start(), it.under.End(), it.under.Value()
			it.advance, it.fromCache = true, false
			return true
		}
		it.ci++
		if it.underOK && order == 0 {
			it.advance = true // the cache's session replaces the store's
		}
		if c.value != nil {
			it.key, it.start, it.end, it.value = c.key, c.start, c.end, c.value
			it.fromCache = true
			return true
		}
	}
}

func (it *mergedSessionIterator) Key() []byte   { return it.key }
func (it *mergedSessionIterator) Start() int64  { return it.start }
func (it *mergedSessionIterator) End() int64    { return it.end }
func (it *mergedSessionIterator) Value() []byte { return it.value }
func (it *mergedSessionIterator) Err() error {
	if it.store.closed && !it.closed {
		return ErrClosed
	}
	return it.under.Err()
}
func (it *mergedSessionIterator) Close() error {
	it.closed = true
	return it.under.Close()
}
