package dsl_test

import (
	"errors"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/rillstreams/rill/dsl"
	"github.com/rillstreams/rill/processor"
	"github.com/rillstreams/rill/serde"
	"github.com/rillstreams/rill/streamstest"
	"github.com/rillstreams/rill/topology"
)

func TestStreamReadsOneTopic(t *testing.T) {
	b := dsl.NewBuilder()
	b.Stream("in", serde.String(), serde.String()).To("out")
	d := streamstest.New(t, mustBuild(t, b))
	strIn(d, "in").PipeAt("k", "v", at(1))
	err := strIn(d, "other").TryPipe(streamstest.Record[string, string]{Key: "k", Value: "v", Time: at(2)})
	if err == nil || !strings.Contains(err.Error(), `no source reads topic "other"`) {
		t.Errorf("piping into an unread topic: %v", err)
	}
	expectRecords(t, strOut(d, "out"), rec("k", "v", 1))
}

// Streams reads several topics through one source node: one Source line in the description
// (topics in Java HashSet order, as Kafka Streams prints them), and records of every topic.
func TestStreamsReadsSeveralTopicsThroughOneSource(t *testing.T) {
	b := dsl.NewBuilder()
	b.Streams([]string{"b", "a"}, serde.String(), serde.String()).To("out")
	topo := mustBuild(t, b)
	want := "Topologies:\n" +
		"   Sub-topology: 0\n" +
		"    Source: KSTREAM-SOURCE-0000000000 (topics: [a, b])\n" +
		"      --> KSTREAM-SINK-0000000001\n" +
		"    Sink: KSTREAM-SINK-0000000001 (topic: out)\n" +
		"      <-- KSTREAM-SOURCE-0000000000\n" +
		"\n"
	if got := topo.Describe().String(); got != want {
		t.Errorf("Describe:\n%s\nwant:\n%s", got, want)
	}
	if got := topo.SourceTopics(); !slices.Equal(slices.Sorted(slices.Values(got)), []string{"a", "b"}) {
		t.Errorf("SourceTopics %q, want a and b", got)
	}

	d := streamstest.New(t, topo)
	strIn(d, "a").PipeAt("ka", "1", at(10))
	strIn(d, "b").PipeAt("kb", "2", at(5))
	strIn(d, "a").PipeAt("ka", "3", at(20))
	expectRecords(t, strOut(d, "out"), rec("ka", "1", 10), rec("kb", "2", 5), rec("ka", "3", 20))
}

func TestStreamPattern(t *testing.T) {
	b := dsl.NewBuilder()
	var topics []string
	b.StreamPattern(regexp.MustCompile(`^orders-[a-z]+$`), serde.String(), serde.Int64()).
		Process(func() processor.Processor[string, int64, string, int64] {
			return &funcProcessor[string, int64, string, int64]{process: func(ctx processor.Context[string, int64], r processor.Record[string, int64]) error {
				md, _ := ctx.RecordMetadata()
				topics = append(topics, md.Topic)
				return ctx.Forward(r)
			}}
		}).
		To("all-orders")
	topo := mustBuild(t, b)
	n, _ := describeNode(t, topo, "KSTREAM-SOURCE-0000000000")
	if n.Pattern != `^orders-[a-z]+$` || len(n.Topics) != 0 {
		t.Errorf("pattern source described as %+v", n)
	}
	if got, want := n.String(), "Source: KSTREAM-SOURCE-0000000000 (topics: ^orders-[a-z]+$)\n      --> KSTREAM-PROCESSOR-0000000001"; got != want {
		t.Errorf("pattern source renders as %q, want %q", got, want)
	}

	d := streamstest.New(t, topo)
	eu := streamstest.Input(d, "orders-eu", serde.String(), serde.Int64())
	us := streamstest.Input(d, "orders-us", serde.String(), serde.Int64())
	eu.PipeAt("o1", 10, at(1))
	us.PipeAt("o2", 20, at(2))
	eu.PipeAt("o3", 30, at(3))
	err := streamstest.Input(d, "orders-42", serde.String(), serde.Int64()).
		TryPipe(streamstest.Record[string, int64]{Key: "o4", Value: 40, Time: at(4)})
	if err == nil {
		t.Error("a topic the pattern does not match was read")
	}
	expectRecords(t, streamstest.Output(d, "all-orders", serde.String(), serde.Int64()),
		rec[string, int64]("o1", 10, 1), rec[string, int64]("o2", 20, 2), rec[string, int64]("o3", 30, 3))
	if want := []string{"orders-eu", "orders-us", "orders-eu"}; !slices.Equal(topics, want) {
		t.Errorf("record topics %q, want %q", topics, want)
	}
}

