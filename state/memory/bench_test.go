package memory

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/rillstreams/rill/state"
)

// The shapes of DESIGN.md's performance targets: 16-byte keys, 100-byte values, 100k keys.
const (
	benchKeys      = 100_000
	benchValueSize = 100
)

func benchKey(i int) []byte { return fmt.Appendf(nil, "key-%012d", i) } // 16 bytes

func benchStore(b *testing.B) (*KeyValueStore, [][]byte) {
	b.Helper()
	s := NewKeyValueStore("bench")
	b.Cleanup(func() { _ = s.Close() })
	keys := make([][]byte, benchKeys)
	value := make([]byte, benchValueSize)
	for i := range keys {
		keys[i] = benchKey(i)
		if err := s.Put(keys[i], value); err != nil {
			b.Fatal(err)
		}
	}
	// Visit keys in random order, as records of 100k keys arrive.
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(keys), func(i, j int) { keys[i], keys[j] = keys[j], keys[i] })
	return s, keys
}

// BenchmarkKeyValuePut overwrites keys of a store of 100k keys (a count or aggregate update).
func BenchmarkKeyValuePut(b *testing.B) {
	s, keys := benchStore(b)
	value := make([]byte, benchValueSize)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if err := s.Put(keys[i%benchKeys], value); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkKeyValueInsert fills an empty store with 100k keys, again and again.
func BenchmarkKeyValueInsert(b *testing.B) {
	keys := make([][]byte, benchKeys)
	for i := range keys {
		keys[i] = benchKey(i)
	}
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(keys), func(i, j int) { keys[i], keys[j] = keys[j], keys[i] })
	value := make([]byte, benchValueSize)
	s := NewKeyValueStore("bench")
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if i%benchKeys == 0 {
			s = NewKeyValueStore("bench")
		}
		if err := s.Put(keys[i%benchKeys], value); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkKeyValueGet(b *testing.B) {
	s, keys := benchStore(b)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		v, err := s.Get(keys[i%benchKeys])
		if err != nil || len(v) != benchValueSize {
			b.Fatal(err, len(v))
		}
	}
}

// BenchmarkKeyValueRange100 opens, drains and closes a range of 100 keys.
func BenchmarkKeyValueRange100(b *testing.B) {
	s, _ := benchStore(b)
	sorted := make([][]byte, benchKeys)
	for i := range sorted {
		sorted[i] = benchKey(i)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		j := (i * 7919) % (benchKeys - 100)
		it, err := s.Range(sorted[j], sorted[j+99])
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for it.Next() {
			n++
		}
		if err := it.Close(); err != nil || n != 100 {
			b.Fatal(err, n)
		}
	}
}

// BenchmarkKeyValueRangeThenPut writes during every range of 100 keys, with the iterator still
// reading the tree: the cost of the snapshot (a lazy clone, then copying the nodes on the
// write's path).
func BenchmarkKeyValueRangeThenPut(b *testing.B) {
	s, keys := benchStore(b)
	sorted := make([][]byte, benchKeys)
	for i := range sorted {
		sorted[i] = benchKey(i)
	}
	value := make([]byte, benchValueSize)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		j := (i * 7919) % (benchKeys - 100)
		it, err := s.Range(sorted[j], sorted[j+99])
		if err != nil {
			b.Fatal(err)
		}
		it.Next()
		if err := s.Put(keys[i%benchKeys], value); err != nil {
			b.Fatal(err)
		}
		for it.Next() {
		}
		_ = it.Close()
	}
}

// BenchmarkWindowPutFetch is a stream-stream join buffer: 10k keys, a record a millisecond,
// each put and then its key's windows of the last 5 s fetched, with 1 min retention.
func BenchmarkWindowPutFetch(b *testing.B) {
	s, err := NewWindowStore("join", state.WindowOptions{Retention: 60_000, RetainDuplicates: true})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	keys := make([][]byte, 10_000)
	for i := range keys {
		keys[i] = benchKey(i)
	}
	value := make([]byte, benchValueSize)
	r := rand.New(rand.NewPCG(1, 2))
	b.ReportAllocs()
	for ts := int64(0); b.Loop(); ts++ {
		k := keys[r.IntN(len(keys))]
		if err := s.Put(k, value, ts); err != nil {
			b.Fatal(err)
		}
		it, err := s.FetchRange(k, ts-5000, ts)
		if err != nil {
			b.Fatal(err)
		}
		for it.Next() {
		}
		_ = it.Close()
	}
}

// BenchmarkSessionFind is a session aggregation step: find the sessions a record merges with,
// remove them, put the merged one.
func BenchmarkSessionFind(b *testing.B) {
	s, err := NewSessionStore("sessions", state.WindowOptions{Retention: 60_000})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	keys := make([][]byte, 10_000)
	for i := range keys {
		keys[i] = benchKey(i)
	}
	value := make([]byte, benchValueSize)
	r := rand.New(rand.NewPCG(1, 2))
	const gap = 5000
	b.ReportAllocs()
	for ts := int64(0); b.Loop(); ts++ {
		k := keys[r.IntN(len(keys))]
		it, err := s.FindSessions(k, ts-gap, ts+gap)
		if err != nil {
			b.Fatal(err)
		}
		start, end := ts, ts
		for it.Next() {
			start, end = min(start, it.Start()), max(end, it.End())
			if err := s.Remove(k, it.Start(), it.End()); err != nil {
				b.Fatal(err)
			}
		}
		_ = it.Close()
		if err := s.Put(k, start, end, value); err != nil {
			b.Fatal(err)
		}
	}
}
