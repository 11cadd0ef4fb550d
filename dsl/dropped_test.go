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
