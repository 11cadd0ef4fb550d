package dsl_test

import (
	"errors"
	"maps"
	"slices"
	"testing"

	"github.com/rillstreams/rill/dsl"
	"github.com/rillstreams/rill/serde"
	"github.com/rillstreams/rill/streamstest"
	"github.com/rillstreams/rill/topology"
)

func big(_ string, v int64) bool    { return v >= 100 }
func medium(_ string, v int64) bool { return v >= 10 }

// amounts is piped into the split tests: value v at timestamp 1000+v's position.
var amounts = []streamstest.Record[string, int64]{
	{Key: "a", Value: 5, Time: at(1001)},
	{Key: "b", Value: 50, Time: at(1002)},
	{Key: "c", Value: 500, Time: at(1003)},
	{Key: "d", Value: 10, Time: at(1004)},
	{Key: "e", Value: 100, Time: at(1005)},
	{Key: "f", Value: 9, Time: at(1006)},
}

func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }

// Records go to the first branch whose predicate holds; the default branch gets the rest.
// Branch names are the split's generated name followed by the position (1, 2, ...; 0 for the
// default), as in Kafka Streams.
func TestSplitFirstMatchWinsAndDefaultGetsTheRest(t *testing.T) {
	b := dsl.NewBuilder()
	branches := b.Stream("in", serde.String(), serde.Int64()).
		Split().
		Branch(big).
		Branch(medium). // 100 and 500 match too, but "big" comes first
		DefaultBranch()
	const split = "KSTREAM-BRANCH-0000000001"
	wantKeys := []string{split + "0", split + "1", split + "2"}
	if got := sortedKeys(branches); !slices.Equal(got, wantKeys) {
		t.Fatalf("branch names %q, want %q", got, wantKeys)
	}
	branches[split+"1"].To("big")
	branches[split+"2"].To("medium")
	branches[split+"0"].To("small")
	topo := mustBuild(t, b)
	d := streamstest.New(t, topo)
	streamstest.Input(d, "in", serde.String(), serde.Int64()).PipeRecords(amounts...)

	out := func(topic string) *streamstest.OutputTopic[string, int64] {
		return streamstest.Output(d, topic, serde.String(), serde.Int64())
	}
	expectRecords(t, out("big"), rec[string, int64]("c", 500, 1003), rec[string, int64]("e", 100, 1005))
	expectRecords(t, out("medium"), rec[string, int64]("b", 50, 1002), rec[string, int64]("d", 10, 1004))
	expectRecords(t, out("small"), rec[string, int64]("a", 5, 1001), rec[string, int64]("f", 9, 1006))

	// The split is one processor with a pass-through child per branch.
	n, _ := describeNode(t, topo, split)
	if want := []string{split + "0", split + "1", split + "2"}; !slices.Equal(n.Successors, want) {
		t.Errorf("split successors %q, want %q", n.Successors, want)
	}
}

func TestSplitWithoutDefaultDropsUnmatched(t *testing.T) {
	b := dsl.NewBuilder()
	seen := 0
	branches := b.Stream("in", serde.String(), serde.Int64()).
		Peek(func(string, int64) { seen++ }).
		Split().
		Branch(big).
		Branch(func(k string, _ int64) bool { return k == "b" || k == "f" }).
		NoDefaultBranch()
	// source 0, peek 1, split 2, branches 3 and 4.
	const split = "KSTREAM-BRANCH-0000000002"
	if got, want := sortedKeys(branches), []string{split + "1", split + "2"}; !slices.Equal(got, want) {
		t.Fatalf("branch names %q, want %q", got, want)
	}
	branches[split+"1"].To("big")
	branches[split+"2"].To("picked")
	d := streamstest.New(t, mustBuild(t, b))
	streamstest.Input(d, "in", serde.String(), serde.Int64()).PipeRecords(amounts...)
	expectRecords(t, streamstest.Output(d, "big", serde.String(), serde.Int64()),
		rec[string, int64]("c", 500, 1003), rec[string, int64]("e", 100, 1005))
	expectRecords(t, streamstest.Output(d, "picked", serde.String(), serde.Int64()),
		rec[string, int64]("b", 50, 1002), rec[string, int64]("f", 9, 1006))
	if seen != len(amounts) {
		t.Errorf("upstream saw %d records, want %d", seen, len(amounts))
	}
}

