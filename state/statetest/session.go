package statetest

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/rillstreams/rill/state"
)

// RunSession checks the session stores of the backend made by nb.
func RunSession(t *testing.T, nb NewBackend) {
	t.Run("PutFetch", func(t *testing.T) { testSessionPutFetch(t, nb) })
	t.Run("FindSessions", func(t *testing.T) { testSessionFind(t, nb) })
	t.Run("PrefixKeys", func(t *testing.T) { testSessionPrefixKeys(t, nb) })
	t.Run("Retention", func(t *testing.T) { testSessionRetention(t, nb) })
	t.Run("WritesDuringIteration", func(t *testing.T) { testSessionWritesDuringIteration(t, nb) })
	t.Run("StoreClose", func(t *testing.T) { testSessionStoreClose(t, nb) })
	t.Run("Persistence", func(t *testing.T) { testSessionPersistence(t, nb) })
	t.Run("Model", func(t *testing.T) { testSessionModel(t, nb, state.WindowOptions{Retention: 100, SegmentInterval: 10}) })
	t.Run("ModelDefaultSegments", func(t *testing.T) { testSessionModel(t, nb, state.WindowOptions{Retention: 100}) })
}

func openSession(t testing.TB, b state.Backend, name, dir string, opts state.WindowOptions) state.SessionBytesStore {
	t.Helper()
	s, err := b.Session(name, dir, opts)
	if err != nil {
		t.Fatalf("Session(%q, %+v): %v", name, opts, err)
	}
	if s == nil {
		t.Fatalf("Session(%q) returned a nil store", name)
	}
	closeAtEnd(t, s)
	return s
}

func newSession(t testing.TB, nb NewBackend, opts state.WindowOptions) state.SessionBytesStore {
	t.Helper()
	return openSession(t, nb(t), "session", t.TempDir(), opts)
}

// sess is one session as iterators return it.
type sess struct {
	k          string
	start, end int64
	v          string
}

func (s sess) String() string {
	return fmt.Sprintf("%s[%d,%d]=%s", show([]byte(s.k)), s.start, s.end, show([]byte(s.v)))
}

func wantSessions(t testing.TB, what string, got, want []sess) {
	t.Helper()
	if i, ok := firstDiff(got, want); !ok {
		t.Fatalf("%s: %s", what, diffReport(i, got, want, sess.String))
	}
}

// drainSessions reads a SessionIterator to its end, checks Err and closes it.
func drainSessions(t testing.TB, it state.SessionIterator, err error) []sess {
	t.Helper()
	if err != nil {
		t.Fatalf("opening session iterator: %v", err)
	}
	var out []sess
	for it.Next() {
		if it.Value() == nil {
			t.Fatalf("session iterator returned %s[%d,%d] with a nil value", show(it.Key()), it.Start(), it.End())
		}
		out = append(out, sess{string(it.Key()), it.Start(), it.End(), string(it.Value())})
	}
	if err := it.Err(); err != nil {
		t.Fatalf("session iterator Err: %v", err)
	}
	if err := it.Close(); err != nil {
		t.Fatalf("session iterator Close: %v", err)
	}
	return out
}

func sput(t testing.TB, s state.SessionBytesStore, k string, start, end int64, v string) {
	t.Helper()
	if err := s.Put([]byte(k), start, end, []byte(v)); err != nil {
		t.Fatalf("Put(%s, %d, %d): %v", show([]byte(k)), start, end, err)
	}
}

func wantSession(t testing.TB, s state.SessionBytesStore, k string, start, end int64, want []byte) {
	t.Helper()
	got, err := s.FetchSession([]byte(k), start, end)
	if err != nil || !sameBytes(got, want) {
		t.Fatalf("FetchSession(%s, %d, %d) = %s, %v; want %s", show([]byte(k)), start, end, show(got), err, show(want))
	}
}

