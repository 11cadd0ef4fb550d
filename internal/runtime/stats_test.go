package runtime

import (
	"testing"
	"time"
)

// A weighted observation lands n times in the first bucket whose bound is at least the value;
// values above the last bound are only counted.
func TestHistogramObserveN(t *testing.T) {
	var h Histogram
	h.observeN(3*time.Microsecond, 4) // <= 10 µs
	h.observeN(2*time.Millisecond, 1) // <= 5 ms
	h.observeN(5*time.Millisecond, 2) // exactly on a bound: that bucket
	h.observeN(2*time.Minute, 1)      // above 60 s
	want := map[float64]uint64{1e-5: 4, 5e-3: 3}
	for i, b := range LatencyBuckets {
		if h.Counts[i] != want[b] {
			t.Errorf("bucket <= %v: %d, want %d", b, h.Counts[i], want[b])
		}
	}
	if h.Count != 8 {
		t.Errorf("count %d, want 8", h.Count)
	}
	if wantSum := 4*3e-6 + 2e-3 + 2*5e-3 + 120; h.Sum < wantSum-1e-9 || h.Sum > wantSum+1e-9 {
		t.Errorf("sum %v, want %v", h.Sum, wantSum)
	}
}
