package memory

import (
	"bytes"
	"math"

	"github.com/google/btree"

	"github.com/rillstreams/rill/state"
)

// WindowStore is an in-memory state.WindowBytesStore. Windows live in two B-trees holding the
// same entries: one ordered by key, start time and sequence number, for a key's windows (the
// hot path of windowed aggregations and join buffers), and one by start time, key and sequence
// number, for time-ordered scans and for dropping expired windows oldest first.
//
// Retention follows Kafka Streams: observed stream time is the largest window start put so
// far (by any Put, deleting ones included); a window whose start is at or before
// observedStreamTime - Retention is expired: fetches never return it and Puts to it are
// dropped. Expired windows are removed a segment at a time, once the whole segment
// [id*SegmentInterval, (id+1)*SegmentInterval) is expired.
//
// With RetainDuplicates every Put adds an entry numbered in order (Kafka Streams appends a
// sequence number to the key), iterators return duplicates in Put order, Fetch returns the
// first, and Puts of nil values are ignored, as there is no one entry they could delete.
//
// Values and keys returned belong to the store: do not modify them.
type WindowStore struct {
	name   string
	opts   state.WindowOptions
	byKey  *btree.BTreeG[windowItem]
	byTime *btree.BTreeG[windowItem]
	ret    retention
	seq    uint64
	tr     tracker
	bufs   [][]windowItem
}

type windowItem struct {
	ikey
	value []byte
	start int64
	seq   uint64
}

func lessWindowByKey(a, b windowItem) bool {
	if c := compareKeys(&a.ikey, &b.ikey); c != 0 {
		return c < 0
	}
	if a.start != b.start {
		return a.start < b.start
	}
	return a.seq < b.seq
}

func lessWindowByTime(a, b windowItem) bool {
	if a.start != b.start {
		return a.start < b.start
	}
	if c := compareKeys(&a.ikey, &b.ikey); c != 0 {
		return c < 0
	}
	return a.seq < b.seq
}

var _ state.WindowBytesStore = (*WindowStore)(nil)

// NewWindowStore returns an empty window store named name. Retention must be positive; a zero
// SegmentInterval defaults to max(Retention/2, 60000).
func NewWindowStore(name string, opts state.WindowOptions) (*WindowStore, error) {
	opts, err := checkOptions("window", name, opts)
	if err != nil {
		return nil, err
	}
	s := &WindowStore{
		name:   name,
		opts:   opts,
		byKey:  btree.NewG(btreeDegree, lessWindowByKey),
		byTime: btree.NewG(btreeDegree, lessWindowByTime),
		ret:    newRetention(opts),
	}
	s.tr.init()
	return s, nil
}

// Name returns the store's name.
func (s *WindowStore) Name() string { return s.name }

// Retention returns how long windows are kept, in milliseconds of stream time.
func (s *WindowStore) Retention() int64 { return s.opts.Retention }

// Persistent is false.
func (s *WindowStore) Persistent() bool { return false }

// Flush does nothing.
func (s *WindowStore) Flush() error {
	if s.tr.closed {
		return state.ErrClosed
	}
	return nil
}

// Close closes the store and its open iterators and drops its data.
func (s *WindowStore) Close() error {
	if s.tr.closed {
		return nil
	}
	s.tr.closeAll()
	s.byKey, s.byTime, s.bufs = nil, nil, nil
	return nil
}

func (s *WindowStore) writable() {
	if s.tr.mustClone() {
		s.byKey, s.byTime = s.byKey.Clone(), s.byTime.Clone()
	}
}

// Put stores a copy of value for key's window starting at windowStart; nil deletes it. Puts
// to expired windows are dropped.
func (s *WindowStore) Put(key, value []byte, windowStart int64) error {
	if s.tr.closed {
		return state.ErrClosed
	}
	if purgeBefore := s.ret.observe(windowStart); purgeBefore > s.ret.purged {
		s.purge(purgeBefore)
	}
	if s.ret.expired(windowStart) {
		// Kafka Streams logs and counts these ("Skipping record for expired segment"); the
		// caller sees a late record it has dropped already.
		return nil
	}
	if value == nil {
		if s.opts.RetainDuplicates {
			return nil
		}
		probe := windowItem{ikey: makeKey(key), start: windowStart}
		if !s.byKey.Has(probe) {
			return nil
		}
		s.writable()
		s.byKey.Delete(probe)
		s.byTime.Delete(probe)
		return nil
	}
	kv := copyKV(key, value)
	item := windowItem{ikey: kv.ikey, value: kv.value, start: windowStart}
	if s.opts.RetainDuplicates {
		s.seq++
		item.seq = s.seq
	}
	s.writable()
	s.byKey.ReplaceOrInsert(item)
	s.byTime.ReplaceOrInsert(item)
	return nil
}

