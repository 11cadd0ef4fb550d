package rocksdb

import (
	"bytes"
	"fmt"
	"math/rand"
	"sort"
	"testing"

	"github.com/rillstreams/rill/state"
)

// A transaction that aborts after creating a segment far ahead must not move a session
// store's stream time once it is reopened (the runtime always reopens after an abort, and a
// crash leaves the same on disk): committed sessions must survive.
func TestTransactionAbortedSegmentKeepsSessionStreamTime(t *testing.T) {
	b := newTestBackend(t)
	dir := t.TempDir()
	opts := state.WindowOptions{Retention: 1000, SegmentInterval: 500}
	s, err := b.Session("s", dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	tx := s.(state.Transactional)
	if err := tx.BeginTransactions(); err != nil {
		t.Fatal(err)
	}
	if err := s.Put([]byte("k"), 0, 10, []byte("committed")); err != nil {
		t.Fatal(err)
	}
	if err := tx.CommitTransaction(1); err != nil {
		t.Fatal(err)
	}
	// The aborted transaction: a session far in the future.
	if err := s.Put([]byte("k"), 100_000, 100_000, []byte("aborted")); err != nil {
		t.Fatal(err)
	}
	if err := tx.AbortTransaction(); err != nil {
		t.Fatal(err)
	}
	if v, _ := s.FetchSession([]byte("k"), 0, 10); string(v) != "committed" {
		t.Fatalf("after abort: %q", v)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = b.Session("s", dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if v, _ := s.FetchSession([]byte("k"), 0, 10); string(v) != "committed" {
		t.Fatalf("after abort and reopen, committed session = %q, want committed", v)
	}
	// And a replayed record that the committed state accepts must be accepted.
	if err := s.Put([]byte("k2"), 20, 30, []byte("v")); err != nil {
		t.Fatal(err)
	}
	if v, _ := s.FetchSession([]byte("k2"), 20, 30); string(v) != "v" {
		t.Fatalf("replayed put after reopen = %q, want v (rejected as expired)", v)
	}
}

// The same for a window store (control: its stream time comes from its time index).
func TestTransactionAbortedSegmentWindowReopen(t *testing.T) {
	b := newTestBackend(t)
	dir := t.TempDir()
	opts := state.WindowOptions{Retention: 1000, SegmentInterval: 500}
	w, err := b.Window("w", dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	tx := w.(state.Transactional)
	_ = tx.BeginTransactions()
	_ = w.Put([]byte("k"), []byte("committed"), 0)
	if err := tx.CommitTransaction(1); err != nil {
		t.Fatal(err)
	}
	_ = w.Put([]byte("k"), []byte("aborted"), 100_000)
	_ = tx.AbortTransaction()
	_ = w.Close()
	w, err = b.Window("w", dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if v, _ := w.Fetch([]byte("k"), 0); string(v) != "committed" {
		t.Fatalf("window after abort+reopen = %q", v)
	}
}

type model map[string]string

func (m model) scan(lo, hi []byte, reverse bool) []string {
	var ks []string
	for k := range m {
		if lo != nil && k < string(lo) {
			continue
		}
		if hi != nil && k > string(hi) {
			continue
		}
		ks = append(ks, k)
	}
	sort.Strings(ks)
	if reverse {
		for i, j := 0, len(ks)-1; i < j; i, j = i+1, j-1 {
			ks[i], ks[j] = ks[j], ks[i]
		}
	}
	out := make([]string, len(ks))
	for i, k := range ks {
		out[i] = k + "=" + m[k]
	}
	return out
}

func collect(t *testing.T, it state.KeyValueIterator) []string {
	t.Helper()
	defer it.Close()
	var out []string
	for it.Next() {
		out = append(out, string(it.Key())+"="+string(it.Value()))
	}
	if err := it.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// Differential test of the merged cursor: random puts, deletes, commits and aborts against a
// model; ranges forward and reverse, prefix scans; iterators opened before writes and
// commits keep their snapshot.
func TestTransactionMergedCursorMatchesModel(t *testing.T) {
	b := newTestBackend(t)
	for seed := int64(1); seed <= 30; seed++ {
		rng := rand.New(rand.NewSource(seed))
		kvs, err := b.KeyValue(fmt.Sprintf("kv%d", seed), t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		tx := kvs.(state.Transactional)
		_ = tx.BeginTransactions()
		committed, cur := model{}, model{}
		key := func() []byte {
			n := 1 + rng.Intn(3)
			k := make([]byte, n)
			for i := range k {
				k[i] = "ab\x00\xff"[rng.Intn(4)]
			}
			return k
		}
		for op := 0; op < 600; op++ {
			switch r := rng.Intn(20); {
			case r < 8:
				k, v := key(), fmt.Sprint(op)
				_ = kvs.Put(k, []byte(v))
				cur[string(k)] = v
			case r < 12:
				k := key()
				_, _ = kvs.Delete(k)
				delete(cur, string(k))
			case r < 13:
				if err := tx.CommitTransaction(int64(op)); err != nil {
					t.Fatal(err)
				}
				committed = model{}
				for k, v := range cur {
					committed[k] = v
				}
			case r < 14:
				_ = tx.AbortTransaction()
				cur = model{}
				for k, v := range committed {
					cur[k] = v
				}
			case r < 17:
				lo, hi := key(), key()
				if bytes.Compare(lo, hi) > 0 {
					lo, hi = hi, lo
				}
				if rng.Intn(4) == 0 {
					lo = nil
				}
				if rng.Intn(4) == 0 {
					hi = nil
				}
				rev := rng.Intn(2) == 0
				var it state.KeyValueIterator
				if rev {
					it, _ = kvs.ReverseRange(lo, hi)
				} else {
					it, _ = kvs.Range(lo, hi)
				}
				want := cur.scan(lo, hi, rev)
				// Writes and a commit while it is open: the snapshot stays.
				if rng.Intn(2) == 0 {
					k := key()
					_ = kvs.Put(k, []byte("later"))
					cur[string(k)] = "later"
					if rng.Intn(2) == 0 {
						_ = tx.CommitTransaction(int64(op))
						committed = model{}
						for k, v := range cur {
							committed[k] = v
						}
					}
				}
				got := collect(t, it)
				if fmt.Sprint(got) != fmt.Sprint(want) {
					t.Fatalf("seed %d op %d range %q..%q rev %v:\n got %q\nwant %q", seed, op, lo, hi, rev, got, want)
				}
			default:
				p := key()[:1]
				it, _ := kvs.PrefixScan(p)
				var want []string
				for _, e := range cur.scan(nil, nil, false) {
					if bytes.HasPrefix([]byte(e), p) {
						want = append(want, e)
					}
				}
				got := collect(t, it)
				if fmt.Sprint(got) != fmt.Sprint(want) {
					t.Fatalf("seed %d op %d prefix %q:\n got %q\nwant %q", seed, op, p, got, want)
				}
			}
		}
		_ = kvs.Close()
	}
}
