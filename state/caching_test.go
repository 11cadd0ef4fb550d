package state_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/rillstreams/rill/serde"
	"github.com/rillstreams/rill/state"
	"github.com/rillstreams/rill/state/memory"
	"github.com/rillstreams/rill/state/statetest"
)

// cachedBackend opens key-value stores cached in one RecordCache of max bytes over in-memory
// stores, as the store builders do for a task.
type cachedBackend struct {
	cache *state.RecordCache
}

func (b cachedBackend) Name() string { return "cached-memory" }

func (b cachedBackend) KeyValue(name, dir string) (state.KeyValueBytesStore, error) {
	s, err := state.NewKeyValueStoreBuilder(name, serde.Bytes(), serde.Bytes()).WithLogging(false).
		WithCaching(true).WithBackend(memory.Backend()).
		Build(state.StoreContext{Dir: dir, Cache: b.cache})
	if err != nil {
		return nil, err
	}
	kv := s.(*state.KeyValueStore[[]byte, []byte])
	if !kv.Cached() {
		return nil, fmt.Errorf("store %s was built uncached", name)
	}
	return kv.Bytes(), nil
}

func (b cachedBackend) Window(name, dir string, opts state.WindowOptions) (state.WindowBytesStore, error) {
	return memory.Backend().Window(name, dir, opts)
}

func (b cachedBackend) Session(name, dir string, opts state.WindowOptions) (state.SessionBytesStore, error) {
	return memory.Backend().Session(name, dir, opts)
}

// A cached store is a key-value store like any other: the conformance suite passes with a
// cache that holds everything and with one so small that nearly every write evicts.
func TestCachedKeyValueConformance(t *testing.T) {
	for _, size := range []int64{state.DefaultCacheMaxBytes, 150} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			statetest.RunKeyValue(t, func(testing.TB) state.Backend {
				return cachedBackend{cache: state.NewRecordCache(size)}
			})
		})
	}
}

// flushed is what a test flush listener saw.
type flushed struct {
	key, newV, oldV string
	ts              int64
}

func openCached(t *testing.T, c *state.RecordCache, name string, tc state.TaskContext, sendOld bool, got *[]flushed) *state.KeyValueStore[string, string] {
	t.Helper()
	s, err := state.NewKeyValueStoreBuilder(name, serde.String(), serde.String()).WithLogging(false).
		WithCaching(true).WithBackend(memory.Backend()).
		Build(state.StoreContext{Cache: c, Records: tc})
	if err != nil {
		t.Fatal(err)
	}
	kv := s.(*state.KeyValueStore[string, string])
	if !kv.SetFlushListener(sendOld, func(r state.CachedRecord[string, string]) error {
		f := flushed{key: r.Key, ts: r.Context.Timestamp}
		if r.HasNew {
			f.newV = r.New
		} else {
			f.newV = "<nil>"
		}
		if r.HasOld {
			f.oldV = r.Old
		} else {
			f.oldV = "<nil>"
		}
		*got = append(*got, f)
		return nil
	}) {
		t.Fatal("store not cached")
	}
	t.Cleanup(func() { _ = kv.Close() })
	return kv
}

// fakeTask hands out a record context whose timestamp the test sets.
type fakeTask struct{ ts int64 }

func (f *fakeTask) RecordContext() state.RecordContext {
	return state.RecordContext{Timestamp: f.ts, Topic: "in", Offset: f.ts}
}

func (f *fakeTask) WithRecordContext(rc state.RecordContext, fn func() error) error {
	prev := f.ts
	f.ts = rc.Timestamp
	defer func() { f.ts = prev }()
	return fn()
}

// entrySize is the cache's estimate of an entry with a one-byte key and value and the
// fakeTask's record context (topic "in").
const entrySize = 1 + 1 + 25 + (8 + 8 + 2 + 4)

