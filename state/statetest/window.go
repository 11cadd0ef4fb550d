package statetest

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/rillstreams/rill/state"
)

// RunWindow checks the window stores of the backend made by nb.
func RunWindow(t *testing.T, nb NewBackend) {
	t.Run("Options", func(t *testing.T) { testWindowOptions(t, nb) })
	t.Run("PutFetch", func(t *testing.T) { testWindowPutFetch(t, nb) })
	t.Run("Order", func(t *testing.T) { testWindowOrder(t, nb) })
	t.Run("PrefixKeys", func(t *testing.T) { testWindowPrefixKeys(t, nb) })
	t.Run("Retention", func(t *testing.T) { testWindowRetention(t, nb) })
	t.Run("RetentionWithinSegment", func(t *testing.T) { testWindowRetentionWithinSegment(t, nb) })
	t.Run("Duplicates", func(t *testing.T) { testWindowDuplicates(t, nb) })
	t.Run("WritesDuringIteration", func(t *testing.T) { testWindowWritesDuringIteration(t, nb) })
	t.Run("StoreClose", func(t *testing.T) { testWindowStoreClose(t, nb) })
	t.Run("Persistence", func(t *testing.T) { testWindowPersistence(t, nb) })
	t.Run("Model", func(t *testing.T) { testWindowModel(t, nb, state.WindowOptions{Retention: 100, SegmentInterval: 10}) })
	t.Run("ModelDefaultSegments", func(t *testing.T) { testWindowModel(t, nb, state.WindowOptions{Retention: 100}) })
	t.Run("ModelDuplicates", func(t *testing.T) {
		testWindowModel(t, nb, state.WindowOptions{Retention: 100, SegmentInterval: 25, RetainDuplicates: true})
	})
}

func openWindow(t testing.TB, b state.Backend, name, dir string, opts state.WindowOptions) state.WindowBytesStore {
	t.Helper()
	s, err := b.Window(name, dir, opts)
	if err != nil {
		t.Fatalf("Window(%q, %+v): %v", name, opts, err)
	}
	if s == nil {
		t.Fatalf("Window(%q) returned a nil store", name)
	}
	closeAtEnd(t, s)
	return s
}

func newWindow(t testing.TB, nb NewBackend, opts state.WindowOptions) state.WindowBytesStore {
	t.Helper()
	return openWindow(t, nb(t), "window", t.TempDir(), opts)
}

// win is one window entry as iterators return it.
type win struct {
	k     string
	start int64
	v     string
}

func (w win) String() string {
	return fmt.Sprintf("%s@%d=%s", show([]byte(w.k)), w.start, show([]byte(w.v)))
}

func winsString(ws []win) string {
	s := make([]string, len(ws))
	for i, w := range ws {
		s[i] = w.String()
	}
	return "[" + strings.Join(s, " ") + "]"
}

func wantWins(t testing.TB, what string, got, want []win) {
	t.Helper()
	if i, ok := firstDiff(got, want); !ok {
		t.Fatalf("%s: %s", what, diffReport(i, got, want, win.String))
	}
}

// drainWindowKeys reads a WindowKeyIterator to its end, checks Err and closes it.
func drainWindowKeys(t testing.TB, it state.WindowKeyIterator, err error) []win {
	t.Helper()
	if err != nil {
		t.Fatalf("opening window iterator: %v", err)
	}
	var out []win
	for it.Next() {
		if it.Value() == nil {
			t.Fatalf("window iterator returned %s@%d with a nil value", show(it.Key()), it.WindowStart())
		}
		out = append(out, win{string(it.Key()), it.WindowStart(), string(it.Value())})
	}
	if err := it.Err(); err != nil {
		t.Fatalf("window iterator Err: %v", err)
	}
	if err := it.Close(); err != nil {
		t.Fatalf("window iterator Close: %v", err)
	}
	return out
}

// drainWindow reads a WindowIterator of key k to its end, checks Err and closes it.
func drainWindow(t testing.TB, k string, it state.WindowIterator, err error) []win {
	t.Helper()
	if err != nil {
		t.Fatalf("opening window iterator: %v", err)
	}
	var out []win
	for it.Next() {
		if it.Value() == nil {
			t.Fatalf("window iterator returned %d with a nil value", it.WindowStart())
		}
		out = append(out, win{k, it.WindowStart(), string(it.Value())})
	}
	if err := it.Err(); err != nil {
		t.Fatalf("window iterator Err: %v", err)
	}
	if err := it.Close(); err != nil {
		t.Fatalf("window iterator Close: %v", err)
	}
	return out
}

