package dsl_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/rillstreams/rill/dsl"
	"github.com/rillstreams/rill/serde"
	"github.com/rillstreams/rill/streamstest"
	"github.com/rillstreams/rill/windows"
)

// windowedOut writes a windowed table's stream to topic with keys as "key@start/end".
func windowedOut(tbl *dsl.Table[windows.Windowed[string], string], topic string) {
	tbl.ToStream().
		Map(func(k windows.Windowed[string], v string) (string, string) {
			return fmt.Sprintf("%s@%d/%d", k.Key, k.Start, k.End), v
		}).
		To(topic, dsl.WithSerdes(serde.String(), serde.String()))
}

// Two streams of different value types fold into one aggregate per key and tumbling window.
// Each stream's aggregator closes windows against the stream time it has seen itself, as
// Kafka Streams' per-stream window aggregators do: a late click is dropped while a purchase
// as old still lands, because the purchases have not moved past the window's close. An
// update's timestamp is the window's latest record time, as Kafka Streams'.
func TestCogroupTimeWindowed(t *testing.T) {
	b := dsl.NewBuilder()
	clicks := b.Stream("clicks", serde.String(), serde.Int64()).GroupByKey()
	buys := b.Stream("buys", serde.String(), serde.String()).GroupByKey()
	c := dsl.Cogroup(clicks, func(_ string, n int64, agg string) string { return agg + strings.Repeat("c", int(n)) }).
		Cogroup(buys, func(_ string, _ string, agg string) string { return agg + "B" })
	tbl := dsl.CogroupWindowedBy(c, windows.Tumbling(10*msec, windows.Grace(5*msec))).
		Aggregate(func() string { return "" }, dsl.Materialized("activity"))
	windowedOut(tbl, "out")
	topo := mustBuild(t, b)
	desc := topo.Describe().String()
	for _, want := range []string{"COGROUPKSTREAM-AGGREGATE-", "COGROUPKSTREAM-MERGE-", "activity"} {
		if !strings.Contains(desc, want) {
			t.Fatalf("Describe lacks %q:\n%s", want, desc)
		}
	}
	d := streamstest.New(t, topo, streamstest.WithCacheMaxBytes(-1))
	ci := streamstest.Input(d, "clicks", serde.String(), serde.Int64())
	bi := streamstest.Input(d, "buys", serde.String(), serde.String())
	out := strOut(d, "out")
	ci.PipeAt("u1", 2, at(1))
	bi.PipeAt("u1", "x", at(4))
	ci.PipeAt("u1", 1, at(12))
	bi.PipeAt("u1", "y", at(8))
	ci.PipeAt("u1", 1, at(3))   // clicks' stream time 12: [0,10) closes at 15, still open
	ci.PipeAt("u2", 1, at(16))  // clicks' stream time 16
	ci.PipeAt("u1", 1, at(5))   // [0,10) closed for clicks: dropped
	bi.PipeAt("u1", "z", at(6)) // buys' stream time 8: [0,10) still open for them
	expectRecords(t, out,
		rec("u1@0/10", "cc", 1), rec("u1@0/10", "ccB", 4), rec("u1@10/20", "c", 12), rec("u1@0/10", "ccBB", 8),
		rec("u1@0/10", "ccBBc", 8), rec("u2@10/20", "c", 16), rec("u1@0/10", "ccBBcB", 8))
}

