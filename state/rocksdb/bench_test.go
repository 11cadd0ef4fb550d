package rocksdb

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/rillstreams/rill/state"
)

// The benchmarks use Kafka Streams-like records: 16-byte keys, 100-byte values, 100k keys.
const benchKeys = 100_000

func benchKeySet() [][]byte {
	keys := make([][]byte, benchKeys)
	for i := range keys {
		keys[i] = fmt.Appendf(nil, "key-%012d", i) // 16 bytes
	}
	return keys
}

var benchValue = bytes.Repeat([]byte{'v'}, 100)

// benchKV returns a store holding the 100k keys, flushed to disk as a committed task's are.
func benchKV(b *testing.B) (state.KeyValueBytesStore, [][]byte) {
	be := newTestBackend(b)
	s, err := be.KeyValue("bench", b.TempDir())
	must(b, err)
	b.Cleanup(func() { s.Close() })
	keys := benchKeySet()
	for _, k := range keys {
		must(b, s.Put(k, benchValue))
	}
	must(b, s.Flush())
	return s, keys
}

// randomOrder returns a permutation of the key indices, so reads do not walk the keys in order.
func randomOrder() []int {
	return rand.New(rand.NewPCG(7, 7)).Perm(benchKeys)
}

func BenchmarkKVPut(b *testing.B) {
	s, keys := benchKV(b)
	order := randomOrder()
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if err := s.Put(keys[order[i%benchKeys]], benchValue); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkKVGet(b *testing.B) {
	s, keys := benchKV(b)
	order := randomOrder()
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		v, err := s.Get(keys[order[i%benchKeys]])
		if err != nil || len(v) != len(benchValue) {
			b.Fatal(v, err)
		}
	}
}

func BenchmarkKVRange100(b *testing.B) {
	s, keys := benchKV(b)
	order := randomOrder()
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		from := order[i%benchKeys] % (benchKeys - 100)
		it, err := s.Range(keys[from], keys[from+99])
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for it.Next() {
			n += len(it.Key()) + len(it.Value())
		}
		if err := it.Close(); err != nil || n != 100*116 {
			b.Fatal(n, err)
		}
	}
}

// Window benchmarks: 1-minute tumbling windows, an hour of retention (two segments of 30
// minutes), every key updated once per window as a windowed count would be.
var benchWindowOpts = state.WindowOptions{Retention: 3_600_000}

func benchWindow(b *testing.B, opts state.WindowOptions) (state.WindowBytesStore, [][]byte) {
	be := newTestBackend(b)
	s, err := be.Window("bench", b.TempDir(), opts)
	must(b, err)
	b.Cleanup(func() { s.Close() })
	return s, benchKeySet()
}

// windowOf is the start of the i-th Put's window: all keys once per minute.
func windowOf(i int) int64 { return int64(i/benchKeys) * 60_000 }

func BenchmarkWindowPut(b *testing.B) {
	s, keys := benchWindow(b, benchWindowOpts)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if err := s.Put(keys[i%benchKeys], benchValue, windowOf(i)); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkWindowPutDuplicates(b *testing.B) {
	opts := benchWindowOpts
	opts.RetainDuplicates = true
	s, keys := benchWindow(b, opts)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if err := s.Put(keys[i%benchKeys], benchValue, windowOf(i)); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkWindowFetch(b *testing.B) {
	s, keys := benchWindow(b, benchWindowOpts)
	for i := range 3 * benchKeys { // three windows of every key
		must(b, s.Put(keys[i%benchKeys], benchValue, windowOf(i)))
	}
	must(b, s.Flush())
	order := randomOrder()
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		v, err := s.Fetch(keys[order[i%benchKeys]], int64(i%3)*60_000)
		if err != nil || len(v) != len(benchValue) {
			b.Fatal(v, err)
		}
	}
}

// BenchmarkWindowFetchRange is a stream-stream join's lookup: one key's windows over three
// minutes.
func BenchmarkWindowFetchRange(b *testing.B) {
	s, keys := benchWindow(b, benchWindowOpts)
	for i := range 3 * benchKeys {
		must(b, s.Put(keys[i%benchKeys], benchValue, windowOf(i)))
	}
	must(b, s.Flush())
	order := randomOrder()
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		it, err := s.FetchRange(keys[order[i%benchKeys]], 0, 120_000)
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for it.Next() {
			n++
		}
		if err := it.Close(); err != nil || n != 3 {
			b.Fatal(n, err)
		}
	}
}
