package statetest

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/rillstreams/rill/state"
)

// RunKeyValue checks the key-value stores of the backend made by nb.
func RunKeyValue(t *testing.T, nb NewBackend) {
	t.Run("GetPutDelete", func(t *testing.T) { testKVGetPutDelete(t, nb) })
	t.Run("PutCopies", func(t *testing.T) { testKVPutCopies(t, nb) })
	t.Run("PutIfAbsent", func(t *testing.T) { testKVPutIfAbsent(t, nb) })
	t.Run("Range", func(t *testing.T) { testKVRange(t, nb) })
	t.Run("ReverseRange", func(t *testing.T) { testKVReverseRange(t, nb) })
	t.Run("PrefixScan", func(t *testing.T) { testKVPrefixScan(t, nb) })
	t.Run("ApproximateCount", func(t *testing.T) { testKVCount(t, nb) })
	t.Run("IteratorClose", func(t *testing.T) { testKVIteratorClose(t, nb) })
	t.Run("WritesDuringIteration", func(t *testing.T) { testKVWritesDuringIteration(t, nb) })
	t.Run("ManyIterators", func(t *testing.T) { testKVManyIterators(t, nb) })
	t.Run("StoreClose", func(t *testing.T) { testKVStoreClose(t, nb) })
	t.Run("SeparateStores", func(t *testing.T) { testKVSeparateStores(t, nb) })
	t.Run("Persistence", func(t *testing.T) { testKVPersistence(t, nb) })
	t.Run("Model", func(t *testing.T) { testKVModel(t, nb) })
}

// openKV opens a key-value store named name in dir and closes it when the test ends.
func openKV(t testing.TB, b state.Backend, name, dir string) state.KeyValueBytesStore {
	t.Helper()
	s, err := b.KeyValue(name, dir)
	if err != nil {
		t.Fatalf("KeyValue(%q): %v", name, err)
	}
	if s == nil {
		t.Fatalf("KeyValue(%q) returned a nil store", name)
	}
	closeAtEnd(t, s)
	return s
}

func newKV(t testing.TB, nb NewBackend) state.KeyValueBytesStore {
	t.Helper()
	return openKV(t, nb(t), "kv", t.TempDir())
}

type pair struct{ k, v string }

func (p pair) String() string { return show([]byte(p.k)) + "=" + show([]byte(p.v)) }

func pairsString(ps []pair) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.String()
	}
	return "[" + strings.Join(s, " ") + "]"
}

// drainKV reads an iterator to its end, checks Err and closes it.
func drainKV(t testing.TB, it state.KeyValueIterator, err error) []pair {
	t.Helper()
	if err != nil {
		t.Fatalf("opening iterator: %v", err)
	}
	var out []pair
	for it.Next() {
		if it.Value() == nil {
			t.Fatalf("iterator returned key %s with a nil value", show(it.Key()))
		}
		out = append(out, pair{string(it.Key()), string(it.Value())})
	}
	if err := it.Err(); err != nil {
		t.Fatalf("iterator Err: %v", err)
	}
	if err := it.Close(); err != nil {
		t.Fatalf("iterator Close: %v", err)
	}
	return out
}

func mustPut(t testing.TB, s state.KeyValueBytesStore, k, v string) {
	t.Helper()
	if err := s.Put([]byte(k), []byte(v)); err != nil {
		t.Fatalf("Put(%s): %v", show([]byte(k)), err)
	}
}

func mustGet(t testing.TB, s state.KeyValueBytesStore, k string) []byte {
	t.Helper()
	v, err := s.Get([]byte(k))
	if err != nil {
		t.Fatalf("Get(%s): %v", show([]byte(k)), err)
	}
	return v
}

func wantGet(t testing.TB, s state.KeyValueBytesStore, k string, want []byte) {
	t.Helper()
	if got := mustGet(t, s, k); !sameBytes(got, want) {
		t.Fatalf("Get(%s) = %s, want %s", show([]byte(k)), show(got), show(want))
	}
}

