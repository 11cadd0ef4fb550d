package rocksdb

import (
	"fmt"
	"strings"
	"testing"

	"github.com/rillstreams/rill/state"
)

// countTimeIndex counts the time index entries of every live segment.
func countTimeIndex(t *testing.T, w *windowStore) int {
	t.Helper()
	n := 0
	for _, seg := range w.live {
		c := w.newDBCursor(seg.cf, []byte{kindTime}, []byte{kindTime + 1})
		for ok := c.step(moveFirst); ok; ok = c.step(moveNext) {
			n++
		}
		if err := c.err(); err != nil {
			t.Fatal(err)
		}
		w.closeCursor(&c)
	}
	return n
}

func fetchAllString(t *testing.T, s state.WindowBytesStore) string {
	t.Helper()
	it, err := s.FetchAll(0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	var b strings.Builder
	for it.Next() {
		fmt.Fprintf(&b, "%d:%s=%s ", it.WindowStart(), it.Key(), it.Value())
	}
	if err := it.Err(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// putDups writes duplicates out of time and key order, in transaction mode, and commits.
func putDups(t *testing.T, w *windowStore) {
	t.Helper()
	must(t, w.BeginTransactions())
	for _, p := range []struct {
		k, v  string
		start int64
	}{{"b", "1", 20}, {"a", "2", 20}, {"b", "3", 10}, {"a", "4", 20}, {"c", "5", 5}} {
		must(t, w.Put([]byte(p.k), []byte(p.v), p.start))
	}
	must(t, w.CommitTransaction(7))
}

const wantDupsOrder = "5:c=5 10:b=3 20:a=2 20:a=4 20:b=1 "

// TestDuplicatesStoreWithoutTimeIndex checks window_dups.go: a new duplicates store writes no
// time index in transaction mode, and FetchAll still yields by window start, key, insertion.
func TestDuplicatesStoreWithoutTimeIndex(t *testing.T) {
	b := newTestBackend(t)
	dir := t.TempDir()
	opts := state.WindowOptions{Retention: 1000, SegmentInterval: 100, RetainDuplicates: true}
	s, err := b.Window("w", dir, opts)
	must(t, err)
	w := s.(*windowStore)
	if w.timeIndex || w.layout != layoutDupsKeyOrder {
		t.Fatalf("new duplicates store: time index %v, layout %q", w.timeIndex, w.layout)
	}
	putDups(t, w)
	if n := countTimeIndex(t, w); n != 0 {
		t.Fatalf("%d time index entries written in transaction mode", n)
	}
	if got := fetchAllString(t, w); got != wantDupsOrder {
		t.Fatalf("FetchAll = %q, want %q", got, wantDupsOrder)
	}
	must(t, s.Close())

	// Reopened: same layout, stream time from the commit.
	s, err = b.Window("w", dir, opts)
	must(t, err)
	defer s.Close()
	w = s.(*windowStore)
	if w.timeIndex || w.observed != 20 {
		t.Fatalf("reopened: time index %v, observed %d", w.timeIndex, w.observed)
	}
	if got := fetchAllString(t, w); got != wantDupsOrder {
		t.Fatalf("FetchAll after reopen = %q, want %q", got, wantDupsOrder)
	}
}

// TestDuplicatesStoreKeepsTimeIndex checks that a duplicates store created with a time index
// (layout v1, before window_dups.go) keeps writing and reading it.
func TestDuplicatesStoreKeepsTimeIndex(t *testing.T) {
	b := newTestBackend(t)
	dir := t.TempDir()
	opts := state.WindowOptions{Retention: 1000, SegmentInterval: 100, RetainDuplicates: true}
	// What openWindowStore did before: the v1 layout.
	sg, err := openSegments(b, "w", dir, layoutDupsIndexed, opts)
	must(t, err)
	old := &windowStore{segments: sg, dups: true, timeIndex: true}
	sg.owner = old
	must(t, old.Close())

	s, err := b.Window("w", dir, opts)
	must(t, err)
	defer s.Close()
	w := s.(*windowStore)
	if !w.timeIndex || w.layout != layoutDupsIndexed {
		t.Fatalf("v1 store reopened: time index %v, layout %q", w.timeIndex, w.layout)
	}
	putDups(t, w)
	if n := countTimeIndex(t, w); n != 5 {
		t.Fatalf("%d time index entries, want 5", n)
	}
	if got := fetchAllString(t, w); got != wantDupsOrder {
		t.Fatalf("FetchAll = %q, want %q", got, wantDupsOrder)
	}
}