func wput(t testing.TB, s state.WindowBytesStore, k string, start int64, v string) {
	t.Helper()
	if err := s.Put([]byte(k), []byte(v), start); err != nil {
		t.Fatalf("Put(%s, %d): %v", show([]byte(k)), start, err)
	}
}

func wantFetch(t testing.TB, s state.WindowBytesStore, k string, start int64, want []byte) {
	t.Helper()
	got, err := s.Fetch([]byte(k), start)
	if err != nil || !sameBytes(got, want) {
		t.Fatalf("Fetch(%s, %d) = %s, %v; want %s", show([]byte(k)), start, show(got), err, show(want))
	}
}

func testWindowOptions(t *testing.T, nb NewBackend) {
	b := nb(t)
	for _, opts := range []state.WindowOptions{
		{Retention: 0},
		{Retention: -1},
		{Retention: 1000, SegmentInterval: -1},
	} {
		if s, err := b.Window("bad", t.TempDir(), opts); err == nil {
			_ = s.Close()
			t.Errorf("Window(%+v) succeeded, want an error", opts)
		}
		if s, err := b.Session("bad", t.TempDir(), opts); err == nil {
			_ = s.Close()
			t.Errorf("Session(%+v) succeeded, want an error", opts)
		}
	}
	s := openWindow(t, b, "w", t.TempDir(), state.WindowOptions{Retention: 1}) // tiny retention is valid
	if s.Retention() != 1 {
		t.Fatalf("Retention() = %d, want 1", s.Retention())
	}
}

func testWindowPutFetch(t *testing.T, nb NewBackend) {
	s := openWindow(t, nb(t), "win", t.TempDir(), state.WindowOptions{Retention: 10_000, SegmentInterval: 1_000})
	if s.Name() != "win" || s.Retention() != 10_000 {
		t.Fatalf("Name, Retention = %q, %d; want win, 10000", s.Name(), s.Retention())
	}
	wantFetch(t, s, "a", 0, nil)
	wput(t, s, "a", 0, "a0")
	wput(t, s, "a", 1000, "a1")
	wput(t, s, "a", 2000, "a2")
	wput(t, s, "b", 1000, "b1")
	wantFetch(t, s, "a", 1000, []byte("a1"))
	wantFetch(t, s, "a", 1500, nil)
	wantFetch(t, s, "c", 1000, nil)
	wput(t, s, "a", 1000, "a1'")
	wantFetch(t, s, "a", 1000, []byte("a1'"))
	if err := s.Put([]byte("a"), nil, 2000); err != nil {
		t.Fatal(err)
	}
	wantFetch(t, s, "a", 2000, nil)
	if err := s.Put([]byte("e"), []byte{}, 500); err != nil {
		t.Fatal(err)
	}
	wantFetch(t, s, "e", 500, []byte{})

	// Callers reuse their buffers: the store must have copied both.
	k, v := []byte("kk"), []byte("vv")
	if err := s.Put(k, v, 700); err != nil {
		t.Fatal(err)
	}
	copy(k, "xx")
	copy(v, "yy")
	wantFetch(t, s, "kk", 700, []byte("vv"))

	it, err := s.FetchRange([]byte("a"), 0, 1000)
	wantWins(t, "FetchRange(a, 0, 1000)", drainWindow(t, "a", it, err), []win{{"a", 0, "a0"}, {"a", 1000, "a1'"}})
	it, err = s.FetchRange([]byte("a"), 1, 999)
	wantWins(t, "FetchRange(a, 1, 999)", drainWindow(t, "a", it, err), nil)
	it, err = s.FetchRange([]byte("a"), 1000, 1000)
	wantWins(t, "FetchRange(a, 1000, 1000)", drainWindow(t, "a", it, err), []win{{"a", 1000, "a1'"}})
	it, err = s.FetchRange([]byte("a"), 0, 1<<62)
	wantWins(t, "FetchRange(a, 0, 1<<62)", drainWindow(t, "a", it, err), []win{{"a", 0, "a0"}, {"a", 1000, "a1'"}})
	it, err = s.FetchRange([]byte("zz"), 0, 10_000)
	wantWins(t, "FetchRange(zz, 0, 10000)", drainWindow(t, "zz", it, err), nil)
	if err := s.Flush(); err != nil {
		t.Fatalf("Flush: %v", err)
	}
}

