package rocksdb

import (
	"bytes"

	"github.com/linxGnu/grocksdb"
)

// segCursors walks one cursor per segment, either one segment after the other (time-ordered
// scans: segments are disjoint, ascending time ranges) or merged by key (key-ordered scans,
// where a key's entries are spread over segments). Merging is a k-way merge on a binary heap
// of the cursors' current keys, which are copied to Go memory so that comparisons make no
// native calls. No two cursors can hold the same key: a key and time belong to one segment.
type segCursors struct {
	s     *store
	curs  []cursor
	cfs   []*grocksdb.ColumnFamilyHandle // cfs[i] is curs[i]'s segment, for lookups
	merge bool

	cur     int  // the cursor at the current entry
	started bool // cursors have been positioned

	keys [][]byte // merge: each cursor's current key
	heap []int    // merge: cursors with an entry, a min-heap on keys

	// Most scans span one or two segments: their cursors need no allocation.
	cursArr [2]cursor
	cfsArr  [2]*grocksdb.ColumnFamilyHandle
}

// open adds a cursor on segment cf bounded to [lower, upper).
func (c *segCursors) open(cf *grocksdb.ColumnFamilyHandle, lower, upper []byte) {
	if c.curs == nil {
		c.curs, c.cfs = c.cursArr[:0], c.cfsArr[:0]
	}
	c.curs = append(c.curs, c.s.newCursor(cf, lower, upper))
	c.cfs = append(c.cfs, cf)
}

// next moves to the next entry and tells whether there is one.
func (c *segCursors) next() (bool, error) {
	if c.merge {
		return c.nextMerged()
	}
	for c.cur < len(c.curs) {
		cur := &c.curs[c.cur]
		m := moveFirst
		if c.started {
			m = moveNext
		}
		c.started = true
		if cur.move(m) {
			return true, nil
		}
		if err := cur.err(); err != nil {
			return false, err
		}
		// Done with this segment: free it now rather than at Close.
		c.s.closeCursor(cur)
		c.cur++
		c.started = false
	}
	return false, nil
}

func (c *segCursors) nextMerged() (bool, error) {
	if !c.started {
		c.started = true
		c.keys = make([][]byte, len(c.curs))
		c.heap = make([]int, 0, len(c.curs))
		for i := range c.curs {
			ok, err := c.load(i, moveFirst)
			if err != nil {
				return false, err
			}
			if ok {
				c.heap = append(c.heap, i)
			}
		}
		for i := len(c.heap)/2 - 1; i >= 0; i-- {
			c.down(i)
		}
	} else if len(c.heap) > 0 {
		i := c.heap[0]
		ok, err := c.load(i, moveNext)
		if err != nil {
			return false, err
		}
		if !ok {
			last := len(c.heap) - 1
			c.heap[0] = c.heap[last]
			c.heap = c.heap[:last]
		}
		if len(c.heap) > 0 {
			c.down(0)
		}
	}
	if len(c.heap) == 0 {
		return false, nil
	}
	c.cur = c.heap[0]
	return true, nil
}

// load moves cursor i and copies its key, or closes the cursor when it is exhausted.
func (c *segCursors) load(i, m int) (bool, error) {
	cur := &c.curs[i]
	if cur.move(m) {
		c.keys[i] = append(c.keys[i][:0], cur.k...)
		return true, nil
	}
	err := cur.err()
	c.s.closeCursor(cur)
	return false, err
}

func (c *segCursors) less(a, b int) bool {
	return bytes.Compare(c.keys[c.heap[a]], c.keys[c.heap[b]]) < 0
}

func (c *segCursors) down(i int) {
	n := len(c.heap)
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		m := l
		if r := l + 1; r < n && c.less(r, l) {
			m = r
		}
		if !c.less(m, i) {
			return
		}
		c.heap[i], c.heap[m] = c.heap[m], c.heap[i]
		i = m
	}
}

// key is the current entry's key: valid until next.
func (c *segCursors) key() []byte {
	if c.merge {
		return c.keys[c.cur]
	}
	return c.curs[c.cur].k
}

// value is the current entry's value, in native memory: valid until next.
func (c *segCursors) value() []byte { return c.curs[c.cur].v }

// segmentCF is the column family of the current entry's segment.
func (c *segCursors) segmentCF() *grocksdb.ColumnFamilyHandle { return c.cfs[c.cur] }

// close closes every cursor.
func (c *segCursors) close() {
	for i := range c.curs {
		c.s.closeCursor(&c.curs[i])
	}
}
