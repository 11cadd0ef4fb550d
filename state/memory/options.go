package memory

import (
	"fmt"
	"math"

	"github.com/rillstreams/rill/state"
)

// defaultMinSegmentInterval is Kafka Streams' floor on the default segment interval.
const defaultMinSegmentInterval = 60_000

// checkOptions validates opts and fills in the default segment interval.
func checkOptions(kind, name string, opts state.WindowOptions) (state.WindowOptions, error) {
	if opts.Retention <= 0 {
		return opts, fmt.Errorf("rill: %s store %q: retention must be positive, got %d ms", kind, name, opts.Retention)
	}
	switch {
	case opts.SegmentInterval < 0:
		return opts, fmt.Errorf("rill: %s store %q: segment interval must not be negative, got %d ms", kind, name, opts.SegmentInterval)
	case opts.SegmentInterval == 0:
		opts.SegmentInterval = max(opts.Retention/2, defaultMinSegmentInterval)
	}
	return opts, nil
}

// retention tracks observed stream time and what it expires, for window stores (by window
// start) and session stores (by session end).
type retention struct {
	retention, segment int64
	// observed tells whether any time was put yet: before that nothing is expired.
	observed   bool
	streamTime int64
	// liveFrom is the earliest live time: streamTime - retention + 1. Anything older is
	// expired: never returned, and Puts to it are dropped.
	liveFrom int64
	// purged is the start of the earliest segment kept: every entry before it was removed.
	purged int64
}

func newRetention(opts state.WindowOptions) retention {
	return retention{
		retention: opts.Retention, segment: opts.SegmentInterval,
		liveFrom: math.MinInt64, purged: math.MinInt64,
	}
}

// observe moves stream time to ts if ts is later, and returns the start of the earliest
// segment that is not wholly expired: entries before it are to be removed.
func (r *retention) observe(ts int64) (purgeBefore int64) {
	if !r.observed || ts > r.streamTime {
		r.observed, r.streamTime = true, ts
		if ts >= math.MinInt64+r.retention { // else nothing can be expired yet
			r.liveFrom = ts - r.retention + 1
		}
	}
	// The segment holding liveFrom is partly live, so it stays whole; those before are
	// wholly expired. Near the bottom of the int64 range no segment can be.
	if r.liveFrom < math.MinInt64+r.segment {
		return r.purged
	}
	return floorDiv(r.liveFrom, r.segment) * r.segment
}

func (r *retention) expired(ts int64) bool { return ts < r.liveFrom }

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}
