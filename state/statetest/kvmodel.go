package statetest

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/rillstreams/rill/state"
)

// kvModel is the naive reference: a map, sorted on every query. Slow and obviously right.
type kvModel map[string][]byte

func (m kvModel) rangeOf(from, to []byte, reverse bool) []pair {
	var out []pair
	for k, v := range m {
		if from != nil && k < string(from) || to != nil && k > string(to) {
			continue
		}
		out = append(out, pair{k, string(v)})
	}
	slices.SortFunc(out, func(a, b pair) int {
		if reverse {
			return -compareStrings(a.k, b.k)
		}
		return compareStrings(a.k, b.k)
	})
	return out
}

func (m kvModel) prefix(p []byte) []pair {
	var out []pair
	for _, kv := range m.rangeOf(nil, nil, false) {
		if bytes.HasPrefix([]byte(kv.k), p) {
			out = append(out, kv)
		}
	}
	return out
}

func compareStrings(a, b string) int { return bytes.Compare([]byte(a), []byte(b)) }

// checkKVModel compares the whole store with a model of key to value.
func checkKVModel(t testing.TB, s state.KeyValueBytesStore, model map[string]string) {
	t.Helper()
	m := kvModel{}
	for k, v := range model {
		m[k] = []byte(v)
	}
	it, err := s.All()
	wantPairs(t, "All", drainKV(t, it, err), m.rangeOf(nil, nil, false))
	for k, v := range m {
		wantGet(t, s, k, v)
	}
}

// kvAlphabet makes keys collide often and share prefixes, including the 0x00 and 0xff bytes
// where off-by-one bounds hide.
var kvAlphabet = []byte{0x00, 'a', 'b', 0xff}

func randKey(r *rand.Rand, maxLen int) []byte {
	k := make([]byte, 1+r.IntN(maxLen))
	for i := range k {
		k[i] = kvAlphabet[r.IntN(len(kvAlphabet))]
	}
	return k
}

// randBound is a range bound: nil (open) a quarter of the time.
func randBound(r *rand.Rand) []byte {
	if r.IntN(4) == 0 {
		return nil
	}
	return randKey(r, 3)
}

func randValue(r *rand.Rand, step int) []byte {
	switch r.IntN(20) {
	case 0:
		return nil // deletes
	case 1:
		return []byte{}
	default:
		return []byte(fmt.Sprintf("v%d", step))
	}
}

// testKVModel runs a seeded random sequence of operations against the store and the model and
// compares every result. Persistent stores are also closed and reopened now and then.
func testKVModel(t *testing.T, nb NewBackend) {
	r := rand.New(rand.NewPCG(seed(t, 20240601), 0x5eed))
	b := nb(t)
	dir := t.TempDir()
	s := openKV(t, b, "model", dir)
	m := kvModel{}
	const steps = 5000
	for step := range steps {
		fail := func(format string, args ...any) {
			t.Helper()
			t.Fatalf("step %d: %s", step, fmt.Sprintf(format, args...))
		}
		op := r.IntN(100)
		switch {
		case op < 30:
			k, v := randKey(r, 3), randValue(r, step)
			if err := s.Put(k, v); err != nil {
				fail("Put(%s, %s): %v", show(k), show(v), err)
			}
			if v == nil {
				delete(m, string(k))
			} else {
				m[string(k)] = v
			}
		case op < 40:
			k := randKey(r, 3)
			old, err := s.Delete(k)
			if err != nil || !sameBytes(old, m[string(k)]) {
				fail("Delete(%s) = %s, %v; want %s", show(k), show(old), err, show(m[string(k)]))
			}
			delete(m, string(k))
		case op < 50:
			k, v := randKey(r, 3), randValue(r, step)
			old, err := s.PutIfAbsent(k, v)
			want := m[string(k)]
			if err != nil || !sameBytes(old, want) {
				fail("PutIfAbsent(%s, %s) = %s, %v; want %s", show(k), show(v), show(old), err, show(want))
			}
			if want == nil && v != nil {
				m[string(k)] = v
			}
		case op < 65:
			k := randKey(r, 3)
			got, err := s.Get(k)
			if err != nil || !sameBytes(got, m[string(k)]) {
				fail("Get(%s) = %s, %v; want %s", show(k), show(got), err, show(m[string(k)]))
			}
		case op < 83:
			reverse := op >= 75
			from, to := randBound(r), randBound(r)
			var it state.KeyValueIterator
			var err error
			name := "Range"
			if reverse {
				name = "ReverseRange"
				it, err = s.ReverseRange(from, to)
			} else {
				it, err = s.Range(from, to)
			}
			what := fmt.Sprintf("%s(%s, %s)", name, show(from), show(to))
			if from != nil && to != nil && bytes.Compare(from, to) > 0 {
				if !errors.Is(err, state.ErrInvalidRange) {
					fail("%s: error %v, want ErrInvalidRange", what, err)
				}
				continue
			}
			if err != nil {
				fail("%s: %v", what, err)
			}
			wantPairs(t, fmt.Sprintf("step %d: %s", step, what), drainKV(t, it, nil), m.rangeOf(from, to, reverse))
		case op < 91:
			p := randKey(r, 2)
			p = p[:r.IntN(len(p)+1)] // the empty prefix too
			it, err := s.PrefixScan(p)
			wantPairs(t, fmt.Sprintf("step %d: PrefixScan(%s)", step, show(p)), drainKV(t, it, err), m.prefix(p))
		case op < 93:
			it, err := s.All()
			wantPairs(t, fmt.Sprintf("step %d: All", step), drainKV(t, it, err), m.rangeOf(nil, nil, false))
		case op < 95:
			n, err := s.ApproximateCount()
			if err != nil || n < 0 || !s.Persistent() && n != int64(len(m)) {
				fail("ApproximateCount = %d, %v; model has %d keys", n, err, len(m))
			}
		case op < 98:
			kvModelIterateWhileWriting(t, r, s, m, step)
		default:
			if !s.Persistent() {
				continue
			}
			if err := s.Close(); err != nil {
				fail("Close: %v", err)
			}
			s = openKV(t, b, "model", dir)
		}
	}
	it, err := s.All()
	wantPairs(t, "All at the end", drainKV(t, it, err), m.rangeOf(nil, nil, false))
}

