package engine

import (
	"fmt"
	"testing"

	"github.com/rillstreams/rill/processor"
	"github.com/rillstreams/rill/serde"
	"github.com/rillstreams/rill/state"
	"github.com/rillstreams/rill/state/memory"
)

// metricsGraph: source "src" reading "in" -> "upsert" (gets and puts each record's key in
// store "kv") -> sink "out", and -> "terminal", a processor without children.
func metricsGraph() *graph {
	p := passProc[string, string]("upsert", nil)
	var kv *state.KeyValueStore[string, string]
	p.init = func(ctx processor.Context[string, string]) error {
		s, err := ctx.StateStore("kv")
		kv = s.(*state.KeyValueStore[string, string])
		return err
	}
	p.process = func(ctx processor.Context[string, string], rec processor.Record[string, string]) error {
		if _, _, err := kv.Get(rec.Key); err != nil {
			return err
		}
		if err := kv.Put(rec.Key, rec.Value); err != nil {
			return err
		}
		return ctx.Forward(rec)
	}
	return newGraph().add(strSource("src", "in")).add(procSpec(p, "kv"), "src").add(strSink("out", "out"), "upsert").
		add(procSpec(passProc[string, string]("terminal", nil)), "upsert").
		store(state.NewKeyValueStoreBuilder("kv", serde.String(), serde.String()).WithLogging(false).WithBackend(memory.Backend()))
}

// wantHist checks a histogram's per-bucket counts (by bound, others 0), count and sum.
func wantHist(t *testing.T, what string, h TimeHistogram, buckets map[float64]uint64, count uint64, sum float64) {
	t.Helper()
	for i, b := range TimeBuckets {
		if h.Counts[i] != buckets[b] {
			t.Errorf("%s: bucket <= %v s holds %d, want %d", what, b, h.Counts[i], buckets[b])
		}
	}
	if h.Count != count || h.Sum < sum-1e-9 || h.Sum > sum+1e-9 {
		t.Errorf("%s: count %d sum %v, want %d and %v", what, h.Count, h.Sum, count, sum)
	}
}

// At debug level a task measures record lateness (stream time minus the timestamp, 0 for
// records that move stream time) and its stores' operations; at every level its sinks
// measure end-to-end latency against the task's clock (the owner's latest time), as do its
// sources and processors without children.
func TestTaskMetrics(t *testing.T) {
	task, col := newTask(t, metricsGraph(), Config{WallClock: 10_000, DebugMetrics: true})
	add(t, task, raw("in", 2, 0, 1000, "a", "1"), raw("in", 2, 1, 3000, "b", "1"),
		raw("in", 2, 2, 2000, "a", "2"), raw("in", 2, 3, 3000, "c", "1"))
	if n := processAll(t, task); n != 4 || len(col.recs) != 4 {
		t.Fatalf("processed %d, sent %d", n, len(col.recs))
	}
	add(t, task, raw("in", 2, 4, 5000, "d", "1"))
	if r, _ := task.Readiness(20_000, nil); r != Ready {
		t.Fatalf("readiness %v", r)
	}
	processAll(t, task)

	lateness, ok := task.Lateness()
	if !ok {
		t.Fatal("no lateness at debug level")
	}
	// 1000 (moves), 3000 (moves), 2000 (1 s late), 3000 (equal to stream time: 0), 5000.
	wantHist(t, "lateness", lateness, map[float64]uint64{0: 4, 1: 1}, 5, 1)
	var nodes []string
	task.E2ELatency(func(node string, h *TimeHistogram) {
		nodes = append(nodes, node)
		// Clock 10 s: 9, 7, 8 and 7 s; then 20 s: 15 s.
		wantHist(t, "e2e of "+node, *h, map[float64]uint64{10: 4, 60: 1}, 5, 9+7+8+7+15)
	})
	if fmt.Sprint(nodes) != "[src out terminal]" {
		t.Errorf("e2e latency of %v, want the source, the sink and the terminal processor", nodes)
	}
	ms := task.StoreMetrics()
	if len(ms) != 1 || ms[0].Store() != "kv" {
		t.Fatalf("store metrics %v", ms)
	}
	if err := task.Flush(); err != nil {
		t.Fatal(err)
	}
	counts := map[string]uint64{}
	for _, op := range ms[0].Snapshot().Ops {
		counts[op.Op.String()] = op.Count
	}
	if counts["put"] != 5 || counts["get"] != 5 || counts["flush"] != 1 || counts["delete"] != 0 {
		t.Errorf("store operations %v, want 5 puts, 5 gets, 1 flush", counts)
	}
}

// At info level nothing is metered: no lateness, stores without the metered layer; sources,
// sinks and terminal processors still measure end-to-end latency.
func TestTaskMetricsInfoLevel(t *testing.T) {
	task, _ := newTask(t, metricsGraph(), Config{WallClock: 10_000})
	add(t, task, raw("in", 2, 0, 9000, "a", "1"))
	processAll(t, task)
	if _, ok := task.Lateness(); ok {
		t.Error("lateness measured at info level")
	}
	if ms := task.StoreMetrics(); ms != nil {
		t.Errorf("stores metered at info level: %v", ms)
	}
	if m := state.Meter(task.Stores()["kv"]); m == nil || len(m.Snapshot().Ops) == 0 {
		t.Fatal("kv cannot be metered")
	} else if m.Snapshot().Ops[0].Count != 0 {
		t.Error("kv was metered at info level: Meter found a layer with counts")
	}
	n := 0
	task.E2ELatency(func(_ string, h *TimeHistogram) { n += int(h.Count) })
	if n != 3 {
		t.Errorf("e2e latency of %d records, want 3 (one at each of the source, sink and terminal processor)", n)
	}
}

// BenchmarkStoreMetrics measures the per-record cost of the debug-level metrics: a source, a
// processor that gets and puts its key in an in-memory store, and a sink (ns/op =
// ns/record), at info level (e2e latency at the sink only) and at debug level (record
// lateness, and the store metered).
func BenchmarkStoreMetrics(b *testing.B) {
	for _, debug := range []bool{false, true} {
		name := map[bool]string{false: "info", true: "debug"}[debug]
		b.Run(name, func(b *testing.B) {
			task, err := New(Config{ID: testTaskID, ApplicationID: "bench", Topology: &metricsGraph().sub,
				Collector: &countingCollector{}, DebugMetrics: debug})
			if err != nil {
				b.Fatal(err)
			}
			defer task.Close()
			recs := make([]RawRecord, benchRecords)
			for i := range recs {
				recs[i] = raw("in", 2, int64(i), int64(i), fmt.Sprintf("k%d", i%100), "v")
			}
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				r := recs[n%benchRecords]
				r.Offset, r.Timestamp = int64(n), int64(n)
				if err := task.AddRecords(r); err != nil {
					b.Fatal(err)
				}
				if ok, err := task.Process(); !ok || err != nil {
					b.Fatal(ok, err)
				}
				n++
			}
		})
	}
}
