package dsl_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/rillstreams/rill/dsl"
	"github.com/rillstreams/rill/processor"
	"github.com/rillstreams/rill/serde"
	"github.com/rillstreams/rill/streamstest"
	"github.com/rillstreams/rill/topology"
)

// Repartition writes through the internal topic "<application id>-<name>-repartition" and
// reads it back in a new sub-topology. Node names follow Kafka Streams: the repartition name
// takes one counter value, then sink, filter and source one each, in that order.
func TestRepartitionGenerated(t *testing.T) {
	b := dsl.NewBuilder()
	b.Stream("in", serde.String(), serde.String()). // source 0
							Map(func(k, v string) (string, string) { return v, k }). // map 1
							Repartition().                                           // repartition 2, sink 3, filter 4, source 5
							To("out")                                                // sink 6
	topo := mustBuild(t, b)

	want := "Topologies:\n" +
		"   Sub-topology: 0\n" +
		"    Source: KSTREAM-SOURCE-0000000000 (topics: [in])\n" +
		"      --> KSTREAM-MAP-0000000001\n" +
		"    Processor: KSTREAM-MAP-0000000001 (stores: [])\n" +
		"      --> KSTREAM-FILTER-0000000004\n" +
		"      <-- KSTREAM-SOURCE-0000000000\n" +
		"    Processor: KSTREAM-FILTER-0000000004 (stores: [])\n" +
		"      --> KSTREAM-SINK-0000000003\n" +
		"      <-- KSTREAM-MAP-0000000001\n" +
		"    Sink: KSTREAM-SINK-0000000003 (topic: KSTREAM-REPARTITION-0000000002-repartition)\n" +
		"      <-- KSTREAM-FILTER-0000000004\n" +
		"\n" +
		"  Sub-topology: 1\n" +
		"    Source: KSTREAM-SOURCE-0000000005 (topics: [KSTREAM-REPARTITION-0000000002-repartition])\n" +
		"      --> KSTREAM-SINK-0000000006\n" +
		"    Sink: KSTREAM-SINK-0000000006 (topic: out)\n" +
		"      <-- KSTREAM-SOURCE-0000000005\n" +
		"\n"
	if got := topo.Describe().String(); got != want {
		t.Errorf("Describe:\n%s\nwant:\n%s", got, want)
	}
	it, ok := topo.InternalTopics()["KSTREAM-REPARTITION-0000000002-repartition"]
	if !ok || len(topo.InternalTopics()) != 1 || it.Partitions != 0 {
		t.Errorf("internal topics %+v, want only KSTREAM-REPARTITION-0000000002-repartition with 0 partitions", topo.InternalTopics())
	}

	d := streamstest.New(t, topo)
	in := strIn(d, "in")
	in.PipeRecords(streamstest.Record[string, string]{Key: "k1", Value: "v1", Time: at(100), Headers: hdrs("h", "x")})
	in.PipeAt("k2", "v2", at(50))

	internal := strOut(d, "test-KSTREAM-REPARTITION-0000000002-repartition")
	first := internal.ReadRecord()
	if v, _ := headerValue(first.Headers, "h"); first.Key != "v1" || first.Value != "k1" || first.Time.UnixMilli() != 100 || v != "x" {
		t.Errorf("first repartitioned record %+v", first)
	}
	expectRecords(t, internal, rec("v2", "k2", 50))
	out := strOut(d, "out")
	if r := out.ReadRecord(); !reflect.DeepEqual(r.Headers, hdrs("h", "x")) {
		t.Errorf("headers after repartition %v, want h=x", r.Headers)
	}
	expectRecords(t, out, rec("v2", "k2", 50))
}

func TestRepartitionNamed(t *testing.T) {
	b := dsl.NewBuilder()
	b.Stream("in", serde.String(), serde.String()). // source 0
							Repartition(dsl.Named("by-key")). // burns 1, 2, 3 all the same
							To("out")                         // sink 4
	topo := mustBuild(t, b)
	want := "Topologies:\n" +
		"   Sub-topology: 0\n" +
		"    Source: KSTREAM-SOURCE-0000000000 (topics: [in])\n" +
		"      --> by-key-repartition-filter\n" +
		"    Processor: by-key-repartition-filter (stores: [])\n" +
		"      --> by-key-repartition-sink\n" +
		"      <-- KSTREAM-SOURCE-0000000000\n" +
		"    Sink: by-key-repartition-sink (topic: by-key-repartition)\n" +
		"      <-- by-key-repartition-filter\n" +
		"\n" +
		"  Sub-topology: 1\n" +
		"    Source: by-key-repartition-source (topics: [by-key-repartition])\n" +
		"      --> KSTREAM-SINK-0000000004\n" +
		"    Sink: KSTREAM-SINK-0000000004 (topic: out)\n" +
		"      <-- by-key-repartition-source\n" +
		"\n"
	if got := topo.Describe().String(); got != want {
		t.Errorf("Describe:\n%s\nwant:\n%s", got, want)
	}

	d := streamstest.New(t, topo)
	strIn(d, "in").PipeAt("k", "v", at(9))
	expectRecords(t, strOut(d, "test-by-key-repartition"), rec("k", "v", 9))
	expectRecords(t, strOut(d, "out"), rec("k", "v", 9))
}

