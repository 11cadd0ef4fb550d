package dsl_test

import (
	"strings"
	"testing"
	"time"

	"github.com/rillstreams/rill/dsl"
	"github.com/rillstreams/rill/serde"
	"github.com/rillstreams/rill/windows"
)

// Join topologies describe as Kafka Streams' do: the expected texts are those of Kafka
// Streams' own tests (TopologyTest.streamStream*JoinTopologyWith*StoresNames and
// KStreamImplTest.shouldSupport*Join*), so names of nodes, stores and internal topics match
// a Java application's.

func streamStreamJoinDescribe(kind, storeName string) string {
	b := dsl.NewBuilder()
	s1 := b.Stream("input-topic1", serde.Int32(), serde.String())
	s2 := b.Stream("input-topic2", serde.Int32(), serde.String())
	w := windows.JoinWithin(100 * time.Millisecond)
	var opts []dsl.StreamJoinOption
	if storeName != "" {
		opts = append(opts, dsl.Materialized(storeName))
	}
	switch kind {
	case "inner":
		s1.Join(s2, func(_ int32, a, b string) string { return a + b }, w, opts...)
	case "left":
		s1.LeftJoin(s2, func(_ int32, a, b string, _ bool) string { return a + b }, w, opts...)
	default:
		s1.OuterJoin(s2, func(_ int32, a string, _ bool, b string, _ bool) string { return a + b }, w, opts...)
	}
	topo, err := b.Build()
	if err != nil {
		return err.Error()
	}
	return topo.Describe().String()
}

// describeText joins lines with "\n" and ends the last sub-topology as Kafka Streams does.
func describeText(lines ...string) string { return strings.Join(lines, "\n") + "\n\n" }

