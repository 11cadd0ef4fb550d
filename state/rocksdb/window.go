package rocksdb

import (
	"bytes"
	"math"

	"github.com/rillstreams/rill/state"
)

// A window store's segment holds each window twice, in one column family:
//
//	kindKey  esc(key) start [seq]  → value   key-ordered: Fetch, FetchRange, FetchKeyRange
//	kindTime start esc(key) [seq]  → empty   time-ordered index: FetchAll, All
//
// The interface orders time-range scans by window start then key. Kafka Streams' RocksDB
// window store walks each segment in key order instead, which a caller cannot rely on; a
// time index written in the same batch as the entry gives the documented order without
// sorting a segment in memory, for one more small memtable insert per Put. The index holds
// no value (FetchAll looks it up by key), so it costs little space.
//
// seq (4 bytes, big endian) is present only with RetainDuplicates: it keeps each Put of the
// same key and window apart, in insertion order.
const (
	kindKey  = 0x01
	kindTime = 0x02
)

type windowStore struct {
	*segments
	dups bool
	// timeIndex: transaction-mode puts write the time index too (always but for the
	// duplicates stores of window_dups.go), and FetchAll reads it.
	timeIndex bool

	// Scratch buffers for the keys of one operation (RocksDB copies what it keeps).
	kbuf, tbuf, lbuf, ubuf []byte
}

var _ state.WindowBytesStore = (*windowStore)(nil)

func openWindowStore(b *Backend, name, dir string, opts state.WindowOptions) (*windowStore, error) {
	layout := layoutWindow
	if opts.RetainDuplicates {
		layout = layoutDupsKeyOrder
	}
	sg, err := openSegments(b, name, dir, layout, opts)
	if err != nil {
		return nil, err
	}
	w := &windowStore{segments: sg, dups: opts.RetainDuplicates, timeIndex: sg.layout != layoutDupsKeyOrder}
	sg.owner = w
	if err := w.recoverObserved(); err != nil {
		_ = w.Close()
		return nil, err
	}
	return w, nil
}

// recoverObserved moves observed stream time up to the latest window start stored: writes
// after the last Flush may have reached disk (memtables fill and flush on their own), and
// the metadata only has the time of that Flush.
func (w *windowStore) recoverObserved() error {
	for i := len(w.live) - 1; i >= 0; i-- {
		c := w.newCursor(w.live[i].cf, []byte{kindTime}, []byte{kindTime + 1})
		var (
			start int64
			found bool
		)
		if c.move(moveLast) {
			if k := c.k; len(k) >= 1+timeLen {
				start, found = readTime(k[1:]), true
			}
		}
		err := c.err()
		w.closeCursor(&c)
		if err != nil {
			return w.errorf("read newest window: %w", err)
		}
		if found {
			return w.observe(start)
		}
	}
	return nil
}

func (w *windowStore) Name() string     { return w.name }
func (w *windowStore) Persistent() bool { return true }
func (w *windowStore) Retention() int64 { return w.retention }

// appendKeyEntry appends the key-ordered entry key of (key, start, seq).
func (w *windowStore) appendKeyEntry(dst, key []byte, start int64, seq uint32) []byte {
	dst = appendKey(append(dst, kindKey), key)
	dst = appendTime(dst, start)
	if w.dups {
		dst = appendSeq(dst, seq)
	}
	return dst
}

// appendTimeEntry appends the time index key of (key, start, seq).
func (w *windowStore) appendTimeEntry(dst, key []byte, start int64, seq uint32) []byte {
	dst = appendTime(append(dst, kindTime), start)
	dst = appendKey(dst, key)
	if w.dups {
		dst = appendSeq(dst, seq)
	}
	return dst
}

