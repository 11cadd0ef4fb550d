package rocksdb

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"math"
	"strings"
	"testing"

	"github.com/rillstreams/rill/serde"
	"github.com/rillstreams/rill/state"
	"github.com/rillstreams/rill/state/memory"
)

// FuzzEscapedKey checks the key encoding of window and session entries: escaped keys decode
// to themselves, keep byte order with a time after them (times in numeric order), and
// appendKeyAfter bounds exactly one key's entries. Any bytes readKey accepts re-encode to
// what it consumed.
func FuzzEscapedKey(f *testing.F) {
	f.Add([]byte("a"), []byte("ab"), int64(5), int64(-5))
	f.Add([]byte{0}, []byte{0, 0}, int64(math.MinInt64), int64(math.MaxInt64))
	f.Add([]byte{0, 0xff, 0x01}, []byte{0, 1}, int64(0), int64(0))
	f.Add([]byte{}, []byte{0xff}, int64(-1), int64(0))
	f.Fuzz(func(t *testing.T, a, b []byte, ta, tb int64) {
		ea := appendTime(appendKey(nil, a), ta)
		eb := appendTime(appendKey(nil, b), tb)
		for _, c := range []struct {
			raw, enc []byte
			t        int64
		}{{a, ea, ta}, {b, eb, tb}} {
			k, rest, ok := readKey(nil, c.enc)
			if !ok || !bytes.Equal(k, c.raw) || len(rest) != timeLen || readTime(rest) != c.t {
				t.Fatalf("%x at %d encodes to %x, which reads as %x, %x, %v", c.raw, c.t, c.enc, k, rest, ok)
			}
		}
		want := bytes.Compare(a, b)
		if want == 0 {
			want = cmp.Compare(ta, tb)
		}
		if got := bytes.Compare(ea, eb); got != want {
			t.Fatalf("%x@%d vs %x@%d: encodings compare %d, want %d", a, ta, b, tb, got, want)
		}
		after := appendKeyAfter(nil, a)
		if bytes.Compare(ea, after) >= 0 {
			t.Fatalf("entry %x of %x is not below its bound %x", ea, a, after)
		}
		if bytes.Compare(a, b) < 0 && bytes.Compare(eb, after) < 0 {
			t.Fatalf("entry %x of %x is below the bound %x of the smaller key %x", eb, b, after, a)
		}
		// successor bounds a prefix scan: above every string with the prefix, itself without it.
		if s := successor(nil, a); s != nil {
			if ab := append(bytes.Clone(a), b...); bytes.Compare(ab, s) >= 0 || bytes.HasPrefix(s, a) {
				t.Fatalf("successor %x of %x is not the bound above %x", s, a, ab)
			}
		} else if len(bytes.TrimLeft(a, "\xff")) != 0 {
			t.Fatalf("no successor of %x", a)
		}

		// Arbitrary bytes, as a corrupt store holds.
		k, rest, ok := readKey(nil, a)
		if ok {
			if got := appendKey(nil, k); !bytes.Equal(got, a[:len(a)-len(rest)]) {
				t.Fatalf("%x reads as key %x, which encodes to %x", a, k, got)
			}
		}
	})
}

// FuzzChangelogRestore applies arbitrary changelog records to window and session stores of
// both backends, as restoration does with whatever a changelog topic holds, and reads them
// back through the store. Properties: no panic; a key too short for its window or session is
// a "rill:" error; an accepted record whose window is live reads back exactly (key, times and
// value), and a tombstone removes it. The RocksDB stores live for the whole fuzz run (opening
// one per input would be too slow), so they also see the records of earlier inputs.
func FuzzChangelogRestore(f *testing.F) {
	wkey := func(k string, start int64, seq uint32) []byte {
		b := binary.BigEndian.AppendUint64([]byte(k), uint64(start))
		return binary.BigEndian.AppendUint32(b, seq)
	}
	skey := func(k string, start, end int64) []byte {
		b := binary.BigEndian.AppendUint64([]byte(k), uint64(end))
		return binary.BigEndian.AppendUint64(b, uint64(start))
	}
	f.Add(wkey("user-1", 60_000, 1), []byte("5"), false)
	f.Add(wkey("", -1, 0), []byte{}, false)
	f.Add(wkey("a\x00b", math.MaxInt64, math.MaxUint32), []byte("x"), true)
	f.Add(skey("user-1", 1000, 5000), []byte("3"), false)
	f.Add(skey("\x00\x01", math.MinInt64, math.MinInt64), []byte{0}, false)
	f.Add(skey("k", 10, 5), []byte("bad session"), false)
	f.Add([]byte("short"), []byte("v"), false)

	opts := state.WindowOptions{Retention: 3_600_000}
	b := newTestBackend(f)
	dir := f.TempDir()
	rw, err := b.Window("fuzz-window", dir, opts)
	if err != nil {
		f.Fatal(err)
	}
	rs, err := b.Session("fuzz-session", dir, opts)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = rw.Close(); _ = rs.Close() })

	f.Fuzz(func(t *testing.T, key, value []byte, tombstone bool) {
		if tombstone {
			value = nil
		}
		mw, err := memory.Backend().Window("fuzz-window", "", opts)
		if err != nil {
			t.Fatal(err)
		}
		ms, err := memory.Backend().Session("fuzz-session", "", opts)
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range []state.WindowBytesStore{mw, rw} {
			restoreWindow(t, w, key, value)
		}
		for _, s := range []state.SessionBytesStore{ms, rs} {
			restoreSession(t, s, key, value)
		}
	})
}