// With Named the split's name is the prefix of branch names; Branched replaces the position.
// Branch names, named or not, burn a value of the name counter, as in Kafka Streams.
func TestSplitNamedAndBranchedNames(t *testing.T) {
	b := dsl.NewBuilder()
	branches := b.Stream("in", serde.String(), serde.Int64()). // KSTREAM-SOURCE-0000000000
									Split(dsl.Named("route-")).         // named: no counter value
									Branch(big, dsl.Branched("big")).   // burns 1
									Branch(medium).                     // burns 2
									DefaultBranch(dsl.Branched("rest")) // burns 3
	want := []string{"route-2", "route-big", "route-rest"}
	if got := sortedKeys(branches); !slices.Equal(got, want) {
		t.Fatalf("branch names %q, want %q", got, want)
	}
	branches["route-big"].To("big")                                                          // KSTREAM-SINK-0000000004
	branches["route-2"].To("medium", dsl.Named("medium-sink"))                               // named
	branches["route-rest"].MapValues(func(_ string, v int64) int64 { return -v }).To("rest") // 5, 6
	topo := mustBuild(t, b)

	for _, name := range []string{"route-", "route-big", "route-2", "route-rest", "KSTREAM-SINK-0000000004",
		"medium-sink", "KSTREAM-MAPVALUES-0000000005", "KSTREAM-SINK-0000000006"} {
		describeNode(t, topo, name)
	}
	n, _ := describeNode(t, topo, "route-big")
	if !slices.Equal(n.Predecessors, []string{"route-"}) || !slices.Equal(n.Successors, []string{"KSTREAM-SINK-0000000004"}) {
		t.Errorf("route-big: predecessors %q successors %q", n.Predecessors, n.Successors)
	}

	d := streamstest.New(t, topo)
	streamstest.Input(d, "in", serde.String(), serde.Int64()).PipeRecords(amounts...)
	expectRecords(t, streamstest.Output(d, "big", serde.String(), serde.Int64()),
		rec[string, int64]("c", 500, 1003), rec[string, int64]("e", 100, 1005))
	expectRecords(t, streamstest.Output(d, "medium", serde.String(), serde.Int64()),
		rec[string, int64]("b", 50, 1002), rec[string, int64]("d", 10, 1004))
	expectRecords(t, streamstest.Output(d, "rest", serde.String(), serde.Int64()),
		rec[string, int64]("a", -5, 1001), rec[string, int64]("f", -9, 1006))
}

// The exact description of a split, byte for byte as Kafka Streams prints it: the splitter
// node, then its branch children ordered by the size of what hangs below them, then by name.
func TestSplitDescribe(t *testing.T) {
	b := dsl.NewBuilder()
	branches := b.Stream("in", serde.String(), serde.Int64()).
		Split().
		Branch(big).
		DefaultBranch()
	branches["KSTREAM-BRANCH-00000000011"].To("big")                                                   // sink 4
	branches["KSTREAM-BRANCH-00000000010"].Filter(func(string, int64) bool { return true }).To("rest") // filter 5, sink 6
	want := "Topologies:\n" +
		"   Sub-topology: 0\n" +
		"    Source: KSTREAM-SOURCE-0000000000 (topics: [in])\n" +
		"      --> KSTREAM-BRANCH-0000000001\n" +
		"    Processor: KSTREAM-BRANCH-0000000001 (stores: [])\n" +
		"      --> KSTREAM-BRANCH-00000000010, KSTREAM-BRANCH-00000000011\n" +
		"      <-- KSTREAM-SOURCE-0000000000\n" +
		"    Processor: KSTREAM-BRANCH-00000000010 (stores: [])\n" +
		"      --> KSTREAM-FILTER-0000000005\n" +
		"      <-- KSTREAM-BRANCH-0000000001\n" +
		"    Processor: KSTREAM-BRANCH-00000000011 (stores: [])\n" +
		"      --> KSTREAM-SINK-0000000004\n" +
		"      <-- KSTREAM-BRANCH-0000000001\n" +
		"    Processor: KSTREAM-FILTER-0000000005 (stores: [])\n" +
		"      --> KSTREAM-SINK-0000000006\n" +
		"      <-- KSTREAM-BRANCH-00000000010\n" +
		"    Sink: KSTREAM-SINK-0000000004 (topic: big)\n" +
		"      <-- KSTREAM-BRANCH-00000000011\n" +
		"    Sink: KSTREAM-SINK-0000000006 (topic: rest)\n" +
		"      <-- KSTREAM-FILTER-0000000005\n" +
		"\n"
	if got := mustBuild(t, b).Describe().String(); got != want {
		t.Errorf("Describe:\n%s\nwant:\n%s", got, want)
	}
}

