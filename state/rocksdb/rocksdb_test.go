package rocksdb

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/linxGnu/grocksdb"

	"github.com/rillstreams/rill/state"
	"github.com/rillstreams/rill/state/statetest"
)

func newTestBackend(t testing.TB) *Backend {
	t.Helper()
	return newBackendWith(t, Config{})
}

func newBackendWith(t testing.TB, cfg Config) *Backend {
	t.Helper()
	b, err := NewBackend(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	return b
}

func TestConformance(t *testing.T) {
	statetest.RunAll(t, func(t testing.TB) state.Backend { return newTestBackend(t) })
}

func TestConfig(t *testing.T) {
	b := newTestBackend(t)
	want := Config{BlockCacheBytes: 50 << 20, WriteBufferBytes: 16 << 20, MaxWriteBuffers: 3, BloomFilterBits: 10}
	if got := b.cfg; got.BlockCacheBytes != want.BlockCacheBytes || got.WriteBufferBytes != want.WriteBufferBytes ||
		got.MaxWriteBuffers != want.MaxWriteBuffers || got.BloomFilterBits != want.BloomFilterBits {
		t.Fatalf("defaults = %+v, want %+v", got, want)
	}
	if b.Name() != "rocksdb" {
		t.Fatalf("Name = %q", b.Name())
	}
	if got := b.cache.GetCapacity(); got != 50<<20 {
		t.Fatalf("cache capacity = %d", got)
	}
	for _, cfg := range []Config{{BlockCacheBytes: -1}, {WriteBufferBytes: -1}, {MaxWriteBuffers: -1}, {BloomFilterBits: -1}} {
		if _, err := NewBackend(cfg); err == nil || !strings.HasPrefix(err.Error(), "rill: ") {
			t.Fatalf("NewBackend(%+v) error = %v, want a rill: error", cfg, err)
		}
	}
}

func TestStoreLayoutAndNames(t *testing.T) {
	b := newTestBackend(t)
	dir := t.TempDir()
	s, err := b.KeyValue("counts", dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := os.Stat(filepath.Join(dir, "rocksdb", "counts", "CURRENT")); err != nil {
		t.Fatalf("store not at <dir>/rocksdb/<name>: %v", err)
	}
	for _, name := range []string{"", ".", "..", "a/b", `a\b`} {
		if _, err := b.KeyValue(name, dir); err == nil {
			t.Fatalf("KeyValue(%q) succeeded", name)
		}
	}
	if _, err := b.KeyValue("x", ""); err == nil {
		t.Fatal("KeyValue with no dir succeeded")
	}
	// A store open twice: RocksDB's LOCK refuses, as an error.
	if _, err := b.KeyValue("counts", dir); err == nil || !strings.HasPrefix(err.Error(), "rill: ") {
		t.Fatalf("second open of an open store: error %v", err)
	}
}

// TestSharedBlockCache checks that the stores of a backend read through its one cache: reads
// of either store fill it, and together they stay within its capacity.
func TestSharedBlockCache(t *testing.T) {
	const capacity = 4 << 20
	b := newBackendWith(t, Config{BlockCacheBytes: capacity})
	dir := t.TempDir()
	var stores []state.KeyValueBytesStore
	for _, name := range []string{"one", "two"} {
		s, err := b.KeyValue(name, dir)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		val := bytes.Repeat([]byte{'v'}, 100)
		for i := range 20000 {
			if err := s.Put(fmt.Appendf(nil, "key-%08d", i), val); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.Flush(); err != nil {
			t.Fatal(err)
		}
		stores = append(stores, s)
	}
	readAll := func(s state.KeyValueBytesStore, n int) {
		for i := range n {
			if v, err := s.Get(fmt.Appendf(nil, "key-%08d", i)); err != nil || v == nil {
				t.Fatalf("Get: %q, %v", v, err)
			}
		}
	}
	before := b.cache.GetUsage()
	readAll(stores[0], 2000) // ~200 KB of blocks: far below capacity
	afterOne := b.cache.GetUsage()
	readAll(stores[1], 2000)
	afterTwo := b.cache.GetUsage()
	t.Logf("cache usage: %d, after reading store one %d, after store two %d", before, afterOne, afterTwo)
	if afterOne <= before || afterTwo <= afterOne {
		t.Fatalf("reads of both stores should fill the backend's cache: usage %d → %d → %d", before, afterOne, afterTwo)
	}
	// Reading everything (~4 MB of data blocks per store) stays within the one capacity.
	readAll(stores[0], 20000)
	readAll(stores[1], 20000)
	if got := b.cache.GetUsage(); got > capacity+capacity/4 {
		t.Fatalf("cache usage %d above the shared capacity %d", got, capacity)
	}
}

// TestConfigSetter checks the hook is called for every store, last, and that what it sets is
// what RocksDB uses (as its OPTIONS file records).
func TestConfigSetter(t *testing.T) {
	var (
		mu    sync.Mutex
		names []string
	)
	b := newBackendWith(t, Config{ConfigSetter: func(name string, opts *grocksdb.Options) {
		mu.Lock()
		names = append(names, name)
		mu.Unlock()
		opts.SetCompression(grocksdb.LZ4Compression)
		opts.SetWriteBufferSize(3 << 20)
	}})
	dir := t.TempDir()
	kv, err := b.KeyValue("kv", dir)
	if err != nil {
		t.Fatal(err)
	}
	defer kv.Close()
	w, err := b.Window("win", dir, state.WindowOptions{Retention: 1000})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if err := w.Put([]byte("k"), []byte("v"), 5); err != nil { // creates a segment
		t.Fatal(err)
	}
	mu.Lock()
	got := slices.Clone(names)
	mu.Unlock()
	if !slices.Equal(got, []string{"kv", "win"}) {
		t.Fatalf("ConfigSetter called for %q, want [kv win]", got)
	}
	for _, store := range []string{"kv", "win"} {
		opts := readOptionsFile(t, filepath.Join(dir, "rocksdb", store))
		if !strings.Contains(opts, "compression=kLZ4Compression") || !strings.Contains(opts, "write_buffer_size=3145728") {
			t.Fatalf("store %s OPTIONS file lacks the setter's settings:\n%s", store, opts)
		}
		// The setter ran after rill's settings, which are still there.
		if !strings.Contains(opts, "compaction_style=kCompactionStyleUniversal") {
			t.Fatalf("store %s lost rill's settings", store)
		}
	}
	// Segments have the setter's options too.
	if n := strings.Count(readOptionsFile(t, filepath.Join(dir, "rocksdb", "win")), "compression=kLZ4Compression"); n < 2 {
		t.Fatalf("segment column family without the setter's options (%d column families with them)", n)
	}
}

func readOptionsFile(t *testing.T, dir string) string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "OPTIONS-*"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no OPTIONS file in %s: %v", dir, err)
	}
	slices.Sort(files)
	b, err := os.ReadFile(files[len(files)-1])
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestLeakedIterators leaves iterators of every kind open, some advanced, and closes the
// stores: RocksDB aborts the process if a DB closes under a live iterator.
func TestLeakedIterators(t *testing.T) {
	b := newTestBackend(t)
	dir := t.TempDir()
	kv, err := b.KeyValue("kv", dir)
	if err != nil {
		t.Fatal(err)
	}
	w, err := b.Window("w", dir, state.WindowOptions{Retention: 10_000, SegmentInterval: 100})
	if err != nil {
		t.Fatal(err)
	}
	ss, err := b.Session("s", dir, state.WindowOptions{Retention: 10_000, SegmentInterval: 100})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 50 {
		k := fmt.Appendf(nil, "k%02d", i%7)
		must(t, kv.Put(k, []byte("v")))
		must(t, w.Put(k, []byte("v"), int64(i*37)))
		must(t, ss.Put(k, int64(i*37), int64(i*37+5), []byte("v")))
	}
	type iter interface {
		Next() bool
		Err() error
		Close() error
	}
	var its []iter
	open := func(it iter, err error) {
		t.Helper()
		must(t, err)
		it.Next()
		its = append(its, it)
	}
	for range 3 {
		open(kv.All())
		open(kv.ReverseRange([]byte("k01"), []byte("k05")))
		open(w.FetchRange([]byte("k01"), 0, 2000))
		open(w.FetchKeyRange(nil, nil, 0, 2000)) // merged over segments
		open(w.All())                            // time index and lookups
		open(ss.FindSessionsRange(nil, nil, 0, math.MaxInt64))
		open(ss.Fetch([]byte("k03")))
	}
	for _, s := range []interface{ Close() error }{kv, w, ss} {
		if err := s.Close(); err != nil {
			t.Fatalf("Close with open iterators: %v", err)
		}
	}
	for i, it := range its {
		if it.Next() {
			t.Fatalf("iterator %d: Next after its store closed = true", i)
		}
		if err := it.Err(); !errors.Is(err, state.ErrClosed) {
			t.Fatalf("iterator %d: Err after its store closed = %v, want ErrClosed", i, err)
		}
		if err := it.Close(); err != nil {
			t.Fatalf("iterator %d: Close after its store closed = %v", i, err)
		}
	}

	// Backend.Close closes what its user forgot, iterators included.
	b2, err := NewBackend(Config{})
	must(t, err)
	kv2, err := b2.KeyValue("kv2", dir)
	must(t, err)
	must(t, kv2.Put([]byte("a"), []byte("1")))
	it, err := kv2.All()
	must(t, err)
	b2.Close()
	if it.Next() {
		t.Fatal("Next after Backend.Close = true")
	}
	if _, err := kv2.Get([]byte("a")); !errors.Is(err, state.ErrClosed) {
		t.Fatalf("Get after Backend.Close: %v", err)
	}
	if _, err := b2.KeyValue("kv3", dir); !errors.Is(err, state.ErrClosed) {
		t.Fatalf("KeyValue after Backend.Close: %v", err)
	}
	b2.Close() // idempotent
	// The data was flushed on the way out.
	kv2, err = b.KeyValue("kv2", dir)
	must(t, err)
	defer kv2.Close()
	if v, err := kv2.Get([]byte("a")); err != nil || string(v) != "1" {
		t.Fatalf("Get after reopen = %q, %v", v, err)
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestSegmentDrop checks that expired segments leave the disk, not just the view.
func TestSegmentDrop(t *testing.T) {
	b := newTestBackend(t)
	dir := t.TempDir()
	opts := state.WindowOptions{Retention: 2000, SegmentInterval: 500}
	w, err := b.Window("w", dir, opts)
	must(t, err)
	path := filepath.Join(dir, "rocksdb", "w")
	val := bytes.Repeat([]byte{'x'}, 1000)
	for i := range 3000 { // 3 MB over segments 0, 1 and 2
		must(t, w.Put(fmt.Appendf(nil, "key-%05d", i), val, int64(i/2)))
	}
	must(t, w.Flush())
	full := dirSize(t, path)
	ws := w.(*windowStore)
	if len(ws.live) != 3 {
		t.Fatalf("%d segments, want 3", len(ws.live))
	}
	// Stream time 4000: windows up to 2000 are expired, so segments 0 to 2 (times 0-1499).
	must(t, w.Put([]byte("late"), []byte("v"), 4000))
	must(t, w.Flush())
	if len(ws.live) != 1 || ws.live[0].id != 8 {
		t.Fatalf("segments after stream time moved: %+v, want only 8", ws.live)
	}
	after := dirSize(t, path)
	t.Logf("store size %d bytes with 3 segments, %d after they expired", full, after)
	if after > full/10 {
		t.Fatalf("store still %d bytes after dropping segments (was %d)", after, full)
	}
	it, err := w.All()
	must(t, err)
	n := 0
	for it.Next() {
		n++
	}
	must(t, it.Close())
	if n != 1 {
		t.Fatalf("%d windows left, want 1", n)
	}
	must(t, w.Close())
	o := grocksdb.NewDefaultOptions()
	defer o.Destroy()
	names, err := grocksdb.ListColumnFamilies(o, path)
	must(t, err)
	if !slices.Equal(names, []string{"default", "segment.8"}) {
		t.Fatalf("column families after drop: %q", names)
	}
}

func dirSize(t *testing.T, dir string) int64 {
	t.Helper()
	var n int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		n += info.Size()
		return nil
	})
	must(t, err)
	return n
}

// TestIteratorAcrossSegmentDrop drops segments under open iterators: they must keep working
// and yield no expired window, and the dropped handles must go once the iterators do.
func TestIteratorAcrossSegmentDrop(t *testing.T) {
	b := newTestBackend(t)
	w, err := b.Window("w", t.TempDir(), state.WindowOptions{Retention: 300, SegmentInterval: 100})
	must(t, err)
	defer w.Close()
	for ts := int64(0); ts < 300; ts += 10 {
		must(t, w.Put([]byte{byte('a' + ts%3)}, []byte("v"), ts))
	}
	byKey, err := w.FetchKeyRange(nil, nil, 0, 1000)
	must(t, err)
	byTime, err := w.All()
	must(t, err)
	if !byKey.Next() || !byTime.Next() {
		t.Fatal("empty iterators")
	}
	// Stream time 450: windows up to 150 expire, segment 0 is dropped.
	must(t, w.Put([]byte("z"), []byte("v"), 450))
	ws := w.(*windowStore)
	if len(ws.dropped) != 1 {
		t.Fatalf("%d dropped handles pending, want 1", len(ws.dropped))
	}
	for _, it := range []state.WindowKeyIterator{byKey, byTime} {
		for it.Next() {
			if it.WindowStart() <= 150 {
				t.Fatalf("expired window %q@%d returned after the drop", it.Key(), it.WindowStart())
			}
		}
		must(t, it.Err())
		must(t, it.Close())
	}
	if len(ws.dropped) != 0 {
		t.Fatalf("%d dropped handles left after the iterators closed", len(ws.dropped))
	}
}

// TestWindowReopen checks that segments and stream time survive a reopen, from the metadata
// written on Close and, when that is missing (writes that reached disk after the last
// Flush), from the newest window in the time index.
func TestWindowReopen(t *testing.T) {
	for _, withMeta := range []bool{true, false} {
		t.Run(fmt.Sprintf("metadata=%v", withMeta), func(t *testing.T) {
			b := newTestBackend(t)
			dir := t.TempDir()
			opts := state.WindowOptions{Retention: 1000, SegmentInterval: 250}
			w, err := b.Window("w", dir, opts)
			must(t, err)
			for ts := int64(0); ts <= 1800; ts += 100 {
				must(t, w.Put([]byte("k"), fmt.Appendf(nil, "v%d", ts), ts))
			}
			if !withMeta {
				forgetStreamTime(t, w.(*windowStore).segments)
			}
			must(t, w.Close())
			w, err = b.Window("w", dir, opts)
			must(t, err)
			defer w.Close()
			ws := w.(*windowStore)
			if !ws.hasObserved || ws.observed != 1800 {
				t.Fatalf("observed stream time after reopen = %d (%v), want 1800", ws.observed, ws.hasObserved)
			}
			// Windows 900 and up are live; 800 is expired and a Put to it is dropped.
			it, err := w.FetchRange([]byte("k"), math.MinInt64, math.MaxInt64)
			must(t, err)
			var starts []int64
			for it.Next() {
				starts = append(starts, it.WindowStart())
			}
			must(t, it.Close())
			if want := []int64{900, 1000, 1100, 1200, 1300, 1400, 1500, 1600, 1700, 1800}; !slices.Equal(starts, want) {
				t.Fatalf("windows after reopen %v, want %v", starts, want)
			}
			must(t, w.Put([]byte("k"), []byte("late"), 800))
			if v, err := w.Fetch([]byte("k"), 800); err != nil || v != nil {
				t.Fatalf("expired window after reopen = %q, %v", v, err)
			}
		})
	}
}

// forgetStreamTime deletes the recorded stream time and keeps Close from recording it, as
// if the store had crashed after its memtables reached disk.
func forgetStreamTime(t *testing.T, sg *segments) {
	t.Helper()
	for _, seg := range sg.live {
		must(t, sg.write(seg.cf, true, []byte(metaObserved), nil, []byte(metaSeq), nil))
	}
	sg.hasObserved = false
}

func TestSessionReopen(t *testing.T) {
	b := newTestBackend(t)
	dir := t.TempDir()
	opts := state.WindowOptions{Retention: 1000, SegmentInterval: 250}
	s, err := b.Session("s", dir, opts)
	must(t, err)
	must(t, s.Put([]byte("a"), 0, 100, []byte("1")))
	must(t, s.Put([]byte("a"), 500, 1500, []byte("2")))
	must(t, s.Put([]byte("b"), 1700, 1900, []byte("3")))
	must(t, s.Close())
	s, err = b.Session("s", dir, opts)
	must(t, err)
	defer s.Close()
	if ss := s.(*sessionStore); ss.observed != 1900 {
		t.Fatalf("stream time after reopen = %d, want 1900", ss.observed)
	}
	if v, err := s.FetchSession([]byte("a"), 500, 1500); err != nil || string(v) != "2" {
		t.Fatalf("FetchSession after reopen = %q, %v", v, err)
	}
	// Stream time 1900 came back: the session ending at 100 is gone, a late Put is dropped.
	if v, err := s.FetchSession([]byte("a"), 0, 100); err != nil || v != nil {
		t.Fatalf("expired session after reopen = %q, %v", v, err)
	}
	must(t, s.Put([]byte("c"), 0, 800, []byte("late")))
	if v, err := s.FetchSession([]byte("c"), 0, 800); err != nil || v != nil {
		t.Fatalf("late session after reopen = %q, %v", v, err)
	}

	// Without the recorded stream time (as after a crash), the newest segment's start
	// (1750) is the lower bound the store recovers.
	forgetStreamTime(t, s.(*sessionStore).segments)
	must(t, s.Close())
	s, err = b.Session("s", dir, opts)
	must(t, err)
	defer s.Close() // before t.TempDir's cleanup removes the files
	if ss := s.(*sessionStore); !ss.hasObserved || ss.observed != 1750 {
		t.Fatalf("stream time after reopen without metadata = %d, want 1750", ss.observed)
	}
}

// TestReopenMismatch checks that a store is not reopened with a layout that would misread it.
func TestReopenMismatch(t *testing.T) {
	b := newTestBackend(t)
	dir := t.TempDir()
	opts := state.WindowOptions{Retention: 1000, SegmentInterval: 100}
	w, err := b.Window("w", dir, opts)
	must(t, err)
	must(t, w.Put([]byte("k"), []byte("v"), 10))
	must(t, w.Close())
	for _, open := range []func() (interface{ Close() error }, error){
		func() (interface{ Close() error }, error) {
			return b.Window("w", dir, state.WindowOptions{Retention: 1000, SegmentInterval: 200})
		},
		func() (interface{ Close() error }, error) {
			return b.Window("w", dir, state.WindowOptions{Retention: 1000, SegmentInterval: 100, RetainDuplicates: true})
		},
		func() (interface{ Close() error }, error) { return b.Session("w", dir, opts) },
	} {
		s, err := open()
		if err == nil {
			s.Close()
			t.Fatal("reopen with another layout succeeded")
		}
		if !strings.HasPrefix(err.Error(), "rill: ") {
			t.Fatalf("error %q", err)
		}
	}
	// Still fine with the right options, and nothing leaked on the failed opens.
	w, err = b.Window("w", dir, opts)
	must(t, err)
	defer w.Close()
	if v, err := w.Fetch([]byte("k"), 10); err != nil || string(v) != "v" {
		t.Fatalf("Fetch = %q, %v", v, err)
	}
	if n := len(b.stores); n != 1 {
		t.Fatalf("backend tracks %d stores, want 1", n)
	}
}

// TestWindowNegativeTimes checks sign-flipped times: negative windows sort first, and
// segments of negative times are floor-divided.
func TestWindowNegativeTimes(t *testing.T) {
	b := newTestBackend(t)
	w, err := b.Window("w", t.TempDir(), state.WindowOptions{Retention: 1 << 40, SegmentInterval: 100})
	must(t, err)
	defer w.Close()
	starts := []int64{-1 << 40, -250, -100, -1, 0, 1, 99, 100, 1 << 40}
	for _, ts := range slices.Backward(starts) {
		must(t, w.Put([]byte("k"), fmt.Appendf(nil, "%d", ts), ts))
	}
	it, err := w.FetchRange([]byte("k"), math.MinInt64, math.MaxInt64)
	must(t, err)
	var got []int64
	for it.Next() {
		if string(it.Value()) != fmt.Sprint(it.WindowStart()) {
			t.Fatalf("value %q at %d", it.Value(), it.WindowStart())
		}
		got = append(got, it.WindowStart())
	}
	must(t, it.Close())
	// Stream time is 1<<40 and retention 1<<40: the window at 0 and below are expired.
	if want := starts[5:]; !slices.Equal(got, want) {
		t.Fatalf("windows %v, want %v", got, want)
	}
	if id := floorDiv(-1, 100); id != -1 {
		t.Fatalf("floorDiv(-1, 100) = %d", id)
	}
	if id := floorDiv(math.MinInt64, 60000); id != math.MinInt64/60000-1 {
		t.Fatalf("floorDiv(MinInt64, 60000) = %d", id)
	}
}

// TestKeyEncodingOrder checks that escaped keys followed by times sort as (key, time) do,
// whatever bytes the keys hold, and that they decode back.
func TestKeyEncodingOrder(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	alphabet := []byte{0x00, 0x01, 0x02, 'a', 'b', 0xfe, 0xff}
	randKey := func() []byte {
		k := make([]byte, r.IntN(4))
		for i := range k {
			k[i] = alphabet[r.IntN(len(alphabet))]
		}
		return k
	}
	times := []int64{math.MinInt64, -1000, -1, 0, 1, 1000, math.MaxInt64}
	type entry struct {
		k  []byte
		ts int64
	}
	for range 20000 {
		a := entry{randKey(), times[r.IntN(len(times))]}
		b := entry{randKey(), times[r.IntN(len(times))]}
		want := bytes.Compare(a.k, b.k)
		if want == 0 {
			want = cmp.Compare(a.ts, b.ts)
		}
		ea := appendTime(appendKey(nil, a.k), a.ts)
		eb := appendTime(appendKey(nil, b.k), b.ts)
		if got := bytes.Compare(ea, eb); got != want {
			t.Fatalf("(%x, %d) vs (%x, %d): encoded compare %d, want %d", a.k, a.ts, b.k, b.ts, got, want)
		}
		// keyAfter(k) is above every entry of k and below every greater key's.
		after := appendKeyAfter(nil, a.k)
		if bytes.Compare(ea, after) >= 0 {
			t.Fatalf("entry of %x not below keyAfter", a.k)
		}
		if c := bytes.Compare(a.k, b.k); c < 0 && bytes.Compare(after, eb) >= 0 || c > 0 && bytes.Compare(after, eb) < 0 {
			t.Fatalf("keyAfter(%x) misplaced against %x", a.k, b.k)
		}
		k, rest, ok := readKey(nil, ea)
		if !ok || !bytes.Equal(k, a.k) || readTime(rest) != a.ts {
			t.Fatalf("decode of %x = %x %v %v", ea, k, rest, ok)
		}
	}
	for _, bad := range [][]byte{{}, {'a'}, {0x00}, {0x00, 0x05}} {
		if _, _, ok := readKey(nil, bad); ok {
			t.Fatalf("readKey(%x) accepted corrupt bytes", bad)
		}
	}
}

func TestSuccessor(t *testing.T) {
	for _, c := range []struct{ in, want []byte }{
		{[]byte("ab"), []byte("ac")},
		{[]byte{'a', 0xff}, []byte("b")},
		{[]byte{0xff, 0xff}, nil},
		{nil, nil},
	} {
		if got := successor(nil, c.in); !bytes.Equal(got, c.want) || (got == nil) != (c.want == nil) {
			t.Fatalf("successor(%x) = %x, want %x", c.in, got, c.want)
		}
	}
}

// TestGrocksdbFallback runs stores through grocksdb's own API, as they would if a grocksdb
// upgrade changed the layouts native.go relies on.
func TestGrocksdbFallback(t *testing.T) {
	if !fastNative {
		t.Fatal("grocksdb's layout is not what native.go expects: check the pinned grocksdb version")
	}
	fastNative = false
	defer func() { fastNative = true }()
	t.Run("KeyValue", func(t *testing.T) {
		statetest.RunKeyValue(t, func(t testing.TB) state.Backend { return newTestBackend(t) })
	})
	for name, test := range map[string]func(*testing.T){
		"LeakedIterators":           TestLeakedIterators,
		"SegmentDrop":               TestSegmentDrop,
		"IteratorAcrossSegmentDrop": TestIteratorAcrossSegmentDrop,
		"WindowReopen":              TestWindowReopen,
		"SessionReopen":             TestSessionReopen,
		"WindowNegativeTimes":       TestWindowNegativeTimes,
		"EmptyKeysAndValues":        TestEmptyKeysAndValues,
	} {
		t.Run(name, test)
	}
}

// TestEmptyKeysAndValues stores the empty key and empty values in every store type.
func TestEmptyKeysAndValues(t *testing.T) {
	b := newTestBackend(t)
	dir := t.TempDir()
	kv, err := b.KeyValue("kv", dir)
	must(t, err)
	defer kv.Close()
	must(t, kv.Put([]byte{}, []byte{}))
	if v, err := kv.Get(nil); err != nil || v == nil || len(v) != 0 {
		t.Fatalf("Get(empty key) = %v, %v; want an empty value", v, err)
	}
	w, err := b.Window("w", dir, state.WindowOptions{Retention: 1000})
	must(t, err)
	defer w.Close()
	must(t, w.Put(nil, []byte{}, 5))
	if v, err := w.Fetch([]byte{}, 5); err != nil || v == nil || len(v) != 0 {
		t.Fatalf("Fetch(empty key) = %v, %v; want an empty value", v, err)
	}
	it, err := w.All()
	must(t, err)
	if !it.Next() || len(it.Key()) != 0 || it.Value() == nil || it.WindowStart() != 5 {
		t.Fatalf("All: %q@%d=%v, err %v", it.Key(), it.WindowStart(), it.Value(), it.Err())
	}
	must(t, it.Close())
	s, err := b.Session("s", dir, state.WindowOptions{Retention: 1000})
	must(t, err)
	defer s.Close()
	must(t, s.Put(nil, 1, 2, []byte{}))
	if v, err := s.FetchSession(nil, 1, 2); err != nil || v == nil || len(v) != 0 {
		t.Fatalf("FetchSession(empty key) = %v, %v; want an empty value", v, err)
	}
}
