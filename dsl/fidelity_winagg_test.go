package dsl_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/rillstreams/rill/dsl"
	"github.com/rillstreams/rill/serde"
	"github.com/rillstreams/rill/streamstest"
	"github.com/rillstreams/rill/windows"
)

// nullableString writes a nil *string as Kafka's null and reads a null back as nil.
var nullableString = serde.New(
	func(_ string, v *string) ([]byte, error) {
		if v == nil {
			return nil, nil
		}
		return []byte(*v), nil
	},
	func(_ string, b []byte) (*string, error) {
		if b == nil {
			return nil, nil
		}
		s := string(b)
		return &s, nil
	})

func sp(s string) *string { return &s }

// windowedReduce reduces *string values per key in tumbling 10ms windows (no grace) and
// writes the results, suppressed by s, to "out" keyed "key@start/end".
func windowedReduce(t *testing.T, s dsl.Suppressed) (*streamstest.InputTopic[string, *string], *streamstest.OutputTopic[string, *string]) {
	b := dsl.NewBuilder()
	g := b.Stream("in", serde.String(), nullableString).GroupByKey()
	dsl.WindowedBy(g, windows.Tumbling(10*time.Millisecond, windows.Grace(0))).
		Reduce(func(a, v *string) *string {
			if a == nil || v == nil {
				return nil
			}
			return sp(*a + "," + *v)
		}).
		Suppress(s).
		ToStream().
		Map(func(wk windows.Windowed[string], v *string) (string, *string) {
			return fmt.Sprintf("%s@%d/%d", wk.Key, wk.Start, wk.End), v
		}).
		To("out", dsl.WithSerdes(serde.String(), nullableString))
	d := streamstest.New(t, mustBuild(t, b), streamstest.WithCacheMaxBytes(-1))
	return streamstest.Input(d, "in", serde.String(), nullableString), streamstest.Output(d, "out", serde.String(), nullableString)
}

// A windowed Reduce whose first value is null has a null aggregate: a delete. Final results
// (UntilWindowCloses) drop it, as Kafka Streams drops tombstones when it flushes final results
// (oracle winagg-1-31, -81, -168, -311, -403, -424, -476: rill emitted an empty value).
func TestSuppressFinalDropsNullAggregate(t *testing.T) {
	in, out := windowedReduce(t, dsl.UntilWindowCloses())
	in.PipeAt("b", nil, at(5))
	in.PipeAt("a", sp("x"), at(6))
	in.PipeAt("c", sp("y"), at(30)) // closes [0,10)
	got := out.ReadAll()
	if len(got) != 1 || got[0].Key != "a@0/10" || got[0].Value == nil || *got[0].Value != "x" {
		t.Fatalf("final results: %+v, want only a@0/10=x", got)
	}
}

// Under a time limit a null aggregate is forwarded as a null (a delete), not read back from the
// buffer as an empty value.
func TestSuppressTimeLimitForwardsNullAggregate(t *testing.T) {
	in, out := windowedReduce(t, dsl.UntilTimeLimit(time.Millisecond, dsl.Unbounded()))
	in.PipeAt("b", nil, at(5))
	in.PipeAt("c", sp("y"), at(30))
	got := out.ReadAll()
	if len(got) != 1 || got[0].Key != "b@0/10" || got[0].Value != nil {
		t.Fatalf("time-limited results: %+v, want b@0/10=null", got)
	}
}

