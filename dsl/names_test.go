package dsl_test

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/rillstreams/rill/dsl"
	"github.com/rillstreams/rill/processor"
	"github.com/rillstreams/rill/serde"
)

// asOpts turns Named options into the option type an operation takes.
func asOpts[O any](names []dsl.NameOption) []O {
	var out []O
	for _, n := range names {
		out = append(out, any(n).(O))
	}
	return out
}

func passThrough() processor.Processor[string, string, string, string] {
	return &funcProcessor[string, string, string, string]{process: func(ctx processor.Context[string, string], r processor.Record[string, string]) error {
		return ctx.Forward(r)
	}}
}

// Every operation names its node with Named, or with Kafka Streams' prefix and the builder's
// counter; a Named operation takes no counter value (Repartition and Merge's extra source
// aside, see burns).
func TestNamedOnEveryOperation(t *testing.T) {
	pred := func(string, string) bool { return true }
	tests := []struct {
		op        string
		apply     func(b *dsl.Builder, s *dsl.Stream[string, string], n ...dsl.NameOption) string // returns the new node's name, "" for terminal ops
		generated string                                                                          // name without Named
		kind      string
		// counter values taken with and without Named.
		burnsNamed, burnsGenerated int
		namedNode                  string // node Named("x") names, when not "x"
	}{
		{op: "Filter", generated: "KSTREAM-FILTER-0000000001", kind: "Processor", burnsGenerated: 1,
			apply: func(_ *dsl.Builder, s *dsl.Stream[string, string], n ...dsl.NameOption) string {
				return s.Filter(pred, asOpts[dsl.Option](n)...).NodeName()
			}},
		{op: "FilterNot", generated: "KSTREAM-FILTER-0000000001", kind: "Processor", burnsGenerated: 1,
			apply: func(_ *dsl.Builder, s *dsl.Stream[string, string], n ...dsl.NameOption) string {
				return s.FilterNot(pred, asOpts[dsl.Option](n)...).NodeName()
			}},
		{op: "Map", generated: "KSTREAM-MAP-0000000001", kind: "Processor", burnsGenerated: 1,
			apply: func(_ *dsl.Builder, s *dsl.Stream[string, string], n ...dsl.NameOption) string {
				return s.Map(func(k, v string) (int64, string) { return 0, v }, asOpts[dsl.Option](n)...).NodeName()
			}},
		{op: "MapValues", generated: "KSTREAM-MAPVALUES-0000000001", kind: "Processor", burnsGenerated: 1,
			apply: func(_ *dsl.Builder, s *dsl.Stream[string, string], n ...dsl.NameOption) string {
				return s.MapValues(func(k, v string) int64 { return 0 }, asOpts[dsl.Option](n)...).NodeName()
			}},
		{op: "FlatMap", generated: "KSTREAM-FLATMAP-0000000001", kind: "Processor", burnsGenerated: 1,
			apply: func(_ *dsl.Builder, s *dsl.Stream[string, string], n ...dsl.NameOption) string {
				return s.FlatMap(func(k, v string) []dsl.KeyValue[string, int32] { return nil }, asOpts[dsl.Option](n)...).NodeName()
			}},
		{op: "FlatMapValues", generated: "KSTREAM-FLATMAPVALUES-0000000001", kind: "Processor", burnsGenerated: 1,
			apply: func(_ *dsl.Builder, s *dsl.Stream[string, string], n ...dsl.NameOption) string {
				return s.FlatMapValues(func(k, v string) []string { return nil }, asOpts[dsl.Option](n)...).NodeName()
			}},
		{op: "SelectKey", generated: "KSTREAM-KEY-SELECT-0000000001", kind: "Processor", burnsGenerated: 1,
			apply: func(_ *dsl.Builder, s *dsl.Stream[string, string], n ...dsl.NameOption) string {
				return s.SelectKey(func(k, v string) float64 { return 0 }, asOpts[dsl.Option](n)...).NodeName()
			}},
		{op: "Peek", generated: "KSTREAM-PEEK-0000000001", kind: "Processor", burnsGenerated: 1,
			apply: func(_ *dsl.Builder, s *dsl.Stream[string, string], n ...dsl.NameOption) string {
				return s.Peek(func(string, string) {}, asOpts[dsl.Option](n)...).NodeName()
			}},
		{op: "ForEach", generated: "KSTREAM-FOREACH-0000000001", kind: "Processor", burnsGenerated: 1,
			apply: func(_ *dsl.Builder, s *dsl.Stream[string, string], n ...dsl.NameOption) string {
				s.ForEach(func(string, string) {}, asOpts[dsl.Option](n)...)
				return ""
			}},
		{op: "Split", generated: "KSTREAM-BRANCH-0000000001", kind: "Processor", burnsGenerated: 1,
			apply: func(_ *dsl.Builder, s *dsl.Stream[string, string], n ...dsl.NameOption) string {
				s.Split(asOpts[dsl.Option](n)...).NoDefaultBranch()
				return ""
			}},
		{op: "Merge", generated: "KSTREAM-MERGE-0000000002", kind: "Processor", burnsNamed: 1, burnsGenerated: 2,
			apply: func(b *dsl.Builder, s *dsl.Stream[string, string], n ...dsl.NameOption) string {
				other := b.Stream("in2", serde.String(), serde.String()) // takes a counter value
				return s.Merge(other, asOpts[dsl.Option](n)...).NodeName()
			}},
		{op: "Process", generated: "KSTREAM-PROCESSOR-0000000001", kind: "Processor", burnsGenerated: 1,
			apply: func(_ *dsl.Builder, s *dsl.Stream[string, string], n ...dsl.NameOption) string {
				return s.Process(passThrough, asOpts[dsl.ProcessOption](n)...).NodeName()
			}},
		{op: "To", generated: "KSTREAM-SINK-0000000001", kind: "Sink", burnsGenerated: 1,
			apply: func(_ *dsl.Builder, s *dsl.Stream[string, string], n ...dsl.NameOption) string {
				s.To("out", asOpts[dsl.SinkOption](n)...)
				return ""
			}},
		{op: "ToTopicFunc", generated: "KSTREAM-SINK-0000000001", kind: "Sink", burnsGenerated: 1,
			apply: func(_ *dsl.Builder, s *dsl.Stream[string, string], n ...dsl.NameOption) string {
				s.ToTopicFunc(func(k, _ string, _ processor.RecordMetadata) string { return k }, asOpts[dsl.SinkOption](n)...)
				return ""
			}},
		{op: "Repartition", generated: "KSTREAM-SOURCE-0000000004", kind: "Source", burnsNamed: 3, burnsGenerated: 4,
			namedNode: "x-repartition-source",
			apply: func(_ *dsl.Builder, s *dsl.Stream[string, string], n ...dsl.NameOption) string {
				r := s.Repartition(asOpts[dsl.RepartitionOption](n)...)
				r.ForEach(func(string, string) {}, dsl.Named("after-repartition")) // a source needs a child
				return r.NodeName()
			}},
	}
	for _, tc := range tests {
		for _, named := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/named=%v", tc.op, named), func(t *testing.T) {
				b := dsl.NewBuilder()
				s := b.Stream("in", serde.String(), serde.String()) // KSTREAM-SOURCE-0000000000
				var n []dsl.NameOption
				want, burns := tc.generated, tc.burnsGenerated
				if named {
					n = []dsl.NameOption{dsl.Named("x")}
					want, burns = "x", tc.burnsNamed
					if tc.namedNode != "" {
						want = tc.namedNode
					}
				}
				if got := tc.apply(b, s, n...); got != "" && got != want {
					t.Errorf("NodeName() = %q, want %q", got, want)
				}
				// The next generated name shows how many counter values the operation took.
				next := s.Peek(func(string, string) {}).NodeName()
				if wantNext := fmt.Sprintf("KSTREAM-PEEK-%010d", 1+burns); next != wantNext {
					t.Errorf("next generated name %q, want %q", next, wantNext)
				}
				topo := mustBuild(t, b)
				node, _ := describeNode(t, topo, want)
				if node.Kind != tc.kind {
					t.Errorf("%s is a %s, want a %s", want, node.Kind, tc.kind)
				}
				if tc.generated != next && tc.op != "Repartition" && strings.Contains(topo.Describe().String(), tc.generated) == named {
					t.Errorf("generated name %q present=%v with named=%v:\n%s", tc.generated, !named, named, topo.Describe())
				}
			})
		}
	}
}

