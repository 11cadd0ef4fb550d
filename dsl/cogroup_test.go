package dsl_test

import (
	"strings"
	"testing"

	"github.com/rillstreams/rill/dsl"
	"github.com/rillstreams/rill/serde"
	"github.com/rillstreams/rill/streamstest"
)

// Two streams of different value types fold into one aggregate per key, each with its own
// aggregator, through one store; a stream whose key changed goes through its own repartition
// topic. Every update is forwarded (the driver commits after every record).
func TestCogroup(t *testing.T) {
	b := dsl.NewBuilder()
	clicks := b.Stream("clicks", serde.String(), serde.Int64()).GroupByKey()
	// Purchases are keyed by order: regroup them by the user before the value.
	purchases := b.Stream("purchases", serde.String(), serde.String()).
		GroupBy(func(_ string, v string) string { user, _, _ := strings.Cut(v, ":"); return user })
	dsl.Cogroup(clicks, func(_ string, n int64, agg string) string { return agg + strings.Repeat("c", int(n)) }).
		Cogroup(purchases, func(_ string, _ string, agg string) string { return agg + "P" }).
		Aggregate(func() string { return "" }, dsl.Materialized("activity")).
		ToStream().
		To("activity")
	topo := mustBuild(t, b)
	if s := topo.Describe().String(); !strings.Contains(s, "activity-1-repartition") || strings.Contains(s, "activity-0-repartition") {
		t.Fatalf("want a repartition for purchases only:\n%s", s)
	}
	d := streamstest.New(t, topo)
	ci := streamstest.Input(d, "clicks", serde.String(), serde.Int64())
	pi := streamstest.Input(d, "purchases", serde.String(), serde.String())
	out := streamstest.Output(d, "activity", serde.String(), serde.String())
	ci.PipeAt("u1", 2, at(1))
	pi.PipeAt("o1", "u1:book", at(2))
	ci.PipeAt("u2", 1, at(3))
	pi.PipeAt("o2", "u2:pen", at(4))
	ci.PipeAt("u1", 1, at(5))
	expectRecords(t, out, rec("u1", "cc", 1), rec("u1", "ccP", 2), rec("u2", "c", 3), rec("u2", "cP", 4), rec("u1", "ccPc", 5))
	if v := storeValue[string, string](t, d, "activity", "u1"); v != "ccPc" {
		t.Fatalf("store has u1=%q", v)
	}
}

// With the record cache and commits on demand, a cogroup forwards each key's latest aggregate
// once per commit, whichever stream updated it last.
func TestCogroupCached(t *testing.T) {
	b := dsl.NewBuilder()
	a := b.Stream("a", serde.String(), serde.Int64()).GroupByKey()
	c := b.Stream("c", serde.String(), serde.Int64()).GroupByKey()
	dsl.Cogroup(a, func(_ string, v, agg int64) int64 { return agg + v }).
		Cogroup(c, func(_ string, v, agg int64) int64 { return agg - v }).
		Aggregate(func() int64 { return 0 }).
		ToStream().
		To("net", dsl.WithSerdes(serde.String(), serde.Int64()))
	d := streamstest.New(t, mustBuild(t, b), streamstest.WithManualCommit())
	ai := streamstest.Input(d, "a", serde.String(), serde.Int64())
	cin := streamstest.Input(d, "c", serde.String(), serde.Int64())
	out := streamstest.Output(d, "net", serde.String(), serde.Int64())
	ai.PipeAt("k", 10, at(1))
	cin.PipeAt("k", 3, at(2))
	ai.PipeAt("k", 1, at(3))
	d.Commit()
	expectRecords(t, out, rec("k", int64(8), 3))
}
