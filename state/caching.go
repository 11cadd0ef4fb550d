package state

import (
	"bytes"
	"slices"
)

// FlushListener receives what a cached key-value store flushes, one key at a time, in the
// cache's flush order: the key, its new value (nil: deleted), and when the listener asked for
// old values the value the store held before (nil: none), with the context of the write.
type FlushListener func(key, newValue, oldValue []byte, rc RecordContext) error

// cachingKeyValue is Kafka Streams' CachingKeyValueStore: writes go to the store's part of
// the thread's RecordCache, and reach the store beneath (logged, so its changelog too) and
// the flush listener only when the cache flushes them. Reads see the cache first.
type cachingKeyValue struct {
	KeyValueBytesStore // beneath: logged or raw
	cache              *namedCache
	task               TaskContext
	listener           FlushListener
	sendOld            bool
	closed             bool
}

func newCachingKeyValue(wrapped KeyValueBytesStore, rc *RecordCache, name string, task TaskContext) *cachingKeyValue {
	if task == nil {
		task = noTaskContext{}
	}
	s := &cachingKeyValue{KeyValueBytesStore: wrapped, task: task}
	s.cache = rc.named(name, s.flushEntries)
	return s
}

// flushEntries writes flushed entries to the store beneath and forwards them, each with the
// context it was written in (Kafka Streams' CachingKeyValueStore.putAndMaybeForward).
func (s *cachingKeyValue) flushEntries(entries []*cacheEntry) error {
	for _, e := range entries {
		if err := s.flushEntry(e); err != nil {
			return err
		}
	}
	return nil
}

func (s *cachingKeyValue) flushEntry(e *cacheEntry) error {
	if s.listener == nil {
		return s.task.WithRecordContext(e.rc, func() error { return s.write(e.key, e.value) })
	}
	var old []byte
	if e.value == nil || s.sendOld {
		v, err := s.KeyValueBytesStore.Get(e.key)
		if err != nil {
			return err
		}
		old = bytes.Clone(v) // the write below may reuse the buffer a store returned
	}
	if e.value == nil && old == nil {
		// A key deleted that the store never held: nothing to write or forward.
		return nil
	}
	if !s.sendOld {
		old = nil
	}
	return s.task.WithRecordContext(e.rc, func() error {
		if err := s.write(e.key, e.value); err != nil {
			return err
		}
		return s.listener(e.key, e.value, old, e.rc)
	})
}

func (s *cachingKeyValue) write(key, value []byte) error {
	if value == nil {
		_, err := s.KeyValueBytesStore.Delete(key)
		return err
	}
	return s.KeyValueBytesStore.Put(key, value)
}

// setFlushListener makes flushes forward to l; sendOld asks for old values.
func (s *cachingKeyValue) setFlushListener(l FlushListener, sendOld bool) {
	s.listener, s.sendOld = l, sendOld
}

// FlushCache flushes the store's dirty entries (the task calls it before each commit, store
// by store in topology order).
func (s *cachingKeyValue) FlushCache() error { return s.cache.flushDirty(nil) }

// Close drops what the cache holds: a task commits (so flushes) before a clean close, and
// what a dirty close leaves was never committed.
func (s *cachingKeyValue) Close() error {
	s.closed = true
	s.cache.drop()
	return s.KeyValueBytesStore.Close()
}

// Get reads the cache, then the store beneath; a value read there is cached, clean.
func (s *cachingKeyValue) Get(key []byte) ([]byte, error) {
	if s.closed {
		return nil, ErrClosed
	}
	if e := s.cache.get(key); e != nil {
		return e.value, nil
	}
	v, err := s.KeyValueBytesStore.Get(key)
	if err != nil || v == nil {
		return v, err
	}
	v = bytes.Clone(v)
	return v, s.cache.put(key, v, false, RecordContext{})
}

func (s *cachingKeyValue) Put(key, value []byte) error {
	if s.closed {
		return ErrClosed
	}
	return s.cache.put(key, value, true, s.task.RecordContext())
}

func (s *cachingKeyValue) PutIfAbsent(key, value []byte) ([]byte, error) {
	old, err := s.Get(key)
	if err != nil || old != nil {
		return old, err
	}
	return nil, s.Put(key, value)
}

func (s *cachingKeyValue) Delete(key []byte) ([]byte, error) {
	if s.closed {
		return nil, ErrClosed
	}
	old, err := s.Get(key)
	if err != nil {
		return nil, err
	}
	old = bytes.Clone(old) // the delete below reuses the entry
	return old, s.cache.put(key, nil, true, s.task.RecordContext())
}

func (s *cachingKeyValue) Range(from, to []byte) (KeyValueIterator, error) {
	return s.merged(from, to, nil, false, func() (KeyValueIterator, error) { return s.KeyValueBytesStore.Range(from, to) })
}

