package rocksdb

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/rillstreams/rill/state"
	"github.com/rillstreams/rill/state/statetest"
)

// txnBackend opens stores in transaction mode and commits every `every` writes, so the
// conformance suite reads through the overlay, the database and both merged.
type txnBackend struct {
	*Backend
	every int
}

func (b txnBackend) KeyValue(name, dir string) (state.KeyValueBytesStore, error) {
	s, err := b.Backend.KeyValue(name, dir)
	if err != nil {
		return nil, err
	}
	c := &committer{t: s.(state.Transactional), every: b.every}
	return &txnKV{KeyValueBytesStore: s, committer: c}, c.t.BeginTransactions()
}

func (b txnBackend) Window(name, dir string, opts state.WindowOptions) (state.WindowBytesStore, error) {
	s, err := b.Backend.Window(name, dir, opts)
	if err != nil {
		return nil, err
	}
	c := &committer{t: s.(state.Transactional), every: b.every}
	return &txnWindow{WindowBytesStore: s, committer: c}, c.t.BeginTransactions()
}

func (b txnBackend) Session(name, dir string, opts state.WindowOptions) (state.SessionBytesStore, error) {
	s, err := b.Backend.Session(name, dir, opts)
	if err != nil {
		return nil, err
	}
	c := &committer{t: s.(state.Transactional), every: b.every}
	return &txnSession{SessionBytesStore: s, committer: c}, c.t.BeginTransactions()
}

type committer struct {
	t        state.Transactional
	every, n int
}

// wrote counts a write and commits every c.every; a failed write is passed on.
func (c *committer) wrote(err error) error {
	if err != nil {
		return err
	}
	c.n++
	if c.n%c.every == 0 {
		return c.t.CommitTransaction(int64(c.n))
	}
	return nil
}

// commitAndClose commits what is buffered (a clean close) and closes.
func (c *committer) commitAndClose(close func() error) error {
	_ = c.t.CommitTransaction(int64(c.n)) // fails on a closed store, which Close reports
	return close()
}

type txnKV struct {
	state.KeyValueBytesStore
	*committer
}

func (s *txnKV) Put(k, v []byte) error { return s.wrote(s.KeyValueBytesStore.Put(k, v)) }
func (s *txnKV) PutIfAbsent(k, v []byte) ([]byte, error) {
	old, err := s.KeyValueBytesStore.PutIfAbsent(k, v)
	return old, s.wrote(err)
}
func (s *txnKV) Delete(k []byte) ([]byte, error) {
	old, err := s.KeyValueBytesStore.Delete(k)
	return old, s.wrote(err)
}
func (s *txnKV) Close() error { return s.commitAndClose(s.KeyValueBytesStore.Close) }

type txnWindow struct {
	state.WindowBytesStore
	*committer
}

func (s *txnWindow) Put(k, v []byte, start int64) error {
	return s.wrote(s.WindowBytesStore.Put(k, v, start))
}
func (s *txnWindow) Close() error { return s.commitAndClose(s.WindowBytesStore.Close) }

type txnSession struct {
	state.SessionBytesStore
	*committer
}

func (s *txnSession) Put(k []byte, start, end int64, v []byte) error {
	return s.wrote(s.SessionBytesStore.Put(k, start, end, v))
}
func (s *txnSession) Remove(k []byte, start, end int64) error {
	return s.wrote(s.SessionBytesStore.Remove(k, start, end))
}
func (s *txnSession) Close() error { return s.commitAndClose(s.SessionBytesStore.Close) }

// The conformance suite against stores in transaction mode, committing after every third
// write (reads merge buffered and stored entries), and for key-value stores only at close
// (every read goes through the overlay; the window and session suites take 30 s more for
// little: their reads go through the same cursors).
func TestTransactionalConformance(t *testing.T) {
	statetest.RunAll(t, func(t testing.TB) state.Backend { return txnBackend{newTestBackend(t), 3} })
	t.Run("AtClose", func(t *testing.T) {
		statetest.RunKeyValue(t, func(t testing.TB) state.Backend { return txnBackend{newTestBackend(t), 1 << 30} })
	})
}