func TestStreamStreamJoinDescribe(t *testing.T) {
	sources := []string{
		"Topologies:",
		"   Sub-topology: 0",
		"    Source: KSTREAM-SOURCE-0000000000 (topics: [input-topic1])",
		"      --> KSTREAM-WINDOWED-0000000002",
		"    Source: KSTREAM-SOURCE-0000000001 (topics: [input-topic2])",
		"      --> KSTREAM-WINDOWED-0000000003",
	}
	with := func(lines ...string) string {
		return describeText(append(append([]string(nil), sources...), lines...)...)
	}
	cases := []struct{ kind, store, want string }{
		{"inner", "", with( // TopologyTest.streamStreamJoinTopologyWithDefaultStoresNames
			"    Processor: KSTREAM-WINDOWED-0000000002 (stores: [KSTREAM-JOINTHIS-0000000004-store])",
			"      --> KSTREAM-JOINTHIS-0000000004",
			"      <-- KSTREAM-SOURCE-0000000000",
			"    Processor: KSTREAM-WINDOWED-0000000003 (stores: [KSTREAM-JOINOTHER-0000000005-store])",
			"      --> KSTREAM-JOINOTHER-0000000005",
			"      <-- KSTREAM-SOURCE-0000000001",
			"    Processor: KSTREAM-JOINOTHER-0000000005 (stores: [KSTREAM-JOINTHIS-0000000004-store])",
			"      --> KSTREAM-MERGE-0000000006",
			"      <-- KSTREAM-WINDOWED-0000000003",
			"    Processor: KSTREAM-JOINTHIS-0000000004 (stores: [KSTREAM-JOINOTHER-0000000005-store])",
			"      --> KSTREAM-MERGE-0000000006",
			"      <-- KSTREAM-WINDOWED-0000000002",
			"    Processor: KSTREAM-MERGE-0000000006 (stores: [])",
			"      --> none",
			"      <-- KSTREAM-JOINTHIS-0000000004, KSTREAM-JOINOTHER-0000000005")},
		{"inner", "custom-name", with( // ...WithCustomStoresNames
			"    Processor: KSTREAM-WINDOWED-0000000002 (stores: [custom-name-this-join-store])",
			"      --> KSTREAM-JOINTHIS-0000000004",
			"      <-- KSTREAM-SOURCE-0000000000",
			"    Processor: KSTREAM-WINDOWED-0000000003 (stores: [custom-name-other-join-store])",
			"      --> KSTREAM-JOINOTHER-0000000005",
			"      <-- KSTREAM-SOURCE-0000000001",
			"    Processor: KSTREAM-JOINOTHER-0000000005 (stores: [custom-name-this-join-store])",
			"      --> KSTREAM-MERGE-0000000006",
			"      <-- KSTREAM-WINDOWED-0000000003",
			"    Processor: KSTREAM-JOINTHIS-0000000004 (stores: [custom-name-other-join-store])",
			"      --> KSTREAM-MERGE-0000000006",
			"      <-- KSTREAM-WINDOWED-0000000002",
			"    Processor: KSTREAM-MERGE-0000000006 (stores: [])",
			"      --> none",
			"      <-- KSTREAM-JOINTHIS-0000000004, KSTREAM-JOINOTHER-0000000005")},
		{"left", "", with( // streamStreamLeftJoinTopologyWithDefaultStoresNames
			"    Processor: KSTREAM-WINDOWED-0000000002 (stores: [KSTREAM-JOINTHIS-0000000004-store])",
			"      --> KSTREAM-JOINTHIS-0000000004",
			"      <-- KSTREAM-SOURCE-0000000000",
			"    Processor: KSTREAM-WINDOWED-0000000003 (stores: [KSTREAM-OUTEROTHER-0000000005-store])",
			"      --> KSTREAM-OUTEROTHER-0000000005",
			"      <-- KSTREAM-SOURCE-0000000001",
			"    Processor: KSTREAM-JOINTHIS-0000000004 (stores: [KSTREAM-OUTEROTHER-0000000005-store, KSTREAM-OUTERSHARED-0000000004-store])",
			"      --> KSTREAM-MERGE-0000000006",
			"      <-- KSTREAM-WINDOWED-0000000002",
			"    Processor: KSTREAM-OUTEROTHER-0000000005 (stores: [KSTREAM-JOINTHIS-0000000004-store, KSTREAM-OUTERSHARED-0000000004-store])",
			"      --> KSTREAM-MERGE-0000000006",
			"      <-- KSTREAM-WINDOWED-0000000003",
			"    Processor: KSTREAM-MERGE-0000000006 (stores: [])",
			"      --> none",
			"      <-- KSTREAM-JOINTHIS-0000000004, KSTREAM-OUTEROTHER-0000000005")},
		{"left", "custom-name", with( // streamStreamLeftJoinTopologyWithCustomStoresNames
			"    Processor: KSTREAM-WINDOWED-0000000002 (stores: [custom-name-this-join-store])",
			"      --> KSTREAM-JOINTHIS-0000000004",
			"      <-- KSTREAM-SOURCE-0000000000",
			"    Processor: KSTREAM-WINDOWED-0000000003 (stores: [custom-name-outer-other-join-store])",
			"      --> KSTREAM-OUTEROTHER-0000000005",
			"      <-- KSTREAM-SOURCE-0000000001",
			"    Processor: KSTREAM-JOINTHIS-0000000004 (stores: [custom-name-outer-other-join-store, custom-name-left-shared-join-store])",
			"      --> KSTREAM-MERGE-0000000006",
			"      <-- KSTREAM-WINDOWED-0000000002",
			"    Processor: KSTREAM-OUTEROTHER-0000000005 (stores: [custom-name-this-join-store, custom-name-left-shared-join-store])",
			"      --> KSTREAM-MERGE-0000000006",
			"      <-- KSTREAM-WINDOWED-0000000003",
			"    Processor: KSTREAM-MERGE-0000000006 (stores: [])",
			"      --> none",
			"      <-- KSTREAM-JOINTHIS-0000000004, KSTREAM-OUTEROTHER-0000000005")},
		{"outer", "", with( // streamStreamOuterJoinTopologyWithDefaultStoresNames
			"    Processor: KSTREAM-WINDOWED-0000000002 (stores: [KSTREAM-OUTERTHIS-0000000004-store])",
			"      --> KSTREAM-OUTERTHIS-0000000004",
			"      <-- KSTREAM-SOURCE-0000000000",
			"    Processor: KSTREAM-WINDOWED-0000000003 (stores: [KSTREAM-OUTEROTHER-0000000005-store])",
			"      --> KSTREAM-OUTEROTHER-0000000005",
			"      <-- KSTREAM-SOURCE-0000000001",
			"    Processor: KSTREAM-OUTEROTHER-0000000005 (stores: [KSTREAM-OUTERTHIS-0000000004-store, KSTREAM-OUTERSHARED-0000000004-store])",
			"      --> KSTREAM-MERGE-0000000006",
			"      <-- KSTREAM-WINDOWED-0000000003",
			"    Processor: KSTREAM-OUTERTHIS-0000000004 (stores: [KSTREAM-OUTEROTHER-0000000005-store, KSTREAM-OUTERSHARED-0000000004-store])",
			"      --> KSTREAM-MERGE-0000000006",
			"      <-- KSTREAM-WINDOWED-0000000002",
			"    Processor: KSTREAM-MERGE-0000000006 (stores: [])",
			"      --> none",
			"      <-- KSTREAM-OUTERTHIS-0000000004, KSTREAM-OUTEROTHER-0000000005")},
		{"outer", "custom-name", with( // streamStreamOuterJoinTopologyWithCustomStoresNames
			"    Processor: KSTREAM-WINDOWED-0000000002 (stores: [custom-name-outer-this-join-store])",
			"      --> KSTREAM-OUTERTHIS-0000000004",
			"      <-- KSTREAM-SOURCE-0000000000",
			"    Processor: KSTREAM-WINDOWED-0000000003 (stores: [custom-name-outer-other-join-store])",
			"      --> KSTREAM-OUTEROTHER-0000000005",
			"      <-- KSTREAM-SOURCE-0000000001",
			"    Processor: KSTREAM-OUTEROTHER-0000000005 (stores: [custom-name-outer-this-join-store, custom-name-outer-shared-join-store])",
			"      --> KSTREAM-MERGE-0000000006",
			"      <-- KSTREAM-WINDOWED-0000000003",
			"    Processor: KSTREAM-OUTERTHIS-0000000004 (stores: [custom-name-outer-other-join-store, custom-name-outer-shared-join-store])",
			"      --> KSTREAM-MERGE-0000000006",
			"      <-- KSTREAM-WINDOWED-0000000002",
			"    Processor: KSTREAM-MERGE-0000000006 (stores: [])",
			"      --> none",
			"      <-- KSTREAM-OUTERTHIS-0000000004, KSTREAM-OUTEROTHER-0000000005")},
	}
	for _, c := range cases {
		if got := streamStreamJoinDescribe(c.kind, c.store); got != c.want {
			t.Errorf("%s join, store name %q:\ngot:\n%s\nwant:\n%s", c.kind, c.store, got, c.want)
		}
	}
}

