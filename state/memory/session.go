package memory

import (
	"bytes"
	"fmt"
	"math"

	"github.com/google/btree"

	"github.com/rillstreams/rill/state"
)

// SessionStore is an in-memory state.SessionBytesStore. Sessions live in two B-trees holding
// the same entries: one ordered by key, end and start, the order of its iterators (RocksDB's
// session key schema), and one by end, key and start, to drop expired sessions oldest first.
//
// Retention follows Kafka Streams: observed stream time is the largest session end put so far
// (by any Put, deleting ones included); a session ending at or before observedStreamTime -
// Retention is expired: never returned, and Puts to it are dropped. Expired sessions are
// removed a segment of end times at a time.
//
// Values and keys returned belong to the store: do not modify them.
type SessionStore struct {
	name  string
	opts  state.WindowOptions
	byKey *btree.BTreeG[sessionItem]
	byEnd *btree.BTreeG[sessionItem]
	ret   retention
	tr    tracker
	bufs  [][]sessionItem
}

type sessionItem struct {
	ikey
	value      []byte
	start, end int64
}

func lessSessionByKey(a, b sessionItem) bool {
	if c := compareKeys(&a.ikey, &b.ikey); c != 0 {
		return c < 0
	}
	if a.end != b.end {
		return a.end < b.end
	}
	return a.start < b.start
}

func lessSessionByEnd(a, b sessionItem) bool {
	if a.end != b.end {
		return a.end < b.end
	}
	if c := compareKeys(&a.ikey, &b.ikey); c != 0 {
		return c < 0
	}
	return a.start < b.start
}

var _ state.SessionBytesStore = (*SessionStore)(nil)

// NewSessionStore returns an empty session store named name. Retention must be positive; a
// zero SegmentInterval defaults to max(Retention/2, 60000). RetainDuplicates is ignored: a
// session has one aggregate.
func NewSessionStore(name string, opts state.WindowOptions) (*SessionStore, error) {
	opts, err := checkOptions("session", name, opts)
	if err != nil {
		return nil, err
	}
	s := &SessionStore{
		name:  name,
		opts:  opts,
		byKey: btree.NewG(btreeDegree, lessSessionByKey),
		byEnd: btree.NewG(btreeDegree, lessSessionByEnd),
		ret:   newRetention(opts),
	}
	s.tr.init()
	return s, nil
}

// Name returns the store's name.
func (s *SessionStore) Name() string { return s.name }

// Retention returns how long sessions are kept after their end, in milliseconds of stream time.
func (s *SessionStore) Retention() int64 { return s.opts.Retention }

// Persistent is false.
func (s *SessionStore) Persistent() bool { return false }

// Flush does nothing.
func (s *SessionStore) Flush() error {
	if s.tr.closed {
		return state.ErrClosed
	}
	return nil
}

// Close closes the store and its open iterators and drops its data.
func (s *SessionStore) Close() error {
	if s.tr.closed {
		return nil
	}
	s.tr.closeAll()
	s.byKey, s.byEnd, s.bufs = nil, nil, nil
	return nil
}

func (s *SessionStore) writable() {
	if s.tr.mustClone() {
		s.byKey, s.byEnd = s.byKey.Clone(), s.byEnd.Clone()
	}
}

// Put stores a copy of value for key's session [start, end]; nil removes it. Puts to expired
// sessions are dropped.
func (s *SessionStore) Put(key []byte, start, end int64, value []byte) error {
	if s.tr.closed {
		return state.ErrClosed
	}
	if end < start {
		return fmt.Errorf("rill: session store %q: session [%d, %d] ends before it starts", s.name, start, end)
	}
	if purgeBefore := s.ret.observe(end); purgeBefore > s.ret.purged {
		s.purge(purgeBefore)
	}
	if s.ret.expired(end) {
		return nil // late: Kafka Streams logs and drops it
	}
	if value == nil {
		s.remove(key, start, end)
		return nil
	}
	kv := copyKV(key, value)
	s.writable()
	item := sessionItem{ikey: kv.ikey, value: kv.value, start: start, end: end}
	s.byKey.ReplaceOrInsert(item)
	s.byEnd.ReplaceOrInsert(item)
	return nil
}

// Remove deletes key's session [start, end]. Unlike a Put of nil, it does not move stream time.
func (s *SessionStore) Remove(key []byte, start, end int64) error {
	if s.tr.closed {
		return state.ErrClosed
	}
	s.remove(key, start, end)
	return nil
}

func (s *SessionStore) remove(key []byte, start, end int64) {
	probe := sessionItem{ikey: makeKey(key), start: start, end: end}
	if !s.byKey.Has(probe) {
		return
	}
	s.writable()
	s.byKey.Delete(probe)
	s.byEnd.Delete(probe)
}

