package dsl_test

import (
	"testing"
	"time"

	"github.com/rillstreams/rill/dsl"
	"github.com/rillstreams/rill/serde"
	"github.com/rillstreams/rill/streamstest"
	"github.com/rillstreams/rill/windows"
)

// A deleted row of a table of int64s reaches the output topic as a Kafka null (a tombstone),
// not as 0, and a row whose value is 0 as 0: a reader can tell a deletion from a zero, as with
// Kafka Streams. Filter and SelectKey pass the mark on; MapValues computes a value.
func TestToStreamDeleteOfNonNullableIsTombstone(t *testing.T) {
	b := dsl.NewBuilder()
	lens := b.Table("in", serde.String(), serde.String()).
		MapValues(func(_ string, v string) int64 { return int64(len(v)) }, dsl.WithSerdes(serde.String(), serde.Int64())).
		ToStream()
	lens.To("out", dsl.WithSerdes(serde.String(), serde.Int64()))
	lens.Filter(func(string, int64) bool { return true }).
		SelectKey(func(k string, _ int64) string { return "k" + k }).
		To("kept", dsl.WithSerdes(serde.String(), serde.Int64()))
	lens.MapValues(func(_ string, v int64) int64 { return v }).To("mapped", dsl.WithSerdes(serde.String(), serde.Int64()))
	d := streamstest.New(t, mustBuild(t, b), streamstest.WithCacheMaxBytes(-1))
	in := streamstest.Input(d, "in", serde.String(), serde.Bytes())
	in.PipeAt("a", []byte("xyz"), at(1))
	in.PipeAt("b", []byte{}, at(2)) // an empty string: length 0, a value
	in.PipeAt("a", nil, at(3))      // a delete
	type raw struct {
		key  string
		null bool
		n    int
	}
	read := func(topic string) []raw {
		var got []raw
		for _, r := range streamstest.Output(d, topic, serde.String(), serde.Bytes()).ReadAll() {
			got = append(got, raw{r.Key, r.Value == nil, len(r.Value)})
		}
		return got
	}
	want := func(topic string, got []raw, w ...raw) {
		t.Helper()
		if len(got) != len(w) {
			t.Fatalf("%s: %+v, want %+v", topic, got, w)
		}
		for i := range w {
			if got[i] != w[i] {
				t.Fatalf("%s: %+v, want %+v", topic, got, w)
			}
		}
	}
	want("out", read("out"), raw{"a", false, 8}, raw{"b", false, 8}, raw{"a", true, 0})
	want("kept", read("kept"), raw{"ka", false, 8}, raw{"kb", false, 8}, raw{"ka", true, 0})
	want("mapped", read("mapped"), raw{"a", false, 8}, raw{"b", false, 8}, raw{"a", false, 8})
}

// A session count merged away is deleted downstream with a tombstone (Kafka Streams writes
// null; rill wrote 0 before processor.Record.Null).
func TestSessionCountMergeTombstone(t *testing.T) {
	b := dsl.NewBuilder()
	g := b.Stream("in", serde.String(), serde.String()).GroupByKey()
	dsl.SessionWindowedBy(g, windows.Session(6*time.Millisecond, windows.Grace(4*time.Millisecond))).
		Count().
		ToStream().
		SelectKey(func(wk windows.Windowed[string], _ int64) string { return wk.Key }).
		To("out", dsl.WithSerdes(serde.String(), serde.Int64()))
	d := streamstest.New(t, mustBuild(t, b), streamstest.WithCacheMaxBytes(-1))
	in := streamstest.Input(d, "in", serde.String(), serde.String())
	in.PipeAt("b", "v0", at(5))
	in.PipeAt("b", "v2", at(4))
	got := streamstest.Output(d, "out", serde.String(), serde.Bytes()).ReadAll()
	if len(got) != 3 || got[0].Value == nil || got[1].Value != nil || got[2].Value == nil {
		t.Fatalf("session counts: %+v, want 1, null (the merged-away [5,5]), 2", got)
	}
}