func (w *windowStore) Put(key, value []byte, windowStart int64) error {
	if w.db == nil {
		return w.closedErr()
	}
	// Every Put moves stream time, deleting ones included (state.WindowBytesStore: the
	// largest window start the store has been given).
	if err := w.observe(windowStart); err != nil {
		return err
	}
	if w.expired(windowStart) || value == nil && w.dups {
		// A duplicate cannot be named, so it cannot be deleted: Kafka Streams ignores
		// these too, and retention removes them.
		return nil
	}
	cf, err := w.segmentCF(windowStart, value != nil)
	if err != nil || cf == nil {
		return err
	}
	var seq uint32
	if w.dups {
		w.seq++
		seq = w.seq
	}
	w.kbuf = w.appendKeyEntry(w.kbuf[:0], key, windowStart, seq)
	if !w.timeIndex && w.txn != nil {
		return w.write(cf, value == nil, w.kbuf, value, nil, nil) // window_dups.go
	}
	w.tbuf = w.appendTimeEntry(w.tbuf[:0], key, windowStart, seq)
	return w.write(cf, value == nil, w.kbuf, value, w.tbuf, nil)
}

func (w *windowStore) Fetch(key []byte, windowStart int64) ([]byte, error) {
	if w.db == nil {
		return nil, w.closedErr()
	}
	if w.expired(windowStart) {
		return nil, nil
	}
	i, ok := w.segment(windowStart)
	if !ok {
		return nil, nil
	}
	cf := w.live[i].cf
	if !w.dups {
		w.kbuf = w.appendKeyEntry(w.kbuf[:0], key, windowStart, 0)
		return w.get(cf, w.kbuf)
	}
	// Any one of the duplicates: the first.
	w.lbuf = appendTime(appendKey(append(w.lbuf[:0], kindKey), key), windowStart)
	w.ubuf = successor(w.ubuf, w.lbuf)
	c := w.newCursor(cf, w.lbuf, w.ubuf)
	defer w.closeCursor(&c)
	if !c.move(moveFirst) {
		if err := c.err(); err != nil {
			return nil, w.errorf("fetch: %w", err)
		}
		return nil, nil
	}
	v := c.v
	return append(make([]byte, 0, len(v)), v...), nil
}

func (w *windowStore) FetchRange(key []byte, from, to int64) (state.WindowIterator, error) {
	if w.db == nil {
		return nil, w.closedErr()
	}
	it := w.newIter(false, from, to)
	for _, seg := range w.span(it.from, it.to) {
		w.lbuf = appendTime(appendKey(append(w.lbuf[:0], kindKey), key), it.from)
		if it.to == math.MaxInt64 {
			w.ubuf = appendKeyAfter(append(w.ubuf[:0], kindKey), key)
		} else {
			w.ubuf = appendTime(appendKey(append(w.ubuf[:0], kindKey), key), it.to+1)
		}
		it.sc.open(seg.cf, w.lbuf, w.ubuf)
	}
	return it, nil
}

func (w *windowStore) FetchKeyRange(keyFrom, keyTo []byte, from, to int64) (state.WindowKeyIterator, error) {
	if w.db == nil {
		return nil, w.closedErr()
	}
	if keyFrom != nil && keyTo != nil && bytes.Compare(keyFrom, keyTo) > 0 {
		return nil, state.ErrInvalidRange
	}
	it := w.newIter(false, from, to)
	segs := w.span(it.from, it.to)
	it.sc.merge = len(segs) > 1
	w.lbuf = append(w.lbuf[:0], kindKey)
	if keyFrom != nil {
		w.lbuf = appendKey(w.lbuf, keyFrom)
	}
	if keyTo != nil {
		w.ubuf = appendKeyAfter(append(w.ubuf[:0], kindKey), keyTo)
	} else {
		w.ubuf = append(w.ubuf[:0], kindKey+1)
	}
	for _, seg := range segs {
		it.sc.open(seg.cf, w.lbuf, w.ubuf)
	}
	return it, nil
}

func (w *windowStore) FetchAll(from, to int64) (state.WindowKeyIterator, error) {
	if w.db == nil {
		return nil, w.closedErr()
	}
	if !w.timeIndex {
		return w.fetchAllSorted(from, to)
	}
	it := w.newIter(true, from, to)
	for _, seg := range w.span(it.from, it.to) {
		w.lbuf = appendTime(append(w.lbuf[:0], kindTime), it.from)
		if it.to == math.MaxInt64 {
			w.ubuf = append(w.ubuf[:0], kindTime+1)
		} else {
			w.ubuf = appendTime(append(w.ubuf[:0], kindTime), it.to+1)
		}
		it.sc.open(seg.cf, w.lbuf, w.ubuf)
	}
	return it, nil
}