// purge removes the windows starting before purgeBefore, the start of the earliest segment
// that is not wholly expired.
func (s *WindowStore) purge(purgeBefore int64) {
	s.ret.purged = purgeBefore
	if oldest, ok := s.byTime.Min(); !ok || oldest.start >= purgeBefore {
		return
	}
	s.writable()
	for {
		oldest, ok := s.byTime.Min()
		if !ok || oldest.start >= purgeBefore {
			return
		}
		s.byTime.DeleteMin()
		s.byKey.Delete(oldest)
	}
}

// Fetch returns key's value for the window starting at windowStart (with RetainDuplicates,
// the first one put), or nil.
func (s *WindowStore) Fetch(key []byte, windowStart int64) ([]byte, error) {
	if s.tr.closed {
		return nil, state.ErrClosed
	}
	if s.ret.expired(windowStart) {
		return nil, nil
	}
	probe := windowItem{ikey: makeKey(key), start: windowStart}
	if !s.opts.RetainDuplicates {
		item, _ := s.byKey.Get(probe)
		return item.value, nil
	}
	var value []byte
	s.byKey.AscendGreaterOrEqual(probe, func(item windowItem) bool {
		if item.start == windowStart && bytes.Equal(item.key, key) {
			value = item.value
		}
		return false
	})
	return value, nil
}

// FetchRange iterates key's windows starting in [from, to].
func (s *WindowStore) FetchRange(key []byte, from, to int64) (state.WindowIterator, error) {
	if key == nil {
		key = []byte{} // a nil key would mean an open bound
	}
	return s.fetch(key, key, from, to, false)
}

// FetchKeyRange iterates the windows of keys in [keyFrom, keyTo] (nil bounds open) starting in
// [from, to], by key then start time.
func (s *WindowStore) FetchKeyRange(keyFrom, keyTo []byte, from, to int64) (state.WindowKeyIterator, error) {
	return s.fetch(keyFrom, keyTo, from, to, false)
}

// FetchAll iterates every window starting in [from, to], by start time then key.
func (s *WindowStore) FetchAll(from, to int64) (state.WindowKeyIterator, error) {
	return s.fetch(nil, nil, from, to, true)
}

// All iterates every window kept, by start time then key.
func (s *WindowStore) All() (state.WindowKeyIterator, error) {
	return s.fetch(nil, nil, math.MinInt64, math.MaxInt64, true)
}

func (s *WindowStore) fetch(keyFrom, keyTo []byte, from, to int64, byTime bool) (*windowIterator, error) {
	if s.tr.closed {
		return nil, state.ErrClosed
	}
	if from > to || keyFrom != nil && keyTo != nil && bytes.Compare(keyFrom, keyTo) > 0 {
		return nil, state.ErrInvalidRange
	}
	it := &windowIterator{from: max(from, s.ret.liveFrom), to: to, byTime: byTime}
	if byTime {
		it.init(s.byTime, lessWindowByTime, false)
		it.startAt(windowItem{start: it.from})
	} else {
		// The bounds are copied: the caller may reuse its buffers while the iterator is open.
		bounds := copyBounds(keyFrom, keyTo)
		it.keyFrom, it.keyTo = makeKey(bounds[0]), makeKey(bounds[1])
		it.init(s.byKey, lessWindowByKey, false)
		it.startAt(windowItem{ikey: it.keyFrom, start: it.from})
	}
	it.open(&s.tr, it, &s.bufs)
	return it, nil
}

// windowIterator is both a state.WindowIterator and a state.WindowKeyIterator over a snapshot
// of a WindowStore.
type windowIterator struct {
	cursor[windowItem]
	keyFrom, keyTo ikey
	from, to       int64
	byTime         bool
	seekTo         windowItem
}

func (it *windowIterator) visit(item windowItem) verdict {
	if it.byTime {
		if item.start > it.to {
			return stop
		}
		return emit
	}
	if it.keyTo.key != nil && compareKeys(&item.ikey, &it.keyTo) > 0 {
		return stop
	}
	switch {
	case item.start < it.from:
		// A new key, with windows before the range: jump to the range.
		it.seekTo = windowItem{ikey: item.ikey, start: it.from}
		return seekAt
	case item.start > it.to:
		// Past this key's range: jump to the next key.
		it.seekTo = windowItem{ikey: item.ikey, start: math.MaxInt64, seq: math.MaxUint64}
		return seekAfter
	}
	return emit
}

func (it *windowIterator) target() windowItem { return it.seekTo }

// Next moves to the next window; false at the end, after Close and after the store closed.
func (it *windowIterator) Next() bool { return it.advance(it) }

// Key returns the current window's key. It belongs to the store: do not modify it.
func (it *windowIterator) Key() []byte { return it.cur.key }

// WindowStart returns the current window's start time.
func (it *windowIterator) WindowStart() int64 { return it.cur.start }

// Value returns the current value. It belongs to the store: do not modify it.
func (it *windowIterator) Value() []byte { return it.cur.value }

// Err returns state.ErrClosed when the store closed under the iterator, else nil.
func (it *windowIterator) Err() error { return it.err }

// Close releases the iterator. It is idempotent.
func (it *windowIterator) Close() error {
	it.close()
	return nil
}
