package state

import "github.com/rillstreams/rill/serde"

// CachedWindow is one window a cached window store flushed (see WindowStore.SetFlushListener):
// its key and start, its new value (HasNew false: deleted), its value before the flush when
// old values were asked for, and the context of the write that set it.
type CachedWindow[K, V any] struct {
	Key            K
	WindowStart    int64
	New, Old       V
	HasNew, HasOld bool
	Context        RecordContext
}

// SetFlushListener makes a cached window store hand each flushed window to fn (Kafka Streams'
// CachingWindowStore.setFlushListener); sendOld asks for each window's value before the flush.
// It reports whether the store is cached; when it is not, fn is never called.
func (s *WindowStore[K, V]) SetFlushListener(sendOld bool, fn func(CachedWindow[K, V]) error) bool {
	c, ok := s.bytes.(*cachingWindow)
	if !ok {
		return false
	}
	name := s.bytes.Name()
	c.listener, c.sendOld = func(key []byte, start int64, newValue, oldValue []byte, rc RecordContext) error {
		r := CachedWindow[K, V]{WindowStart: start, Context: rc}
		var err error
		if r.Key, r.New, r.Old, r.HasNew, r.HasOld, err = decodeFlushed(s.ks, s.vs, name, key, newValue, oldValue); err != nil {
			return err
		}
		return fn(r)
	}, sendOld
	return true
}

// Cached tells whether the store keeps its writes in a record cache.
func (s *WindowStore[K, V]) Cached() bool {
	_, ok := s.bytes.(*cachingWindow)
	return ok
}

// FlushCache hands the store's cached writes on: to the store beneath, its changelog and its
// flush listener. The task calls it before each commit; it does nothing on uncached stores.
func (s *WindowStore[K, V]) FlushCache() error {
	if c, ok := s.bytes.(*cachingWindow); ok {
		return c.FlushCache()
	}
	return nil
}

// CachedSession is one session a cached session store flushed (see
// SessionStore.SetFlushListener), as CachedWindow.
type CachedSession[K, V any] struct {
	Key            K
	Start, End     int64
	New, Old       V
	HasNew, HasOld bool
	Context        RecordContext
	// StoreTime is the stream time of the store beneath before this session was written to
	// it: the largest session end the cache has written there (math.MinInt64 before the
	// first), against which that store expires sessions.
	StoreTime int64
}

// SetFlushListener makes a cached session store hand each flushed session to fn (Kafka
// Streams' CachingSessionStore.setFlushListener); sendOld asks for each session's value before
// the flush. It reports whether the store is cached; when it is not, fn is never called.
func (s *SessionStore[K, V]) SetFlushListener(sendOld bool, fn func(CachedSession[K, V]) error) bool {
	c, ok := s.bytes.(*cachingSession)
	if !ok {
		return false
	}
	name := s.bytes.Name()
	c.listener, c.sendOld = func(key []byte, start, end int64, newValue, oldValue []byte, rc RecordContext) error {
		r := CachedSession[K, V]{Start: start, End: end, Context: rc, StoreTime: c.storeTimeBefore}
		var err error
		if r.Key, r.New, r.Old, r.HasNew, r.HasOld, err = decodeFlushed(s.ks, s.vs, name, key, newValue, oldValue); err != nil {
			return err
		}
		return fn(r)
	}, sendOld
	return true
}

// Cached tells whether the store keeps its writes in a record cache.
func (s *SessionStore[K, V]) Cached() bool {
	_, ok := s.bytes.(*cachingSession)
	return ok
}

// FlushCache hands the store's cached writes on (see WindowStore.FlushCache).
func (s *SessionStore[K, V]) FlushCache() error {
	if c, ok := s.bytes.(*cachingSession); ok {
		return c.FlushCache()
	}
	return nil
}

// decodeFlushed deserializes a flushed cache entry: its key, and its new and old values when
// present (nil bytes: none).
func decodeFlushed[K, V any](ks serde.Serde[K], vs serde.Serde[V], name string, key, newValue, oldValue []byte) (
	k K, newV, oldV V, hasNew, hasOld bool, err error) {
	if k, err = ks.Deserialize(name, key); err != nil {
		return k, newV, oldV, false, false, err
	}
	if newValue != nil {
		if newV, err = vs.Deserialize(name, newValue); err != nil {
			return k, newV, oldV, false, false, err
		}
		hasNew = true
	}
	if oldValue != nil {
		if oldV, err = vs.Deserialize(name, oldValue); err != nil {
			return k, newV, oldV, false, false, err
		}
		hasOld = true
	}
	return k, newV, oldV, hasNew, hasOld, nil
}