func wantPairs(t testing.TB, what string, got, want []pair) {
	t.Helper()
	if i, ok := firstDiff(got, want); !ok {
		t.Fatalf("%s: %s", what, diffReport(i, got, want, pair.String))
	}
}

func testKVGetPutDelete(t *testing.T, nb NewBackend) {
	b := nb(t)
	s := openKV(t, b, "kv-store", t.TempDir())
	if s.Name() != "kv-store" {
		t.Fatalf("Name() = %q, want %q", s.Name(), "kv-store")
	}
	wantGet(t, s, "a", nil)
	mustPut(t, s, "a", "1")
	wantGet(t, s, "a", []byte("1"))
	mustPut(t, s, "a", "2")
	wantGet(t, s, "a", []byte("2"))

	// An empty value is a value: only nil means absent (Kafka Streams keeps byte[0] too).
	if err := s.Put([]byte("empty"), []byte{}); err != nil {
		t.Fatal(err)
	}
	wantGet(t, s, "empty", []byte{})

	// A nil value deletes.
	if err := s.Put([]byte("a"), nil); err != nil {
		t.Fatal(err)
	}
	wantGet(t, s, "a", nil)

	mustPut(t, s, "b", "3")
	old, err := s.Delete([]byte("b"))
	if err != nil || !sameBytes(old, []byte("3")) {
		t.Fatalf("Delete(b) = %s, %v; want \"3\"", show(old), err)
	}
	wantGet(t, s, "b", nil)
	old, err = s.Delete([]byte("b"))
	if err != nil || old != nil {
		t.Fatalf("Delete of a missing key = %s, %v; want nil, nil", show(old), err)
	}
	old, err = s.Delete([]byte("empty"))
	if err != nil || !sameBytes(old, []byte{}) {
		t.Fatalf("Delete(empty) = %s, %v; want an empty non-nil value", show(old), err)
	}
	if err := s.Flush(); err != nil {
		t.Fatalf("Flush: %v", err)
	}

	// Binary keys, including 0x00 and 0xff bytes, are plain bytes.
	for _, k := range []string{"\x00", "\x00\x00", "\xff", "\xff\xff", "a\x00b"} {
		mustPut(t, s, k, "v"+k)
	}
	for _, k := range []string{"\x00", "\x00\x00", "\xff", "\xff\xff", "a\x00b"} {
		wantGet(t, s, k, []byte("v"+k))
	}
}

func testKVPutCopies(t *testing.T, nb NewBackend) {
	s := newKV(t, nb)
	k, v := []byte("key"), []byte("value")
	if err := s.Put(k, v); err != nil {
		t.Fatal(err)
	}
	// Callers reuse their buffers: the store must have copied both.
	copy(k, "KEY")
	copy(v, "VALUE")
	wantGet(t, s, "key", []byte("value"))
	wantGet(t, s, "KEY", nil)

	k2, v2 := []byte("k2"), []byte("v2")
	if _, err := s.PutIfAbsent(k2, v2); err != nil {
		t.Fatal(err)
	}
	copy(k2, "xx")
	copy(v2, "yy")
	wantGet(t, s, "k2", []byte("v2"))
}

func testKVPutIfAbsent(t *testing.T, nb NewBackend) {
	s := newKV(t, nb)
	old, err := s.PutIfAbsent([]byte("a"), []byte("1"))
	if err != nil || old != nil {
		t.Fatalf("PutIfAbsent on an absent key = %s, %v; want nil, nil", show(old), err)
	}
	wantGet(t, s, "a", []byte("1"))
	old, err = s.PutIfAbsent([]byte("a"), []byte("2"))
	if err != nil || !sameBytes(old, []byte("1")) {
		t.Fatalf("PutIfAbsent on a present key = %s, %v; want \"1\"", show(old), err)
	}
	wantGet(t, s, "a", []byte("1"))
	// A nil value on an absent key stores nothing.
	old, err = s.PutIfAbsent([]byte("b"), nil)
	if err != nil || old != nil {
		t.Fatalf("PutIfAbsent(b, nil) = %s, %v; want nil, nil", show(old), err)
	}
	wantGet(t, s, "b", nil)
	// An empty value counts as present.
	if _, err := s.PutIfAbsent([]byte("c"), []byte{}); err != nil {
		t.Fatal(err)
	}
	old, err = s.PutIfAbsent([]byte("c"), []byte("x"))
	if err != nil || !sameBytes(old, []byte{}) {
		t.Fatalf("PutIfAbsent over an empty value = %s, %v; want an empty non-nil value", show(old), err)
	}
	wantGet(t, s, "c", []byte{})
}