func TestNamedSources(t *testing.T) {
	b := dsl.NewBuilder()
	b.Stream("a", serde.String(), serde.String(), dsl.Named("src-a")).To("out-a")
	b.Streams([]string{"b1", "b2"}, serde.String(), serde.String(), dsl.Named("src-b")).To("out-b")
	b.StreamPattern(regexp.MustCompile(`^c-`), serde.String(), serde.String(), dsl.Named("src-c")).To("out-c")
	topo := mustBuild(t, b)
	// Java's HashSet puts "b2" (String.hashCode 3088, bucket 0 of 16) before "b1" (3087, bucket
	// 15), and Kafka Streams prints a source's topics in that order.
	for name, topics := range map[string]string{"src-a": "[a]", "src-b": "[b2, b1]", "src-c": "^c-"} {
		n, _ := describeNode(t, topo, name)
		if n.Kind != "Source" || !strings.Contains(n.String(), "(topics: "+topics+")") {
			t.Errorf("%s: %q", name, n.String())
		}
	}
	// Three named sources took no counter values: the sinks are 0, 1 and 2.
	for _, name := range []string{"KSTREAM-SINK-0000000000", "KSTREAM-SINK-0000000001", "KSTREAM-SINK-0000000002"} {
		describeNode(t, topo, name)
	}
}

