package rocksdb

import (
	"bytes"
	"fmt"
	"math"

	"github.com/rillstreams/rill/state"
)

// A session store's segment (by end time) holds
//
//	kindKey esc(key) end start → value
//
// which is the interface's order (key, end, start) within a segment; scans over several
// segments merge them by key. Sessions need no time index: nothing scans them by time. The
// kind byte keeps records apart from the segment's metadata (metaPrefix).
type sessionStore struct {
	*segments

	// Scratch buffers for the keys of one operation.
	kbuf, lbuf, ubuf []byte
}

var _ state.SessionBytesStore = (*sessionStore)(nil)

func openSessionStore(b *Backend, name, dir string, opts state.WindowOptions) (*sessionStore, error) {
	sg, err := openSegments(b, name, dir, "session/v1", opts)
	if err != nil {
		return nil, err
	}
	s := &sessionStore{segments: sg}
	sg.owner = s
	if err := s.recoverObserved(); err != nil {
		_ = s.Close()
		return nil, err
	}
	return s, nil
}

// recoverObserved moves observed stream time up to at least the start of the newest
// segment: writes after the last Flush may have reached disk (memtables fill and flush on
// their own), and the metadata only has the time of that Flush. Finding the exact latest
// end would mean reading the whole segment; its start is a lower bound, so retention may
// keep a little more than it must until the next Put moves the time on.
func (s *sessionStore) recoverObserved() error {
	// The newest segment holding a session: a transaction that aborted (or never
	// committed before a crash) may have created empty segments ahead.
	for i := len(s.live) - 1; i >= 0; i-- {
		c := s.newCursor(s.live[i].cf, []byte{kindKey}, []byte{kindKey + 1})
		found := c.move(moveFirst)
		err := c.err()
		s.closeCursor(&c)
		if err != nil {
			return s.errorf("read newest session: %w", err)
		}
		if !found {
			continue
		}
		id := s.live[i].id
		if id < math.MinInt64/s.interval { // id * interval would overflow
			return nil
		}
		return s.observe(id * s.interval)
	}
	return nil
}

func (s *sessionStore) Name() string     { return s.name }
func (s *sessionStore) Persistent() bool { return true }
func (s *sessionStore) Retention() int64 { return s.retention }

func (s *sessionStore) appendEntry(dst, key []byte, start, end int64) []byte {
	return appendTime(appendTime(appendKey(append(dst, kindKey), key), end), start)
}

func checkSession(start, end int64) error {
	if start > end {
		return fmt.Errorf("rill: session [%d, %d] ends before it starts", start, end)
	}
	return nil
}

func (s *sessionStore) Put(key []byte, start, end int64, value []byte) error {
	if s.db == nil {
		return s.closedErr()
	}
	if err := checkSession(start, end); err != nil {
		return err
	}
	if err := s.observe(end); err != nil {
		return err
	}
	if s.expired(end) {
		return nil
	}
	cf, err := s.segmentCF(end, value != nil)
	if err != nil || cf == nil {
		return err
	}
	s.kbuf = s.appendEntry(s.kbuf[:0], key, start, end)
	return s.write(cf, value == nil, s.kbuf, value, nil, nil)
}

func (s *sessionStore) Remove(key []byte, start, end int64) error {
	return s.Put(key, start, end, nil)
}

func (s *sessionStore) FetchSession(key []byte, start, end int64) ([]byte, error) {
	if s.db == nil {
		return nil, s.closedErr()
	}
	if start > end || s.expired(end) {
		return nil, nil
	}
	i, ok := s.segment(end)
	if !ok {
		return nil, nil
	}
	s.kbuf = s.appendEntry(s.kbuf[:0], key, start, end)
	return s.get(s.live[i].cf, s.kbuf)
}