func (w *windowStore) All() (state.WindowKeyIterator, error) {
	return w.FetchAll(math.MinInt64, math.MaxInt64)
}

// newIter returns an iterator over window starts [from, to], less the expired ones, with
// no cursors yet.
func (w *windowStore) newIter(byTime bool, from, to int64) *windowIter {
	it := &windowIter{w: w, byTime: byTime, from: w.liveFrom(from), to: to,
		key: w.takeBuf(), value: w.takeBuf()}
	if byTime {
		it.kbuf = w.takeBuf()
	}
	it.sc.s = w.store
	w.track(&it.node, it)
	return it
}

// windowIter is the iterator of every window store scan. Cursors over the key-ordered
// entries yield values directly; cursors over the time index look each value up in the
// segment. Key and Value are copies in buffers the iterator reuses.
type windowIter struct {
	w        *windowStore
	node     iterNode
	sc       segCursors
	byTime   bool
	from, to int64

	done  bool
	err   error
	key   []byte
	value []byte
	start int64
	kbuf  []byte // key entry looked up for a time index entry
}

func (it *windowIter) Next() bool {
	for !it.done {
		ok, err := it.sc.next()
		if err != nil {
			it.fail(it.w.errorf("iterate: %w", err))
			return false
		}
		if !ok {
			it.release()
			return false
		}
		if it.load() {
			return true
		}
	}
	return false
}

// load decodes the cursors' current entry and tells whether the iterator yields it: its
// window must be in range and not expired (stream time may have moved since the iterator
// was opened), and still be there for an index entry.
func (it *windowIter) load() bool {
	k := it.sc.key()
	var (
		start int64
		key   []byte
		rest  []byte
		ok    bool
	)
	if it.byTime {
		if len(k) < 1+timeLen {
			it.fail(it.w.errorf("corrupt window index key %x", k))
			return false
		}
		start = readTime(k[1:])
		if start < it.from || start > it.to || it.w.expired(start) {
			return false
		}
		esc := k[1+timeLen:]
		if key, rest, ok = readKey(it.key, esc); !ok {
			it.fail(it.w.errorf("corrupt window index key %x", k))
			return false
		}
		it.key = key
		// The key entry: kindKey, escaped key, start, seq.
		it.kbuf = append(append(it.kbuf[:0], kindKey), esc[:len(esc)-len(rest)]...)
		it.kbuf = append(append(it.kbuf, k[1:1+timeLen]...), rest...)
		v, found, err := it.w.getInto(it.sc.segmentCF(), it.kbuf, it.value)
		if err != nil {
			it.fail(err)
			return false
		}
		if !found {
			return false // deleted since the iterator was opened
		}
		it.value = v
	} else {
		if key, rest, ok = readKey(it.key, k[1:]); !ok || len(rest) < timeLen {
			it.fail(it.w.errorf("corrupt window key %x", k))
			return false
		}
		start = readTime(rest)
		if start < it.from || start > it.to || it.w.expired(start) {
			it.key = key
			return false
		}
		it.key = key
		it.value = copyInto(it.value, it.sc.value())
	}
	it.start = start
	return true
}

func (it *windowIter) Key() []byte {
	if it.key == nil {
		return emptyValue
	}
	return it.key
}

func (it *windowIter) WindowStart() int64 { return it.start }
func (it *windowIter) Value() []byte      { return it.value }
func (it *windowIter) Err() error         { return it.err }

func (it *windowIter) Close() error {
	it.release()
	return nil
}

func (it *windowIter) fail(err error) {
	it.err = err
	it.release()
}

// release frees the cursors; see kvIterator.release.
func (it *windowIter) release() {
	if it.done {
		return
	}
	it.done = true
	if it.w.closing && it.err == nil {
		it.err = state.ErrClosed
	}
	it.sc.close()
	it.w.untrack(&it.node)
	it.w.iteratorClosed()
	it.w.putBuf(it.key)
	it.w.putBuf(it.value)
	it.w.putBuf(it.kbuf)
	it.key, it.value, it.kbuf = nil, nil, nil
}
