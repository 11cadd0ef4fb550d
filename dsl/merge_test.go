package dsl_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/rillstreams/rill/dsl"
	"github.com/rillstreams/rill/processor"
	"github.com/rillstreams/rill/serde"
	"github.com/rillstreams/rill/streamstest"
)

func TestMergeTwoSources(t *testing.T) {
	b := dsl.NewBuilder()
	left := b.Stream("left", serde.String(), serde.String())
	right := b.Stream("right", serde.String(), serde.String())
	left.Merge(right).To("out")
	topo := mustBuild(t, b)

	want := "Topologies:\n" +
		"   Sub-topology: 0\n" +
		"    Source: KSTREAM-SOURCE-0000000000 (topics: [left])\n" +
		"      --> KSTREAM-MERGE-0000000002\n" +
		"    Source: KSTREAM-SOURCE-0000000001 (topics: [right])\n" +
		"      --> KSTREAM-MERGE-0000000002\n" +
		"    Processor: KSTREAM-MERGE-0000000002 (stores: [])\n" +
		"      --> KSTREAM-SINK-0000000003\n" +
		"      <-- KSTREAM-SOURCE-0000000000, KSTREAM-SOURCE-0000000001\n" +
		"    Sink: KSTREAM-SINK-0000000003 (topic: out)\n" +
		"      <-- KSTREAM-MERGE-0000000002\n" +
		"\n"
	if got := topo.Describe().String(); got != want {
		t.Errorf("Describe:\n%s\nwant:\n%s", got, want)
	}

	d := streamstest.New(t, topo)
	l, r := strIn(d, "left"), strIn(d, "right")
	l.PipeRecords(streamstest.Record[string, string]{Key: "l1", Value: "a", Time: at(10), Headers: hdrs("from", "left")})
	r.PipeAt("r1", "b", at(5))
	r.PipeAt("r2", "c", at(30))
	l.PipeAt("l2", "d", at(20))

	out := strOut(d, "out")
	got := out.ReadAll()
	var kvs []kvt[string, string]
	for _, x := range got {
		kvs = append(kvs, rec(x.Key, x.Value, x.Time.UnixMilli()))
	}
	wantKVs := []kvt[string, string]{rec("l1", "a", 10), rec("r1", "b", 5), rec("r2", "c", 30), rec("l2", "d", 20)}
	if !slices.Equal(kvs, wantKVs) {
		t.Fatalf("merged records %v, want %v", kvs, wantKVs)
	}
	if v, ok := headerValue(got[0].Headers, "from"); !ok || v != "left" {
		t.Errorf("first record lost its header: %v", got[0].Headers)
	}
}

// Merging the branches of one split gives back every record exactly once.
func TestMergeBranchesOfOneSplit(t *testing.T) {
	b := dsl.NewBuilder()
	branches := b.Stream("in", serde.String(), serde.Int64()).
		Split(dsl.Named("s-")).
		Branch(func(_ string, v int64) bool { return v%2 == 0 }, dsl.Branched("even")).
		DefaultBranch(dsl.Branched("odd"))
	even := branches["s-even"].MapValues(func(_ string, v int64) string { return "even" })
	odd := branches["s-odd"].MapValues(func(_ string, v int64) string { return "odd" })
	even.Merge(odd, dsl.Named("both")).To("out")
	d := streamstest.New(t, mustBuild(t, b))
	in := streamstest.Input(d, "in", serde.String(), serde.Int64())
	for i := range int64(4) {
		in.PipeAt("k", i, at(100+i))
	}
	expectRecords(t, strOut(d, "out"),
		rec("k", "even", 100), rec("k", "odd", 101), rec("k", "even", 102), rec("k", "odd", 103))
}

// A stream merged with a filtered copy of itself sees records that pass the filter twice, once
// per path, as in Kafka Streams.
func TestMergeDiamondDeliversOncePerPath(t *testing.T) {
	b := dsl.NewBuilder()
	s := b.Stream("in", serde.String(), serde.String())
	s.Merge(s.Filter(func(k, _ string) bool { return strings.HasPrefix(k, "x") })).To("out")
	d := streamstest.New(t, mustBuild(t, b))
	in := strIn(d, "in")
	in.PipeAt("x1", "a", at(1))
	in.PipeAt("y1", "b", at(2))
	expectRecords(t, strOut(d, "out"), rec("x1", "a", 1), rec("x1", "a", 1), rec("y1", "b", 2))
}

