package memory

import (
	"errors"
	"fmt"
	"testing"

	"github.com/rillstreams/rill/state"
)

// The conformance suite allows iterators that see later writes; these stores promise a
// snapshot, as Kafka Streams' in-memory stores do.
func TestKeyValueIteratorsReadSnapshot(t *testing.T) {
	s := NewKeyValueStore("kv")
	defer s.Close()
	for _, k := range []string{"a", "b", "c", "d"} {
		must(t, s.Put([]byte(k), []byte("old")))
	}
	it, err := s.Range(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	rev, err := s.ReverseRange(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !it.Next() || string(it.Key()) != "a" {
		t.Fatalf("first key %q", it.Key())
	}
	must(t, s.Put([]byte("b"), []byte("new")))
	must(t, s.Put([]byte("bb"), []byte("new")))
	if _, err := s.Delete([]byte("c")); err != nil {
		t.Fatal(err)
	}
	var got []string
	for it.Next() {
		got = append(got, string(it.Key())+"="+string(it.Value()))
	}
	if want := "[b=old c=old d=old]"; fmt.Sprint(got) != want {
		t.Fatalf("snapshot iterator returned %v, want %s", got, want)
	}
	got = nil
	for rev.Next() {
		got = append(got, string(rev.Key())+"="+string(rev.Value()))
	}
	if want := "[d=old c=old b=old a=old]"; fmt.Sprint(got) != want {
		t.Fatalf("snapshot reverse iterator returned %v, want %s", got, want)
	}
	must(t, it.Close())
	must(t, rev.Close())
	v, _ := s.Get([]byte("b"))
	if string(v) != "new" {
		t.Fatalf("Get(b) = %q after iteration, want new", v)
	}
	if s.tr.pins != 0 {
		t.Fatalf("%d pins after closing every iterator", s.tr.pins)
	}
	// With no iterator open, writes go to the tree in place.
	gen := s.tr.gen
	must(t, s.Put([]byte("e"), []byte("x")))
	if s.tr.gen != gen {
		t.Fatalf("a write with no open iterator cloned the tree")
	}
}

func TestKeyValueSnapshotAcrossBatches(t *testing.T) {
	s := NewKeyValueStore("kv")
	defer s.Close()
	const n = 5 * batchSize
	for i := range n {
		must(t, s.Put(fmt.Appendf(nil, "k%04d", i), []byte("old")))
	}
	it, err := s.All()
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	count := 0
	for it.Next() {
		if string(it.Value()) != "old" {
			t.Fatalf("%s=%s in a snapshot of old values", it.Key(), it.Value())
		}
		count++
		// Rewrite everything, and insert keys between the snapshot's, batch after batch.
		must(t, s.Put(fmt.Appendf(nil, "k%04d", (count*7)%n), []byte("new")))
		must(t, s.Put(fmt.Appendf(nil, "k%04d-", count), []byte("new")))
		if count%50 == 0 {
			if _, err := s.Delete(fmt.Appendf(nil, "k%04d", count+1)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if count != n {
		t.Fatalf("snapshot iterator returned %d keys, want %d", count, n)
	}
}

func TestWindowAndSessionIteratorsReadSnapshot(t *testing.T) {
	w, err := NewWindowStore("w", state.WindowOptions{Retention: 1000})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	must(t, w.Put([]byte("a"), []byte("old"), 10))
	must(t, w.Put([]byte("a"), []byte("old"), 20))
	it, err := w.FetchRange([]byte("a"), 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	must(t, w.Put([]byte("a"), []byte("new"), 10))
	must(t, w.Put([]byte("a"), nil, 20))
	must(t, w.Put([]byte("a"), []byte("new"), 30))
	var got []string
	for it.Next() {
		got = append(got, fmt.Sprintf("%d=%s", it.WindowStart(), it.Value()))
	}
	if want := "[10=old 20=old]"; fmt.Sprint(got) != want {
		t.Fatalf("window snapshot iterator returned %v, want %s", got, want)
	}
	must(t, it.Close())

	ss, err := NewSessionStore("s", state.WindowOptions{Retention: 1000})
	if err != nil {
		t.Fatal(err)
	}
	defer ss.Close()
	must(t, ss.Put([]byte("a"), 0, 10, []byte("old")))
	sit, err := ss.Fetch([]byte("a"))
	if err != nil {
		t.Fatal(err)
	}
	must(t, ss.Remove([]byte("a"), 0, 10))
	must(t, ss.Put([]byte("a"), 0, 20, []byte("merged")))
	got = nil
	for sit.Next() {
		got = append(got, fmt.Sprintf("[%d,%d]=%s", sit.Start(), sit.End(), sit.Value()))
	}
	if want := "[[0,10]=old]"; fmt.Sprint(got) != want {
		t.Fatalf("session snapshot iterator returned %v, want %s", got, want)
	}
	must(t, sit.Close())
}

// Expired windows are removed from memory a whole segment at a time, and late Puts never
// reach the trees.
func TestWindowSegmentsDropWhole(t *testing.T) {
	s, err := NewWindowStore("w", state.WindowOptions{Retention: 100, SegmentInterval: 10})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for start := range int64(100) {
		must(t, s.Put([]byte("k"), []byte("v"), start))
	}
	// Stream time 154: windows up to 54 are expired; segments [0, 50) are wholly expired and
	// dropped, segment [50, 60) is partly live and stays whole.
	must(t, s.Put([]byte("k"), []byte("v"), 154))
	if got, want := s.byKey.Len(), 50+1; got != want || s.byTime.Len() != want {
		t.Fatalf("trees hold %d and %d windows, want %d", got, s.byTime.Len(), want)
	}
	if min, _ := s.byTime.Min(); min.start != 50 {
		t.Fatalf("oldest window kept starts at %d, want 50", min.start)
	}
	if v, _ := s.Fetch([]byte("k"), 54); v != nil {
		t.Fatalf("expired window 54 fetched")
	}
	must(t, s.Put([]byte("late"), []byte("v"), 54))
	if s.byKey.Len() != 51 {
		t.Fatalf("a late Put reached the trees")
	}
	must(t, s.Put([]byte("k"), []byte("v"), 160)) // segment [50, 60) now wholly expired
	if got, want := s.byKey.Len(), 40+2; got != want {
		t.Fatalf("trees hold %d windows, want %d", got, want)
	}
}

func TestSessionSegmentsDropWhole(t *testing.T) {
	s, err := NewSessionStore("s", state.WindowOptions{Retention: 100, SegmentInterval: 10})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for end := range int64(100) {
		must(t, s.Put([]byte("k"), 0, end, []byte("v")))
	}
	must(t, s.Put([]byte("k"), 0, 154, []byte("v")))
	if got, want := s.byKey.Len(), 51; got != want || s.byEnd.Len() != want {
		t.Fatalf("trees hold %d and %d sessions, want %d", got, s.byEnd.Len(), want)
	}
}

func TestStoreCloseClosesIterators(t *testing.T) {
	s := NewKeyValueStore("kv")
	must(t, s.Put([]byte("a"), []byte("1")))
	its := make([]state.KeyValueIterator, 3)
	for i := range its {
		var err error
		if its[i], err = s.All(); err != nil {
			t.Fatal(err)
		}
	}
	must(t, its[1].Close())
	must(t, s.Close())
	for i, it := range its {
		if it.Next() {
			t.Fatalf("iterator %d: Next after store Close", i)
		}
		if err := it.Err(); i != 1 && !errors.Is(err, state.ErrClosed) {
			t.Fatalf("iterator %d: Err = %v, want ErrClosed", i, err)
		}
		must(t, it.Close())
	}
	if s.tr.open.next != &s.tr.open {
		t.Fatalf("open iterators left on the list after store Close")
	}
}

func TestOptions(t *testing.T) {
	for _, c := range []struct{ retention, segment, want int64 }{
		{1, 0, 60_000},
		{100_000, 0, 60_000},
		{24 * 3600_000, 0, 12 * 3600_000},
		{1000, 7, 7},
	} {
		s, err := NewWindowStore("w", state.WindowOptions{Retention: c.retention, SegmentInterval: c.segment})
		if err != nil {
			t.Fatal(err)
		}
		if s.opts.SegmentInterval != c.want {
			t.Errorf("retention %d, segment %d: segment interval %d, want %d", c.retention, c.segment, s.opts.SegmentInterval, c.want)
		}
	}
	if _, err := NewWindowStore("w", state.WindowOptions{}); err == nil {
		t.Errorf("zero retention accepted")
	}
	if _, err := NewSessionStore("s", state.WindowOptions{Retention: 5, SegmentInterval: -1}); err == nil {
		t.Errorf("negative segment interval accepted")
	}
	if _, err := NewSessionStore("s", state.WindowOptions{Retention: 5}); err != nil {
		t.Errorf("valid options rejected: %v", err)
	}
}

// Extreme times must not overflow the retention arithmetic.
func TestExtremeTimes(t *testing.T) {
	s, err := NewWindowStore("w", state.WindowOptions{Retention: 1000, SegmentInterval: 100})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const minT, maxT = -1 << 63, 1<<63 - 1
	must(t, s.Put([]byte("a"), []byte("min"), minT))
	must(t, s.Put([]byte("a"), []byte("min+1"), minT+1))
	if v, _ := s.Fetch([]byte("a"), minT); string(v) != "min" {
		t.Fatalf("Fetch(minT) = %q", v)
	}
	must(t, s.Put([]byte("a"), []byte("max"), maxT))
	if v, _ := s.Fetch([]byte("a"), maxT); string(v) != "max" {
		t.Fatalf("Fetch(maxT) = %q", v)
	}
	if v, _ := s.Fetch([]byte("a"), minT); v != nil {
		t.Fatalf("Fetch(minT) after stream time max = %q, want expired", v)
	}
	it, err := s.All()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for it.Next() {
		n++
	}
	must(t, it.Close())
	if n != 1 || s.byKey.Len() != 1 {
		t.Fatalf("All returned %d windows, trees hold %d; want 1", n, s.byKey.Len())
	}
}

func TestAllocations(t *testing.T) {
	s := NewKeyValueStore("kv")
	defer s.Close()
	for i := range 1000 {
		must(t, s.Put(fmt.Appendf(nil, "key-%012d", i), make([]byte, 100)))
	}
	key, value := []byte("key-000000000500"), make([]byte, 100)
	if n := testing.AllocsPerRun(100, func() { _, _ = s.Get(key) }); n != 0 {
		t.Errorf("Get allocates %v times, want 0", n)
	}
	if n := testing.AllocsPerRun(100, func() { _ = s.Put(key, value) }); n > 1 {
		t.Errorf("Put allocates %v times, want 1 (the copy of key and value)", n)
	}
	from, to := []byte("key-000000000100"), []byte("key-000000000199")
	if n := testing.AllocsPerRun(100, func() {
		it, _ := s.Range(from, to)
		for it.Next() {
		}
		_ = it.Close()
	}); n > 2 {
		t.Errorf("Range of 100 keys allocates %v times, want at most 2 (iterator, bounds)", n)
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