func testSessionPutFetch(t *testing.T, nb NewBackend) {
	s := openSession(t, nb(t), "sessions", t.TempDir(), state.WindowOptions{Retention: 10_000})
	if s.Name() != "sessions" || s.Retention() != 10_000 {
		t.Fatalf("Name, Retention = %q, %d; want sessions, 10000", s.Name(), s.Retention())
	}
	wantSession(t, s, "a", 0, 10, nil)
	sput(t, s, "a", 0, 10, "a1")
	wantSession(t, s, "a", 0, 10, []byte("a1"))
	wantSession(t, s, "a", 0, 11, nil)
	wantSession(t, s, "a", 1, 10, nil)
	sput(t, s, "a", 0, 10, "a1'")
	wantSession(t, s, "a", 0, 10, []byte("a1'"))
	if err := s.Put([]byte("e"), 3, 3, []byte{}); err != nil {
		t.Fatal(err)
	}
	wantSession(t, s, "e", 3, 3, []byte{})

	k, v := []byte("kk"), []byte("vv")
	if err := s.Put(k, 5, 6, v); err != nil {
		t.Fatal(err)
	}
	copy(k, "xx")
	copy(v, "yy")
	wantSession(t, s, "kk", 5, 6, []byte("vv"))

	sput(t, s, "a", 20, 30, "a2")
	if err := s.Remove([]byte("a"), 0, 10); err != nil {
		t.Fatal(err)
	}
	wantSession(t, s, "a", 0, 10, nil)
	if err := s.Put([]byte("a"), 20, 30, nil); err != nil {
		t.Fatal(err)
	}
	wantSession(t, s, "a", 20, 30, nil)
	if err := s.Remove([]byte("nope"), 1, 2); err != nil {
		t.Fatalf("Remove of a missing session: %v", err)
	}
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
}

func testSessionFind(t *testing.T, nb NewBackend) {
	s := newSession(t, nb, state.WindowOptions{Retention: 10_000})
	sput(t, s, "a", 20, 30, "a2")
	sput(t, s, "a", 0, 10, "a1")
	sput(t, s, "b", 5, 15, "b1")
	sput(t, s, "a", 40, 40, "a3")
	sput(t, s, "c", 5, 10, "c5")
	sput(t, s, "c", 0, 10, "c0")
	a1, a2, a3 := sess{"a", 0, 10, "a1"}, sess{"a", 20, 30, "a2"}, sess{"a", 40, 40, "a3"}
	b1, c0, c5 := sess{"b", 5, 15, "b1"}, sess{"c", 0, 10, "c0"}, sess{"c", 5, 10, "c5"}

	cases := []struct {
		key                      string
		earliestEnd, latestStart int64
		want                     []sess
	}{
		{"a", 15, 35, []sess{a2}},
		{"a", 10, 40, []sess{a1, a2, a3}},
		{"a", 11, 19, nil},
		{"a", 31, 45, []sess{a3}},
		{"a", 40, 40, []sess{a3}},
		{"a", 41, 100, nil},
		{"a", 0, -1, nil},
		// A record at 12 with a 5 ms inactivity gap merges with sessions overlapping [7, 17].
		{"a", 7, 17, []sess{a1}},
		// earliestEnd after latestStart is valid: sessions spanning the whole gap.
		{"a", 25, 22, []sess{a2}},
		{"b", 0, 100, []sess{b1}},
		// Same end: by start.
		{"c", 10, 10, []sess{c0, c5}},
		{"c", 10, 4, []sess{c0}},
		{"d", 0, 100, nil},
	}
	for _, c := range cases {
		it, err := s.FindSessions([]byte(c.key), c.earliestEnd, c.latestStart)
		wantSessions(t, fmt.Sprintf("FindSessions(%s, %d, %d)", c.key, c.earliestEnd, c.latestStart), drainSessions(t, it, err), c.want)
	}
	it, err := s.Fetch([]byte("a"))
	wantSessions(t, "Fetch(a)", drainSessions(t, it, err), []sess{a1, a2, a3})
	it, err = s.Fetch([]byte("c"))
	wantSessions(t, "Fetch(c)", drainSessions(t, it, err), []sess{c0, c5})
	it, err = s.FindSessionsRange(nil, nil, 0, 100)
	wantSessions(t, "FindSessionsRange(nil, nil, 0, 100)", drainSessions(t, it, err), []sess{a1, a2, a3, b1, c0, c5})
	it, err = s.FindSessionsRange([]byte("b"), nil, 12, 100)
	wantSessions(t, "FindSessionsRange(b, nil, 12, 100)", drainSessions(t, it, err), []sess{b1})
	it, err = s.FindSessionsRange(nil, []byte("b"), 12, 25)
	wantSessions(t, "FindSessionsRange(nil, b, 12, 25)", drainSessions(t, it, err), []sess{a2, b1})
	it, err = s.FindSessionsRange([]byte("a"), []byte("c"), 10, 4)
	wantSessions(t, "FindSessionsRange(a, c, 10, 4)", drainSessions(t, it, err), []sess{a1, c0})
	if _, err := s.FindSessionsRange([]byte("c"), []byte("a"), 0, 100); !errors.Is(err, state.ErrInvalidRange) {
		t.Fatalf("FindSessionsRange(c, a) error = %v, want ErrInvalidRange", err)
	}
}