func (s *sessionStore) FindSessions(key []byte, earliestEnd, latestStart int64) (state.SessionIterator, error) {
	if s.db == nil {
		return nil, s.closedErr()
	}
	it := s.newIter(earliestEnd, latestStart)
	// Sessions end at or after earliestEnd: every segment from earliestEnd's on. One
	// key's sessions in segment order are in end order.
	for _, seg := range s.span(it.earliestEnd, math.MaxInt64) {
		s.lbuf = appendTime(appendKey(append(s.lbuf[:0], kindKey), key), it.earliestEnd)
		s.ubuf = appendKeyAfter(append(s.ubuf[:0], kindKey), key)
		it.sc.open(seg.cf, s.lbuf, s.ubuf)
	}
	return it, nil
}

func (s *sessionStore) FindSessionsRange(keyFrom, keyTo []byte, earliestEnd, latestStart int64) (state.SessionIterator, error) {
	if s.db == nil {
		return nil, s.closedErr()
	}
	if keyFrom != nil && keyTo != nil && bytes.Compare(keyFrom, keyTo) > 0 {
		return nil, state.ErrInvalidRange
	}
	it := s.newIter(earliestEnd, latestStart)
	segs := s.span(it.earliestEnd, math.MaxInt64)
	it.sc.merge = len(segs) > 1
	s.lbuf = append(s.lbuf[:0], kindKey)
	if keyFrom != nil {
		s.lbuf = appendKey(s.lbuf, keyFrom)
	}
	if keyTo != nil {
		s.ubuf = appendKeyAfter(append(s.ubuf[:0], kindKey), keyTo)
	} else {
		s.ubuf = append(s.ubuf[:0], kindKey+1)
	}
	for _, seg := range segs {
		it.sc.open(seg.cf, s.lbuf, s.ubuf)
	}
	return it, nil
}

func (s *sessionStore) Fetch(key []byte) (state.SessionIterator, error) {
	return s.FindSessions(key, math.MinInt64, math.MaxInt64)
}

func (s *sessionStore) newIter(earliestEnd, latestStart int64) *sessionIter {
	it := &sessionIter{s: s, earliestEnd: s.liveFrom(earliestEnd), latestStart: latestStart,
		key: s.takeBuf(), value: s.takeBuf()}
	it.sc.s = s.store
	s.track(&it.node, it)
	return it
}

// sessionIter walks sessions ending at or after earliestEnd and starting at or before
// latestStart. Key and Value are copies in buffers it reuses.
type sessionIter struct {
	s                        *sessionStore
	node                     iterNode
	sc                       segCursors
	earliestEnd, latestStart int64

	done       bool
	err        error
	key, value []byte
	start, end int64
}

func (it *sessionIter) Next() bool {
	for !it.done {
		ok, err := it.sc.next()
		if err != nil {
			it.fail(it.s.errorf("iterate: %w", err))
			return false
		}
		if !ok {
			it.release()
			return false
		}
		k := it.sc.key()
		if len(k) == 0 {
			it.fail(it.s.errorf("corrupt session key %x", k))
			return false
		}
		key, rest, ok := readKey(it.key, k[1:])
		it.key = key
		if !ok || len(rest) != 2*timeLen {
			it.fail(it.s.errorf("corrupt session key %x", k))
			return false
		}
		end, start := readTime(rest), readTime(rest[timeLen:])
		if end < it.earliestEnd || start > it.latestStart || it.s.expired(end) {
			continue
		}
		it.start, it.end = start, end
		it.value = copyInto(it.value, it.sc.value())
		return true
	}
	return false
}

func (it *sessionIter) Key() []byte {
	if it.key == nil {
		return emptyValue
	}
	return it.key
}

func (it *sessionIter) Start() int64  { return it.start }
func (it *sessionIter) End() int64    { return it.end }
func (it *sessionIter) Value() []byte { return it.value }
func (it *sessionIter) Err() error    { return it.err }

func (it *sessionIter) Close() error {
	it.release()
	return nil
}

func (it *sessionIter) fail(err error) {
	it.err = err
	it.release()
}

func (it *sessionIter) release() {
	if it.done {
		return
	}
	it.done = true
	if it.s.closing && it.err == nil {
		it.err = state.ErrClosed
	}
	it.sc.close()
	it.s.untrack(&it.node)
	it.s.iteratorClosed()
	it.s.putBuf(it.key)
	it.s.putBuf(it.value)
	it.key, it.value = nil, nil
}
