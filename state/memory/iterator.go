package memory

import (
	"github.com/google/btree"

	"github.com/rillstreams/rill/state"
)

// Iterators read a snapshot of the store, as Kafka Streams' in-memory stores do, so that a
// processor may write to the store while it iterates. A snapshot costs nothing up front: an
// open iterator pins the store's trees, and the first write after that clones them (google/btree
// clones lazily, copy-on-write) so that the store writes new nodes while the iterators keep
// reading the old ones. Writes with no iterator pinning the trees touch them in place.
//
// An iterator copies its first batch out of the tree as it opens, and stops pinning the tree
// once it has copied its last: the short scans of the hot paths (a key's windows in a join, a
// session's merge candidates) never pin the trees at all, so the writes that follow them
// clone nothing.

// tracker keeps a store's open iterators, to close them when the store closes, and counts
// those that pin the current trees.
type tracker struct {
	// gen numbers the trees: a store that clones its trees starts a new generation, and
	// iterators of older ones no longer pin anything.
	gen uint64
	// pins counts the open iterators reading the trees of generation gen.
	pins int
	// open is the sentinel of a circular list of the open iterators.
	open   link
	closed bool
}

// link is an iterator's place in its tracker's list: intrusive, so opening and closing an
// iterator allocates nothing and takes constant time.
type link struct {
	prev, next *link
	it         interface{ shut() }
}

func (t *tracker) init() {
	t.open.prev, t.open.next = &t.open, &t.open
}

// mustClone tells a store about to write whether open iterators pin its trees. When they do,
// the store must clone its trees before writing; mustClone has then already unpinned them.
func (t *tracker) mustClone() bool {
	if t.pins == 0 {
		return false
	}
	t.pins = 0
	t.gen++
	return true
}

func (t *tracker) add(l *link) uint64 {
	l.prev, l.next = t.open.prev, &t.open
	t.open.prev.next = l
	t.open.prev = l
	t.pins++
	return t.gen
}

func (t *tracker) remove(l *link) {
	l.prev.next, l.next.prev = l.next, l.prev
	l.prev, l.next = nil, nil
}

func (t *tracker) unpin(gen uint64) {
	if gen == t.gen {
		t.pins--
	}
}

// closeAll closes the store's open iterators: later calls on them return false and ErrClosed.
func (t *tracker) closeAll() {
	t.closed = true
	for t.open.next != &t.open {
		t.open.next.it.shut()
	}
	t.pins = 0
}

// verdict is what a query decides about one item of the tree it scans.
type verdict uint8

const (
	emit      verdict = iota // hand the item out
	skip                     // pass over it
	stop                     // the scan is over
	seekAt                   // jump to the query's target, included
	seekAfter                // jump past the query's target
)

// query decides which items of a scan to hand out and where to jump. Every iterator type is
// its own query, so passing it costs no allocation.
type query[T any] interface {
	visit(item T) verdict
	// target is where a seek goes; it must lie ahead of the item that asked for it.
	target() T
}

// batchSize is how many items an iterator copies out of the tree per descent: large enough that
// the O(log n) descents are rare, small enough that a one-item fetch copies little.
const batchSize = 64

// maxPooled bounds the buffers a store keeps for its next iterators.
const maxPooled = 16

// cursor is the state common to every iterator: a scan of one tree in batches. Between
// batches it remembers the last item it passed and resumes after it, so it never holds a
// position inside the tree, which the btree package could not give it anyway.
type cursor[T any] struct {
	link    link
	tr      *tracker
	gen     uint64
	tree    *btree.BTreeG[T]
	less    func(a, b T) bool
	reverse bool
	// pivot is where the next batch starts (from the first item when hasPivot is false);
	// inclusive says whether an item equal to it is visited or was handed out already.
	pivot     T
	hasPivot  bool
	inclusive bool
	buf       []T
	pool      *[][]T // where buf goes back when the iterator closes
	pos       int
	done      bool // the scan is over: buf holds the last items
	pinned    bool // the cursor still reads tree, so the store must not write to it
	cur       T
	closed    bool
	err       error
}

