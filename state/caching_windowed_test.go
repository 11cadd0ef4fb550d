package state_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/rillstreams/rill/serde"
	"github.com/rillstreams/rill/state"
	"github.com/rillstreams/rill/state/memory"
	"github.com/rillstreams/rill/state/rocksdb"
	"github.com/rillstreams/rill/state/statetest"
)

// windowCachedBackend opens window and session stores cached in a RecordCache of size bytes
// over another backend's stores, as the store builders do for a task. Flush and Close flush
// the cache first, as a task flushes its caches before it commits or closes cleanly.
type windowCachedBackend struct {
	under state.Backend
	size  int64
}

func (b windowCachedBackend) Name() string { return "cached-" + b.under.Name() }

func (b windowCachedBackend) KeyValue(name, dir string) (state.KeyValueBytesStore, error) {
	return b.under.KeyValue(name, dir)
}

type cacheFlusher interface {
	Cached() bool
	FlushCache() error
}

func (b windowCachedBackend) Window(name, dir string, opts state.WindowOptions) (state.WindowBytesStore, error) {
	s, err := state.NewWindowStoreBuilder(name, serde.Bytes(), serde.Bytes(), opts).WithLogging(false).
		WithCaching(true).WithBackend(b.under).
		Build(state.StoreContext{Dir: dir, Cache: state.NewRecordCache(b.size)})
	if err != nil {
		return nil, err
	}
	ws := s.(*state.WindowStore[[]byte, []byte])
	if ws.Cached() == opts.RetainDuplicates {
		return nil, fmt.Errorf("store %s: cached %v with RetainDuplicates %v", name, ws.Cached(), opts.RetainDuplicates)
	}
	state.ExpireCached(ws.Bytes())
	return &flushingWindow{WindowBytesStore: ws.Bytes(), c: ws}, nil
}

func (b windowCachedBackend) Session(name, dir string, opts state.WindowOptions) (state.SessionBytesStore, error) {
	s, err := state.NewSessionStoreBuilder(name, serde.Bytes(), serde.Bytes(), opts).WithLogging(false).
		WithCaching(true).WithBackend(b.under).
		Build(state.StoreContext{Dir: dir, Cache: state.NewRecordCache(b.size)})
	if err != nil {
		return nil, err
	}
	ss := s.(*state.SessionStore[[]byte, []byte])
	if !ss.Cached() {
		return nil, fmt.Errorf("store %s was built uncached", name)
	}
	state.ExpireCached(ss.Bytes())
	return &flushingSession{SessionBytesStore: ss.Bytes(), c: ss}, nil
}

type flushingWindow struct {
	state.WindowBytesStore
	c cacheFlusher
}

func (s *flushingWindow) Flush() error {
	if err := s.c.FlushCache(); err != nil {
		return err
	}
	return s.WindowBytesStore.Flush()
}

func (s *flushingWindow) Close() error {
	err := s.c.FlushCache()
	if cerr := s.WindowBytesStore.Close(); err == nil {
		err = cerr
	}
	return err
}

type flushingSession struct {
	state.SessionBytesStore
	c cacheFlusher
}

func (s *flushingSession) Flush() error {
	if err := s.c.FlushCache(); err != nil {
		return err
	}
	return s.SessionBytesStore.Flush()
}

func (s *flushingSession) Close() error {
	err := s.c.FlushCache()
	if cerr := s.SessionBytesStore.Close(); err == nil {
		err = cerr
	}
	return err
}