func fill(t testing.TB, s state.KeyValueBytesStore, keys ...string) {
	t.Helper()
	for _, k := range keys {
		mustPut(t, s, k, "v-"+k)
	}
}

func pairsOf(keys ...string) []pair {
	out := make([]pair, len(keys))
	for i, k := range keys {
		out[i] = pair{k, "v-" + k}
	}
	return out
}

func reversed(ps []pair) []pair {
	out := make([]pair, len(ps))
	for i, p := range ps {
		out[len(ps)-1-i] = p
	}
	return out
}

func bs(s string) []byte { return []byte(s) }

type rangeCase struct {
	from, to []byte
	want     []pair
}

func rangeCases() []rangeCase {
	return []rangeCase{
		{nil, nil, pairsOf("a", "b", "bb", "c", "d", "e")},
		{bs("b"), bs("d"), pairsOf("b", "bb", "c", "d")},
		{nil, bs("c"), pairsOf("a", "b", "bb", "c")},
		{bs("c"), nil, pairsOf("c", "d", "e")},
		{bs("c"), bs("c"), pairsOf("c")},
		{bs("ba"), bs("cc"), pairsOf("bb", "c")},
		{bs("0"), bs("1"), nil},
		{bs("x"), bs("y"), nil},
		{bs("x"), nil, nil},
		{nil, bs("0"), nil},
		{bs(""), bs("a"), pairsOf("a")},
		{bs("b"), bs("b\x00"), pairsOf("b")},
	}
}

func testKVRange(t *testing.T, nb NewBackend) {
	s := newKV(t, nb)
	it, err := s.All()
	if got := drainKV(t, it, err); len(got) != 0 {
		t.Fatalf("All on an empty store = %s", pairsString(got))
	}
	fill(t, s, "d", "a", "bb", "c", "e", "b")
	for _, c := range rangeCases() {
		it, err := s.Range(c.from, c.to)
		wantPairs(t, fmt.Sprintf("Range(%s, %s)", show(c.from), show(c.to)), drainKV(t, it, err), c.want)
	}
	it, err = s.All()
	wantPairs(t, "All", drainKV(t, it, err), pairsOf("a", "b", "bb", "c", "d", "e"))

	if _, err := s.Range(bs("d"), bs("b")); !errors.Is(err, state.ErrInvalidRange) {
		t.Fatalf("Range(d, b) error = %v, want ErrInvalidRange", err)
	}
}

func testKVReverseRange(t *testing.T, nb NewBackend) {
	s := newKV(t, nb)
	fill(t, s, "d", "a", "bb", "c", "e", "b")
	for _, c := range rangeCases() {
		it, err := s.ReverseRange(c.from, c.to)
		wantPairs(t, fmt.Sprintf("ReverseRange(%s, %s)", show(c.from), show(c.to)), drainKV(t, it, err), reversed(c.want))
	}
	if _, err := s.ReverseRange(bs("d"), bs("b")); !errors.Is(err, state.ErrInvalidRange) {
		t.Fatalf("ReverseRange(d, b) error = %v, want ErrInvalidRange", err)
	}
}

