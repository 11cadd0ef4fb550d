package main

import (
	"encoding/binary"
	"hash/maphash"
)

// The final results of the workloads whose output is a table's changes. Each is the key as
// the output topic carries it (serde.Int32, or windows.TimeWindowedSerde: the key then the
// window start as 8 big-endian bytes) and a hash of the value's bytes, computed from the
// generated input alone.

// finals maps a key's bytes to the hash of its final value's bytes.
type finals map[string]uint64

var finalSeed = maphash.MakeSeed()

// valueHash is the hash finals keep: computed from the input and from the output topic in one
// process, so a random seed is fine.
func valueHash(b []byte) uint64 { return maphash.Bytes(finalSeed, b) }

func countValue(n int64) []byte { return binary.BigEndian.AppendUint64(nil, uint64(n)) }

func windowedKey(key []byte, start int64) string {
	return string(binary.BigEndian.AppendUint64(key, uint64(start)))
}

// countFinals: streamcount's count of every key.
func countFinals(g gen, n int) finals {
	counts := make(map[int32]int64, g.keys)
	for i := range n {
		counts[g.key(sideLeft, i)]++
	}
	f := make(finals, len(counts))
	for k, c := range counts {
		f[string(keyBytes(k))] = valueHash(countValue(c))
	}
	return f
}

// Hopping windows of streamcountwindowed: 1 s long, every 0.5 s.
const (
	hopSize    = 1000
	hopAdvance = 500
)

// windowedCountFinals: streamcountwindowed's count of every key in every window. A record at
// ts is in the windows starting at the multiples of the advance in (ts-size, ts], as Kafka
// Streams' TimeWindows.windowsFor.
func windowedCountFinals(g gen, n int) finals {
	type kw struct {
		k     int32
		start int64
	}
	counts := make(map[kw]int64, 2*n)
	for i := range n {
		ts := g.ts(i)
		for start := max(0, ts-hopSize+hopAdvance) / hopAdvance * hopAdvance; start <= ts; start += hopAdvance {
			counts[kw{g.key(sideLeft, i), start}]++
		}
	}
	f := make(finals, len(counts))
	for w, c := range counts {
		f[windowedKey(keyBytes(w.k), w.start)] = valueHash(countValue(c))
	}
	return f
}

// tableJoinFinals: the table-table outer join's result for every key once both tables hold
// their last values: the left value where the left table has the key, else the right one (the
// joiner of topologies.go).
func tableJoinFinals(g gen, n int) finals {
	nl, nr := split(n)
	left := make(map[int32]int, g.keys) // key -> index of its last record
	right := make(map[int32]int, g.keys)
	for i := range nl {
		left[g.key(sideLeft, i)] = i
	}
	for i := range nr {
		right[g.key(sideRight, i)] = i
	}
	f := make(finals, len(left)+len(right))
	for k, i := range right {
		f[string(keyBytes(k))] = valueHash(g.value(sideRight, i))
	}
	for k, i := range left {
		f[string(keyBytes(k))] = valueHash(g.value(sideLeft, i))
	}
	return f
}

// yahooFinals: the number of views of every campaign in every 10 s window.
func yahooFinals(g gen, n int) finals {
	type cw struct {
		campaign string
		start    int64
	}
	counts := map[cw]int64{}
	size := yahooWindow.Milliseconds()
	for i := range n {
		if yahooIsView(i) {
			ts := g.ts(i)
			counts[cw{yahooCampaign(yahooAdIndex(i)), ts - ts%size}]++
		}
	}
	f := make(finals, len(counts))
	for w, c := range counts {
		f[windowedKey([]byte(w.campaign), w.start)] = valueHash(countValue(c))
	}
	return f
}