// Eviction follows Kafka Streams' NamedCache: the least recently used entry goes (reads count
// as use); when it is dirty, every dirty entry of the store flushes, the evicted one first and
// the others in the order they were last written; flushed entries stay, clean.
func TestRecordCacheEvictionOrder(t *testing.T) {
	c := state.NewRecordCache(3 * entrySize)
	task := &fakeTask{}
	var got []flushed
	s := openCached(t, c, "s", task, true, &got)
	put := func(ts int64, k, v string) {
		t.Helper()
		task.ts = ts
		if err := s.Put(k, v); err != nil {
			t.Fatal(err)
		}
	}
	put(1, "a", "1")
	put(2, "b", "1")
	put(3, "c", "1")
	put(4, "b", "2")                         // b is last written now: dirty order a, c, b
	if _, _, err := s.Get("a"); err != nil { // a is most recently used: LRU order c, b, a
		t.Fatal(err)
	}
	if len(got) != 0 || c.SizeBytes() != 3*entrySize {
		t.Fatalf("flushed %v with %d bytes cached, want nothing flushed", got, c.SizeBytes())
	}
	put(5, "d", "1") // over budget: c (least recently used) is evicted, dirty: flush all
	want := []flushed{
		{"c", "1", "<nil>", 3}, // the evicted entry first
		{"a", "1", "<nil>", 1}, // then the dirty ones in write order
		{"b", "2", "<nil>", 4}, // b once, with its latest value and context
		{"d", "1", "<nil>", 5},
	}
	if !slices.Equal(got, want) {
		t.Fatalf("flushed\n%v\nwant\n%v", got, want)
	}
	if st := c.Stats(); st.Evictions != 1 || st.Flushes != 1 {
		t.Fatalf("stats %+v, want 1 eviction and 1 flush", st)
	}
	// a, b and d stay, clean: reads hit the cache, and c comes from the store beneath.
	got = nil
	for _, k := range []string{"a", "b", "c", "d"} {
		if _, ok, err := s.Get(k); err != nil || !ok {
			t.Fatalf("Get(%s) = %v, %v", k, ok, err)
		}
	}
	// Reading c cached it (clean) and evicted a clean entry: nothing to flush.
	if len(got) != 0 {
		t.Fatalf("reads flushed %v", got)
	}
	// Updates now carry the old value from the store beneath; a delete of a key the store
	// never held, written and deleted within one flush, flushes nothing.
	put(6, "b", "3")
	put(7, "e", "1")
	task.ts = 8
	if err := s.Delete("e"); err != nil {
		t.Fatal(err)
	}
	if err := s.FlushCache(); err != nil {
		t.Fatal(err)
	}
	want = []flushed{{"b", "3", "2", 6}}
	if !slices.Equal(got, want) {
		t.Fatalf("flushed %v, want %v", got, want)
	}
	if v, ok, _ := s.Get("b"); !ok || v != "3" {
		t.Fatalf("b = %q, %v after flush", v, ok)
	}
}

// Stores share the thread's budget, but a write evicts only from its own store: another
// store's entries wait for their own flush.
func TestRecordCacheSharedBudget(t *testing.T) {
	c := state.NewRecordCache(2 * entrySize)
	task := &fakeTask{}
	var gotA, gotB []flushed
	a := openCached(t, c, "a", task, false, &gotA)
	b := openCached(t, c, "b", task, false, &gotB)
	if err := a.Put("x", "1"); err != nil {
		t.Fatal(err)
	}
	if err := a.Put("y", "1"); err != nil {
		t.Fatal(err)
	}
	if err := b.Put("z", "1"); err != nil { // over budget: b's own entry goes
		t.Fatal(err)
	}
	if len(gotA) != 0 || len(gotB) != 1 || gotB[0].key != "z" {
		t.Fatalf("flushed a %v, b %v: want only b's z", gotA, gotB)
	}
	if err := a.FlushCache(); err != nil {
		t.Fatal(err)
	}
	if len(gotA) != 2 {
		t.Fatalf("a flushed %v, want x and y", gotA)
	}
	// Closing a store gives its share of the budget back.
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if c.SizeBytes() != 0 {
		t.Fatalf("%d bytes cached after close, want 0", c.SizeBytes())
	}
}

// A store built without a cache, or with a cache of 0 bytes, is not cached.
func TestRecordCacheDisabled(t *testing.T) {
	for _, c := range []*state.RecordCache{nil, state.NewRecordCache(0)} {
		sc := state.StoreContext{}
		if c != nil {
			sc.Cache = c
		}
		s, err := state.NewKeyValueStoreBuilder("s", serde.String(), serde.String()).WithLogging(false).
			WithCaching(true).WithBackend(memory.Backend()).Build(sc)
		if err != nil {
			t.Fatal(err)
		}
		kv := s.(*state.KeyValueStore[string, string])
		if kv.Cached() || kv.SetFlushListener(false, func(state.CachedRecord[string, string]) error { return nil }) {
			t.Fatalf("cache %v: store is cached", c)
		}
		_ = kv.Close()
	}
}