func testSessionPrefixKeys(t *testing.T, nb NewBackend) {
	s := newSession(t, nb, state.WindowOptions{Retention: 1 << 40})
	keys := []string{"\x00", "a", "a\x00", "a\x00\x00", "a\x01", "aa", "a\xff", "b", "\xff", "\xff\xff"} // in order
	times := [][2]int64{{0, 0}, {0, 255}, {1, 256}, {255, 65_536}, {1 << 32, 1 << 33}}
	var all []sess
	for i := len(keys) - 1; i >= 0; i-- {
		for _, tm := range times {
			sput(t, s, keys[i], tm[0], tm[1], fmt.Sprintf("%s%d", keys[i], tm[0]))
		}
	}
	for _, k := range keys {
		var mine []sess
		for _, tm := range times {
			mine = append(mine, sess{k, tm[0], tm[1], fmt.Sprintf("%s%d", k, tm[0])})
		}
		it, err := s.Fetch([]byte(k))
		wantSessions(t, fmt.Sprintf("Fetch(%s)", show([]byte(k))), drainSessions(t, it, err), mine)
		it, err = s.FindSessions([]byte(k), 256, 255)
		wantSessions(t, fmt.Sprintf("FindSessions(%s, 256, 255)", show([]byte(k))), drainSessions(t, it, err), mine[2:4])
		all = append(all, mine...)
	}
	it, err := s.FindSessionsRange(nil, nil, 0, 1<<40)
	wantSessions(t, "FindSessionsRange(nil, nil) over keys prefixing each other", drainSessions(t, it, err), all)
}

func testSessionRetention(t *testing.T, nb NewBackend) {
	s := newSession(t, nb, state.WindowOptions{Retention: 100, SegmentInterval: 10})
	sput(t, s, "a", 0, 10, "a10")
	sput(t, s, "a", 50, 60, "a60")
	sput(t, s, "a", 100, 110, "a110") // stream time 110: ends up to 10 expire
	wantSession(t, s, "a", 0, 10, nil)
	it, err := s.FindSessions([]byte("a"), 0, 1000)
	wantSessions(t, "FindSessions(a, 0, 1000) at stream time 110", drainSessions(t, it, err),
		[]sess{{"a", 50, 60, "a60"}, {"a", 100, 110, "a110"}})
	sput(t, s, "b", 0, 10, "late") // dropped
	wantSession(t, s, "b", 0, 10, nil)
	sput(t, s, "b", 0, 11, "b11") // live: retention is by end time
	wantSession(t, s, "b", 0, 11, []byte("b11"))
	sput(t, s, "c", 5, 150, "c150") // stream time 150: ends up to 50 expire
	wantSession(t, s, "b", 0, 11, nil)
	it, err = s.FindSessionsRange(nil, nil, 0, 1000)
	wantSessions(t, "FindSessionsRange at stream time 150", drainSessions(t, it, err),
		[]sess{{"a", 50, 60, "a60"}, {"a", 100, 110, "a110"}, {"c", 5, 150, "c150"}})
	// A deleting Put moves stream time too, as in Kafka Streams.
	if err := s.Put([]byte("zz"), 300, 300, nil); err != nil {
		t.Fatal(err)
	}
	it, err = s.FindSessionsRange(nil, nil, 0, 1000)
	wantSessions(t, "FindSessionsRange at stream time 300", drainSessions(t, it, err), nil)
	sput(t, s, "a", 150, 201, "a201")
	sput(t, s, "a", 150, 200, "a200") // dropped
	it, err = s.Fetch([]byte("a"))
	wantSessions(t, "Fetch(a) at stream time 300", drainSessions(t, it, err), []sess{{"a", 150, 201, "a201"}})
}