// A chain of named operations, as Kafka Streams describes it.
func TestDescribeNamedChain(t *testing.T) {
	b := dsl.NewBuilder()
	s := b.Stream("in", serde.String(), serde.String(), dsl.Named("source"))
	kept := s.Filter(func(k, _ string) bool { return k != "" }, dsl.Named("non-empty"))
	kept.MapValues(func(_, v string) string { return strings.ToUpper(v) }, dsl.Named("upper")).
		To("upper-out", dsl.Named("upper-sink"))
	kept.Peek(func(string, string) {}, dsl.Named("log")).
		Process(passThrough, dsl.Named("custom")).
		To("custom-out", dsl.Named("custom-sink"))
	want := "Topologies:\n" +
		"   Sub-topology: 0\n" +
		"    Source: source (topics: [in])\n" +
		"      --> non-empty\n" +
		"    Processor: non-empty (stores: [])\n" +
		"      --> log, upper\n" +
		"      <-- source\n" +
		"    Processor: log (stores: [])\n" +
		"      --> custom\n" +
		"      <-- non-empty\n" +
		"    Processor: custom (stores: [])\n" +
		"      --> custom-sink\n" +
		"      <-- log\n" +
		"    Processor: upper (stores: [])\n" +
		"      --> upper-sink\n" +
		"      <-- non-empty\n" +
		"    Sink: custom-sink (topic: custom-out)\n" +
		"      <-- custom\n" +
		"    Sink: upper-sink (topic: upper-out)\n" +
		"      <-- upper\n" +
		"\n"
	if got := mustBuild(t, b).Describe().String(); got != want {
		t.Errorf("Describe:\n%s\nwant:\n%s", got, want)
	}
}

// The counter is shared by every generated name of a builder, so one program always yields
// the same names; two builders count independently.
func TestGeneratedNamesAreDeterministic(t *testing.T) {
	program := func() []string {
		b := dsl.NewBuilder()
		s := b.Stream("in", serde.String(), serde.String())
		s.Filter(func(string, string) bool { return true }).MapValues(func(_, v string) int64 { return 0 }).To("a")
		s.SelectKey(func(k, _ string) string { return k }).Repartition().To("b")
		return nodeNames(mustBuild(t, b))
	}
	first, second := program(), program()
	if strings.Join(first, ",") != strings.Join(second, ",") {
		t.Errorf("two builds of one program named nodes differently:\n%q\n%q", first, second)
	}
	want := []string{
		// sub-topology 0, in Kafka Streams' order (bigger downstream graphs first, then name)
		"KSTREAM-SOURCE-0000000000", "KSTREAM-FILTER-0000000001", "KSTREAM-KEY-SELECT-0000000004",
		"KSTREAM-FILTER-0000000007", "KSTREAM-MAPVALUES-0000000002", "KSTREAM-SINK-0000000003", "KSTREAM-SINK-0000000006",
		// sub-topology 1
		"KSTREAM-SOURCE-0000000008", "KSTREAM-SINK-0000000009",
	}
	if strings.Join(first, ",") != strings.Join(want, ",") {
		t.Errorf("names\n got %q\nwant %q", first, want)
	}
}