func kvKeys(t *testing.T, s state.KeyValueBytesStore) string {
	t.Helper()
	it, err := s.All()
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	var b bytes.Buffer
	for it.Next() {
		fmt.Fprintf(&b, "%s=%s ", it.Key(), it.Value())
	}
	if err := it.Err(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestTransactionCommitAbortReopen(t *testing.T) {
	b := newTestBackend(t)
	dir := t.TempDir()
	s, err := b.KeyValue("kv", dir)
	if err != nil {
		t.Fatal(err)
	}
	tx := s.(state.Transactional)
	if _, ok, err := tx.CommittedOffset(); ok || err != nil {
		t.Fatalf("CommittedOffset of a new store = %v, %v", ok, err)
	}
	if err := tx.BeginTransactions(); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"a", "b", "c"} {
		if err := s.Put([]byte(k), []byte("1")); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.CommitTransaction(3); err != nil {
		t.Fatal(err)
	}
	// A transaction that aborts: an update, a delete and a new key, all seen by reads
	// until the abort.
	_ = s.Put([]byte("a"), []byte("2"))
	_, _ = s.Delete([]byte("b"))
	_ = s.Put([]byte("d"), []byte("2"))
	if got, want := kvKeys(t, s), "a=2 c=1 d=2 "; got != want {
		t.Fatalf("inside the transaction: %q, want %q", got, want)
	}
	if tx.Buffered() != 3 {
		t.Fatalf("Buffered = %d, want 3", tx.Buffered())
	}
	if err := tx.AbortTransaction(); err != nil {
		t.Fatal(err)
	}
	if got, want := kvKeys(t, s), "a=1 b=1 c=1 "; got != want {
		t.Fatalf("after abort: %q, want %q", got, want)
	}
	// Buffered writes never reach disk, even when the store closes with them.
	_ = s.Put([]byte("e"), []byte("9"))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = b.KeyValue("kv", dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got, want := kvKeys(t, s), "a=1 b=1 c=1 "; got != want {
		t.Fatalf("reopened: %q, want %q", got, want)
	}
	if off, ok, err := s.(state.Transactional).CommittedOffset(); off != 3 || !ok || err != nil {
		t.Fatalf("CommittedOffset = %d, %v, %v; want 3", off, ok, err)
	}
	// A commit without an offset (at least once) deletes the recorded one.
	tx = s.(state.Transactional)
	if err := tx.BeginTransactions(); err != nil {
		t.Fatal(err)
	}
	if err := tx.CommitTransaction(-1); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := tx.CommittedOffset(); ok || err != nil {
		t.Fatalf("CommittedOffset after a commit without one = %v, %v; want none", ok, err)
	}
}

// A transaction that moves stream time past a window's retention and aborts must not have
// dropped the window's segment; a commit drops it.
func TestTransactionDefersSegmentDrops(t *testing.T) {
	b := newTestBackend(t)
	w, err := b.Window("w", t.TempDir(), state.WindowOptions{Retention: 1000, SegmentInterval: 500})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	tx := w.(state.Transactional)
	if err := tx.BeginTransactions(); err != nil {
		t.Fatal(err)
	}
	if err := w.Put([]byte("k"), []byte("old"), 0); err != nil {
		t.Fatal(err)
	}
	if err := tx.CommitTransaction(1); err != nil {
		t.Fatal(err)
	}
	if err := w.Put([]byte("k"), []byte("new"), 10_000); err != nil {
		t.Fatal(err)
	}
	if v, _ := w.Fetch([]byte("k"), 10_000); string(v) != "new" {
		t.Fatalf("own write not read: %q", v)
	}
	if err := tx.AbortTransaction(); err != nil {
		t.Fatal(err)
	}
	if v, _ := w.Fetch([]byte("k"), 0); string(v) != "old" {
		t.Fatalf("after abort, window 0 = %q, want old", v)
	}
	if err := w.Put([]byte("k"), []byte("new"), 10_000); err != nil {
		t.Fatal(err)
	}
	if err := tx.CommitTransaction(2); err != nil {
		t.Fatal(err)
	}
	if v, _ := w.Fetch([]byte("k"), 0); v != nil {
		t.Fatalf("after commit, expired window 0 = %q, want none", v)
	}
	if n := len(w.(*windowStore).live); n != 1 {
		t.Fatalf("%d live segments after the commit, want 1", n)
	}
}

// crashChild is the child process of TestTransactionCrashRecovery: it writes and commits,
// then dies in the middle of a transaction without closing anything.
const crashChildEnv = "RILL_ROCKSDB_CRASH_CHILD"

func TestMain(m *testing.M) {
	if dir := os.Getenv(crashChildEnv); dir != "" {
		crashChild(dir)
		return
	}
	os.Exit(m.Run())
}

const crashRecords, crashCommitEvery, crashAt = 5000, 7, 4321

func crashChild(dir string) {
	b, err := NewBackend(Config{})
	if err != nil {
		panic(err)
	}
	kv, err := b.KeyValue("kv", dir)
	if err != nil {
		panic(err)
	}
	w, err := b.Window("w", dir, state.WindowOptions{Retention: 1 << 40, SegmentInterval: 100})
	if err != nil {
		panic(err)
	}
	for _, s := range []state.Transactional{kv.(state.Transactional), w.(state.Transactional)} {
		if err := s.BeginTransactions(); err != nil {
			panic(err)
		}
	}
	for i := range crashRecords {
		if i == crashAt {
			os.Exit(7) // no Close, no Flush: memtables are lost
		}
		k := []byte(fmt.Sprintf("k%05d", i))
		if err := kv.Put(k, k); err != nil {
			panic(err)
		}
		if err := w.Put(k, k, int64(i)); err != nil {
			panic(err)
		}
		if (i+1)%crashCommitEvery == 0 {
			for _, s := range []state.Transactional{kv.(state.Transactional), w.(state.Transactional)} {
				if err := s.CommitTransaction(int64(i + 1)); err != nil {
					panic(err)
				}
			}
		}
	}
}

// A process that dies mid-transaction leaves its stores at their last commit, with the
// offset of that commit: exactly the records before it, none after (the WAL of commit
// batches, see txn.go).
func TestTransactionCrashRecovery(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+dir)
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 7 {
		t.Fatalf("child: %v\n%s", err, out)
	}
	b := newTestBackend(t)
	kv, err := b.KeyValue("kv", dir)
	if err != nil {
		t.Fatal(err)
	}
	defer kv.Close()
	w, err := b.Window("w", dir, state.WindowOptions{Retention: 1 << 40, SegmentInterval: 100})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	want := int64(crashAt / crashCommitEvery * crashCommitEvery)
	for name, s := range map[string]state.Transactional{"kv": kv.(state.Transactional), "window": w.(state.Transactional)} {
		off, ok, err := s.CommittedOffset()
		if err != nil || !ok || off != want {
			t.Fatalf("%s: CommittedOffset = %d, %v, %v; want %d", name, off, ok, err, want)
		}
	}
	it, err := kv.All()
	if err != nil {
		t.Fatal(err)
	}
	n := int64(0)
	for it.Next() {
		if k := fmt.Sprintf("k%05d", n); string(it.Key()) != k {
			t.Fatalf("key %d = %s, want %s", n, it.Key(), k)
		}
		n++
	}
	it.Close()
	if n != want {
		t.Fatalf("key-value store holds %d records after the crash, want the %d committed", n, want)
	}
	wit, err := w.All()
	if err != nil {
		t.Fatal(err)
	}
	n = 0
	for wit.Next() {
		if wit.WindowStart() != n {
			t.Fatalf("window %d starts at %d", n, wit.WindowStart())
		}
		n++
	}
	wit.Close()
	if n != want {
		t.Fatalf("window store holds %d records after the crash, want the %d committed", n, want)
	}
	if _, err := os.Stat(filepath.Join(dir, dirName, "kv")); err != nil {
		t.Fatal(err)
	}
}

// Committed writes of key-value stores stay in the overlay as a cache; an aborted overwrite
// of a cached key must bring back the committed value. Window stores keep none.
func TestTransactionCacheAfterCommit(t *testing.T) {
	b := newTestBackend(t)
	s, err := b.KeyValue("kv", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	tx := s.(state.Transactional)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(tx.BeginTransactions())
	must(s.Put([]byte("k"), []byte("1")))
	must(tx.CommitTransaction(1))
	if e, ok := s.(*kvStore).txn.lookup(nil, []byte("k")); !ok || e.dirty || string(e.value) != "1" {
		t.Fatalf("committed write not kept clean in the cache: %+v, %v", e, ok)
	}
	if tx.Buffered() != 0 {
		t.Fatalf("Buffered after commit = %d", tx.Buffered())
	}
	must(s.Put([]byte("k"), []byte("2")))
	_, _ = s.Delete([]byte("k"))
	must(tx.AbortTransaction())
	if v, err := s.Get([]byte("k")); err != nil || string(v) != "1" {
		t.Fatalf("after an aborted overwrite of a cached key: %q, %v; want 1", v, err)
	}

	w, err := b.Window("w", t.TempDir(), state.WindowOptions{Retention: 1000, SegmentInterval: 500})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	wtx := w.(state.Transactional)
	must(wtx.BeginTransactions())
	must(w.Put([]byte("k"), []byte("old"), 0))
	must(wtx.CommitTransaction(1))
	must(w.Put([]byte("k"), []byte("new"), 10_000))
	must(wtx.CommitTransaction(2))
	if n := len(w.(*windowStore).txn.cfs); n != 0 {
		t.Fatalf("window store overlay keeps %d column families after a commit, want none", n)
	}
	if v, _ := w.Fetch([]byte("k"), 0); v != nil {
		t.Fatalf("expired window read from the cache: %q", v)
	}
}