func testKVPrefixScan(t *testing.T, nb NewBackend) {
	s := newKV(t, nb)
	all := []string{"a", "ab", "abc", "abd", "ac", "b", "\xfe\xff", "\xff", "\xff\x00", "\xff\xff", "\xff\xff\x01", "\xff\xff\xff"}
	fill(t, s, all...)
	cases := []struct {
		prefix string
		want   []string
	}{
		{"ab", []string{"ab", "abc", "abd"}},
		{"a", []string{"a", "ab", "abc", "abd", "ac"}},
		{"abc", []string{"abc"}},
		{"abcd", nil},
		{"z", nil},
		{"\xfe", []string{"\xfe\xff"}},
		// The upper bound of a 0xff prefix cannot be made by incrementing its last byte.
		{"\xff", []string{"\xff", "\xff\x00", "\xff\xff", "\xff\xff\x01", "\xff\xff\xff"}},
		{"\xff\xff", []string{"\xff\xff", "\xff\xff\x01", "\xff\xff\xff"}},
		{"\xff\xff\xff", []string{"\xff\xff\xff"}},
		{"", all},
	}
	for _, c := range cases {
		it, err := s.PrefixScan([]byte(c.prefix))
		wantPairs(t, fmt.Sprintf("PrefixScan(%s)", show([]byte(c.prefix))), drainKV(t, it, err), pairsOf(c.want...))
	}
	it, err := s.PrefixScan(nil)
	wantPairs(t, "PrefixScan(nil)", drainKV(t, it, err), pairsOf(all...))
}

func testKVCount(t *testing.T, nb NewBackend) {
	s := newKV(t, nb)
	n, err := s.ApproximateCount()
	if err != nil || n != 0 && !s.Persistent() {
		t.Fatalf("ApproximateCount of an empty store = %d, %v", n, err)
	}
	const keys = 100
	for i := range keys {
		mustPut(t, s, fmt.Sprintf("k%03d", i), "v")
	}
	n, err = s.ApproximateCount()
	if err != nil {
		t.Fatal(err)
	}
	if s.Persistent() {
		// An estimate: RocksDB's estimate-num-keys. Only require it to be plausible.
		if n <= 0 || n > 2*keys {
			t.Fatalf("ApproximateCount after %d puts = %d, want a plausible estimate", keys, n)
		}
	} else if n != keys {
		t.Fatalf("ApproximateCount of an in-memory store = %d, want exactly %d", n, keys)
	}
	for i := range keys / 2 {
		if _, err := s.Delete([]byte(fmt.Sprintf("k%03d", i))); err != nil {
			t.Fatal(err)
		}
	}
	n, err = s.ApproximateCount()
	if err != nil || n < 0 {
		t.Fatalf("ApproximateCount after deletes = %d, %v", n, err)
	}
	if !s.Persistent() && n != keys/2 {
		t.Fatalf("ApproximateCount of an in-memory store = %d, want exactly %d", n, keys/2)
	}
}

func testKVIteratorClose(t *testing.T, nb NewBackend) {
	s := newKV(t, nb)
	fill(t, s, "a", "b", "c")
	it, err := s.All()
	if err != nil {
		t.Fatal(err)
	}
	if !it.Next() {
		t.Fatalf("Next = false on a store of 3 keys (Err %v)", it.Err())
	}
	if err := it.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	// Close is idempotent, and a closed iterator yields nothing.
	if err := it.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	noPanic(t, "Next after Close", func() {
		if it.Next() {
			t.Fatalf("Next after Close = true")
		}
	})
	if err := it.Err(); !isClosedErr(err) {
		t.Fatalf("Err after Close = %v, want nil or ErrClosed", err)
	}

	// Closing an iterator that was never advanced, or one that is exhausted, is fine too.
	for _, advance := range []int{0, 10} {
		it, err := s.Range(bs("a"), bs("b"))
		if err != nil {
			t.Fatal(err)
		}
		for range advance {
			it.Next()
		}
		if err := it.Close(); err != nil {
			t.Fatalf("Close after %d Next: %v", advance, err)
		}
	}
	// The store still works after its iterators are closed.
	mustPut(t, s, "d", "v-d")
	it, err = s.All()
	wantPairs(t, "All", drainKV(t, it, err), pairsOf("a", "b", "c", "d"))
}