// purge removes the sessions ending before purgeBefore, the start of the earliest segment of
// end times that is not wholly expired.
func (s *SessionStore) purge(purgeBefore int64) {
	s.ret.purged = purgeBefore
	if oldest, ok := s.byEnd.Min(); !ok || oldest.end >= purgeBefore {
		return
	}
	s.writable()
	for {
		oldest, ok := s.byEnd.Min()
		if !ok || oldest.end >= purgeBefore {
			return
		}
		s.byEnd.DeleteMin()
		s.byKey.Delete(oldest)
	}
}

// FetchSession returns the value of key's session [start, end], or nil.
func (s *SessionStore) FetchSession(key []byte, start, end int64) ([]byte, error) {
	if s.tr.closed {
		return nil, state.ErrClosed
	}
	if s.ret.expired(end) {
		return nil, nil
	}
	item, _ := s.byKey.Get(sessionItem{ikey: makeKey(key), start: start, end: end})
	return item.value, nil
}

// FindSessions iterates key's sessions that end at or after earliestEnd and start at or before
// latestStart, by end then start: the sessions a record could merge with.
func (s *SessionStore) FindSessions(key []byte, earliestEnd, latestStart int64) (state.SessionIterator, error) {
	if key == nil {
		key = []byte{} // a nil key would mean an open bound
	}
	return s.find(key, key, earliestEnd, latestStart)
}

// FindSessionsRange is FindSessions over the keys in [keyFrom, keyTo] (nil bounds open), by
// key, end and start.
func (s *SessionStore) FindSessionsRange(keyFrom, keyTo []byte, earliestEnd, latestStart int64) (state.SessionIterator, error) {
	return s.find(keyFrom, keyTo, earliestEnd, latestStart)
}

// Fetch iterates every session of key kept, by end then start.
func (s *SessionStore) Fetch(key []byte) (state.SessionIterator, error) {
	return s.FindSessions(key, math.MinInt64, math.MaxInt64)
}

func (s *SessionStore) find(keyFrom, keyTo []byte, earliestEnd, latestStart int64) (*sessionIterator, error) {
	if s.tr.closed {
		return nil, state.ErrClosed
	}
	if keyFrom != nil && keyTo != nil && bytes.Compare(keyFrom, keyTo) > 0 {
		return nil, state.ErrInvalidRange
	}
	it := &sessionIterator{earliestEnd: max(earliestEnd, s.ret.liveFrom), latestStart: latestStart}
	// The bounds are copied: the caller may reuse its buffers while the iterator is open.
	bounds := copyBounds(keyFrom, keyTo)
	it.keyFrom, it.keyTo = makeKey(bounds[0]), makeKey(bounds[1])
	it.init(s.byKey, lessSessionByKey, false)
	it.startAt(sessionItem{ikey: it.keyFrom, end: it.earliestEnd, start: math.MinInt64})
	it.open(&s.tr, it, &s.bufs)
	return it, nil
}

// sessionIterator is a state.SessionIterator over a snapshot of a SessionStore.
type sessionIterator struct {
	cursor[sessionItem]
	keyFrom, keyTo ikey
	earliestEnd    int64
	latestStart    int64
	seekTo         sessionItem
}

func (it *sessionIterator) visit(item sessionItem) verdict {
	if it.keyTo.key != nil && compareKeys(&item.ikey, &it.keyTo) > 0 {
		return stop
	}
	if item.end < it.earliestEnd {
		// A new key, with sessions ended before the range: jump past them.
		it.seekTo = sessionItem{ikey: item.ikey, end: it.earliestEnd, start: math.MinInt64}
		return seekAt
	}
	if item.start > it.latestStart {
		// Starts too late; a later session of the same key may end later yet start earlier.
		return skip
	}
	return emit
}

func (it *sessionIterator) target() sessionItem { return it.seekTo }

// Next moves to the next session; false at the end, after Close and after the store closed.
func (it *sessionIterator) Next() bool { return it.advance(it) }

// Key returns the current session's key. It belongs to the store: do not modify it.
func (it *sessionIterator) Key() []byte { return it.cur.key }

// Start returns the current session's start time.
func (it *sessionIterator) Start() int64 { return it.cur.start }

// End returns the current session's end time.
func (it *sessionIterator) End() int64 { return it.cur.end }

// Value returns the current value. It belongs to the store: do not modify it.
func (it *sessionIterator) Value() []byte { return it.cur.value }

// Err returns state.ErrClosed when the store closed under the iterator, else nil.
func (it *sessionIterator) Err() error { return it.err }

// Close releases the iterator. It is idempotent.
func (it *sessionIterator) Close() error {
	it.close()
	return nil
}