// Kafka Streams' session store (retention gap + grace) no longer returns a session whose end
// is at or before its stream time - gap - grace, one millisecond before the aggregation calls
// the session closed. A record on that boundary starts a new session; a new session [ts,ts]
// with the old one's bounds replaces it, without a delete (oracle winagg-1-146, -149, -230,
// -370; Kafka Streams 4.1.1 emits b@0/0=v8 where rill merged to v3,v8).
func TestSessionMergeAtRetentionBoundary(t *testing.T) {
	b := dsl.NewBuilder()
	g := b.Stream("in", serde.String(), serde.String()).GroupByKey()
	dsl.SessionWindowedBy(g, windows.Session(3*time.Millisecond, windows.Grace(0))).
		Reduce(func(a, v string) string { return a + "," + v }).
		ToStream().
		Map(func(wk windows.Windowed[string], v string) (string, string) {
			return fmt.Sprintf("%s@%d/%d", wk.Key, wk.Start, wk.End), v
		}).
		To("out", dsl.WithSerdes(serde.String(), serde.String()))
	d := streamstest.New(t, mustBuild(t, b), streamstest.WithCacheMaxBytes(-1))
	in := streamstest.Input(d, "in", serde.String(), serde.String())
	out := streamstest.Output(d, "out", serde.String(), serde.String())
	in.PipeAt("b", "v3", at(0))
	in.PipeAt("a", "v6", at(3)) // stream time 3: [0,0] ends at 3 - 3 - 0
	in.PipeAt("b", "v8", at(0)) // on time (0 >= 3 - 3 - 0), but [0,0] is past the store's view
	expectRecords(t, out, rec("b@0/0", "v3", 0), rec("a@3/3", "v6", 3), rec("b@0/0", "v8", 0))
	in.PipeAt("b", "v9", at(2)) // [0,0] (v8) is still past it: [2,2] alone
	expectRecords(t, out, rec("b@2/2", "v9", 2))
	in.PipeAt("a", "v7", at(1)) // [3,3] ends after 3 - 3: merged
	got := out.ReadAll()
	if len(got) != 2 || got[0].Key != "a@3/3" || got[1].Key != "a@1/3" || got[1].Value != "v6,v7" {
		t.Fatalf("merge of [3,3]: %+v, want a@3/3 deleted, a@1/3=v6,v7", got)
	}
}

// Kafka Streams' suppress flushes any window once end + grace <= stream time (for sessions its
// grace is gap + grace), and evicts after every update: a sliding window ending at stream time
// with no grace is emitted at once, and again after each later update at that stream time; a
// session at the store's retention boundary is emitted, and the new session that replaces it
// is emitted too. Both outputs are Kafka Streams 4.1.1's (the oracle's Java side).
func TestSuppressSlidingAndSessionBoundary(t *testing.T) {
	b := dsl.NewBuilder()
	g := b.Stream("in", serde.String(), serde.String()).GroupByKey()
	dsl.WindowedBy(g, windows.Sliding(10*time.Millisecond, windows.Grace(0))).
		Count().
		Suppress(dsl.UntilWindowCloses()).
		ToStream().
		SelectKey(func(wk windows.Windowed[string], _ int64) string {
			return fmt.Sprintf("%s@%d/%d", wk.Key, wk.Start, wk.End)
		}).
		To("sliding", dsl.WithSerdes(serde.String(), serde.Int64()))
	g2 := b.Stream("in2", serde.String(), serde.String()).GroupByKey()
	dsl.SessionWindowedBy(g2, windows.Session(5*time.Millisecond, windows.Grace(0))).
		Count().
		Suppress(dsl.UntilWindowCloses()).
		ToStream().
		SelectKey(func(wk windows.Windowed[string], _ int64) string {
			return fmt.Sprintf("%s@%d/%d", wk.Key, wk.Start, wk.End)
		}).
		To("session", dsl.WithSerdes(serde.String(), serde.Int64()))
	d := streamstest.New(t, mustBuild(t, b), streamstest.WithCacheMaxBytes(-1))
	in := streamstest.Input(d, "in", serde.String(), serde.String())
	in.PipeAt("a", "x", at(19))
	in.PipeAt("a", "y", at(19))
	expectRecords(t, streamstest.Output(d, "sliding", serde.String(), serde.Int64()),
		rec("a@9/19", int64(1), 19), rec("a@9/19", int64(2), 19))
	in2 := streamstest.Input(d, "in2", serde.String(), serde.String())
	in2.PipeAt("a", "x", at(0))
	in2.PipeAt("b", "y", at(5))
	in2.PipeAt("a", "z", at(0))
	expectRecords(t, streamstest.Output(d, "session", serde.String(), serde.Int64()),
		rec("a@0/0", int64(1), 0), rec("a@0/0", int64(1), 0))
}