// kvModelIterateWhileWriting opens a range iterator and writes between its steps. Snapshot
// and live iterators are both allowed, so it checks what holds for either: keys stay in
// order and in range, every value returned was the key's value when the iterator opened or
// was written since, and keys that nobody touched since it opened are all returned.
func kvModelIterateWhileWriting(t *testing.T, r *rand.Rand, s state.KeyValueBytesStore, m kvModel, step int) {
	t.Helper()
	from, to := randBound(r), randBound(r)
	if from != nil && to != nil && bytes.Compare(from, to) > 0 {
		from, to = to, from
	}
	reverse := r.IntN(2) == 0
	var it state.KeyValueIterator
	var err error
	if reverse {
		it, err = s.ReverseRange(from, to)
	} else {
		it, err = s.Range(from, to)
	}
	if err != nil {
		t.Fatalf("step %d: opening iterator: %v", step, err)
	}
	defer it.Close()
	atOpen := m.rangeOf(from, to, reverse)
	possible := map[string]map[string]bool{}
	for _, kv := range atOpen {
		possible[kv.k] = map[string]bool{kv.v: true}
	}
	touched := map[string]bool{}
	var prev []byte
	returned := map[string]bool{}
	for it.Next() {
		k, v := string(it.Key()), string(it.Value())
		if from != nil && k < string(from) || to != nil && k > string(to) {
			t.Fatalf("step %d: iterator returned %s outside [%s, %s]", step, show([]byte(k)), show(from), show(to))
		}
		if prev != nil {
			c := bytes.Compare(prev, []byte(k))
			if reverse && c <= 0 || !reverse && c >= 0 {
				t.Fatalf("step %d: iterator returned %s after %s", step, show([]byte(k)), show(prev))
			}
		}
		prev = []byte(k)
		if !possible[k][v] {
			t.Fatalf("step %d: iterator returned %s=%s, never a value of that key while it was open", step, show([]byte(k)), show([]byte(v)))
		}
		returned[k] = true
		for range r.IntN(3) {
			wk := randKey(r, 3)
			touched[string(wk)] = true
			if r.IntN(3) == 0 {
				if _, err := s.Delete(wk); err != nil {
					t.Fatalf("step %d: Delete during iteration: %v", step, err)
				}
				delete(m, string(wk))
				continue
			}
			wv := []byte(fmt.Sprintf("w%d-%d", step, r.IntN(1000)))
			if err := s.Put(wk, wv); err != nil {
				t.Fatalf("step %d: Put during iteration: %v", step, err)
			}
			m[string(wk)] = wv
			if possible[string(wk)] == nil {
				possible[string(wk)] = map[string]bool{}
			}
			possible[string(wk)][string(wv)] = true
		}
	}
	if err := it.Err(); err != nil {
		t.Fatalf("step %d: iterator Err: %v", step, err)
	}
	for _, kv := range atOpen {
		if !touched[kv.k] && !returned[kv.k] {
			t.Fatalf("step %d: iterator skipped %s, which nobody touched while it was open", step, show([]byte(kv.k)))
		}
	}
}
