package rocksdb

import (
	"github.com/linxGnu/grocksdb"
)

// releaser is an iterator of a store: release frees its native objects. Its own Close calls
// it, and so does the store's Close for iterators left open.
type releaser interface{ release() }

// iterNode links an open iterator into its store's list: intrusive, so that opening and
// closing iterators allocates nothing and leaked ones can still be found.
type iterNode struct {
	prev, next *iterNode
	it         releaser
}

func (s *store) track(n *iterNode, it releaser) {
	n.it = it
	n.prev, n.next = s.iters.prev, &s.iters
	s.iters.prev.next = n
	s.iters.prev = n
}

func (s *store) untrack(n *iterNode) {
	if n.next == nil {
		return
	}
	n.prev.next, n.next.prev = n.next, n.prev
	n.prev, n.next = nil, nil
}

// hasIterators tells whether any iterator is open.
func (s *store) hasIterators() bool { return s.iters.next != &s.iters }

// releaseIterators releases every open iterator; each one untracks itself.
func (s *store) releaseIterators() {
	for s.hasIterators() {
		n := s.iters.next
		n.it.release()
		s.untrack(n) // in case release did not
	}
}

// boundsRO is read options with iteration bounds. RocksDB keeps a pointer to the bounds
// (inside the native read options, pointing at lower and upper here) for the life of the
// iterator, so each iterator needs its own, and the bound bytes must stay put and
// unchanged: they are owned here and reused only once the iterator is destroyed. Go's heap
// does not move, and lower and upper stay referenced while RocksDB uses them.
type boundsRO struct {
	ro           *grocksdb.ReadOptions
	lower, upper []byte
}

// readOptions returns read options bounded to [lower, upper) (nil: unbounded).
func (s *store) readOptions(lower, upper []byte) *boundsRO {
	var p *boundsRO
	if n := len(s.pool); n > 0 {
		p = s.pool[n-1]
		s.pool = s.pool[:n-1]
	} else {
		p = &boundsRO{ro: grocksdb.NewDefaultReadOptions()}
	}
	if lower == nil {
		p.ro.SetIterateLowerBound(nil)
	} else {
		p.lower = append(p.lower[:0], lower...)
		p.ro.SetIterateLowerBound(p.lower)
	}
	if upper == nil {
		p.ro.SetIterateUpperBound(nil)
	} else {
		p.upper = append(p.upper[:0], upper...)
		p.ro.SetIterateUpperBound(p.upper)
	}
	return p
}

// takeBuf returns a byte buffer for an iterator's copies of keys and values: iterators are
// opened for every range scan, and their buffers are reused rather than reallocated.
func (s *store) takeBuf() []byte {
	if n := len(s.bufs); n > 0 {
		b := s.bufs[n-1]
		s.bufs = s.bufs[:n-1]
		return b
	}
	return nil
}

// putBuf keeps b for takeBuf, unless it is empty or too large to keep.
func (s *store) putBuf(b []byte) {
	if cap(b) > 0 && cap(b) <= maxScratch && len(s.bufs) < maxBufs {
		s.bufs = append(s.bufs, b[:0])
	}
}

const maxBufs = 64

// emptyValue is returned for empty values: never nil, which would mean absent.
var emptyValue = []byte{}

// copyInto copies src into dst's storage, keeping empty slices non-nil.
func copyInto(dst, src []byte) []byte {
	dst = append(dst[:0], src...)
	if dst == nil {
		return emptyValue
	}
	return dst
}
