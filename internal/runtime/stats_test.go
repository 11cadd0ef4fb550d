package runtime

import (
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/rillstreams/rill/dsl"
	"github.com/rillstreams/rill/internal/engine"
	"github.com/rillstreams/rill/internal/topoaccess"
	"github.com/rillstreams/rill/processor"
	"github.com/rillstreams/rill/serde"
	"github.com/rillstreams/rill/state"
	"github.com/rillstreams/rill/state/memory"
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

// A thread publishes each task's end-to-end latency at its sources and sinks, and, for a task made with
// debug metrics, its record lateness and its stores' operations.
func TestPublishTaskMetrics(t *testing.T) {
	b := dsl.NewBuilder()
	b.Stream("in", serde.String(), serde.String()).GroupByKey().
		Count(dsl.Materialized("counts").WithLoggingDisabled().WithCachingDisabled()).
		ToStream().To("out", dsl.WithSerdes(serde.String(), serde.Int64()))
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	th := &thread{rt: &Runtime{}, log: zap.NewNop(), cache: state.NewRecordCache(0), tasks: map[processor.TaskID]*runningTask{}}
	for p, debug := range []bool{false, true} {
		id := processor.TaskID{Subtopology: 0, Partition: int32(p)}
		task, err := engine.New(engine.Config{ID: id, Topology: topoaccess.Subtopologies(topo)[0], Collector: &memCollector{},
			Backend: memory.Backend(), WallClock: 10_000, DebugMetrics: debug})
		if err != nil {
			t.Fatal(err)
		}
		defer task.Close()
		for i, ts := range []int64{2000, 1000} {
			if err := task.AddRecords(engine.RawRecord{Topic: "in", Partition: int32(p), Offset: int64(i), Timestamp: ts,
				Key: []byte("k"), Value: []byte("v")}); err != nil {
				t.Fatal(err)
			}
			if _, err := task.Process(); err != nil {
				t.Fatal(err)
			}
		}
		th.tasks[id] = &runningTask{task: task}
	}
	th.publishStatsLocked(time.Now(), true)
	active := th.snapshot().Active
	if len(active) != 2 {
		t.Fatalf("%d active tasks", len(active))
	}
	for i, ts := range active {
		debug := i == 1
		// The source takes records of 2 s and 1 s, 8 s and 9 s before the task's clock; both
		// counts reaching the sink are timestamped 2 s (an aggregate keeps the largest
		// timestamp so far).
		if len(ts.E2ELatency) != 2 || ts.E2ELatency[0].Latency.Count != 2 || ts.E2ELatency[0].Latency.Sum != 17 ||
			ts.E2ELatency[1].Latency.Count != 2 || ts.E2ELatency[1].Latency.Sum != 16 {
			t.Errorf("task %s: e2e latency %+v, want 2 records at the source (17 s in all) and at the sink (16 s)", ts.ID, ts.E2ELatency)
		}
		if ts.LatenessKnown != debug || (debug && (ts.Lateness.Count != 2 || ts.Lateness.Sum != 1)) {
			t.Errorf("task %s: lateness %+v (known %v), want it at debug level only: 2 records, 1 s in all",
				ts.ID, ts.Lateness, ts.LatenessKnown)
		}
		if !debug {
			if ts.Stores != nil {
				t.Errorf("task %s: store metrics at info level: %+v", ts.ID, ts.Stores)
			}
			continue
		}
		if len(ts.Stores) != 1 || ts.Stores[0].Store != "counts" {
			t.Fatalf("task %s: store metrics %+v", ts.ID, ts.Stores)
		}
		ops := map[string]uint64{}
		for _, op := range ts.Stores[0].Ops {
			ops[op.Op.String()] = op.Count
		}
		if ops["put"] != 2 || ops["get"] != 2 {
			t.Errorf("task %s: store operations %v, want 2 gets and 2 puts", ts.ID, ops)
		}
	}
}

// memCollector drops what a task sends.
type memCollector struct{ n int }

func (c *memCollector) Send(engine.OutRecord) error { c.n++; return nil }