func wantRillError(t *testing.T, what string, err error) {
	t.Helper()
	if err == nil || !strings.HasPrefix(err.Error(), "rill: ") {
		t.Fatalf("%s: error %v, want a rill: error", what, err)
	}
}

func restoreWindow(t *testing.T, w state.WindowBytesStore, clKey, value []byte) {
	t.Helper()
	err := state.NewWindowStore(w, serde.Bytes(), serde.Bytes()).Restore(clKey, value)
	if len(clKey) < 12 {
		wantRillError(t, "window restore of a short key", err)
		return
	}
	if err != nil {
		t.Fatalf("%T: window restore of %x: %v", w, clKey, err)
	}
	n := len(clKey) - 12
	k, start := clKey[:n], int64(binary.BigEndian.Uint64(clKey[n:]))
	if rw, ok := w.(*windowStore); ok && rw.expired(start) {
		return // written to an expired window: dropped, as Kafka Streams drops it
	}
	got, err := w.Fetch(k, start)
	if err != nil || !sameValue(got, value) {
		t.Fatalf("%T: restored %x at %d as %x, fetch gives %x (%v)", w, k, start, value, got, err)
	}
	it, err := w.FetchKeyRange(k, k, start, start)
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	found := 0
	for it.Next() {
		if !bytes.Equal(it.Key(), k) || it.WindowStart() != start || !bytes.Equal(it.Value(), value) {
			t.Fatalf("%T: restored %x at %d as %x, iterator gives %x at %d as %x", w, k, start, value, it.Key(), it.WindowStart(), it.Value())
		}
		found++
	}
	if err := it.Err(); err != nil || found != map[bool]int{true: 0, false: 1}[value == nil] {
		t.Fatalf("%T: restored %x at %d as %x, iterator found %d (%v)", w, k, start, value, found, err)
	}
}

func restoreSession(t *testing.T, s state.SessionBytesStore, clKey, value []byte) {
	t.Helper()
	err := state.NewSessionStore(s, serde.Bytes(), serde.Bytes()).Restore(clKey, value)
	if len(clKey) < 16 {
		wantRillError(t, "session restore of a short key", err)
		return
	}
	n := len(clKey) - 16
	k, end, start := clKey[:n], int64(binary.BigEndian.Uint64(clKey[n:])), int64(binary.BigEndian.Uint64(clKey[n+8:]))
	if start > end {
		wantRillError(t, "session restore of a session ending before it starts", err)
		return
	}
	if err != nil {
		t.Fatalf("%T: session restore of %x: %v", s, clKey, err)
	}
	if rs, ok := s.(*sessionStore); ok && rs.expired(end) {
		return
	}
	got, err := s.FetchSession(k, start, end)
	if err != nil || !sameValue(got, value) {
		t.Fatalf("%T: restored %x [%d, %d] as %x, fetch gives %x (%v)", s, k, start, end, value, got, err)
	}
	it, err := s.FindSessions(k, end, start)
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	found := 0
	for it.Next() {
		if !bytes.Equal(it.Key(), k) {
			t.Fatalf("%T: sessions of %x include one of %x", s, k, it.Key())
		}
		if it.Start() == start && it.End() == end {
			if !bytes.Equal(it.Value(), value) {
				t.Fatalf("%T: restored %x [%d, %d] as %x, iterator gives %x", s, k, start, end, value, it.Value())
			}
			found++
		}
	}
	if err := it.Err(); err != nil || found != map[bool]int{true: 0, false: 1}[value == nil] {
		t.Fatalf("%T: restored %x [%d, %d] as %x, iterator found it %d times (%v)", s, k, start, end, value, found, err)
	}
}

// sameValue compares a fetched value with a restored one: nil (absent) only for a tombstone.
func sameValue(got, want []byte) bool {
	return (got == nil) == (want == nil) && bytes.Equal(got, want)
}
