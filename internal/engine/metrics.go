package engine

import (
	"github.com/rillstreams/rill/state"
)

// A task's own metrics, counted on the goroutine that owns it with plain integers (its
// owner reads them between turns, as it reads Processed):
//   - end-to-end latency at each source, sink and other terminal node (a processor without
//     children), as Kafka Streams' info-level processor-node record-e2e-latency (KIP-613):
//     the task's clock minus the timestamp of each record the node receives;
//   - record lateness (Kafka Streams' debug-level task record-lateness): stream time minus
//     the timestamp of each record taken for processing, 0 for one that moves stream time;
//   - the operation latencies of its stores (Config.DebugMetrics; state.Meter).
//
// The task never reads a clock: its time is the latest its owner gave it (Readiness, before
// each record the runtime processes, or AdvanceWallClock), as Kafka Streams measures against
// the thread's cached system time.

// TimeBuckets are the upper bounds, in seconds, of the buckets of a TimeHistogram: from
// "on time" (0) to a day.
var TimeBuckets = [...]float64{0, 0.001, 0.01, 0.1, 1, 10, 60, 300, 3600, 86400}

// timeBucketMillis are TimeBuckets in milliseconds, the unit of record timestamps.
var timeBucketMillis = func() (out [len(TimeBuckets)]int64) {
	for i, b := range TimeBuckets {
		out[i] = int64(b * 1000)
	}
	return out
}()

// TimeHistogram is a distribution of durations between record timestamps and a task's
// times, in whole milliseconds.
type TimeHistogram struct {
	// Counts are per bucket of TimeBuckets, not cumulative; durations above the last bound
	// are only in Count.
	Counts [len(TimeBuckets)]uint64
	Count  uint64
	Sum    float64 // seconds
}

// observe records a duration of ms milliseconds; a negative one (a record timestamped after
// the task's clock) counts as 0.
func (h *TimeHistogram) observe(ms int64) {
	ms = max(ms, 0)
	h.Count++
	h.Sum += float64(ms) / 1000
	for i, b := range timeBucketMillis {
		if ms <= b {
			h.Counts[i]++
			return
		}
	}
}

// now is the task's clock: the latest time its owner gave it, in Unix milliseconds.
func (t *Task) now() int64 { return max(t.wallClock, t.readyAt) }

// e2eNode is a node that may measure the end-to-end latency of the records it receives:
// ok tells whether it does (sources, sinks, processors without children).
type e2eNode interface {
	Node
	e2eLatency() (h *TimeHistogram, ok bool)
}

// E2ELatency calls fn with the end-to-end latencies so far of each source, sink and
// terminal processor, in topology order. fn must not keep h: the task keeps counting into it.
func (t *Task) E2ELatency(fn func(node string, h *TimeHistogram)) {
	for _, n := range t.nodes {
		if e, ok := n.(e2eNode); ok {
			if h, ok := e.e2eLatency(); ok {
				fn(e.Name(), h)
			}
		}
	}
}

// Lateness returns the task's record lateness so far; ok is false unless the task was
// created with Config.DebugMetrics.
func (t *Task) Lateness() (h TimeHistogram, ok bool) {
	return t.lateness, t.cfg.DebugMetrics
}

// StoreMetrics returns the metrics of the task's metered stores (Config.DebugMetrics), in
// the order the sub-topology lists its stores: stores of other packages and versioned stores
// are not metered.
func (t *Task) StoreMetrics() []*state.StoreMetrics { return t.storeMetrics }

// recordLateness counts the lateness of a record about to move (or not) stream time.
func (t *Task) recordLateness(ts int64) {
	if ts > t.streamTime {
		t.lateness.observe(0)
	} else {
		t.lateness.observe(t.streamTime - ts)
	}
}
