package main

import (
	"encoding/binary"
	"testing"
)

// The final-value expectations are computed independently of the workloads; these checks tie
// them to the input they describe.

func testGen() gen { return gen{keys: 50, valueSize: 16, base: 1_700_000_000_000} }

// sumCounts adds up the counts the finals expect, checking each against want's hash.
func sumCounts(t *testing.T, f finals) int64 {
	t.Helper()
	var total int64
	for k, h := range f {
		found := false
		for c := int64(1); c <= 10_000 && !found; c++ {
			if valueHash(countValue(c)) == h {
				total += c
				found = true
			}
		}
		if !found {
			t.Fatalf("key %x: final value is not a count", k)
		}
	}
	return total
}

func TestCountFinalsAddUpToTheInput(t *testing.T) {
	g, n := testGen(), 3000
	f := countFinals(g, n)
	if len(f) != g.keys {
		t.Errorf("%d keys, want %d (3000 records over 50 keys touch them all)", len(f), g.keys)
	}
	if got := sumCounts(t, f); got != int64(n) {
		t.Errorf("counts add up to %d, want %d", got, n)
	}
}

func TestWindowedCountFinalsCountEveryRecordTwice(t *testing.T) {
	g, n := testGen(), 3000
	f := windowedCountFinals(g, n)
	if got := sumCounts(t, f); got != 2*int64(n) {
		t.Errorf("windowed counts add up to %d, want %d: each record is in two 1 s windows 0.5 s apart", got, 2*n)
	}
	for k := range f {
		if len(k) != 12 {
			t.Fatalf("windowed key %x: %d bytes, want 4 (key) + 8 (start)", k, len(k))
		}
		if start := int64(binary.BigEndian.Uint64([]byte(k[4:]))); start%hopAdvance != 0 {
			t.Errorf("window start %d is not a multiple of the advance", start)
		}
	}
}

func TestYahooFinalsCountEveryView(t *testing.T) {
	g, n := testGen(), 3000
	if got, want := sumCounts(t, yahooFinals(g, n)), yahooViews(n); got != want {
		t.Errorf("views counted %d, want %d", got, want)
	}
}

func TestTableJoinFinalsPreferTheLeftValue(t *testing.T) {
	g, n := testGen(), 400
	f := tableJoinFinals(g, n)
	nl, _ := split(n)
	lastLeft := map[int32]int{}
	for i := range nl {
		lastLeft[g.key(sideLeft, i)] = i
	}
	for k, i := range lastLeft {
		if f[string(keyBytes(k))] != valueHash(g.value(sideLeft, i)) {
			t.Errorf("key %d: final value is not its last left value", k)
		}
	}
	if len(f) < len(lastLeft) {
		t.Errorf("%d keys, fewer than the left table's %d", len(f), len(lastLeft))
	}
}

func TestParseStatCPU(t *testing.T) {
	// A JVM's stat line: the command name holds a space and a parenthesis.
	stat := "4242 (java (main)) S 1 4242 4242 0 -1 4194560 9000 0 12 0 250 75 0 0 20 0 30 0 100 0 0"
	if got := parseStatCPU(stat); got != 3.25 {
		t.Errorf("parseStatCPU = %v, want 3.25 (250 + 75 ticks)", got)
	}
	if got := parseStatCPU("garbage"); got != 0 {
		t.Errorf("parseStatCPU(garbage) = %v, want 0", got)
	}
}