func testWindowOrder(t *testing.T, nb NewBackend) {
	s := newWindow(t, nb, state.WindowOptions{Retention: 100_000, SegmentInterval: 150})
	for _, start := range []int64{200, 0, 100} {
		for _, k := range []string{"c", "a", "b"} {
			wput(t, s, k, start, fmt.Sprintf("%s%d", k, start))
		}
	}
	w := func(k string, start int64) win { return win{k, start, fmt.Sprintf("%s%d", k, start)} }
	it, err := s.FetchKeyRange([]byte("a"), []byte("b"), 0, 200)
	wantWins(t, "FetchKeyRange(a, b, 0, 200) (by key, then start)", drainWindowKeys(t, it, err),
		[]win{w("a", 0), w("a", 100), w("a", 200), w("b", 0), w("b", 100), w("b", 200)})
	it, err = s.FetchKeyRange(nil, nil, 100, 100)
	wantWins(t, "FetchKeyRange(nil, nil, 100, 100)", drainWindowKeys(t, it, err), []win{w("a", 100), w("b", 100), w("c", 100)})
	it, err = s.FetchKeyRange([]byte("b"), nil, 50, 250)
	wantWins(t, "FetchKeyRange(b, nil, 50, 250)", drainWindowKeys(t, it, err), []win{w("b", 100), w("b", 200), w("c", 100), w("c", 200)})
	it, err = s.FetchKeyRange(nil, []byte("a"), 0, 100)
	wantWins(t, "FetchKeyRange(nil, a, 0, 100)", drainWindowKeys(t, it, err), []win{w("a", 0), w("a", 100)})
	it, err = s.FetchKeyRange([]byte("aa"), []byte("bb"), 0, 300)
	wantWins(t, "FetchKeyRange(aa, bb, 0, 300)", drainWindowKeys(t, it, err), []win{w("b", 0), w("b", 100), w("b", 200)})

	it, err = s.FetchAll(0, 100)
	wantWins(t, "FetchAll(0, 100) (by start, then key)", drainWindowKeys(t, it, err),
		[]win{w("a", 0), w("b", 0), w("c", 0), w("a", 100), w("b", 100), w("c", 100)})
	it, err = s.FetchAll(101, 199)
	wantWins(t, "FetchAll(101, 199)", drainWindowKeys(t, it, err), nil)
	it, err = s.All()
	wantWins(t, "All (by start, then key)", drainWindowKeys(t, it, err), []win{
		w("a", 0), w("b", 0), w("c", 0), w("a", 100), w("b", 100), w("c", 100), w("a", 200), w("b", 200), w("c", 200)})

	if _, err := s.FetchKeyRange([]byte("c"), []byte("a"), 0, 100); !errors.Is(err, state.ErrInvalidRange) {
		t.Fatalf("FetchKeyRange(c, a) error = %v, want ErrInvalidRange", err)
	}
	// An inverted time range is empty or ErrInvalidRange, never an error of another kind.
	it2, err := s.FetchRange([]byte("a"), 200, 100)
	if err == nil {
		wantWins(t, "FetchRange(a, 200, 100)", drainWindow(t, "a", it2, nil), nil)
	} else if !errors.Is(err, state.ErrInvalidRange) {
		t.Fatalf("FetchRange(a, 200, 100) error = %v, want nil or ErrInvalidRange", err)
	}
	it, err = s.FetchAll(200, 100)
	if err == nil {
		wantWins(t, "FetchAll(200, 100)", drainWindowKeys(t, it, nil), nil)
	} else if !errors.Is(err, state.ErrInvalidRange) {
		t.Fatalf("FetchAll(200, 100) error = %v, want nil or ErrInvalidRange", err)
	}
}