// testKVWritesDuringIteration writes, overwrites and deletes keys while iterators are open.
// Iterators may see a snapshot (Kafka Streams' in-memory store, RocksDB iterators) or some
// later writes; either way every pair they return must be a value the key had, keys must stay
// ordered, and the store must hold exactly the last writes afterwards.
func testKVWritesDuringIteration(t *testing.T, nb NewBackend) {
	for _, mode := range []string{"forward", "reverse", "prefix"} {
		t.Run(mode, func(t *testing.T) {
			s := newKV(t, nb)
			const n = 200
			key := func(i int) string { return fmt.Sprintf("k%04d", i) }
			model := map[string]string{}
			seen := map[string]map[string]bool{} // every value each key ever had
			put := func(k, v string) {
				mustPut(t, s, k, v)
				model[k] = v
				if seen[k] == nil {
					seen[k] = map[string]bool{}
				}
				seen[k][v] = true
			}
			for i := 0; i < n; i += 2 {
				put(key(i), "old-"+key(i))
			}
			var it state.KeyValueIterator
			var err error
			switch mode {
			case "forward":
				it, err = s.Range(nil, nil)
			case "reverse":
				it, err = s.ReverseRange(nil, nil)
			default:
				it, err = s.PrefixScan(bs("k"))
			}
			if err != nil {
				t.Fatal(err)
			}
			defer it.Close()
			var prev []byte
			step := 0
			for it.Next() {
				k, v := string(it.Key()), string(it.Value())
				if prev != nil {
					c := bytes.Compare(prev, it.Key())
					if mode == "reverse" && c <= 0 || mode != "reverse" && c >= 0 {
						t.Fatalf("%s iteration out of order: %s after %s", mode, show(it.Key()), show(prev))
					}
				}
				prev = append(prev[:0], k...)
				if !seen[k][v] {
					t.Fatalf("iterator returned %s=%s, a value the key never had", show([]byte(k)), show([]byte(v)))
				}
				// Overwrite everything, delete a third, insert the odd keys, put a huge value.
				step++
				if step == 5 {
					for i := 0; i < n; i++ {
						switch {
						case i%3 == 0:
							if _, err := s.Delete([]byte(key(i))); err != nil {
								t.Fatal(err)
							}
							delete(model, key(i))
						default:
							put(key(i), "new-"+key(i)+strings.Repeat("x", i))
						}
					}
				}
				if step%7 == 0 {
					put(k, "again-"+k)
				}
			}
			if err := it.Err(); err != nil {
				t.Fatalf("iterator Err after concurrent writes: %v", err)
			}
			if step < 5 {
				t.Fatalf("iterated %d keys, want at least 5", step)
			}
			if err := it.Close(); err != nil {
				t.Fatal(err)
			}
			checkKVModel(t, s, model)
		})
	}
}

// testKVManyIterators keeps many iterators open at once, closes them out of order and closes
// the store with some still open.
func testKVManyIterators(t *testing.T, nb NewBackend) {
	s := newKV(t, nb)
	fill(t, s, "a", "b", "c", "d")
	var its []state.KeyValueIterator
	for i := range 20 {
		it, err := s.Range(bs("b"), nil)
		if err != nil {
			t.Fatal(err)
		}
		for range i % 3 {
			if !it.Next() {
				t.Fatalf("Next = false, Err %v", it.Err())
			}
		}
		its = append(its, it)
		if i%4 == 0 {
			mustPut(t, s, fmt.Sprintf("c%02d", i), "x")
		}
	}
	for i := 0; i < len(its); i += 2 {
		if err := its[i].Close(); err != nil {
			t.Fatal(err)
		}
	}
	// The odd ones still work and see at least the keys that existed when they were opened.
	for i := 1; i < len(its); i += 2 {
		got := 0
		for its[i].Next() {
			got++
		}
		if err := its[i].Err(); err != nil {
			t.Fatal(err)
		}
		if min := 3 - i%3; got < min {
			t.Fatalf("iterator %d returned %d more pairs, want at least %d", i, got, min)
		}
	}
	// Leave some open: closing the store must close them.
	if err := s.Close(); err != nil {
		t.Fatalf("Close with open iterators: %v", err)
	}
	for i := 1; i < len(its); i += 2 {
		noPanic(t, "iterator after store Close", func() {
			if its[i].Next() {
				t.Fatalf("Next after store Close = true")
			}
			if err := its[i].Close(); !isClosedErr(err) {
				t.Fatalf("iterator Close after store Close = %v", err)
			}
		})
	}
}