// KStreamImplTest.shouldSupportTableTableJoinWithKStreamToKTable.
func TestTableTableJoinDescribe(t *testing.T) {
	b := dsl.NewBuilder()
	t1 := b.Stream("left", serde.String(), serde.String()).ToTable()
	t2 := b.Stream("right", serde.String(), serde.String()).ToTable()
	t1.Join(t2, func(_ string, a, b string) string { return a + "+" + b }).ToStream().To("output")
	want := describeText(
		"Topologies:",
		"   Sub-topology: 0",
		"    Source: KSTREAM-SOURCE-0000000000 (topics: [left])",
		"      --> KSTREAM-TOTABLE-0000000001",
		"    Source: KSTREAM-SOURCE-0000000003 (topics: [right])",
		"      --> KSTREAM-TOTABLE-0000000004",
		"    Processor: KSTREAM-TOTABLE-0000000001 (stores: [KSTREAM-TOTABLE-STATE-STORE-0000000002])",
		"      --> KTABLE-JOINTHIS-0000000007",
		"      <-- KSTREAM-SOURCE-0000000000",
		"    Processor: KSTREAM-TOTABLE-0000000004 (stores: [KSTREAM-TOTABLE-STATE-STORE-0000000005])",
		"      --> KTABLE-JOINOTHER-0000000008",
		"      <-- KSTREAM-SOURCE-0000000003",
		"    Processor: KTABLE-JOINOTHER-0000000008 (stores: [KSTREAM-TOTABLE-STATE-STORE-0000000002])",
		"      --> KTABLE-MERGE-0000000006",
		"      <-- KSTREAM-TOTABLE-0000000004",
		"    Processor: KTABLE-JOINTHIS-0000000007 (stores: [KSTREAM-TOTABLE-STATE-STORE-0000000005])",
		"      --> KTABLE-MERGE-0000000006",
		"      <-- KSTREAM-TOTABLE-0000000001",
		"    Processor: KTABLE-MERGE-0000000006 (stores: [])",
		"      --> KTABLE-TOSTREAM-0000000009",
		"      <-- KTABLE-JOINTHIS-0000000007, KTABLE-JOINOTHER-0000000008",
		"    Processor: KTABLE-TOSTREAM-0000000009 (stores: [])",
		"      --> KSTREAM-SINK-0000000010",
		"      <-- KTABLE-MERGE-0000000006",
		"    Sink: KSTREAM-SINK-0000000010 (topic: output)",
		"      <-- KTABLE-TOSTREAM-0000000009")
	if got := mustBuild(t, b).Describe().String(); got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}

