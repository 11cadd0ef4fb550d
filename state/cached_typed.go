package state

// CachedRecord is one key a cached store flushed (see KeyValueStore.SetFlushListener): its new
// value (HasNew false: deleted), its value before the flush when old values were asked for,
// and the context of the write that set it.
type CachedRecord[K, V any] struct {
	Key            K
	New, Old       V
	HasNew, HasOld bool
	Context        RecordContext
}

// SetFlushListener makes a cached store hand each flushed key to fn (Kafka Streams'
// setFlushListener): the processor that owns the store then forwards from fn instead of
// forwarding each update as it processes it. sendOld asks for each key's value before the
// flush (read from the store beneath). It reports whether the store is cached; when it is
// not, fn is never called and the processor must forward as it goes.
func (s *KeyValueStore[K, V]) SetFlushListener(sendOld bool, fn func(CachedRecord[K, V]) error) bool {
	c, ok := unmetered(s.bytes).(*cachingKeyValue)
	if !ok {
		return false
	}
	name := s.bytes.Name()
	c.setFlushListener(func(key, newValue, oldValue []byte, rc RecordContext) error {
		r := CachedRecord[K, V]{Context: rc}
		var err error
		if r.Key, err = s.ks.Deserialize(name, key); err != nil {
			return err
		}
		if newValue != nil {
			if r.New, err = s.value(newValue); err != nil {
				return err
			}
			r.HasNew = true
		}
		if oldValue != nil {
			if r.Old, err = s.value(oldValue); err != nil {
				return err
			}
			r.HasOld = true
		}
		return fn(r)
	}, sendOld)
	return true
}

// Cached tells whether the store keeps its writes in a record cache.
func (s *KeyValueStore[K, V]) Cached() bool {
	_, ok := unmetered(s.bytes).(*cachingKeyValue)
	return ok
}

// FlushCache hands the store's cached writes on: to the store beneath, its changelog and its
// flush listener. The task calls it before each commit; it does nothing on uncached stores.
func (s *KeyValueStore[K, V]) FlushCache() error {
	if c, ok := unmetered(s.bytes).(*cachingKeyValue); ok {
		return c.FlushCache()
	}
	return nil
}