// testWindowPrefixKeys uses keys that are prefixes of one another: a backend that encodes
// key and time into one byte string must still keep them apart and in key order.
func testWindowPrefixKeys(t *testing.T, nb NewBackend) {
	s := newWindow(t, nb, state.WindowOptions{Retention: 1 << 40})
	keys := []string{"a", "a\x00", "a\x00\x00", "a\x01", "a\xff", "aa", "b", "\x00", "\xff", "\xff\xff"}
	starts := []int64{0, 1, 255, 256, 65_535, 1 << 32, 1 << 39}
	for _, k := range keys {
		for _, st := range starts {
			wput(t, s, k, st, fmt.Sprintf("%s@%d", k, st))
		}
	}
	var all []win
	for _, k := range []string{"\x00", "a", "a\x00", "a\x00\x00", "a\x01", "aa", "a\xff", "b", "\xff", "\xff\xff"} {
		var mine []win
		for _, st := range starts {
			mine = append(mine, win{k, st, fmt.Sprintf("%s@%d", k, st)})
		}
		it, err := s.FetchRange([]byte(k), 0, 1<<40)
		wantWins(t, fmt.Sprintf("FetchRange(%s)", show([]byte(k))), drainWindow(t, k, it, err), mine)
		it, err = s.FetchRange([]byte(k), 1, 65_535)
		wantWins(t, fmt.Sprintf("FetchRange(%s, 1, 65535)", show([]byte(k))), drainWindow(t, k, it, err), mine[1:5])
		it2, err := s.FetchKeyRange([]byte(k), []byte(k), 0, 1<<40)
		wantWins(t, fmt.Sprintf("FetchKeyRange(%s, %s)", show([]byte(k)), show([]byte(k))), drainWindowKeys(t, it2, err), mine)
		all = append(all, mine...)
	}
	it, err := s.FetchKeyRange(nil, nil, 0, 1<<40)
	wantWins(t, "FetchKeyRange(nil, nil) over keys prefixing each other", drainWindowKeys(t, it, err), all)
}

func testWindowRetention(t *testing.T, nb NewBackend) {
	s := newWindow(t, nb, state.WindowOptions{Retention: 1000, SegmentInterval: 100})
	for _, st := range []int64{0, 250, 500, 750} {
		wput(t, s, "a", st, fmt.Sprint(st))
	}
	wput(t, s, "a", 1000, "1000") // observed stream time 1000: start 0 is expired (0 <= 1000-1000)
	wantFetch(t, s, "a", 0, nil)
	wantFetch(t, s, "a", 250, []byte("250"))
	it, err := s.FetchRange([]byte("a"), 0, 2000)
	wantWins(t, "FetchRange after expiry", drainWindow(t, "a", it, err),
		[]win{{"a", 250, "250"}, {"a", 500, "500"}, {"a", 750, "750"}, {"a", 1000, "1000"}})

	// Puts to expired windows are dropped; one millisecond later is live.
	wput(t, s, "a", 0, "late")
	wantFetch(t, s, "a", 0, nil)
	wput(t, s, "a", 1, "1")
	wantFetch(t, s, "a", 1, []byte("1"))

	wput(t, s, "b", 1500, "b1500") // stream time 1500: starts up to 500 expire
	wantFetch(t, s, "a", 500, nil)
	wantFetch(t, s, "a", 1, nil)
	wput(t, s, "b", 501, "b501")
	wantFetch(t, s, "b", 501, []byte("b501"))
	it2, err := s.All()
	wantWins(t, "All at stream time 1500", drainWindowKeys(t, it2, err),
		[]win{{"b", 501, "b501"}, {"a", 750, "750"}, {"a", 1000, "1000"}, {"b", 1500, "b1500"}})
	it2, err = s.FetchAll(0, 800)
	wantWins(t, "FetchAll(0, 800) at stream time 1500", drainWindowKeys(t, it2, err), []win{{"b", 501, "b501"}, {"a", 750, "750"}})
	it2, err = s.FetchKeyRange(nil, nil, 0, 800)
	wantWins(t, "FetchKeyRange(nil, nil, 0, 800) at stream time 1500", drainWindowKeys(t, it2, err), []win{{"a", 750, "750"}, {"b", 501, "b501"}})

	// An earlier Put does not move stream time back.
	wput(t, s, "c", 600, "c600")
	wantFetch(t, s, "c", 600, []byte("c600"))
	wantFetch(t, s, "b", 501, []byte("b501"))

	// A deleting Put moves stream time too, as in Kafka Streams.
	if err := s.Put([]byte("zz"), nil, 3000); err != nil {
		t.Fatal(err)
	}
	wantFetch(t, s, "b", 1500, nil)
	it2, err = s.All()
	wantWins(t, "All at stream time 3000", drainWindowKeys(t, it2, err), nil)

	// Whole segments and everything in them are gone for good: stream time never goes back.
	wput(t, s, "a", 2001, "2001")
	wput(t, s, "a", 2000, "2000")
	it2, err = s.All()
	wantWins(t, "All at stream time 3000 after more puts", drainWindowKeys(t, it2, err), []win{{"a", 2001, "2001"}})
}