// init sets the cursor up; the iterator then sets its bounds and calls open.
func (c *cursor[T]) init(tree *btree.BTreeG[T], less func(a, b T) bool, reverse bool) {
	c.tree, c.less, c.reverse = tree, less, reverse
}

// open registers the cursor with its store, takes a buffer from the store's pool and reads
// the first batch.
func (c *cursor[T]) open(tr *tracker, q interface {
	query[T]
	shut()
}, pool *[][]T) {
	c.tr, c.pool = tr, pool
	c.link.it = q
	c.gen = tr.add(&c.link)
	c.pinned = true
	if n := len(*pool); n > 0 {
		c.buf = (*pool)[n-1][:0]
		(*pool)[n-1] = nil
		*pool = (*pool)[:n-1]
	} else {
		c.buf = make([]T, 0, batchSize)
	}
	c.fill(q)
}

// startAt makes the scan start at pivot, included.
func (c *cursor[T]) startAt(pivot T) {
	c.pivot, c.hasPivot, c.inclusive = pivot, true, true
}

// advance moves to the next item q hands out.
func (c *cursor[T]) advance(q query[T]) bool {
	if c.closed {
		return false
	}
	for c.pos >= len(c.buf) {
		if c.done {
			return false
		}
		c.fill(q)
	}
	c.cur = c.buf[c.pos]
	c.pos++
	return true
}

// fill reads the next batch from the tree.
func (c *cursor[T]) fill(q query[T]) {
	c.buf, c.pos = c.buf[:0], 0
	for {
		seek, full, first := verdict(emit), false, true
		visit := func(item T) bool {
			if first {
				first = false
				// The walk starts at the pivot, which was handed out already unless the
				// pivot is a seek target.
				if c.hasPivot && !c.inclusive && !c.less(c.pivot, item) && !c.less(item, c.pivot) {
					return true
				}
			}
			switch v := q.visit(item); v {
			case emit:
				c.buf = append(c.buf, item)
			case skip:
			case stop:
				c.done = true
				return false
			default:
				seek = v
				return false
			}
			c.pivot, c.hasPivot, c.inclusive = item, true, false
			if len(c.buf) == cap(c.buf) {
				full = true
				return false
			}
			return true
		}
		switch {
		case !c.hasPivot && c.reverse:
			c.tree.Descend(visit)
		case !c.hasPivot:
			c.tree.Ascend(visit)
		case c.reverse:
			c.tree.DescendLessOrEqual(c.pivot, visit)
		default:
			c.tree.AscendGreaterOrEqual(c.pivot, visit)
		}
		if seek != emit {
			c.pivot, c.hasPivot, c.inclusive = q.target(), true, seek == seekAt
			if len(c.buf) == 0 {
				continue
			}
			return
		}
		if !full {
			c.done = true // the walk reached the end of the tree
		}
		if c.done {
			// Everything left is in buf: let the store write in place again.
			c.tr.unpin(c.gen)
			c.pinned, c.tree = false, nil
		}
		return
	}
}

// close unregisters the cursor and gives its buffer back. It is idempotent.
func (c *cursor[T]) close() {
	if c.closed {
		return
	}
	c.closed = true
	c.tr.remove(&c.link)
	if c.pinned {
		c.tr.unpin(c.gen)
	}
	if len(*c.pool) < maxPooled {
		clear(c.buf[:cap(c.buf)]) // pooled buffers must not keep keys and values alive
		*c.pool = append(*c.pool, c.buf[:0])
	}
	var zero T
	c.buf, c.tree, c.cur, c.pivot = nil, nil, zero, zero
}

// shut is close by the store: the iterator reports ErrClosed from then on.
func (c *cursor[T]) shut() {
	if !c.closed {
		c.tr.remove(&c.link)
	}
	c.closed = true
	c.err = state.ErrClosed
	var zero T
	c.buf, c.tree, c.cur, c.pivot = nil, nil, zero, zero
}
