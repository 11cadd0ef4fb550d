package state

import "time"

// meteredKeyValue times the operations of the key-value byte store beneath (see Meter).
type meteredKeyValue struct {
	KeyValueBytesStore
	m *StoreMetrics
}

func (s *meteredKeyValue) Get(key []byte) ([]byte, error) {
	start := monoNow()
	v, err := s.KeyValueBytesStore.Get(key)
	s.m.lat[OpGet].since(start)
	return v, err
}

func (s *meteredKeyValue) Put(key, value []byte) error {
	start := monoNow()
	err := s.KeyValueBytesStore.Put(key, value)
	s.m.lat[OpPut].since(start)
	return err
}

func (s *meteredKeyValue) PutIfAbsent(key, value []byte) ([]byte, error) {
	start := monoNow()
	old, err := s.KeyValueBytesStore.PutIfAbsent(key, value)
	s.m.lat[OpPutIfAbsent].since(start)
	return old, err
}

func (s *meteredKeyValue) Delete(key []byte) ([]byte, error) {
	start := monoNow()
	old, err := s.KeyValueBytesStore.Delete(key)
	s.m.lat[OpDelete].since(start)
	return old, err
}

func (s *meteredKeyValue) Flush() error {
	start := monoNow()
	err := s.KeyValueBytesStore.Flush()
	s.m.lat[OpFlush].since(start)
	return err
}

func (s *meteredKeyValue) Range(from, to []byte) (KeyValueIterator, error) {
	start := monoNow()
	it, err := s.KeyValueBytesStore.Range(from, to)
	return s.wrap(OpRange, start, it, err)
}

func (s *meteredKeyValue) ReverseRange(from, to []byte) (KeyValueIterator, error) {
	start := monoNow()
	it, err := s.KeyValueBytesStore.ReverseRange(from, to)
	return s.wrap(OpRange, start, it, err)
}

func (s *meteredKeyValue) All() (KeyValueIterator, error) {
	start := monoNow()
	it, err := s.KeyValueBytesStore.All()
	return s.wrap(OpAll, start, it, err)
}

func (s *meteredKeyValue) PrefixScan(prefix []byte) (KeyValueIterator, error) {
	start := monoNow()
	it, err := s.KeyValueBytesStore.PrefixScan(prefix)
	return s.wrap(OpPrefixScan, start, it, err)
}

// wrap wraps an iterator opened at start so that its Close records the operation; a failed
// opening is recorded at once.
func (s *meteredKeyValue) wrap(op StoreOp, start time.Duration, it KeyValueIterator, err error) (KeyValueIterator, error) {
	if err != nil {
		s.m.lat[op].since(start)
		return nil, err
	}
	return &meteredKVIterator{KeyValueIterator: it, lat: &s.m.lat[op], start: start}, nil
}

type meteredKVIterator struct {
	KeyValueIterator
	lat    *opLatency
	start  time.Duration
	closed bool
}

func (it *meteredKVIterator) Close() error {
	if !it.closed {
		it.closed = true
		defer it.lat.since(it.start)
	}
	return it.KeyValueIterator.Close()
}

// meteredWindow times the operations of the window byte store beneath.
type meteredWindow struct {
	WindowBytesStore
	m *StoreMetrics
}

func (s *meteredWindow) Put(key, value []byte, windowStart int64) error {
	start := monoNow()
	err := s.WindowBytesStore.Put(key, value, windowStart)
	s.m.lat[OpPut].since(start)
	return err
}

func (s *meteredWindow) Fetch(key []byte, windowStart int64) ([]byte, error) {
	start := monoNow()
	v, err := s.WindowBytesStore.Fetch(key, windowStart)
	s.m.lat[OpFetch].since(start)
	return v, err
}

func (s *meteredWindow) Flush() error {
	start := monoNow()
	err := s.WindowBytesStore.Flush()
	s.m.lat[OpFlush].since(start)
	return err
}

func (s *meteredWindow) FetchRange(key []byte, from, to int64) (WindowIterator, error) {
	start := monoNow()
	it, err := s.WindowBytesStore.FetchRange(key, from, to)
	if err != nil {
		s.m.lat[OpFetch].since(start)
		return nil, err
	}
	return &meteredWindowIterator{WindowIterator: it, lat: &s.m.lat[OpFetch], start: start}, nil
}

