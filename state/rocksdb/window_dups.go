package rocksdb

import (
	"bytes"
	"slices"

	"github.com/rillstreams/rill/state"
)

// Window stores that retain duplicates (the buffers of stream-stream joins) are read by key
// and time range (FetchRange, the join's lookup) and almost never in time order: rill and
// Kafka Streams only expire them by retention. In transaction mode, where the runtime runs
// every store, their puts therefore write the key-ordered entry alone, without the time
// index: half the writes to the overlay, the commit batch and the memtables (the commit's
// DB.Write was 19% of streamstreamjoin/eos's CPU, docs/benchmarks.md). FetchAll and All of
// such a store read the key-ordered entries of the segments in range and sort them by window
// start, key and insertion (their documented order), which costs memory for the range.
//
// Outside transaction mode the time index is still written with each put: it is where
// recoverObserved finds stream time that reached disk after the last Flush (in transaction
// mode each commit records stream time with the data it commits). Stores created before this
// layout (window-duplicates/v1) keep their time index for good.
const (
	layoutWindow       = "window/v1"
	layoutDupsIndexed  = "window-duplicates/v1"
	layoutDupsKeyOrder = "window-duplicates/v2"
)

// sortedWindowEntry is one window of a sorted scan.
type sortedWindowEntry struct {
	key, value []byte
	start      int64
}

// fetchAllSorted is FetchAll for stores without a time index.
func (w *windowStore) fetchAllSorted(from, to int64) (state.WindowKeyIterator, error) {
	scan := w.newIter(false, from, to)
	for _, seg := range w.span(scan.from, scan.to) {
		scan.sc.open(seg.cf, []byte{kindKey}, []byte{kindKey + 1})
	}
	var ents []sortedWindowEntry
	for scan.Next() {
		ents = append(ents, sortedWindowEntry{key: slices.Clone(scan.Key()), value: slices.Clone(scan.Value()), start: scan.WindowStart()})
	}
	err := scan.Err()
	scan.Close()
	if err != nil {
		return nil, err
	}
	// Stable: a key's duplicates of one window come in insertion order from the scan.
	slices.SortStableFunc(ents, func(a, b sortedWindowEntry) int {
		if a.start != b.start {
			if a.start < b.start {
				return -1
			}
			return 1
		}
		return bytes.Compare(a.key, b.key)
	})
	it := &sortedWindowIter{w: w, ents: ents, i: -1}
	w.track(&it.node, it)
	return it, nil
}

// sortedWindowIter yields the windows fetchAllSorted collected, skipping those that expired
// since (as windowIter does).
type sortedWindowIter struct {
	w    *windowStore
	node iterNode
	ents []sortedWindowEntry
	i    int
	done bool
	err  error
}

func (it *sortedWindowIter) Next() bool {
	for !it.done {
		it.i++
		if it.i >= len(it.ents) {
			it.release()
			return false
		}
		if !it.w.expired(it.ents[it.i].start) {
			return true
		}
	}
	return false
}

// cur is the current window; a zero one before the first Next and after the last, where
// the methods of windowIter return empty values too.
func (it *sortedWindowIter) cur() sortedWindowEntry {
	if it.done || it.i < 0 || it.i >= len(it.ents) {
		return sortedWindowEntry{}
	}
	return it.ents[it.i]
}

func (it *sortedWindowIter) Key() []byte {
	if k := it.cur().key; k != nil {
		return k
	}
	return emptyValue
}

func (it *sortedWindowIter) Value() []byte {
	if v := it.cur().value; v != nil {
		return v
	}
	return emptyValue
}

func (it *sortedWindowIter) WindowStart() int64 { return it.cur().start }
func (it *sortedWindowIter) Err() error         { return it.err }

func (it *sortedWindowIter) Close() error {
	it.release()
	return nil
}

func (it *sortedWindowIter) release() {
	if it.done {
		return
	}
	it.done = true
	if it.w.closing && it.err == nil {
		it.err = state.ErrClosed
	}
	it.w.untrack(&it.node)
	it.w.iteratorClosed()
	it.ents = nil
}