func testSessionWritesDuringIteration(t *testing.T, nb NewBackend) {
	s := newSession(t, nb, state.WindowOptions{Retention: 1 << 40})
	for i := range 50 {
		sput(t, s, "k", int64(i)*10, int64(i)*10+5, "old")
	}
	it, err := s.Fetch([]byte("k"))
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	n := 0
	for it.Next() {
		if v := string(it.Value()); v != "old" && v != "new" {
			t.Fatalf("session iterator during writes returned %s", v)
		}
		n++
		if n == 3 {
			// What a session aggregation does: merge sessions into a new one.
			for i := range 50 {
				if err := s.Remove([]byte("k"), int64(i)*10, int64(i)*10+5); err != nil {
					t.Fatal(err)
				}
			}
			sput(t, s, "k", 0, 495, "new")
		}
	}
	if err := it.Err(); err != nil {
		t.Fatal(err)
	}
	it2, err := s.Fetch([]byte("k"))
	wantSessions(t, "Fetch(k) after merging", drainSessions(t, it2, err), []sess{{"k", 0, 495, "new"}})
}

func testSessionStoreClose(t *testing.T, nb NewBackend) {
	s := newSession(t, nb, state.WindowOptions{Retention: 1000})
	sput(t, s, "a", 1, 2, "x")
	sput(t, s, "a", 3, 4, "y")
	it, err := s.Fetch([]byte("a"))
	if err != nil {
		t.Fatal(err)
	}
	if !it.Next() {
		t.Fatalf("Next = false, Err %v", it.Err())
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	noPanic(t, "session iterator after store Close", func() {
		if it.Next() {
			t.Fatalf("Next on an iterator of a closed store = true")
		}
		if err := it.Err(); !isClosedErr(err) {
			t.Fatalf("Err = %v, want nil or ErrClosed", err)
		}
		if err := it.Close(); !isClosedErr(err) {
			t.Fatalf("Close = %v, want nil or ErrClosed", err)
		}
	})
	noPanic(t, "operations on a closed session store", func() {
		want := func(op string, err error) {
			t.Helper()
			if !errors.Is(err, state.ErrClosed) {
				t.Errorf("%s on a closed session store: error %v, want ErrClosed", op, err)
			}
		}
		want("Put", s.Put([]byte("a"), 5, 6, []byte("z")))
		want("Remove", s.Remove([]byte("a"), 1, 2))
		_, err := s.FetchSession([]byte("a"), 1, 2)
		want("FetchSession", err)
		_, err = s.FindSessions([]byte("a"), 0, 10)
		want("FindSessions", err)
		_, err = s.FindSessionsRange(nil, nil, 0, 10)
		want("FindSessionsRange", err)
		_, err = s.Fetch([]byte("a"))
		want("Fetch", err)
		if err := s.Close(); !isClosedErr(err) {
			t.Errorf("second Close = %v, want nil or ErrClosed", err)
		}
	})
}

func testSessionPersistence(t *testing.T, nb NewBackend) {
	b := nb(t)
	dir := t.TempDir()
	opts := state.WindowOptions{Retention: 10_000}
	s := openSession(t, b, "sp", dir, opts)
	if !s.Persistent() {
		t.Skip("backend is not persistent")
	}
	sput(t, s, "a", 0, 10, "a10")
	sput(t, s, "b", 5, 500, "b500")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openSession(t, b, "sp", dir, opts)
	wantSession(t, s, "a", 0, 10, []byte("a10"))
	it, err := s.FindSessionsRange(nil, nil, 0, 1000)
	wantSessions(t, "FindSessionsRange after reopen", drainSessions(t, it, err), []sess{{"a", 0, 10, "a10"}, {"b", 5, 500, "b500"}})
}

// sessionModel is the naive reference for session stores.
type sessionModel struct {
	retention  int64
	observed   bool
	streamTime int64
	vals       map[sess]string // by key, start and end; v is left empty in the map's keys
}

func (m *sessionModel) live(end int64) bool { return !m.observed || end > m.streamTime-m.retention }

func (m *sessionModel) put(k string, start, end int64, v []byte) {
	if !m.observed || end > m.streamTime {
		m.observed, m.streamTime = true, end
	}
	if !m.live(end) {
		return
	}
	id := sess{k: k, start: start, end: end}
	if v == nil {
		delete(m.vals, id)
		return
	}
	m.vals[id] = string(v)
}

func (m *sessionModel) find(kf, kt []byte, earliestEnd, latestStart int64) []sess {
	var out []sess
	for id, v := range m.vals {
		if m.live(id.end) && inKeyRange(id.k, kf, kt) && id.end >= earliestEnd && id.start <= latestStart {
			id.v = v
			out = append(out, id)
		}
	}
	slices.SortFunc(out, func(a, b sess) int {
		return cmp.Or(bytes.Compare([]byte(a.k), []byte(b.k)), cmp.Compare(a.end, b.end), cmp.Compare(a.start, b.start))
	})
	return out
}

// testSessionModel runs a seeded random sequence of session operations against the model.
func testSessionModel(t *testing.T, nb NewBackend, opts state.WindowOptions) {
	r := rand.New(rand.NewPCG(seed(t, 20240603), 0x5eed))
	b := nb(t)
	dir := t.TempDir()
	s := openSession(t, b, "smodel", dir, opts)
	m := &sessionModel{retention: opts.Retention, vals: map[sess]string{}}
	clock := int64(0)
	randSession := func() (int64, int64) {
		end := max(0, clock-r.Int64N(opts.Retention+opts.Retention/4))
		if r.IntN(10) == 0 {
			end = clock + r.Int64N(30)
		}
		return max(0, end-r.Int64N(60)), end
	}
	const steps = 4000
	for step := range steps {
		what := func(format string, args ...any) string {
			return fmt.Sprintf("step %d (stream time %d): ", step, m.streamTime) + fmt.Sprintf(format, args...)
		}
		if r.IntN(8) == 0 {
			clock += r.Int64N(opts.Retention / 2)
		}
		op := r.IntN(100)
		switch {
		case op < 40:
			k := randKey(r, 2)
			start, end := randSession()
			v := randValue(r, step)
			if err := s.Put(k, start, end, v); err != nil {
				t.Fatal(what("Put(%s, %d, %d): %v", show(k), start, end, err))
			}
			m.put(string(k), start, end, v)
		case op < 50:
			// Remove a session that exists, mostly: what merging does.
			var ids []sess
			for id := range m.vals {
				ids = append(ids, id)
			}
			slices.SortFunc(ids, func(a, b sess) int {
				return cmp.Or(cmp.Compare(a.k, b.k), cmp.Compare(a.end, b.end), cmp.Compare(a.start, b.start))
			})
			id := sess{k: string(randKey(r, 2)), start: 1, end: 2}
			if len(ids) > 0 && r.IntN(4) > 0 {
				id = ids[r.IntN(len(ids))]
			}
			if err := s.Remove([]byte(id.k), id.start, id.end); err != nil {
				t.Fatal(what("Remove(%s): %v", id, err))
			}
			delete(m.vals, id)
		case op < 62:
			k := randKey(r, 2)
			start, end := randSession()
			got, err := s.FetchSession(k, start, end)
			want := m.find(k, k, end, start)
			var wantV []byte
			for _, w := range want {
				if w.start == start && w.end == end {
					wantV = []byte(w.v)
				}
			}
			if err != nil || !sameBytes(got, wantV) {
				t.Fatal(what("FetchSession(%s, %d, %d) = %s, %v; want %s", show(k), start, end, show(got), err, show(wantV)))
			}
		case op < 80:
			k := randKey(r, 2)
			earliestEnd := clock - r.Int64N(opts.Retention*2)
			latestStart := earliestEnd + r.Int64N(100) - 20
			it, err := s.FindSessions(k, earliestEnd, latestStart)
			wantSessions(t, what("FindSessions(%s, %d, %d)", show(k), earliestEnd, latestStart), drainSessions(t, it, err),
				m.find(k, k, earliestEnd, latestStart))
		case op < 92:
			kf, kt := randBound(r), randBound(r)
			if kf != nil && kt != nil && bytes.Compare(kf, kt) > 0 {
				kf, kt = kt, kf
			}
			earliestEnd := clock - r.Int64N(opts.Retention*2)
			latestStart := earliestEnd + r.Int64N(100) - 20
			it, err := s.FindSessionsRange(kf, kt, earliestEnd, latestStart)
			wantSessions(t, what("FindSessionsRange(%s, %s, %d, %d)", show(kf), show(kt), earliestEnd, latestStart),
				drainSessions(t, it, err), m.find(kf, kt, earliestEnd, latestStart))
		case op < 98:
			k := randKey(r, 2)
			it, err := s.Fetch(k)
			wantSessions(t, what("Fetch(%s)", show(k)), drainSessions(t, it, err), m.find(k, k, -1<<62, 1<<62))
		default:
			if !s.Persistent() {
				continue
			}
			if err := s.Close(); err != nil {
				t.Fatal(what("Close: %v", err))
			}
			s = openSession(t, b, "smodel", dir, opts)
			if m.observed { // see testWindowModel
				if err := s.Put([]byte("\x01time"), m.streamTime, m.streamTime, nil); err != nil {
					t.Fatal(what("Put after reopen: %v", err))
				}
			}
		}
	}
}
