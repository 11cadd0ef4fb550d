package statetest

import (
	"bytes"
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/rillstreams/rill/state"
)

// windowModel is the naive reference for window stores: every entry ever put in a list, with
// the documented retention rule applied on every query.
type windowModel struct {
	opts       state.WindowOptions
	observed   bool
	streamTime int64
	entries    []win // in Put order; expired ones are filtered, never removed
}

// live reports whether a window starting at start is not expired.
func (m *windowModel) live(start int64) bool {
	return !m.observed || start > m.streamTime-m.opts.Retention
}

func (m *windowModel) put(k string, v []byte, start int64) {
	if !m.observed || start > m.streamTime {
		m.observed, m.streamTime = true, start
	}
	if !m.live(start) {
		return
	}
	if m.opts.RetainDuplicates {
		if v != nil {
			m.entries = append(m.entries, win{k, start, string(v)})
		}
		return
	}
	m.entries = slices.DeleteFunc(m.entries, func(w win) bool { return w.k == k && w.start == start })
	if v != nil {
		m.entries = append(m.entries, win{k, start, string(v)})
	}
}

// query returns the live entries matching keep, stably sorted by key then start (byKey) or
// start then key; duplicates keep their Put order.
func (m *windowModel) query(keep func(w win) bool, byKey bool) []win {
	var out []win
	for _, w := range m.entries {
		if m.live(w.start) && keep(w) {
			out = append(out, w)
		}
	}
	slices.SortStableFunc(out, func(a, b win) int {
		kc, tc := bytes.Compare([]byte(a.k), []byte(b.k)), cmp.Compare(a.start, b.start)
		if byKey {
			return cmp.Or(kc, tc)
		}
		return cmp.Or(tc, kc)
	})
	return out
}

func inKeyRange(k string, from, to []byte) bool {
	return (from == nil || k >= string(from)) && (to == nil || k <= string(to))
}

// testWindowModel runs a seeded random sequence of window puts and fetches, with stream time
// moving forward in jumps and late records arriving, against the model.
func testWindowModel(t *testing.T, nb NewBackend, opts state.WindowOptions) {
	r := rand.New(rand.NewPCG(seed(t, 20240602), 0x5eed))
	b := nb(t)
	dir := t.TempDir()
	s := openWindow(t, b, "wmodel", dir, opts)
	m := &windowModel{opts: opts}
	clock := int64(0)
	randStart := func() int64 {
		// Mostly around the clock, sometimes late past retention, sometimes ahead.
		switch r.IntN(10) {
		case 0:
			return max(0, clock-opts.Retention-r.Int64N(50))
		case 1:
			return clock + r.Int64N(40)
		default:
			return max(0, clock-r.Int64N(opts.Retention))
		}
	}
	randTimeRange := func() (int64, int64) {
		from := max(0, clock-r.Int64N(2*opts.Retention))
		return from, from + r.Int64N(2*opts.Retention)
	}
	const steps = 5000
	for step := range steps {
		fail := func(format string, args ...any) {
			t.Helper()
			t.Fatalf("step %d (stream time %d): %s", step, m.streamTime, fmt.Sprintf(format, args...))
		}
		what := func(format string, args ...any) string {
			return fmt.Sprintf("step %d (stream time %d): ", step, m.streamTime) + fmt.Sprintf(format, args...)
		}
		if r.IntN(8) == 0 {
			clock += r.Int64N(opts.Retention / 2)
		}
		op := r.IntN(100)
		switch {
		case op < 45:
			k, start := randKey(r, 2), randStart()
			v := randValue(r, step)
			if err := s.Put(k, v, start); err != nil {
				fail("Put(%s, %s, %d): %v", show(k), show(v), start, err)
			}
			m.put(string(k), v, start)
		case op < 60:
			k, start := randKey(r, 2), randStart()
			got, err := s.Fetch(k, start)
			if err != nil {
				fail("Fetch(%s, %d): %v", show(k), start, err)
			}
			want := m.query(func(w win) bool { return w.k == string(k) && w.start == start }, true)
			switch {
			case len(want) == 0 && got != nil:
				fail("Fetch(%s, %d) = %s, want nil", show(k), start, show(got))
			case len(want) > 0 && !slices.ContainsFunc(want, func(w win) bool { return sameBytes([]byte(w.v), got) }):
				fail("Fetch(%s, %d) = %s, want one of %s", show(k), start, show(got), winsString(want))
			}
		case op < 72:
			k := randKey(r, 2)
			from, to := randTimeRange()
			it, err := s.FetchRange(k, from, to)
			want := m.query(func(w win) bool { return w.k == string(k) && w.start >= from && w.start <= to }, true)
			wantWins(t, what("FetchRange(%s, %d, %d)", show(k), from, to), drainWindow(t, string(k), it, err), want)
		case op < 84:
			kf, kt := randBound(r), randBound(r)
			if kf != nil && kt != nil && bytes.Compare(kf, kt) > 0 {
				kf, kt = kt, kf
			}
			from, to := randTimeRange()
			it, err := s.FetchKeyRange(kf, kt, from, to)
			want := m.query(func(w win) bool { return inKeyRange(w.k, kf, kt) && w.start >= from && w.start <= to }, true)
			wantWins(t, what("FetchKeyRange(%s, %s, %d, %d)", show(kf), show(kt), from, to), drainWindowKeys(t, it, err), want)
		case op < 93:
			from, to := randTimeRange()
			it, err := s.FetchAll(from, to)
			want := m.query(func(w win) bool { return w.start >= from && w.start <= to }, false)
			wantWins(t, what("FetchAll(%d, %d)", from, to), drainWindowKeys(t, it, err), want)
		case op < 98:
			it, err := s.All()
			wantWins(t, what("All"), drainWindowKeys(t, it, err), m.query(func(win) bool { return true }, false))
		default:
			if !s.Persistent() {
				continue
			}
			if err := s.Close(); err != nil {
				fail("Close: %v", err)
			}
			s = openWindow(t, b, "wmodel", dir, opts)
			// A reopened store need not remember its stream time (Kafka Streams rebuilds it
			// while restoring): a Put at the model's stream time brings it back. The key is
			// outside the alphabet, and a nil value stores nothing.
			if m.observed {
				if err := s.Put([]byte("\x01time"), nil, m.streamTime); err != nil {
					fail("Put after reopen: %v", err)
				}
			}
		}
	}
	it, err := s.FetchAll(math.MinInt64, math.MaxInt64)
	wantWins(t, "FetchAll at the end", drainWindowKeys(t, it, err), m.query(func(win) bool { return true }, false))
}
