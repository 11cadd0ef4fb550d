package state

import (
	"encoding/binary"
	"fmt"
	"sync"
)

// ChangelogSink receives a logged store's writes: the runtime turns each into a record of the
// store's changelog topic "<application id>-<store>-changelog", in the task's partition, through
// the task's producer (inside its transaction under exactly-once). A nil value is a delete.
type ChangelogSink interface {
	Log(store string, key, value []byte) error
}

// Restorer is implemented by every store this package builds: it applies one changelog record
// to the store underneath, bypassing logging, so restoring writes nothing back.
type Restorer interface {
	Restore(key, value []byte) error
}

// The changelog key of window and session stores carries the window, as Kafka Streams'
// WindowKeySchema and SessionKeySchema do: key, then big-endian start and a 4-byte sequence
// number for windows; key, then end and start for sessions.
func windowChangelogKey(key []byte, start int64, seq uint32) []byte {
	out := make([]byte, len(key)+12)
	copy(out, key)
	binary.BigEndian.PutUint64(out[len(key):], uint64(start))
	binary.BigEndian.PutUint32(out[len(key)+8:], seq)
	return out
}

func parseWindowChangelogKey(b []byte) (key []byte, start int64, err error) {
	if len(b) < 12 {
		return nil, 0, fmt.Errorf("rill: window changelog key of %d bytes, need at least 12", len(b))
	}
	n := len(b) - 12
	return b[:n], int64(binary.BigEndian.Uint64(b[n:])), nil
}

func sessionChangelogKey(key []byte, start, end int64) []byte {
	out := make([]byte, len(key)+16)
	copy(out, key)
	binary.BigEndian.PutUint64(out[len(key):], uint64(end))
	binary.BigEndian.PutUint64(out[len(key)+8:], uint64(start))
	return out
}

func parseSessionChangelogKey(b []byte) (key []byte, start, end int64, err error) {
	if len(b) < 16 {
		return nil, 0, 0, fmt.Errorf("rill: session changelog key of %d bytes, need at least 16", len(b))
	}
	n := len(b) - 16
	start, end = int64(binary.BigEndian.Uint64(b[n+8:])), int64(binary.BigEndian.Uint64(b[n:]))
	if start > end {
		// Never written by a session store; a tombstone of one was an error in RocksDB
		// stores and a no-op in memory ones, so the key itself is refused.
		return nil, 0, 0, fmt.Errorf("rill: session changelog key of session [%d, %d], which ends before it starts", start, end)
	}
	return b[:n], start, end, nil
}

// loggedKeyValue writes through to the store and then to the changelog.
type loggedKeyValue struct {
	KeyValueBytesStore
	sink ChangelogSink
}

func (s *loggedKeyValue) Put(key, value []byte) error {
	if err := s.KeyValueBytesStore.Put(key, value); err != nil {
		return err
	}
	return s.sink.Log(s.Name(), key, value)
}

func (s *loggedKeyValue) PutIfAbsent(key, value []byte) ([]byte, error) {
	old, err := s.KeyValueBytesStore.PutIfAbsent(key, value)
	if err != nil || old != nil {
		return old, err
	}
	return nil, s.sink.Log(s.Name(), key, value)
}

func (s *loggedKeyValue) Delete(key []byte) ([]byte, error) {
	old, err := s.KeyValueBytesStore.Delete(key)
	if err != nil {
		return old, err
	}
	return old, s.sink.Log(s.Name(), key, nil)
}

// loggedWindow logs window writes with the window in the changelog key. Duplicates (join
// buffers) get increasing sequence numbers so compaction keeps each of them.
type loggedWindow struct {
	WindowBytesStore
	sink ChangelogSink
	seq  uint32
}

func (s *loggedWindow) Put(key, value []byte, windowStart int64) error {
	if err := s.WindowBytesStore.Put(key, value, windowStart); err != nil {
		return err
	}
	s.seq++
	return s.sink.Log(s.Name(), windowChangelogKey(key, windowStart, s.seq), value)
}

type loggedSession struct {
	SessionBytesStore
	sink ChangelogSink
}

func (s *loggedSession) Put(key []byte, start, end int64, value []byte) error {
	if err := s.SessionBytesStore.Put(key, start, end, value); err != nil {
		return err
	}
	return s.sink.Log(s.Name(), sessionChangelogKey(key, start, end), value)
}

func (s *loggedSession) Remove(key []byte, start, end int64) error {
	if err := s.SessionBytesStore.Remove(key, start, end); err != nil {
		return err
	}
	return s.sink.Log(s.Name(), sessionChangelogKey(key, start, end), nil)
}

// syncKeyValue guards a global store, written by the global thread and read by every stream
// thread's tasks: the one store in rill shared between goroutines.
type syncKeyValue struct {
	// mu protects the store underneath; iterators are materialized under it so none outlives
	// the lock.
	mu sync.RWMutex
	s  KeyValueBytesStore
}

func (s *syncKeyValue) Name() string     { return s.s.Name() }
func (s *syncKeyValue) Persistent() bool { return s.s.Persistent() }

func (s *syncKeyValue) Flush() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.s.Flush()
}

func (s *syncKeyValue) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.s.Close()
}

func (s *syncKeyValue) Get(key []byte) ([]byte, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	v, err := s.s.Get(key)
	return append([]byte(nil), v...), err
}

func (s *syncKeyValue) Put(key, value []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.s.Put(key, value)
}

func (s *syncKeyValue) PutIfAbsent(key, value []byte) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.s.PutIfAbsent(key, value)
}

func (s *syncKeyValue) Delete(key []byte) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.s.Delete(key)
}

func (s *syncKeyValue) ApproximateCount() (int64, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.s.ApproximateCount()
}

func (s *syncKeyValue) Range(from, to []byte) (KeyValueIterator, error) {
	return s.collect(func() (KeyValueIterator, error) { return s.s.Range(from, to) })
}

func (s *syncKeyValue) ReverseRange(from, to []byte) (KeyValueIterator, error) {
	return s.collect(func() (KeyValueIterator, error) { return s.s.ReverseRange(from, to) })
}

func (s *syncKeyValue) All() (KeyValueIterator, error) {
	return s.collect(s.s.All)
}

func (s *syncKeyValue) PrefixScan(prefix []byte) (KeyValueIterator, error) {
	return s.collect(func() (KeyValueIterator, error) { return s.s.PrefixScan(prefix) })
}

func (s *syncKeyValue) collect(open func() (KeyValueIterator, error)) (KeyValueIterator, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	it, err := open()
	if err != nil {
		return nil, err
	}
	defer it.Close()
	sl := &sliceIterator{i: -1}
	for it.Next() {
		sl.keys = append(sl.keys, append([]byte(nil), it.Key()...))
		sl.values = append(sl.values, append([]byte(nil), it.Value()...))
	}
	return sl, it.Err()
}

type sliceIterator struct {
	keys, values [][]byte
	i            int
}

func (it *sliceIterator) Next() bool    { it.i++; return it.i < len(it.keys) }
func (it *sliceIterator) Key() []byte   { return it.keys[it.i] }
func (it *sliceIterator) Value() []byte { return it.values[it.i] }
func (it *sliceIterator) Err() error    { return nil }
func (it *sliceIterator) Close() error  { it.i = len(it.keys); return nil }
