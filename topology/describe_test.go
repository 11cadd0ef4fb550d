package topology_test

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/rillstreams/rill/dsl"
	"github.com/rillstreams/rill/processor"
	"github.com/rillstreams/rill/serde"
	"github.com/rillstreams/rill/state"
	"github.com/rillstreams/rill/topology"
)

type order struct {
	ID         string  `json:"id"`
	CustomerID string  `json:"customerId"`
	Total      float64 `json:"total"`
}

// memStore is the least a store needs to be, for connecting stores in describe tests.
type memStore struct{ name string }

func (s *memStore) Name() string { return s.name }
func (s *memStore) Flush() error { return nil }
func (s *memStore) Close() error { return nil }
func (s *memStore) Build(state.StoreContext) (processor.Store, error) {
	return &memStore{name: s.name}, nil
}

type audit struct {
	ctx processor.Context[string, string]
}

func (a *audit) Init(ctx processor.Context[string, string]) error { a.ctx = ctx; return nil }
func (a *audit) Process(r processor.Record[string, float64]) error {
	return a.ctx.Forward(processor.WithValue(r, "audited"))
}
func (a *audit) Close() error { return nil }

// fanOutProgram is a three sub-topology program with fan-outs, a merge, a named and a generated
// repartition, a multi-topic source and a processor with two stores: the shapes whose describe()
// order Kafka Streams derives from Java collection orders.
func fanOutProgram(t *testing.T) *topology.Topology {
	b := dsl.NewBuilder()
	b.AddStateStore(&memStore{name: "audit-store"})
	b.AddStateStore(&memStore{name: "dedup-store"})
	orders := b.Streams([]string{"orders-eu", "orders-us", "orders-apac"}, serde.String(), serde.JSON[order]())
	byCustomer := orders.
		Filter(func(_ string, o order) bool { return o.Total > 100 }).
		SelectKey(func(_ string, o order) string { return o.CustomerID }).
		Repartition(dsl.Named("by-customer"))
	orders.Peek(func(string, order) {}).
		MapValues(func(_ string, o order) float64 { return o.Total }).
		Filter(func(_ string, total float64) bool { return total > 0 }).
		To("all-orders")
	orders.ForEach(func(string, order) {})

	totals := byCustomer.MapValues(func(_ string, o order) float64 { return o.Total })
	totals.To("customer-orders")
	flagged := byCustomer.
		Filter(func(_ string, o order) bool { return o.Total > 1000 }).
		MapValues(func(_ string, o order) float64 { return -o.Total })
	totals.Merge(flagged).
		Process(func() processor.Processor[string, float64, string, string] { return &audit{} },
			dsl.WithStores("audit-store", "dedup-store")).
		Repartition().
		Peek(func(string, string) {}).
		To("audit")
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	return topo
}

// TestDescribeMatchesKafkaStreams checks describe() byte for byte against the text Kafka
// Streams' algorithm produces for the same graph, computed by testdata/DescribeOracle.java
// with Java's own collections. When java is on PATH the oracle is run again, so the expected
// file cannot drift from what Java produces.
func TestDescribeMatchesKafkaStreams(t *testing.T) {
	topo := fanOutProgram(t)
	graph := topo.OracleGraph()
	wantGraph := readTestdata(t, "fanout.graph")
	if graph != wantGraph {
		t.Fatalf("graph of the program changed; regenerate testdata/fanout.graph and .describe\ngot:\n%s", graph)
	}
	want := readTestdata(t, "fanout.describe")
	if got := topo.Describe().String(); got != want {
		t.Errorf("describe() differs from Kafka Streams'\ngot:\n%s\nwant:\n%s", got, want)
	}
	if _, err := exec.LookPath("java"); err != nil {
		t.Log("java not installed: checked against the stored oracle output only")
		return
	}
	cmd := exec.Command("java", filepath.Join("testdata", "DescribeOracle.java"))
	cmd.Stdin = strings.NewReader(graph)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("oracle: %v", err)
	}
	if string(out) != want {
		t.Errorf("stored oracle output is stale\njava says:\n%s", out)
	}
}