// A user name that looks generated gets generated node names, as in Kafka Streams.
func TestRepartitionNameThatLooksGenerated(t *testing.T) {
	b := dsl.NewBuilder()
	b.Stream("in", serde.String(), serde.String()).Repartition(dsl.Named("KSTREAM-mine-0000000042")).To("out")
	topo := mustBuild(t, b)
	for _, name := range []string{"KSTREAM-SINK-0000000001", "KSTREAM-FILTER-0000000002", "KSTREAM-SOURCE-0000000003", "KSTREAM-SINK-0000000004"} {
		describeNode(t, topo, name)
	}
	if n, _ := describeNode(t, topo, "KSTREAM-SINK-0000000001"); n.Topic != "KSTREAM-mine-0000000042-repartition" {
		t.Errorf("repartition sink writes %q", n.Topic)
	}
}

func TestRepartitionApplicationIDPrefix(t *testing.T) {
	b := dsl.NewBuilder()
	b.Stream("in", serde.String(), serde.String()).Repartition(dsl.Named("x")).To("out")
	d := streamstest.New(t, mustBuild(t, b), streamstest.WithApplicationID("my-app"))
	strIn(d, "in").PipeAt("k", "v", at(1))
	expectRecords(t, strOut(d, "my-app-x-repartition"), rec("k", "v", 1))
	if n := strOut(d, "test-x-repartition").Len(); n != 0 {
		t.Errorf("%d records in test-x-repartition with application id my-app", n)
	}
	expectRecords(t, strOut(d, "out"), rec("k", "v", 1))
}

func TestRepartitionPartitions(t *testing.T) {
	b := dsl.NewBuilder()
	b.Stream("in", serde.String(), serde.String()).Repartition(dsl.WithPartitions(6), dsl.Named("six")).To("out")
	topo := mustBuild(t, b)
	want := map[string]topology.InternalTopic{"six-repartition": {Name: "six-repartition", Partitions: 6}}
	if got := topo.InternalTopics(); !reflect.DeepEqual(got, want) {
		t.Errorf("internal topics %+v, want %+v", got, want)
	}

	b = dsl.NewBuilder()
	b.Stream("in", serde.String(), serde.String()).Repartition(dsl.WithPartitions(-1)).To("out")
	if err := buildErr(t, b); !errors.Is(err, topology.ErrInvalidTopology) {
		t.Errorf("Build error %v, want ErrInvalidTopology", err)
	}
}

// WithSerdes sets the serdes of the repartition topic, and the stream read back has them.
func TestRepartitionWithSerdes(t *testing.T) {
	b := dsl.NewBuilder()
	b.Stream("in", serde.String(), serde.String()).
		MapValues(func(_, v string) Order { return Order{ID: v, Amount: 1} }).
		Repartition(dsl.Named("orders"), dsl.WithSerdes[string, Order](prefixSerde("key="), serde.JSON[Order]())).
		To("out")
	d := streamstest.New(t, mustBuild(t, b))
	strIn(d, "in").PipeAt("k", "o1", at(4))
	expectRecords(t, rawOut(d, "test-orders-repartition"), rec("key=k", `{"id":"o1","amount":1}`, 4))
	expectRecords(t, rawOut(d, "out"), rec("key=k", `{"id":"o1","amount":1}`, 4))
}

func TestRepartitionUserTypeWithoutSerde(t *testing.T) {
	b := dsl.NewBuilder()
	b.Stream("in", serde.String(), serde.String()).
		MapValues(func(_, v string) Order { return Order{ID: v} }).
		Repartition().
		To("out", dsl.WithSerdes[string, Order](nil, serde.JSON[Order]()))
	if err := buildErr(t, b); !errors.Is(err, dsl.ErrMissingSerde) {
		t.Errorf("Build error %v, want ErrMissingSerde", err)
	}
}

