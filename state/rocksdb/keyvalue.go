package rocksdb

import (
	"bytes"

	"github.com/rillstreams/rill/state"
)

// kvStore is a key-value store: one RocksDB instance, keys and values stored as given.
type kvStore struct {
	*store
	ubuf []byte // scratch upper bound
}

var _ state.KeyValueBytesStore = (*kvStore)(nil)

func (s *kvStore) Name() string     { return s.name }
func (s *kvStore) Persistent() bool { return true }

// Flush flushes the memtables to disk. With the WAL disabled (see newStore) this is what
// makes writes durable, so the task must Flush before it checkpoints changelog offsets.
func (s *kvStore) Flush() error {
	if s.db == nil {
		return s.closedErr()
	}
	return s.flushAll()
}

// flushAll flushes the data and, in transaction mode, the metadata column family: its
// commits' offsets would otherwise keep old WAL files alive.
func (s *kvStore) flushAll() error {
	if err := s.flushCF(nil); err != nil || s.txn == nil {
		return err
	}
	return s.flushCF(s.metaCF)
}

// Close flushes, closes the iterators left open and the DB. Later calls do nothing.
func (s *kvStore) Close() error {
	if s.db == nil {
		return nil
	}
	return s.shutdown(s.flushAll)
}

func (s *kvStore) Get(key []byte) ([]byte, error) {
	if s.db == nil {
		return nil, s.closedErr()
	}
	return s.get(nil, key)
}

func (s *kvStore) Put(key, value []byte) error {
	if s.db == nil {
		return s.closedErr()
	}
	if value == nil {
		return s.delete(key)
	}
	return s.write(nil, false, key, value, nil, nil)
}

func (s *kvStore) delete(key []byte) error {
	return s.write(nil, true, key, nil, nil, nil)
}

func (s *kvStore) PutIfAbsent(key, value []byte) ([]byte, error) {
	old, err := s.Get(key)
	if err != nil || old != nil || value == nil {
		return old, err
	}
	return nil, s.Put(key, value)
}

func (s *kvStore) Delete(key []byte) ([]byte, error) {
	old, err := s.Get(key)
	if err != nil || old == nil {
		return old, err
	}
	return old, s.delete(key)
}

func (s *kvStore) Range(from, to []byte) (state.KeyValueIterator, error) {
	return s.newIterator(from, to, false)
}

func (s *kvStore) ReverseRange(from, to []byte) (state.KeyValueIterator, error) {
	return s.newIterator(from, to, true)
}

func (s *kvStore) All() (state.KeyValueIterator, error) {
	return s.newIterator(nil, nil, false)
}

func (s *kvStore) PrefixScan(prefix []byte) (state.KeyValueIterator, error) {
	if s.db == nil {
		return nil, s.closedErr()
	}
	var upper []byte
	if len(prefix) > 0 {
		// nil for an all-0xff prefix: every key at or above it starts with it.
		upper = successor(nil, prefix)
	}
	return s.open(prefix, upper, false), nil
}

// ApproximateCount is RocksDB's estimate-num-keys: it counts overwrites and deletes still
// in memtables or uncompacted files, so it can be off either way (as in Kafka Streams).
func (s *kvStore) ApproximateCount() (int64, error) {
	if s.db == nil {
		return 0, s.closedErr()
	}
	n, ok := s.db.GetIntProperty("rocksdb.estimate-num-keys")
	if !ok {
		return 0, s.errorf("estimate-num-keys is unavailable")
	}
	// Buffered writes of a transaction count too (overwrites and deletes included: an
	// estimate either way).
	return int64(min(n, 1<<62)) + int64(s.Buffered()), nil
}

func (s *kvStore) newIterator(from, to []byte, reverse bool) (state.KeyValueIterator, error) {
	if s.db == nil {
		return nil, s.closedErr()
	}
	if from != nil && to != nil && bytes.Compare(from, to) > 0 {
		return nil, state.ErrInvalidRange
	}
	var upper []byte
	if to != nil {
		// The bound is exclusive, and to+0x00 is the smallest key above to. (The read
		// options copy it: the scratch buffer can be reused.)
		s.ubuf = append(append(s.ubuf[:0], to...), 0)
		upper = s.ubuf
	}
	return s.open(from, upper, reverse), nil
}

// open returns an iterator over [lower, upper) (nil: open).
func (s *kvStore) open(lower, upper []byte, reverse bool) *kvIterator {
	it := &kvIterator{s: s.store, reverse: reverse, key: s.takeBuf(), value: s.takeBuf()}
	it.cur = s.newCursor(nil, lower, upper)
	s.track(&it.node, it)
	return it
}

// kvIterator walks a key range of a kvStore. Its Key and Value are copies kept in buffers
// it reuses, valid until the next Next or Close: a user who keeps them past that sees other
// bytes, never freed native memory.
type kvIterator struct {
	s       *store
	node    iterNode
	cur     cursor
	reverse bool
	started bool
	done    bool // exhausted or closed: Next returns false
	err     error
	key     []byte
	value   []byte
}

func (it *kvIterator) Next() bool {
	if it.done {
		return false
	}
	// The bounds of the read options make the first moves seek to from, or to the last key
	// at or below to.
	m := moveNext
	switch {
	case !it.started && it.reverse:
		m = moveLast
	case !it.started:
		m = moveFirst
	case it.reverse:
		m = movePrev
	}
	it.started = true
	if !it.cur.move(m) {
		if err := it.cur.err(); err != nil {
			it.err = it.s.errorf("iterate: %w", err)
		}
		// Release native resources as soon as the range is exhausted: pinned files
		// and memtables are freed even if the caller is slow to Close.
		it.release()
		return false
	}
	it.key = copyInto(it.key, it.cur.k)
	it.value = copyInto(it.value, it.cur.v)
	return true
}

func (it *kvIterator) Key() []byte   { return it.key }
func (it *kvIterator) Value() []byte { return it.value }
func (it *kvIterator) Err() error    { return it.err }

func (it *kvIterator) Close() error {
	it.release()
	return nil
}

// release frees the native iterator. When the store's Close calls it on an iterator still
// in use, later calls of Next return false and Err returns ErrClosed.
func (it *kvIterator) release() {
	if it.done {
		return
	}
	it.done = true
	if it.s.closing && it.err == nil {
		it.err = state.ErrClosed
	}
	it.s.closeCursor(&it.cur)
	it.s.untrack(&it.node)
	it.s.putBuf(it.key)
	it.s.putBuf(it.value)
	it.key, it.value = nil, nil
}