func (s *meteredWindow) FetchKeyRange(keyFrom, keyTo []byte, from, to int64) (WindowKeyIterator, error) {
	start := monoNow()
	it, err := s.WindowBytesStore.FetchKeyRange(keyFrom, keyTo, from, to)
	return s.wrapKeys(start, it, err)
}

func (s *meteredWindow) FetchAll(from, to int64) (WindowKeyIterator, error) {
	start := monoNow()
	it, err := s.WindowBytesStore.FetchAll(from, to)
	return s.wrapKeys(start, it, err)
}

// All is a fetch of every window, as in Kafka Streams' MeteredWindowStore.
func (s *meteredWindow) All() (WindowKeyIterator, error) {
	start := monoNow()
	it, err := s.WindowBytesStore.All()
	return s.wrapKeys(start, it, err)
}

func (s *meteredWindow) wrapKeys(start time.Duration, it WindowKeyIterator, err error) (WindowKeyIterator, error) {
	if err != nil {
		s.m.lat[OpFetch].since(start)
		return nil, err
	}
	return &meteredWindowKeyIterator{WindowKeyIterator: it, lat: &s.m.lat[OpFetch], start: start}, nil
}

type meteredWindowIterator struct {
	WindowIterator
	lat    *opLatency
	start  time.Duration
	closed bool
}

func (it *meteredWindowIterator) Close() error {
	if !it.closed {
		it.closed = true
		defer it.lat.since(it.start)
	}
	return it.WindowIterator.Close()
}

type meteredWindowKeyIterator struct {
	WindowKeyIterator
	lat    *opLatency
	start  time.Duration
	closed bool
}

func (it *meteredWindowKeyIterator) Close() error {
	if !it.closed {
		it.closed = true
		defer it.lat.since(it.start)
	}
	return it.WindowKeyIterator.Close()
}

// meteredSession times the operations of the session byte store beneath.
type meteredSession struct {
	SessionBytesStore
	m *StoreMetrics
}

func (s *meteredSession) Put(key []byte, start, end int64, value []byte) error {
	began := monoNow()
	err := s.SessionBytesStore.Put(key, start, end, value)
	s.m.lat[OpPut].since(began)
	return err
}

func (s *meteredSession) Remove(key []byte, start, end int64) error {
	began := monoNow()
	err := s.SessionBytesStore.Remove(key, start, end)
	s.m.lat[OpRemove].since(began)
	return err
}

func (s *meteredSession) FetchSession(key []byte, start, end int64) ([]byte, error) {
	began := monoNow()
	v, err := s.SessionBytesStore.FetchSession(key, start, end)
	s.m.lat[OpFetch].since(began)
	return v, err
}

func (s *meteredSession) Flush() error {
	began := monoNow()
	err := s.SessionBytesStore.Flush()
	s.m.lat[OpFlush].since(began)
	return err
}

func (s *meteredSession) FindSessions(key []byte, earliestEnd, latestStart int64) (SessionIterator, error) {
	began := monoNow()
	it, err := s.SessionBytesStore.FindSessions(key, earliestEnd, latestStart)
	return s.wrap(began, it, err)
}

func (s *meteredSession) FindSessionsRange(keyFrom, keyTo []byte, earliestEnd, latestStart int64) (SessionIterator, error) {
	began := monoNow()
	it, err := s.SessionBytesStore.FindSessionsRange(keyFrom, keyTo, earliestEnd, latestStart)
	return s.wrap(began, it, err)
}

func (s *meteredSession) Fetch(key []byte) (SessionIterator, error) {
	began := monoNow()
	it, err := s.SessionBytesStore.Fetch(key)
	return s.wrap(began, it, err)
}

func (s *meteredSession) wrap(start time.Duration, it SessionIterator, err error) (SessionIterator, error) {
	if err != nil {
		s.m.lat[OpFetch].since(start)
		return nil, err
	}
	return &meteredSessionIterator{SessionIterator: it, lat: &s.m.lat[OpFetch], start: start}, nil
}

type meteredSessionIterator struct {
	SessionIterator
	lat    *opLatency
	start  time.Duration
	closed bool
}

func (it *meteredSessionIterator) Close() error {
	if !it.closed {
		it.closed = true
		defer it.lat.since(it.start)
	}
	return it.SessionIterator.Close()
}