func TestRepartitionWrongSerdeTypes(t *testing.T) {
	b := dsl.NewBuilder()
	b.Stream("in", serde.String(), serde.String()).
		Repartition(dsl.WithSerdes(serde.String(), serde.Int64())).
		To("out")
	if err := buildErr(t, b); !errors.Is(err, dsl.ErrSerdeType) {
		t.Errorf("Build error %v, want ErrSerdeType", err)
	}
}

// Downstream of the repartition topic, a processor runs in task 1_0 and sees records as read
// from the internal topic, by its full name.
func TestRepartitionDownstreamTask(t *testing.T) {
	b := dsl.NewBuilder()
	type seen struct {
		task   string
		md     processor.RecordMetadata
		stream int64
	}
	var upstream, downstream []seen
	probe := func(into *[]seen) processor.Supplier[string, string, string, string] {
		return func() processor.Processor[string, string, string, string] {
			return &funcProcessor[string, string, string, string]{process: func(ctx processor.Context[string, string], r processor.Record[string, string]) error {
				md, _ := ctx.RecordMetadata()
				*into = append(*into, seen{ctx.TaskID().String(), md, ctx.StreamTime()})
				return ctx.Forward(r)
			}}
		}
	}
	b.Stream("in", serde.String(), serde.String()).
		Process(probe(&upstream)).
		Repartition(dsl.Named("r")).
		Process(probe(&downstream)).
		To("out")
	d := streamstest.New(t, mustBuild(t, b))
	in := strIn(d, "in")
	in.PipeAt("a", "1", at(30))
	in.PipeAt("b", "2", at(20))
	wantUp := []seen{{"0_0", processor.RecordMetadata{Topic: "in", Offset: 0}, 30}, {"0_0", processor.RecordMetadata{Topic: "in", Offset: 1}, 30}}
	wantDown := []seen{
		{"1_0", processor.RecordMetadata{Topic: "test-r-repartition", Offset: 0}, 30},
		{"1_0", processor.RecordMetadata{Topic: "test-r-repartition", Offset: 1}, 30},
	}
	if !reflect.DeepEqual(upstream, wantUp) {
		t.Errorf("upstream saw %+v, want %+v", upstream, wantUp)
	}
	if !reflect.DeepEqual(downstream, wantDown) {
		t.Errorf("downstream saw %+v, want %+v", downstream, wantDown)
	}
	expectRecords(t, strOut(d, "out"), rec("a", "1", 30), rec("b", "2", 20))
}

// Two repartitions in a row make three sub-topologies.
func TestRepartitionTwice(t *testing.T) {
	b := dsl.NewBuilder()
	b.Stream("in", serde.String(), serde.String()).
		Repartition(dsl.Named("one")).
		MapValues(func(_, v string) string { return v + "+" }).
		Repartition(dsl.Named("two")).
		To("out")
	topo := mustBuild(t, b)
	if n := len(topo.Describe().Subtopologies); n != 3 {
		t.Fatalf("%d sub-topologies, want 3:\n%s", n, topo.Describe())
	}
	if _, sub := describeNode(t, topo, "two-repartition-source"); sub != 2 {
		t.Errorf("two-repartition-source in sub-topology %d, want 2", sub)
	}
	d := streamstest.New(t, topo)
	strIn(d, "in").PipeAt("k", "v", at(1))
	expectRecords(t, strOut(d, "test-one-repartition"), rec("k", "v", 1))
	expectRecords(t, strOut(d, "test-two-repartition"), rec("k", "v+", 1))
	expectRecords(t, strOut(d, "out"), rec("k", "v+", 1))
}

// Sub-topologies are numbered in the order their first node was added: current Kafka Streams'
// InternalTopologyBuilder.makeNodeGroups walks nodeFactories in insertion order ("upstream
// sub-topologies come before downstream"), so a repartition's downstream side comes second
// whatever the node names. (Kafka Streams before 2.x sorted by source name.)
func TestSubtopologyNumberingFollowsInsertionOrder(t *testing.T) {
	b := dsl.NewBuilder()
	b.Stream("in", serde.String(), serde.String(), dsl.Named("orders")).
		Repartition(dsl.Named("by-user")).
		To("out")
	topo := mustBuild(t, b)
	_, in := describeNode(t, topo, "orders")
	_, rep := describeNode(t, topo, "by-user-repartition-source")
	if in != 0 || rep != 1 {
		t.Errorf("orders in sub-topology %d and by-user-repartition-source in %d, want 0 and 1", in, rep)
	}
	if d := topo.Describe().String(); !strings.HasPrefix(d, "Topologies:\n   Sub-topology: 0\n    Source: orders") {
		t.Errorf("Describe:\n%s", d)
	}
}