// KStreamImplTest.shouldSupportStreamTableJoinWithKStreamToKTable.
func TestStreamTableJoinDescribe(t *testing.T) {
	b := dsl.NewBuilder()
	s := b.Stream("streamTopic", serde.String(), serde.String())
	tbl := b.Stream("tableTopic", serde.String(), serde.String()).ToTable()
	s.JoinTable(tbl, func(_ string, a, b string) string { return a + "+" + b }).To("output")
	want := describeText(
		"Topologies:",
		"   Sub-topology: 0",
		"    Source: KSTREAM-SOURCE-0000000000 (topics: [streamTopic])",
		"      --> KSTREAM-JOIN-0000000004",
		"    Processor: KSTREAM-JOIN-0000000004 (stores: [KSTREAM-TOTABLE-STATE-STORE-0000000003])",
		"      --> KSTREAM-SINK-0000000005",
		"      <-- KSTREAM-SOURCE-0000000000",
		"    Source: KSTREAM-SOURCE-0000000001 (topics: [tableTopic])",
		"      --> KSTREAM-TOTABLE-0000000002",
		"    Sink: KSTREAM-SINK-0000000005 (topic: output)",
		"      <-- KSTREAM-JOIN-0000000004",
		"    Processor: KSTREAM-TOTABLE-0000000002 (stores: [KSTREAM-TOTABLE-STATE-STORE-0000000003])",
		"      --> none",
		"      <-- KSTREAM-SOURCE-0000000001")
	if got := mustBuild(t, b).Describe().String(); got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}