// Session-windowed cogroup: records of either stream extend or merge a key's sessions; the
// merger folds the sessions a record bridges into a fresh init() aggregate ("" + "x" + "7",
// as Kafka Streams' session aggregator), the record is added to that, and the merged-away
// sessions are deleted downstream (tombstones) first.
func TestCogroupSessionWindowed(t *testing.T) {
	b := dsl.NewBuilder()
	a := b.Stream("a", serde.String(), serde.String()).GroupByKey()
	n := b.Stream("n", serde.String(), serde.Int64()).GroupByKey()
	c := dsl.Cogroup(a, func(_ string, v string, agg string) string { return agg + v }).
		Cogroup(n, func(_ string, v int64, agg string) string { return agg + fmt.Sprint(v) })
	tbl := dsl.CogroupSessionWindowedBy(c, windows.Session(20*msec, windows.Grace(100*msec))).
		Aggregate(func() string { return "" }, func(_ string, x, y string) string { return x + "+" + y })
	tbl.ToStream().
		Map(func(k windows.Windowed[string], v string) (string, string) {
			return fmt.Sprintf("%s@%d/%d", k.Key, k.Start, k.End), v
		}).
		To("out", dsl.WithSerdes(serde.String(), serde.String()))
	d := streamstest.New(t, mustBuild(t, b), streamstest.WithCacheMaxBytes(-1))
	ai := streamstest.Input(d, "a", serde.String(), serde.String())
	ni := streamstest.Input(d, "n", serde.String(), serde.Int64())
	out := strOut(d, "out")
	ai.PipeAt("k", "x", at(0))
	ni.PipeAt("k", 7, at(30))
	ai.PipeAt("k", "y", at(15)) // bridges [0,0] and [30,30]
	got := out.ReadAll()
	var s []string
	for _, r := range got {
		s = append(s, r.Key+"="+r.Value)
	}
	want := []string{"k@0/0=x", "k@30/30=7", "k@0/0=", "k@30/30=", "k@0/30=+x+7y"}
	if fmt.Sprint(s) != fmt.Sprint(want) {
		t.Errorf("outputs %q\nwant %q", s, want)
	}
}

// Windowed cogroup wiring errors come out of Build.
func TestCogroupWindowedErrors(t *testing.T) {
	b := dsl.NewBuilder()
	g := b.Stream("in", serde.String(), serde.String()).GroupByKey()
	c := dsl.Cogroup(g, func(_ string, v string, agg string) string { return agg + v })
	dsl.CogroupWindowedBy(c, nil).Aggregate(func() string { return "" })
	dsl.CogroupSessionWindowedBy(c, windows.Session(msec)).Aggregate(func() string { return "" }, nil)
	err := buildErr(t, b)
	if !strings.Contains(err.Error(), "no windows") || !strings.Contains(err.Error(), "merger") {
		t.Errorf("Build error %v, want both wiring errors", err)
	}
}

// A cogroup of one stream is that stream's windowed aggregation: for tumbling, hopping and
// sliding windows the two emit the same updates, record for record, late drops included.
func TestCogroupWindowedOfOneIsWindowedAggregate(t *testing.T) {
	for _, tc := range []struct {
		name string
		w    windows.Spec
	}{
		{"tumbling", windows.Tumbling(10*msec, windows.Grace(3*msec))},
		{"hopping", windows.Hopping(10*msec, 4*msec, windows.Grace(3*msec))},
		{"sliding", windows.Sliding(10*msec, windows.Grace(3*msec))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := dsl.NewBuilder()
			g := b.Stream("in", serde.String(), serde.String()).GroupByKey()
			agg := func(_ string, v string, a string) string { return a + v }
			windowedOut(dsl.WindowedBy(g, tc.w).Aggregate(func() string { return "" }, agg), "plain")
			windowedOut(dsl.CogroupWindowedBy(dsl.Cogroup(g, agg), tc.w).Aggregate(func() string { return "" }), "cogrouped")
			d := streamstest.New(t, mustBuild(t, b), streamstest.WithCacheMaxBytes(-1))
			in := strIn(d, "in")
			for i, ts := range []int64{1, 5, 12, 3, 20, 8, 14, 30, 17, 2, 31} {
				in.PipeAt([]string{"a", "b"}[i%2], fmt.Sprint(i), at(ts))
			}
			plain, cogrouped := strOut(d, "plain").ReadAll(), strOut(d, "cogrouped").ReadAll()
			if len(plain) == 0 || fmt.Sprint(plain) != fmt.Sprint(cogrouped) {
				t.Errorf("cogrouped %v\nwant     %v", cogrouped, plain)
			}
		})
	}
}