func (s *cachingKeyValue) ReverseRange(from, to []byte) (KeyValueIterator, error) {
	return s.merged(from, to, nil, true, func() (KeyValueIterator, error) { return s.KeyValueBytesStore.ReverseRange(from, to) })
}

func (s *cachingKeyValue) All() (KeyValueIterator, error) {
	return s.merged(nil, nil, nil, false, s.KeyValueBytesStore.All)
}

func (s *cachingKeyValue) PrefixScan(prefix []byte) (KeyValueIterator, error) {
	return s.merged(nil, nil, prefix, false, func() (KeyValueIterator, error) { return s.KeyValueBytesStore.PrefixScan(prefix) })
}

// merged iterates the store beneath and the cache together (Kafka Streams'
// MergedSortedCacheKeyValueBytesStoreIterator): the cache's entries in range are taken at the
// start, sorted, and win over the store's for equal keys; cached deletes hide keys.
func (s *cachingKeyValue) merged(from, to, prefix []byte, reverse bool, open func() (KeyValueIterator, error)) (KeyValueIterator, error) {
	if s.closed {
		return nil, ErrClosed
	}
	if from != nil && to != nil && bytes.Compare(from, to) > 0 {
		return nil, ErrInvalidRange
	}
	var cached []*cacheEntry
	for e := s.cache.head; e != nil; e = e.next {
		if (from != nil && bytes.Compare(e.key, from) < 0) || (to != nil && bytes.Compare(e.key, to) > 0) ||
			(prefix != nil && !bytes.HasPrefix(e.key, prefix)) {
			continue
		}
		// Values are copied: a write while iterating reuses the entry's buffer.
		cached = append(cached, &cacheEntry{key: e.key, value: bytes.Clone(e.value)})
	}
	cmp := func(a, b []byte) int { return bytes.Compare(a, b) }
	if reverse {
		cmp = func(a, b []byte) int { return bytes.Compare(b, a) }
	}
	slices.SortFunc(cached, func(a, b *cacheEntry) int { return cmp(a.key, b.key) })
	under, err := open()
	if err != nil {
		return nil, err
	}
	it := &mergedIterator{store: s, under: under, cached: cached, cmp: cmp, ci: -1}
	it.underOK = under.Next()
	return it, nil
}

// mergedIterator merges a store's iterator with a sorted snapshot of cache entries.
type mergedIterator struct {
	store   *cachingKeyValue // an iterator stops when its store closes
	under   KeyValueIterator
	underOK bool // under is positioned on an entry not yet returned
	// advance moves under on at the next Next: its Key and Value must stay valid until then.
	advance bool
	cached  []*cacheEntry
	ci      int // next cached entry: cached[ci+1]
	cmp     func(a, b []byte) int
	key     []byte
	value   []byte
	closed  bool
}

func (it *mergedIterator) Next() bool {
	if it.closed || it.store.closed {
		return false
	}
	for {
		if it.advance {
			it.underOK, it.advance = it.under.Next(), false
		}
		hasCache := it.ci+1 < len(it.cached)
		if !hasCache && !it.underOK {
			return false
		}
		if !hasCache || (it.underOK && it.cmp(it.cached[it.ci+1].key, it.under.Key()) > 0) {
			it.key, it.value = it.under.Key(), it.under.Value()
			it.advance = true
			return true
		}
		it.ci++
		c := it.cached[it.ci]
		if it.underOK && it.cmp(c.key, it.under.Key()) == 0 {
			it.advance = true // the cache's entry replaces the store's
		}
		if c.value != nil {
			it.key, it.value = c.key, c.value
			return true
		}
		// A cached delete: skip the key.
	}
}

func (it *mergedIterator) Key() []byte   { return it.key }
func (it *mergedIterator) Value() []byte { return it.value }
func (it *mergedIterator) Err() error {
	if it.store.closed && !it.closed {
		return ErrClosed
	}
	return it.under.Err()
}
func (it *mergedIterator) Close() error {
	it.closed = true
	return it.under.Close()
}

// ApproximateCount counts the store beneath, corrected for the cache's dirty entries: keys
// written that the store does not hold yet, and keys deleted that it still holds.
func (s *cachingKeyValue) ApproximateCount() (int64, error) {
	n, err := s.KeyValueBytesStore.ApproximateCount()
	if err != nil {
		return n, err
	}
	for e := s.cache.dhead; e != nil; e = e.dnext {
		v, err := s.KeyValueBytesStore.Get(e.key)
		if err != nil {
			return n, err
		}
		switch {
		case e.value != nil && v == nil:
			n++
		case e.value == nil && v != nil:
			n--
		}
	}
	return n, nil
}