// KStreamImplTest.shouldSupportForeignKeyTableTableJoinWithKTableFromKStream: two
// sub-topologies cut by the subscription registration and response topics.
func TestForeignKeyJoinDescribe(t *testing.T) {
	b := dsl.NewBuilder()
	left := b.Stream("input1", serde.String(), serde.String()).ToTable()
	right := b.Stream("input2", serde.String(), serde.String()).ToTable()
	left.JoinOnForeignKey(right,
		func(_ string, v string) string { _, fk, _ := strings.Cut(v, "|"); return fk },
		func(_ string, v, vo string) string { return "(" + v + "," + vo + ")" }).
		ToStream().To("output")
	want := describeText(
		"Topologies:",
		"   Sub-topology: 0",
		"    Source: KTABLE-SOURCE-0000000016 (topics: [KTABLE-FK-JOIN-SUBSCRIPTION-RESPONSE-0000000014-topic])",
		"      --> KTABLE-FK-JOIN-SUBSCRIPTION-RESPONSE-RESOLVER-PROCESSOR-0000000017",
		"    Source: KSTREAM-SOURCE-0000000000 (topics: [input1])",
		"      --> KSTREAM-TOTABLE-0000000001",
		"    Processor: KTABLE-FK-JOIN-SUBSCRIPTION-RESPONSE-RESOLVER-PROCESSOR-0000000017 (stores: [KSTREAM-TOTABLE-STATE-STORE-0000000002])",
		"      --> KTABLE-FK-JOIN-OUTPUT-0000000018",
		"      <-- KTABLE-SOURCE-0000000016",
		"    Processor: KSTREAM-TOTABLE-0000000001 (stores: [KSTREAM-TOTABLE-STATE-STORE-0000000002])",
		"      --> KTABLE-FK-JOIN-SUBSCRIPTION-REGISTRATION-0000000007",
		"      <-- KSTREAM-SOURCE-0000000000",
		"    Processor: KTABLE-FK-JOIN-OUTPUT-0000000018 (stores: [])",
		"      --> KTABLE-TOSTREAM-0000000020",
		"      <-- KTABLE-FK-JOIN-SUBSCRIPTION-RESPONSE-RESOLVER-PROCESSOR-0000000017",
		"    Processor: KTABLE-FK-JOIN-SUBSCRIPTION-REGISTRATION-0000000007 (stores: [])",
		"      --> KTABLE-SINK-0000000008",
		"      <-- KSTREAM-TOTABLE-0000000001",
		"    Processor: KTABLE-TOSTREAM-0000000020 (stores: [])",
		"      --> KSTREAM-SINK-0000000021",
		"      <-- KTABLE-FK-JOIN-OUTPUT-0000000018",
		"    Sink: KSTREAM-SINK-0000000021 (topic: output)",
		"      <-- KTABLE-TOSTREAM-0000000020",
		"    Sink: KTABLE-SINK-0000000008 (topic: KTABLE-FK-JOIN-SUBSCRIPTION-REGISTRATION-0000000006-topic)",
		"      <-- KTABLE-FK-JOIN-SUBSCRIPTION-REGISTRATION-0000000007",
		"",
		"  Sub-topology: 1",
		"    Source: KSTREAM-SOURCE-0000000003 (topics: [input2])",
		"      --> KSTREAM-TOTABLE-0000000004",
		"    Source: KTABLE-SOURCE-0000000009 (topics: [KTABLE-FK-JOIN-SUBSCRIPTION-REGISTRATION-0000000006-topic])",
		"      --> KTABLE-FK-JOIN-SUBSCRIPTION-PROCESSOR-0000000011",
		"    Processor: KSTREAM-TOTABLE-0000000004 (stores: [KSTREAM-TOTABLE-STATE-STORE-0000000005])",
		"      --> KTABLE-FK-JOIN-SUBSCRIPTION-PROCESSOR-0000000013",
		"      <-- KSTREAM-SOURCE-0000000003",
		"    Processor: KTABLE-FK-JOIN-SUBSCRIPTION-PROCESSOR-0000000011 (stores: [KTABLE-FK-JOIN-SUBSCRIPTION-STATE-STORE-0000000010])",
		"      --> KTABLE-FK-JOIN-SUBSCRIPTION-PROCESSOR-0000000012",
		"      <-- KTABLE-SOURCE-0000000009",
		"    Processor: KTABLE-FK-JOIN-SUBSCRIPTION-PROCESSOR-0000000012 (stores: [KSTREAM-TOTABLE-STATE-STORE-0000000005])",
		"      --> KTABLE-SINK-0000000015",
		"      <-- KTABLE-FK-JOIN-SUBSCRIPTION-PROCESSOR-0000000011",
		"    Processor: KTABLE-FK-JOIN-SUBSCRIPTION-PROCESSOR-0000000013 (stores: [KTABLE-FK-JOIN-SUBSCRIPTION-STATE-STORE-0000000010])",
		"      --> KTABLE-SINK-0000000015",
		"      <-- KSTREAM-TOTABLE-0000000004",
		"    Sink: KTABLE-SINK-0000000015 (topic: KTABLE-FK-JOIN-SUBSCRIPTION-RESPONSE-0000000014-topic)",
		"      <-- KTABLE-FK-JOIN-SUBSCRIPTION-PROCESSOR-0000000012, KTABLE-FK-JOIN-SUBSCRIPTION-PROCESSOR-0000000013")
	if got := mustBuild(t, b).Describe().String(); got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}
