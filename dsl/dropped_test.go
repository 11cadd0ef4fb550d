package dsl_test

import (
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/rillstreams/rill/dsl"
	"github.com/rillstreams/rill/serde"
	"github.com/rillstreams/rill/streamstest"
	"github.com/rillstreams/rill/windows"
)

// A record too late for its window is counted against the aggregation's node and logged at
// WARN with where it came from and how late it was; further drops within the rate limit are
// counted, not logged, and the next warning says how many went unlogged.
func TestLateRecordsCountedAndWarned(t *testing.T) {
	b := dsl.NewBuilder()
	dsl.WindowedBy(b.Stream("in", serde.String(), serde.String()).GroupByKey(),
		windows.Tumbling(10*time.Millisecond, windows.Grace(5*time.Millisecond))).
		Count(dsl.Named("late-count"))
	core, logs := observer.New(zapcore.WarnLevel)
	d := streamstest.New(t, mustBuild(t, b), streamstest.WithLogger(zap.New(core)))
	in := streamstest.Input(d, "in", serde.String(), serde.String())
	in.PipeAt("k", "v", at(100)) // stream time 100: window [80,90) closed at 95
	in.PipeAt("k", "v", at(85))  // 15 ms behind stream time, window closed: dropped
	in.PipeAt("k", "v", at(92))  // window [90,100) still open (closes at 105): counted
	in.PipeAt("k", "v", at(3))   // dropped, within the rate limit: counted, not logged
	if got := d.DroppedByNode(); got["late-count"] != 2 || len(got) != 1 {
		t.Fatalf("DroppedByNode = %v, want late-count: 2", got)
	}
	warned := logs.FilterMessage("rill: record dropped").All()
	if len(warned) != 1 {
		t.Fatalf("%d warnings, want 1 (rate-limited)", len(warned))
	}
	f := warned[0].ContextMap()
	if f["node"] != "late-count" || f["topic"] != "in" || f["partition"] != int32(0) || f["offset"] != int64(1) ||
		f["timestamp"] != int64(85) || f["streamTime"] != int64(100) || f["lateByMs"] != int64(15) {
		t.Fatalf("warning fields %v", f)
	}
	// Past the rate limit, the next drop is logged with the count of those that were not.
	d.AdvanceWallClock(10 * time.Second)
	in.PipeAt("k", "v", at(4))
	warned = logs.FilterMessage("rill: record dropped").All()
	if len(warned) != 2 || warned[1].ContextMap()["droppedSinceLastLog"] != int64(1) ||
		warned[1].ContextMap()["droppedByNode"] != int64(3) {
		t.Fatalf("warnings %v", warned)
	}
}

// Records with a null key or value are dropped, counted per node, by aggregations and reduces
// (Kafka Streams' KStreamAggregate and KStreamReduce), and records with a null key by tables
// (KTableSource).
func TestNullKeysAndValuesDropped(t *testing.T) {
	b := dsl.NewBuilder()
	s := b.Stream("in", serde.JSON[*string](), serde.JSON[*string]())
	s.GroupByKey().Count(dsl.Named("count"), dsl.Materialized("counts"))
	s.GroupByKey().Reduce(func(a, _ *string) *string { return a }, dsl.Named("reduce"))
	b.Table("table-in", serde.JSON[*string](), serde.String(), dsl.Named("table"), dsl.Materialized("rows"))
	d := streamstest.New(t, mustBuild(t, b))
	in := streamstest.Input(d, "in", serde.JSON[*string](), serde.JSON[*string]())
	k, v := "k", "v"
	in.PipeAt(nil, &v, at(1))
	in.PipeAt(&k, nil, at(2))
	in.PipeAt(&k, &v, at(3))
	tin := streamstest.Input(d, "table-in", serde.JSON[*string](), serde.String())
	tin.PipeAt(nil, "row", at(4))
	tin.PipeAt(&k, "row", at(5))
	want := map[string]int64{"count": 2, "reduce": 2, "table": 1}
	if got := d.DroppedByNode(); len(got) != len(want) || got["count"] != 2 || got["reduce"] != 2 || got["table"] != 1 {
		t.Fatalf("DroppedByNode = %v, want %v", got, want)
	}
	if n := storeValue[*string, int64](t, d, "counts", &k); n != 1 {
		t.Fatalf("count of k = %d, want 1", n)
	}
}