func testKVStoreClose(t *testing.T, nb NewBackend) {
	s := newKV(t, nb)
	fill(t, s, "a", "b", "c")
	it, err := s.All()
	if err != nil {
		t.Fatal(err)
	}
	if !it.Next() {
		t.Fatalf("Next = false, Err %v", it.Err())
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	noPanic(t, "iterator after store Close", func() {
		if it.Next() {
			t.Fatalf("Next on an iterator of a closed store = true")
		}
		if err := it.Err(); !isClosedErr(err) {
			t.Fatalf("Err on an iterator of a closed store = %v, want nil or ErrClosed", err)
		}
		if err := it.Close(); !isClosedErr(err) {
			t.Fatalf("Close on an iterator of a closed store = %v, want nil or ErrClosed", err)
		}
	})
	noPanic(t, "operations on a closed store", func() {
		want := func(op string, err error) {
			t.Helper()
			if !errors.Is(err, state.ErrClosed) {
				t.Errorf("%s on a closed store: error %v, want ErrClosed", op, err)
			}
		}
		want("Put", s.Put(bs("a"), bs("1")))
		want("Put(nil)", s.Put(bs("a"), nil))
		_, err := s.Get(bs("a"))
		want("Get", err)
		_, err = s.Delete(bs("a"))
		want("Delete", err)
		_, err = s.PutIfAbsent(bs("z"), bs("1"))
		want("PutIfAbsent", err)
		_, err = s.ApproximateCount()
		want("ApproximateCount", err)
		for _, open := range []struct {
			op string
			f  func() (state.KeyValueIterator, error)
		}{
			{"Range", func() (state.KeyValueIterator, error) { return s.Range(nil, nil) }},
			{"ReverseRange", func() (state.KeyValueIterator, error) { return s.ReverseRange(nil, nil) }},
			{"All", s.All},
			{"PrefixScan", func() (state.KeyValueIterator, error) { return s.PrefixScan(bs("a")) }},
		} {
			it, err := open.f()
			if err == nil && it != nil {
				_ = it.Close()
			}
			want(open.op, err)
		}
		// A second Close must not panic; it may report ErrClosed.
		if err := s.Close(); !isClosedErr(err) {
			t.Errorf("second Close = %v, want nil or ErrClosed", err)
		}
	})
}

func testKVSeparateStores(t *testing.T, nb NewBackend) {
	b := nb(t)
	dir := t.TempDir()
	s1 := openKV(t, b, "one", dir)
	s2 := openKV(t, b, "two", dir)
	mustPut(t, s1, "k", "1")
	wantGet(t, s2, "k", nil)
	mustPut(t, s2, "k", "2")
	wantGet(t, s1, "k", []byte("1"))
	it, err := s2.All()
	wantPairs(t, "All of store two", drainKV(t, it, err), []pair{{"k", "2"}})
}

func testKVPersistence(t *testing.T, nb NewBackend) {
	b := nb(t)
	dir := t.TempDir()
	s := openKV(t, b, "persisted", dir)
	if !s.Persistent() {
		t.Skip("backend is not persistent")
	}
	fill(t, s, "a", "b", "c")
	mustPut(t, s, "gone", "x")
	if _, err := s.Delete(bs("gone")); err != nil {
		t.Fatal(err)
	}
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openKV(t, b, "persisted", dir)
	wantGet(t, s, "b", []byte("v-b"))
	wantGet(t, s, "gone", nil)
	it, err := s.All()
	wantPairs(t, "All after reopen", drainKV(t, it, err), pairsOf("a", "b", "c"))
	// Writes after a reopen persist too, without an explicit Flush: Close must persist.
	mustPut(t, s, "d", "v-d")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openKV(t, nb(t), "persisted", dir)
	it, err = s.All()
	wantPairs(t, "All after second reopen by a new backend", drainKV(t, it, err), pairsOf("a", "b", "c", "d"))
}