func readTestdata(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	if strings.HasSuffix(name, ".graph") {
		var keep []string
		for _, l := range strings.SplitAfter(s, "\n") {
			if !strings.HasPrefix(l, "#") {
				keep = append(keep, l)
			}
		}
		s = strings.Join(keep, "")
	}
	return s
}

// TestDescribeRepartitionNames follows the shape of Kafka Streams' own expectation in
// KStreamImplTest.shouldSupportKeyChangeKTableFromKStream (map, then a repartition, then a
// sink): the generated names burn counter values in Kafka's order (sink, filter, source) and
// the repartition filter sits before the sink.
func TestDescribeRepartitionNames(t *testing.T) {
	b := dsl.NewBuilder()
	b.Stream("input", serde.String(), serde.String()).
		Map(func(k, v string) (int32, string) { return int32(k[0] - 'A'), v }).
		Repartition().
		To("output")
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	want := "Topologies:\n" +
		"   Sub-topology: 0\n" +
		"    Source: KSTREAM-SOURCE-0000000000 (topics: [input])\n" +
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
		"    Sink: KSTREAM-SINK-0000000006 (topic: output)\n" +
		"      <-- KSTREAM-SOURCE-0000000005\n\n"
	if got := topo.Describe().String(); got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}

func TestDescribePatternAndExtractor(t *testing.T) {
	b := dsl.NewBuilder()
	b.StreamPattern(regexp.MustCompile(`orders-.*`), serde.String(), serde.String()).
		ToTopicFunc(func(k, v string, _ processor.RecordMetadata) string { return v })
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	got := topo.Describe().String()
	for _, want := range []string{
		"    Source: KSTREAM-SOURCE-0000000000 (topics: orders-.*)\n",
		"    Sink: KSTREAM-SINK-0000000001 (extractor class: func(string, string, processor.RecordMetadata) string)\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("describe lacks %q:\n%s", want, got)
		}
	}
}

func TestJavaHashSetOrder(t *testing.T) {
	// Orders java.util.HashSet prints for these inputs, as DescribeOracle.java printed them
	// for testdata/fanout.graph.
	for _, tc := range []struct{ in, want []string }{
		{[]string{"orders-eu", "orders-us", "orders-apac"}, []string{"orders-us", "orders-apac", "orders-eu"}},
		{[]string{"audit-store", "dedup-store"}, []string{"dedup-store", "audit-store"}},
	} {
		got := topology.JavaHashSetOrder(tc.in)
		if strings.Join(got, ",") != strings.Join(tc.want, ",") {
			t.Errorf("JavaHashSetOrder(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestLowLevelTypeMismatch(t *testing.T) {
	topo := topology.New()
	if err := topo.AddSource("src", serde.String(), serde.Int64(), "in"); err != nil {
		t.Fatal(err)
	}
	sup := func() processor.Processor[string, string, string, string] { return nil }
	err := topo.AddProcessor("p", processor.Supplier[string, string, string, string](sup), "src")
	if !errors.Is(err, topology.ErrTypeMismatch) {
		t.Fatalf("want ErrTypeMismatch, got %v", err)
	}
}

func TestDescribeMermaid(t *testing.T) {
	b := dsl.NewBuilder()
	b.Stream("in", serde.String(), serde.String()).
		Filter(func(k, v string) bool { return true }).
		Repartition(dsl.Named("r")).
		To("out")
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	want := `flowchart TD
  subgraph s0["Sub-topology 0"]
    n0("KSTREAM-SOURCE-0000000000")
    n1("KSTREAM-FILTER-0000000001")
    n2("r-repartition-filter")
    n3("r-repartition-sink")
  end
  subgraph s1["Sub-topology 1"]
    n4("r-repartition-source")
    n5("KSTREAM-SINK-0000000005")
  end
  t0[/"in"/]
  t1[/"r-repartition"/]
  t2[/"out"/]
  n0 --> n1
  t0 --> n0
  n1 --> n2
  n2 --> n3
  n3 --> t1
  n4 --> n5
  t1 --> n4
  n5 --> t2
`
	if got := topo.DescribeMermaid(); got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}