// testWindowRetentionWithinSegment checks that expiry is exact even when the segment holding
// the expired windows cannot be dropped yet (the default segment interval is 60 s here).
func testWindowRetentionWithinSegment(t *testing.T, nb NewBackend) {
	s := newWindow(t, nb, state.WindowOptions{Retention: 100})
	wput(t, s, "a", 0, "0")
	wput(t, s, "a", 50, "50")
	wput(t, s, "a", 150, "150")
	wantFetch(t, s, "a", 50, nil)
	wantFetch(t, s, "a", 150, []byte("150"))
	wput(t, s, "a", 51, "51")
	it, err := s.FetchRange([]byte("a"), 0, 200)
	wantWins(t, "FetchRange(a, 0, 200) at stream time 150", drainWindow(t, "a", it, err), []win{{"a", 51, "51"}, {"a", 150, "150"}})
	it2, err := s.All()
	wantWins(t, "All at stream time 150", drainWindowKeys(t, it2, err), []win{{"a", 51, "51"}, {"a", 150, "150"}})
}

func testWindowDuplicates(t *testing.T, nb NewBackend) {
	s := newWindow(t, nb, state.WindowOptions{Retention: 1000, SegmentInterval: 100, RetainDuplicates: true})
	wput(t, s, "a", 10, "1")
	wput(t, s, "a", 10, "2")
	wput(t, s, "a", 10, "1")
	wput(t, s, "b", 10, "3")
	wput(t, s, "a", 20, "4")
	// Duplicates come back in Put order: join results follow input order, as in Kafka Streams.
	it, err := s.FetchRange([]byte("a"), 10, 10)
	wantWins(t, "FetchRange(a, 10, 10) with duplicates", drainWindow(t, "a", it, err), []win{{"a", 10, "1"}, {"a", 10, "2"}, {"a", 10, "1"}})
	got, err := s.Fetch([]byte("a"), 10)
	if err != nil || string(got) != "1" && string(got) != "2" {
		t.Fatalf("Fetch(a, 10) with duplicates = %s, %v; want one of them", show(got), err)
	}
	// A nil Put has no one entry to delete: it is ignored.
	if err := s.Put([]byte("a"), nil, 10); err != nil {
		t.Fatal(err)
	}
	it2, err := s.FetchAll(0, 100)
	wantWins(t, "FetchAll(0, 100) with duplicates", drainWindowKeys(t, it2, err),
		[]win{{"a", 10, "1"}, {"a", 10, "2"}, {"a", 10, "1"}, {"b", 10, "3"}, {"a", 20, "4"}})
	it2, err = s.FetchKeyRange(nil, nil, 0, 100)
	wantWins(t, "FetchKeyRange(nil, nil, 0, 100) with duplicates", drainWindowKeys(t, it2, err),
		[]win{{"a", 10, "1"}, {"a", 10, "2"}, {"a", 10, "1"}, {"a", 20, "4"}, {"b", 10, "3"}})
	wput(t, s, "a", 1015, "5") // stream time 1015: starts up to 15 expire, duplicates included
	it2, err = s.All()
	wantWins(t, "All with duplicates after expiry", drainWindowKeys(t, it2, err), []win{{"a", 20, "4"}, {"a", 1015, "5"}})
}