// Nil serdes at a source mean the stock serde of the type.
func TestSourceStockSerdes(t *testing.T) {
	b := dsl.NewBuilder()
	b.Stream[int64, float64]("in", nil, nil).To("out")
	d := streamstest.New(t, mustBuild(t, b))
	streamstest.Input(d, "in", serde.Int64(), serde.Float64()).PipeAt(7, 0.5, at(3))
	expectRecords(t, streamstest.Output(d, "out", serde.Int64(), serde.Float64()), rec[int64, float64](7, 0.5, 3))
}

func TestSourceUserTypeNeedsSerde(t *testing.T) {
	b := dsl.NewBuilder()
	b.Stream[string, Order]("orders", nil, nil).To("out", dsl.WithSerdes[string, Order](nil, serde.JSON[Order]()))
	err := buildErr(t, b)
	if !errors.Is(err, dsl.ErrMissingSerde) {
		t.Errorf("Build error %v, want ErrMissingSerde", err)
	}
	if !strings.Contains(err.Error(), "dsl_test.Order") {
		t.Errorf("Build error %q does not name the type", err)
	}
}

func TestSourceWithUserSerde(t *testing.T) {
	b := dsl.NewBuilder()
	b.Stream("orders", serde.String(), serde.JSON[Order]()).
		MapValues(func(_ string, o Order) float64 { return o.Amount * 2 }).
		To("doubled")
	d := streamstest.New(t, mustBuild(t, b))
	streamstest.Input(d, "orders", serde.String(), serde.JSON[Order]()).PipeAt("o1", Order{ID: "o1", Amount: 1.25}, at(8))
	expectRecords(t, streamstest.Output(d, "doubled", serde.String(), serde.Float64()), rec("o1", 2.5, 8))
}

// A topic has at most one source, as in Kafka Streams.
func TestTwoSourcesOneTopic(t *testing.T) {
	b := dsl.NewBuilder()
	b.Stream("in", serde.String(), serde.String()).To("a")
	b.Streams([]string{"other", "in"}, serde.String(), serde.String()).To("b")
	if err := buildErr(t, b); !errors.Is(err, topology.ErrDuplicateTopic) {
		t.Errorf("Build error %v, want ErrDuplicateTopic", err)
	}
}

// Kafka Streams rejects a topic listed twice for one source ("Topic in has already been
// registered by another source"): InternalTopologyBuilder.addSource validates and registers
// topic by topic.
func TestStreamsSameTopicTwice(t *testing.T) {
	b := dsl.NewBuilder()
	b.Streams([]string{"in", "in"}, serde.String(), serde.String()).To("out")
	_, err := b.Build()
	if !errors.Is(err, topology.ErrDuplicateTopic) {
		t.Errorf("Build error %v, want ErrDuplicateTopic", err)
	}
}

// A source nothing reads from is a topology error.
func TestSourceWithoutChildren(t *testing.T) {
	b := dsl.NewBuilder()
	b.Stream("in", serde.String(), serde.String())
	if err := buildErr(t, b); !errors.Is(err, topology.ErrInvalidTopology) {
		t.Errorf("Build error %v, want ErrInvalidTopology", err)
	}
}

func TestEmptyBuilder(t *testing.T) {
	if err := buildErr(t, dsl.NewBuilder()); !errors.Is(err, topology.ErrInvalidTopology) {
		t.Errorf("Build error %v, want ErrInvalidTopology", err)
	}
}