func TestMergeOfMerges(t *testing.T) {
	b := dsl.NewBuilder()
	a := b.Stream("a", serde.String(), serde.String())
	bb := b.Stream("b", serde.String(), serde.String())
	c := b.Stream("c", serde.String(), serde.String())
	a.Merge(bb).Merge(c).To("out")
	d := streamstest.New(t, mustBuild(t, b))
	strIn(d, "c").PipeAt("kc", "vc", at(3))
	strIn(d, "a").PipeAt("ka", "va", at(1))
	strIn(d, "b").PipeAt("kb", "vb", at(2))
	expectRecords(t, strOut(d, "out"), rec("kc", "vc", 3), rec("ka", "va", 1), rec("kb", "vb", 2))
}

// Kafka Streams drops both serdes at merge ("we cannot safely use either one to represent both
// streams"), so To after a merge falls back to the default serdes unless given some. Here the
// stock serde of the type is the default: neither input's custom serde may leak to the other's
// records.
func TestMergeDropsSerdes(t *testing.T) {
	b := dsl.NewBuilder()
	left := b.Stream("left", serde.String(), prefixSerde("L:"))
	right := b.Stream("right", serde.String(), prefixSerde("R:"))
	merged := left.Merge(right)
	merged.To("stock")
	merged.To("custom", dsl.WithSerdes[string, string](nil, prefixSerde("M:")))
	d := streamstest.New(t, mustBuild(t, b))
	streamstest.Input(d, "left", serde.String(), prefixSerde("L:")).PipeAt("k", "from-left", at(1))
	streamstest.Input(d, "right", serde.String(), prefixSerde("R:")).PipeAt("k", "from-right", at(2))
	expectRecords(t, rawOut(d, "stock"),
		rec("k", "from-left", 1), rec("k", "from-right", 2))
	expectRecords(t, rawOut(d, "custom"),
		rec("k", "M:from-left", 1), rec("k", "M:from-right", 2))
}

// A user type has no stock serde, so after a merge To needs WithSerdes.
func TestMergeOfUserTypeNeedsSerdesAtSink(t *testing.T) {
	b := dsl.NewBuilder()
	orders := serde.JSON[Order]()
	left := b.Stream("left", serde.String(), orders)
	right := b.Stream("right", serde.String(), orders)
	left.Merge(right).To("out")
	if err := buildErr(t, b); !errors.Is(err, dsl.ErrMissingSerde) {
		t.Errorf("Build error %v, want ErrMissingSerde", err)
	}

	b = dsl.NewBuilder()
	left = b.Stream("left", serde.String(), orders)
	right = b.Stream("right", serde.String(), orders)
	left.Merge(right).To("out", dsl.WithSerdes[string, Order](nil, orders))
	d := streamstest.New(t, mustBuild(t, b))
	streamstest.Input(d, "right", serde.String(), orders).PipeAt("o", Order{ID: "o", Amount: 2.5}, at(9))
	expectRecords(t, streamstest.Output(d, "out", serde.String(), orders), rec("o", Order{ID: "o", Amount: 2.5}, 9))
}

func TestMergeStreamsOfDifferentBuilders(t *testing.T) {
	b1, b2 := dsl.NewBuilder(), dsl.NewBuilder()
	s1 := b1.Stream("one", serde.String(), serde.String())
	s2 := b2.Stream("two", serde.String(), serde.String())
	s1.Merge(s2).To("out")
	err := buildErr(t, b1)
	if !strings.Contains(err.Error(), "different builders") {
		t.Errorf("Build error %q, want one about different builders", err)
	}
}

// Merge waits for neither input: a record is forwarded when it arrives. The processor after a
// merge sees which topic each record came from.
func TestMergeKeepsRecordMetadata(t *testing.T) {
	b := dsl.NewBuilder()
	left := b.Stream("left", serde.String(), serde.String())
	right := b.Stream("right", serde.String(), serde.String())
	var topics []string
	left.Merge(right).Process(func() processor.Processor[string, string, string, string] {
		return &funcProcessor[string, string, string, string]{process: func(ctx processor.Context[string, string], r processor.Record[string, string]) error {
			md, ok := ctx.RecordMetadata()
			if !ok {
				t.Errorf("no record metadata for %v", r)
			}
			topics = append(topics, md.Topic)
			return nil
		}}
	})
	d := streamstest.New(t, mustBuild(t, b))
	strIn(d, "right").PipeAt("k", "v", at(1))
	strIn(d, "left").PipeAt("k", "v", at(2))
	strIn(d, "right").PipeAt("k", "v", at(3))
	if want := []string{"right", "left", "right"}; !slices.Equal(topics, want) {
		t.Errorf("topics %q, want %q", topics, want)
	}
}