func testWindowWritesDuringIteration(t *testing.T, nb NewBackend) {
	s := newWindow(t, nb, state.WindowOptions{Retention: 1_000_000, SegmentInterval: 1000})
	for i := range 100 {
		wput(t, s, fmt.Sprintf("k%02d", i%10), int64(i)*100, "old")
	}
	for _, mode := range []string{"FetchRange", "FetchKeyRange", "FetchAll"} {
		var next func() bool
		var cur func() (string, int64, string)
		var closeIt func() error
		var errIt func() error
		switch mode {
		case "FetchRange":
			it, err := s.FetchRange([]byte("k03"), 0, 1<<40)
			if err != nil {
				t.Fatal(err)
			}
			next, closeIt, errIt = it.Next, it.Close, it.Err
			cur = func() (string, int64, string) { return "k03", it.WindowStart(), string(it.Value()) }
		case "FetchKeyRange":
			it, err := s.FetchKeyRange(nil, nil, 0, 1<<40)
			if err != nil {
				t.Fatal(err)
			}
			next, closeIt, errIt = it.Next, it.Close, it.Err
			cur = func() (string, int64, string) { return string(it.Key()), it.WindowStart(), string(it.Value()) }
		default:
			it, err := s.FetchAll(0, 1<<40)
			if err != nil {
				t.Fatal(err)
			}
			next, closeIt, errIt = it.Next, it.Close, it.Err
			cur = func() (string, int64, string) { return string(it.Key()), it.WindowStart(), string(it.Value()) }
		}
		n := 0
		for next() {
			k, st, v := cur()
			if v != "old" && v != "new" {
				t.Fatalf("%s during writes returned %s@%d=%s", mode, k, st, v)
			}
			n++
			if n == 2 {
				for i := range 100 {
					k := fmt.Sprintf("k%02d", i%10)
					if i%4 == 0 {
						if err := s.Put([]byte(k), nil, int64(i)*100); err != nil {
							t.Fatal(err)
						}
						continue
					}
					wput(t, s, k, int64(i)*100, "new")
					wput(t, s, k, int64(i)*100+1, "new")
				}
			}
		}
		if err := errIt(); err != nil {
			t.Fatalf("%s Err after writes: %v", mode, err)
		}
		if err := closeIt(); err != nil {
			t.Fatal(err)
		}
		if n < 2 {
			t.Fatalf("%s returned %d windows, want at least 2", mode, n)
		}
		// Restore the starting state for the next mode.
		for i := range 100 {
			k := fmt.Sprintf("k%02d", i%10)
			wput(t, s, k, int64(i)*100, "old")
			if err := s.Put([]byte(k), nil, int64(i)*100+1); err != nil {
				t.Fatal(err)
			}
		}
	}
	it, err := s.All()
	got := drainWindowKeys(t, it, err)
	if len(got) != 100 {
		t.Fatalf("All after writes during iteration returned %d windows, want 100", len(got))
	}
}

func testWindowStoreClose(t *testing.T, nb NewBackend) {
	s := newWindow(t, nb, state.WindowOptions{Retention: 1000})
	wput(t, s, "a", 1, "1")
	wput(t, s, "a", 2, "2")
	it, err := s.FetchRange([]byte("a"), 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	it2, err := s.All()
	if err != nil {
		t.Fatal(err)
	}
	if !it.Next() || !it2.Next() {
		t.Fatalf("Next = false, Err %v, %v", it.Err(), it2.Err())
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	noPanic(t, "window iterators after store Close", func() {
		if it.Next() || it2.Next() {
			t.Fatalf("Next on an iterator of a closed store = true")
		}
		if err := it.Err(); !isClosedErr(err) {
			t.Fatalf("Err = %v, want nil or ErrClosed", err)
		}
		if err := it.Close(); !isClosedErr(err) {
			t.Fatalf("Close = %v, want nil or ErrClosed", err)
		}
		if err := it2.Close(); !isClosedErr(err) {
			t.Fatalf("Close = %v, want nil or ErrClosed", err)
		}
	})
	noPanic(t, "operations on a closed window store", func() {
		want := func(op string, err error) {
			t.Helper()
			if !errors.Is(err, state.ErrClosed) {
				t.Errorf("%s on a closed window store: error %v, want ErrClosed", op, err)
			}
		}
		want("Put", s.Put([]byte("a"), []byte("x"), 3))
		_, err := s.Fetch([]byte("a"), 1)
		want("Fetch", err)
		_, err = s.FetchRange([]byte("a"), 0, 10)
		want("FetchRange", err)
		_, err = s.FetchKeyRange(nil, nil, 0, 10)
		want("FetchKeyRange", err)
		_, err = s.FetchAll(0, 10)
		want("FetchAll", err)
		_, err = s.All()
		want("All", err)
		if err := s.Close(); !isClosedErr(err) {
			t.Errorf("second Close = %v, want nil or ErrClosed", err)
		}
	})
}

func testWindowPersistence(t *testing.T, nb NewBackend) {
	b := nb(t)
	dir := t.TempDir()
	opts := state.WindowOptions{Retention: 10_000, SegmentInterval: 1000}
	s := openWindow(t, b, "wp", dir, opts)
	if !s.Persistent() {
		t.Skip("backend is not persistent")
	}
	wput(t, s, "a", 100, "a100")
	wput(t, s, "a", 2500, "a2500")
	wput(t, s, "b", 5000, "b5000")
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openWindow(t, b, "wp", dir, opts)
	wantFetch(t, s, "a", 2500, []byte("a2500"))
	it, err := s.All()
	wantWins(t, "All after reopen", drainWindowKeys(t, it, err), []win{{"a", 100, "a100"}, {"a", 2500, "a2500"}, {"b", 5000, "b5000"}})
}