// Cached window and session stores are window and session stores like any other: the
// conformance suites (with their random models) pass over both backends, with a cache that
// holds everything and with one so small that nearly every write evicts and flushes. (The
// suites check retention, which Kafka Streams' caching stores apply to the store beneath only:
// the stores here apply it to the cache too, state.ExpireCached.)
func TestCachedWindowedConformance(t *testing.T) {
	backends := map[string]func(t testing.TB) state.Backend{
		"memory": func(testing.TB) state.Backend { return memory.Backend() },
		"rocksdb": func(t testing.TB) state.Backend {
			b, err := rocksdb.NewBackend(rocksdb.Config{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(b.Close)
			return b
		},
	}
	for _, name := range []string{"memory", "rocksdb"} {
		for _, size := range []int64{state.DefaultCacheMaxBytes, 200} {
			t.Run(fmt.Sprint(name, "/", size), func(t *testing.T) {
				nb := func(t testing.TB) state.Backend { return windowCachedBackend{under: backends[name](t), size: size} }
				t.Run("Window", func(t *testing.T) { statetest.RunWindow(t, nb) })
				t.Run("Session", func(t *testing.T) { statetest.RunSession(t, nb) })
			})
		}
	}
}

// flushedWindow is what a test window flush listener saw.
type flushedWindow struct {
	key        string
	start, end int64 // end: sessions only
	newV, oldV string
	ts         int64
}

func optString(v string, ok bool) string {
	if ok {
		return v
	}
	return "<nil>"
}

func openCachedWindow(t *testing.T, c *state.RecordCache, b state.Backend, tc state.TaskContext, sendOld bool, got *[]flushedWindow) *state.WindowStore[string, string] {
	t.Helper()
	s, err := state.NewWindowStoreBuilder("w", serde.String(), serde.String(), state.WindowOptions{Retention: 1000}).
		WithLogging(false).WithCaching(true).WithBackend(b).
		Build(state.StoreContext{Dir: t.TempDir(), Cache: c, Records: tc})
	if err != nil {
		t.Fatal(err)
	}
	ws := s.(*state.WindowStore[string, string])
	if !ws.SetFlushListener(sendOld, func(r state.CachedWindow[string, string]) error {
		*got = append(*got, flushedWindow{key: r.Key, start: r.WindowStart, newV: optString(r.New, r.HasNew),
			oldV: optString(r.Old, r.HasOld), ts: r.Context.Timestamp})
		return nil
	}) {
		t.Fatal("store not cached")
	}
	t.Cleanup(func() { _ = ws.Close() })
	return ws
}

func testBackends(t *testing.T) map[string]state.Backend {
	rb, err := rocksdb.NewBackend(rocksdb.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rb.Close)
	return map[string]state.Backend{"memory": memory.Backend(), "rocksdb": rb}
}

// A cached window store forwards each window once per flush with its latest value and the
// context of its last write, in the order windows were last written; old values come from the
// store beneath; a window written and deleted between two flushes flushes nothing; reads and
// range fetches see the cache merged with the store.
func TestCachingWindowStore(t *testing.T) {
	for name, b := range testBackends(t) {
		t.Run(name, func(t *testing.T) {
			task := &fakeTask{}
			var got []flushedWindow
			s := openCachedWindow(t, state.NewRecordCache(state.DefaultCacheMaxBytes), b, task, true, &got)
			put := func(ts int64, k, v string, start int64) {
				t.Helper()
				task.ts = ts
				if err := s.Put(k, v, start); err != nil {
					t.Fatal(err)
				}
			}
			put(1, "a", "1", 0)
			put(2, "b", "1", 0)
			put(3, "a", "2", 0)
			put(4, "a", "1", 100)
			if len(got) != 0 {
				t.Fatalf("flushed before FlushCache: %v", got)
			}
			if v, ok, err := s.Fetch("a", 0); err != nil || !ok || v != "2" {
				t.Fatalf("Fetch(a, 0) = %q, %v, %v; want the cached 2", v, ok, err)
			}
			if err := s.FlushCache(); err != nil {
				t.Fatal(err)
			}
			want := []flushedWindow{
				{key: "b", start: 0, newV: "1", oldV: "<nil>", ts: 2},
				{key: "a", start: 0, newV: "2", oldV: "<nil>", ts: 3},
				{key: "a", start: 100, newV: "1", oldV: "<nil>", ts: 4},
			}
			if !slices.Equal(got, want) {
				t.Fatalf("flushed\n%v\nwant\n%v", got, want)
			}
			got = nil
			put(5, "a", "3", 0)   // an update: old value from the store beneath
			put(6, "c", "1", 100) // written and deleted before the flush: nothing
			if err := s.Delete("c", 100); err != nil {
				t.Fatal(err)
			}
			put(7, "b", "2", 200)
			// Range fetches merge the cache with the store, in each iterator's order.
			if ws, err := s.FetchRange("a", 0, 200); err != nil || len(ws) != 2 || ws[0].Value != "3" || ws[1].Value != "1" {
				t.Fatalf("FetchRange(a) = %v, %v", ws, err)
			}
			all, err := s.FetchAll(0, 200)
			if err != nil {
				t.Fatal(err)
			}
			gotAll := fmt.Sprint(all)
			if wantAll := "[{a 0 3} {b 0 1} {a 100 1} {b 200 2}]"; gotAll != wantAll {
				t.Fatalf("FetchAll = %s, want %s", gotAll, wantAll)
			}
			if err := s.FlushCache(); err != nil {
				t.Fatal(err)
			}
			want = []flushedWindow{
				{key: "a", start: 0, newV: "3", oldV: "2", ts: 5},
				{key: "b", start: 200, newV: "2", oldV: "<nil>", ts: 7},
			}
			if !slices.Equal(got, want) {
				t.Fatalf("flushed\n%v\nwant\n%v", got, want)
			}
			// A delete of a stored window flushes with the old value.
			got = nil
			task.ts = 8
			if err := s.Delete("a", 100); err != nil {
				t.Fatal(err)
			}
			if v, ok, _ := s.Fetch("a", 100); ok {
				t.Fatalf("Fetch of a deleted window = %q", v)
			}
			if err := s.FlushCache(); err != nil {
				t.Fatal(err)
			}
			want = []flushedWindow{{key: "a", start: 100, newV: "<nil>", oldV: "1", ts: 8}}
			if !slices.Equal(got, want) {
				t.Fatalf("flushed\n%v\nwant\n%v", got, want)
			}
		})
	}
}

// Going over budget flushes the store's dirty windows, the evicted one first; retention
// applies to the store beneath, not to what the cache holds (Kafka Streams' CachingWindowStore).
func TestCachingWindowStoreEvictionAndRetention(t *testing.T) {
	task := &fakeTask{}
	var got []flushedWindow
	// One entry: key, 8-byte start, one-byte value, the fakeTask's context and the overhead.
	entry := int64(1+8+1+25) + (8 + 8 + 2 + 4)
	s := openCachedWindow(t, state.NewRecordCache(2*entry), memory.Backend(), task, false, &got)
	for i, k := range []string{"a", "b", "a", "c"} {
		task.ts = int64(i)
		if err := s.Put(k, "1", int64(i)); err != nil {
			t.Fatal(err)
		}
	}
	// The third put evicted a@0 and flushed a@0, b@1; the fourth evicted b@1 (clean) only...
	want := []flushedWindow{
		{key: "a", start: 0, newV: "1", oldV: "<nil>", ts: 0},
		{key: "b", start: 1, newV: "1", oldV: "<nil>", ts: 1},
		{key: "a", start: 2, newV: "1", oldV: "<nil>", ts: 2},
	}
	if !slices.Equal(got, want) {
		t.Fatalf("flushed\n%v\nwant\n%v", got, want)
	}
	// Stream time 2000 expires every window before 1001 in the store beneath; as in Kafka
	// Streams, the windows the cache still holds (c@3, clean) are returned until evicted.
	if err := s.Put("d", "1", 2000); err != nil {
		t.Fatal(err)
	}
	if err := s.FlushCache(); err != nil {
		t.Fatal(err)
	}
	all, err := s.All()
	if err != nil || fmt.Sprint(all) != "[{c 3 1} {d 2000 1}]" {
		t.Fatalf("All = %v, %v; want c@3 (cached) and d@2000", all, err)
	}
	if _, ok, _ := s.Fetch("a", 0); ok {
		t.Fatal("Fetch of a window expired in the store and evicted from the cache found it")
	}
	if _, ok, _ := s.Fetch("c", 3); !ok {
		t.Fatal("Fetch of a window the cache holds did not find it")
	}
}

func openCachedSession(t *testing.T, c *state.RecordCache, b state.Backend, tc state.TaskContext, sendOld bool, got *[]flushedWindow) *state.SessionStore[string, string] {
	t.Helper()
	s, err := state.NewSessionStoreBuilder("s", serde.String(), serde.String(), state.WindowOptions{Retention: 1000}).
		WithLogging(false).WithCaching(true).WithBackend(b).
		Build(state.StoreContext{Dir: t.TempDir(), Cache: c, Records: tc})
	if err != nil {
		t.Fatal(err)
	}
	ss := s.(*state.SessionStore[string, string])
	if !ss.SetFlushListener(sendOld, func(r state.CachedSession[string, string]) error {
		*got = append(*got, flushedWindow{key: r.Key, start: r.Start, end: r.End, newV: optString(r.New, r.HasNew),
			oldV: optString(r.Old, r.HasOld), ts: r.Context.Timestamp})
		return nil
	}) {
		t.Fatal("store not cached")
	}
	t.Cleanup(func() { _ = ss.Close() })
	return ss
}

// A cached session store: a session created and merged away between two flushes is never
// written or forwarded; one that was stored is forwarded as removed, with its old value;
// FindSessions merges the cache with the store.
func TestCachingSessionStore(t *testing.T) {
	for name, b := range testBackends(t) {
		t.Run(name, func(t *testing.T) {
			task := &fakeTask{}
			var got []flushedWindow
			s := openCachedSession(t, state.NewRecordCache(state.DefaultCacheMaxBytes), b, task, true, &got)
			task.ts = 10
			if err := s.Put("a", 10, 10, "1"); err != nil {
				t.Fatal(err)
			}
			if err := s.FlushCache(); err != nil {
				t.Fatal(err)
			}
			got = nil
			// A record at 15 merges [10,10] into [10,15]; one at 30 makes [30,30], which a record
			// at 20 merges with [10,15] into [10,30], all before the next flush.
			steps := []func() error{
				func() error { task.ts = 15; return s.Remove("a", 10, 10) },
				func() error { return s.Put("a", 10, 15, "2") },
				func() error { task.ts = 30; return s.Put("a", 30, 30, "1") },
				func() error { task.ts = 20; return s.Remove("a", 10, 15) },
				func() error { return s.Remove("a", 30, 30) },
				func() error { return s.Put("a", 10, 30, "4") },
			}
			for _, step := range steps {
				if err := step(); err != nil {
					t.Fatal(err)
				}
			}
			found, err := s.FindSessions("a", 0, 100)
			if err != nil || len(found) != 1 || found[0].Start != 10 || found[0].End != 30 || found[0].Value != "4" {
				t.Fatalf("FindSessions = %v, %v; want only [10,30]", found, err)
			}
			if err := s.FlushCache(); err != nil {
				t.Fatal(err)
			}
			want := []flushedWindow{
				{key: "a", start: 10, end: 10, newV: "<nil>", oldV: "1", ts: 15},
				{key: "a", start: 10, end: 30, newV: "4", oldV: "<nil>", ts: 20},
			}
			if !slices.Equal(got, want) {
				t.Fatalf("flushed\n%v\nwant\n%v", got, want)
			}
			found, err = s.Fetch("a")
			if err != nil || len(found) != 1 || found[0].End != 30 {
				t.Fatalf("Fetch after flush = %v, %v", found, err)
			}
		})
	}
}