// A split whose branches all reject a record drops it, and a split with no branch at all
// drops everything (NoDefaultBranch on an empty split).
func TestSplitWithNoBranches(t *testing.T) {
	b := dsl.NewBuilder()
	s := b.Stream("in", serde.String(), serde.Int64())
	if got := s.Split().NoDefaultBranch(); len(got) != 0 {
		t.Errorf("empty split returned branches %q", sortedKeys(got))
	}
	s.To("copy")
	d := streamstest.New(t, mustBuild(t, b))
	streamstest.Input(d, "in", serde.String(), serde.Int64()).PipeAt("k", 1, at(3))
	expectRecords(t, streamstest.Output(d, "copy", serde.String(), serde.Int64()), rec[string, int64]("k", 1, 3))
}

// Only a default branch: every record goes there.
func TestSplitOnlyDefault(t *testing.T) {
	b := dsl.NewBuilder()
	branches := b.Stream("in", serde.String(), serde.Int64()).Split(dsl.Named("s-")).DefaultBranch()
	if got := sortedKeys(branches); !slices.Equal(got, []string{"s-0"}) {
		t.Fatalf("branch names %q, want [s-0]", got)
	}
	branches["s-0"].To("all")
	d := streamstest.New(t, mustBuild(t, b))
	in := streamstest.Input(d, "in", serde.String(), serde.Int64())
	in.PipeAt("x", 1, at(20))
	in.PipeAt("y", 2, at(10))
	expectRecords(t, streamstest.Output(d, "all", serde.String(), serde.Int64()),
		rec[string, int64]("x", 1, 20), rec[string, int64]("y", 2, 10))
}

// Branches keep the stream's serdes: a branch written with To uses the source's custom serde.
func TestSplitBranchesKeepSerdes(t *testing.T) {
	b := dsl.NewBuilder()
	branches := b.Stream("in", serde.String(), prefixSerde("v:")).
		Split(dsl.Named("s-")).
		Branch(func(k, _ string) bool { return k == "a" }).
		DefaultBranch()
	branches["s-1"].To("a")
	branches["s-0"].To("other")
	d := streamstest.New(t, mustBuild(t, b))
	in := streamstest.Input(d, "in", serde.String(), prefixSerde("v:"))
	in.PipeAt("a", "x", at(1))
	in.PipeAt("b", "y", at(2))
	expectRecords(t, rawOut(d, "a"), rec("a", "v:x", 1))
	expectRecords(t, rawOut(d, "other"), rec("b", "v:y", 2))
}

// Two branches with the same Branched name make the same node name twice.
func TestSplitDuplicateBranchName(t *testing.T) {
	b := dsl.NewBuilder()
	branches := b.Stream("in", serde.String(), serde.Int64()).
		Split(dsl.Named("s-")).
		Branch(big, dsl.Branched("x")).
		Branch(medium, dsl.Branched("x")).
		NoDefaultBranch()
	branches["s-x"].To("out")
	if err := buildErr(t, b); !errors.Is(err, topology.ErrDuplicateName) {
		t.Errorf("Build error %v, want ErrDuplicateName", err)
	}
}
