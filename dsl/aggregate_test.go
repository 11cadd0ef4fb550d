package dsl_test

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/rillstreams/rill/dsl"
	"github.com/rillstreams/rill/serde"
	"github.com/rillstreams/rill/streamstest"
	"github.com/rillstreams/rill/topology"
)

// wordCount is Kafka Streams' WordCount demo: lines split into lowercase words, grouped by word,
// counted into "counts-store".
func wordCount(t *testing.T) *dsl.Builder {
	b := dsl.NewBuilder()
	b.Stream("streams-plaintext-input", serde.String(), serde.String()).
		FlatMapValues(func(_ string, line string) []string { return strings.Fields(strings.ToLower(line)) }).
		GroupBy(func(_ string, word string) string { return word }).
		Count(dsl.Materialized("counts-store")).
		ToStream().
		To("streams-wordcount-output")
	return b
}

// The describe text follows Kafka Streams' current naming for a count with a named store
// (KGroupedStreamImpl.count, GroupedStreamAggregateBuilder.build and
// KStreamImpl.createRepartitionedSource: the repartition topic takes the store's name, and its
// sink, filter and source are named after the topic because the name is not generated).
func TestWordCountDescribe(t *testing.T) {
	topo := mustBuild(t, wordCount(t))
	want := "Topologies:\n" +
		"   Sub-topology: 0\n" +
		"    Source: KSTREAM-SOURCE-0000000000 (topics: [streams-plaintext-input])\n" +
		"      --> KSTREAM-FLATMAPVALUES-0000000001\n" +
		"    Processor: KSTREAM-FLATMAPVALUES-0000000001 (stores: [])\n" +
		"      --> KSTREAM-KEY-SELECT-0000000002\n" +
		"      <-- KSTREAM-SOURCE-0000000000\n" +
		"    Processor: KSTREAM-KEY-SELECT-0000000002 (stores: [])\n" +
		"      --> counts-store-repartition-filter\n" +
		"      <-- KSTREAM-FLATMAPVALUES-0000000001\n" +
		"    Processor: counts-store-repartition-filter (stores: [])\n" +
		"      --> counts-store-repartition-sink\n" +
		"      <-- KSTREAM-KEY-SELECT-0000000002\n" +
		"    Sink: counts-store-repartition-sink (topic: counts-store-repartition)\n" +
		"      <-- counts-store-repartition-filter\n" +
		"\n" +
		"  Sub-topology: 1\n" +
		"    Source: counts-store-repartition-source (topics: [counts-store-repartition])\n" +
		"      --> KSTREAM-AGGREGATE-0000000003\n" +
		"    Processor: KSTREAM-AGGREGATE-0000000003 (stores: [counts-store])\n" +
		"      --> KTABLE-TOSTREAM-0000000007\n" +
		"      <-- counts-store-repartition-source\n" +
		"    Processor: KTABLE-TOSTREAM-0000000007 (stores: [])\n" +
		"      --> KSTREAM-SINK-0000000008\n" +
		"      <-- KSTREAM-AGGREGATE-0000000003\n" +
		"    Sink: KSTREAM-SINK-0000000008 (topic: streams-wordcount-output)\n" +
		"      <-- KTABLE-TOSTREAM-0000000007\n\n"
	if got := topo.Describe().String(); got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}

// With caching off, Kafka Streams emits every count update, in input order, each stamped with
// the largest timestamp of its key's records so far.
func TestWordCount(t *testing.T) {
	backends(t, func(t *testing.T, opts ...streamstest.Option) {
		d := streamstest.New(t, mustBuild(t, wordCount(t)), opts...)
		in := streamstest.Input(d, "streams-plaintext-input", serde.String(), serde.String())
		out := streamstest.Output(d, "streams-wordcount-output", serde.String(), serde.Int64())
		in.PipeAt("", "Hello Kafka Streams", at(10))
		in.PipeAt("", "hello rill", at(20))
		in.PipeAt("", "streams", at(15))
		expectRecords(t, out,
			rec("hello", int64(1), 10), rec("kafka", int64(1), 10), rec("streams", int64(1), 10),
			rec("hello", int64(2), 20), rec("rill", int64(1), 20),
			rec("streams", int64(2), 15))
		counts := streamstest.Map(streamstest.KeyValueStore[string, int64](d, "counts-store"))
		want := map[string]int64{"hello": 2, "kafka": 1, "streams": 2, "rill": 1}
		if len(counts) != len(want) {
			t.Fatalf("store %v, want %v", counts, want)
		}
		for k, v := range want {
			if counts[k] != v {
				t.Errorf("store[%s] = %d, want %d", k, counts[k], v)
			}
		}
		row, _ := streamstest.KeyValueStore[string, int64](d, "counts-store").GetWithTimestamp("streams")
		if row.Timestamp != 15 {
			t.Errorf("streams row timestamp %d, want 15 (max of 10 and 15)", row.Timestamp)
		}
	})
}

// With several partitions, words go through the repartition topic by murmur2 of the word, so
// each word is counted by one task: per word, counts still rise 1, 2, 3 in input order.
func TestWordCountPartitioned(t *testing.T) {
	backends(t, func(t *testing.T, opts ...streamstest.Option) {
		d := streamstest.New(t, mustBuild(t, wordCount(t)), append(opts, streamstest.WithPartitions(4))...)
		in := streamstest.Input(d, "streams-plaintext-input", serde.String(), serde.String())
		out := streamstest.Output(d, "streams-wordcount-output", serde.String(), serde.Int64())
		lines := []string{"a b c", "b c d", "c d e", "a e", "e e"}
		for i, l := range lines {
			in.PipeAt(string(rune('k'+i)), l, at(int64(i)))
		}
		perWord := map[string][]int64{}
		for _, r := range out.ReadAll() {
			perWord[r.Key] = append(perWord[r.Key], r.Value)
		}
		want := map[string]int{"a": 2, "b": 2, "c": 3, "d": 2, "e": 4}
		for w, n := range want {
			got := perWord[w]
			if len(got) != n {
				t.Fatalf("%s: counts %v, want 1..%d", w, got, n)
			}
			for i, c := range got {
				if c != int64(i+1) {
					t.Errorf("%s: counts %v, want 1..%d", w, got, n)
				}
			}
		}
		if stores := d.Stores("counts-store"); len(stores) != 4 {
			t.Errorf("%d counts-store instances, want one per partition (4)", len(stores))
		}
	})
}

func TestAggregateAndReducePerKey(t *testing.T) {
	backends(t, func(t *testing.T, opts ...streamstest.Option) {
		b := dsl.NewBuilder()
		grouped := b.Stream("amounts", serde.String(), serde.Int64()).GroupByKey()
		grouped.Aggregate(func() int64 { return 100 }, func(_ string, v, agg int64) int64 { return agg + v },
			dsl.Materialized("sums")).ToStream().To("sums-out")
		grouped.Reduce(func(agg, v int64) int64 { return max(agg, v) }, dsl.Materialized("maxes")).ToStream().To("max-out")
		topo := mustBuild(t, b)
		if strings.Contains(topo.Describe().String(), "repartition") {
			t.Errorf("GroupByKey without a key change must not repartition:\n%s", topo.Describe())
		}
		d := streamstest.New(t, topo, opts...)
		in := streamstest.Input(d, "amounts", serde.String(), serde.Int64())
		sums := streamstest.Output(d, "sums-out", serde.String(), serde.Int64())
		maxes := streamstest.Output(d, "max-out", serde.String(), serde.Int64())
		in.PipeAt("a", 5, at(1))
		in.PipeAt("b", 7, at(2))
		in.PipeAt("a", 3, at(3))
		in.PipeAt("a", 9, at(2))
		expectRecords(t, sums, rec("a", int64(105), 1), rec("b", int64(107), 2), rec("a", int64(108), 3), rec("a", int64(117), 3))
		expectRecords(t, maxes, rec("a", int64(5), 1), rec("b", int64(7), 2), rec("a", int64(5), 3), rec("a", int64(9), 3))
	})
}

type user struct {
	Region string `json:"region"`
	Score  int64  `json:"score"`
}

// A table regrouped by region: a user moving from one region to another is subtracted from the
// old region and added to the new one (old first), and a deleted user is subtracted: Kafka
// Streams' KGroupedTable adder/subtractor semantics.
func TestTableGroupByAdderSubtractor(t *testing.T) {
	backends(t, func(t *testing.T, opts ...streamstest.Option) {
		b := dsl.NewBuilder()
		users := b.Table("users", serde.String(), serde.JSON[user]())
		byRegion := users.GroupBy(func(id string, u user) (string, user) { return u.Region, u })
		byRegion.Count(dsl.Materialized("region-counts")).ToStream().To("region-counts")
		byRegion.Aggregate(func() int64 { return 0 },
			func(_ string, u user, agg int64) int64 { return agg + u.Score },
			func(_ string, u user, agg int64) int64 { return agg - u.Score },
			dsl.Materialized("region-scores")).ToStream().To("region-scores")
		d := streamstest.New(t, mustBuild(t, b), opts...)
		in := streamstest.Input(d, "users", serde.String(), serde.JSON[user]())
		counts := streamstest.Output(d, "region-counts", serde.String(), serde.Int64())
		scores := streamstest.Output(d, "region-scores", serde.String(), serde.Int64())

		in.PipeAt("alice", user{"eu", 10}, at(1))
		in.PipeAt("bob", user{"eu", 5}, at(2))
		in.PipeAt("carol", user{"us", 7}, at(3))
		in.PipeAt("alice", user{"us", 11}, at(4))                     // moves: eu -1, us +1
		if err := in.PipeRaw([]byte("bob"), nil, at(5)); err != nil { // tombstone: eu -1
			t.Fatal(err)
		}
		expectRecords(t, counts,
			rec("eu", int64(1), 1), rec("eu", int64(2), 2), rec("us", int64(1), 3),
			rec("eu", int64(1), 4), rec("us", int64(2), 4),
			rec("eu", int64(0), 5))
		expectRecords(t, scores,
			rec("eu", int64(10), 1), rec("eu", int64(15), 2), rec("us", int64(7), 3),
			rec("eu", int64(5), 4), rec("us", int64(18), 4),
			rec("eu", int64(0), 5))
		final := streamstest.Map(streamstest.KeyValueStore[string, int64](d, "region-scores"))
		if final["eu"] != 0 || final["us"] != 18 {
			t.Errorf("region-scores %v, want eu 0, us 18", final)
		}
		// The users table was materialized because GroupBy needs old values: alice is in us.
		rows := d.Stores("users-STATE-STORE-0000000000")
		if len(rows) != 1 {
			t.Fatalf("users table store missing: %v", rows)
		}
	})
}

// An update that stays in its group (apples 3 -> 10, both in "total") reaches the reducer as
// one change and emits once, 7 - 3 + 10 (KIP-904), not an intermediate 4.
func TestTableReduceAdderSubtractor(t *testing.T) {
	backends(t, func(t *testing.T, opts ...streamstest.Option) {
		b := dsl.NewBuilder()
		b.Table("stock", serde.String(), serde.Int64()).
			GroupBy(func(item string, n int64) (string, int64) { return "total", n }).
			Reduce(func(agg, v int64) int64 { return agg + v }, func(agg, v int64) int64 { return agg - v }).
			ToStream().To("total")
		d := streamstest.New(t, mustBuild(t, b), opts...)
		in := streamstest.Input(d, "stock", serde.String(), serde.Int64())
		out := streamstest.Output(d, "total", serde.String(), serde.Int64())
		in.PipeAt("apples", 3, at(1))
		in.PipeAt("pears", 4, at(2))
		in.PipeAt("apples", 10, at(3))
		expectRecords(t, out, rec("total", int64(3), 1), rec("total", int64(7), 2),
			rec("total", int64(14), 3))
	})
}

// KIP-904: a row updated within its group gives one result per aggregation, with the old value
// subtracted and the new one added together; a row moving between groups still gives two.
// Rows mapped to a null group key are in no group (dropped and counted, as Kafka Streams' skips
// them), and a table record with a null key changes no row.
func TestTableGroupBySameGroupUpdateIsOneChange(t *testing.T) {
	backends(t, func(t *testing.T, opts ...streamstest.Option) {
		b := dsl.NewBuilder()
		byRegion := b.Table("users", serde.JSON[*string](), serde.JSON[user]()).
			GroupBy(func(_ *string, u user) (*string, int64) {
				if u.Region == "" {
					return nil, u.Score
				}
				return &u.Region, u.Score
			}, dsl.WithSerdes(serde.JSON[*string](), serde.Int64()))
		byRegion.Count().ToStream().To("counts", dsl.WithSerdes(serde.JSON[*string](), serde.Int64()))
		byRegion.Aggregate(func() string { return "" },
			func(_ *string, n int64, agg string) string { return fmt.Sprintf("%s+%d", agg, n) },
			func(_ *string, n int64, agg string) string { return fmt.Sprintf("%s-%d", agg, n) },
			dsl.WithSerdes(serde.JSON[*string](), serde.String())).
			ToStream().To("history", dsl.WithSerdes(serde.JSON[*string](), serde.String()))
		d := streamstest.New(t, mustBuild(t, b), opts...)
		in := streamstest.Input(d, "users", serde.JSON[*string](), serde.JSON[user]())
		counts := streamstest.Output(d, "counts", serde.String(), serde.Int64())
		history := streamstest.Output(d, "history", serde.String(), serde.String())
		alice, bob := "alice", "bob"
		in.PipeAt(&alice, user{"eu", 1}, at(1))
		in.PipeAt(&alice, user{"eu", 2}, at(2)) // same group: one change
		in.PipeAt(&alice, user{"us", 3}, at(3)) // moves: eu then us
		in.PipeAt(&bob, user{"", 4}, at(4))     // null group: dropped
		in.PipeAt(nil, user{"us", 5}, at(5))    // null table key: dropped
		expectRecords(t, counts,
			rec(`"eu"`, int64(1), 1), rec(`"eu"`, int64(1), 2),
			rec(`"eu"`, int64(0), 3), rec(`"us"`, int64(1), 3))
		expectRecords(t, history,
			rec(`"eu"`, "+1", 1), rec(`"eu"`, "+1-1+2", 2),
			rec(`"eu"`, "+1-1+2-2", 3), rec(`"us"`, "+3", 3))
		if n := d.Dropped(); n != 2 {
			t.Errorf("dropped %d records, want 2 (a null group, a null table key)", n)
		}
	})
}

// A table source: the latest value per key, a tombstone deletes it; ToStream forwards every
// update, a delete as the zero value (nil for pointer types, which JSON writes as a null).
func TestTableSourceTombstones(t *testing.T) {
	backends(t, func(t *testing.T, opts ...streamstest.Option) {
		b := dsl.NewBuilder()
		b.Table("profiles", serde.String(), serde.JSON[*user](), dsl.Materialized("profiles-store")).
			ToStream().To("profiles-out")
		d := streamstest.New(t, mustBuild(t, b), opts...)
		in := streamstest.Input(d, "profiles", serde.String(), serde.JSON[*user]())
		out := streamstest.Output(d, "profiles-out", serde.String(), serde.Bytes())
		in.PipeAt("a", &user{"eu", 1}, at(1))
		in.PipeAt("a", nil, at(2)) // JSON[*user] writes nil as a Kafka null: a tombstone
		recs := out.ReadAll()
		if len(recs) != 2 || string(recs[0].Value) != `{"region":"eu","score":1}` || recs[1].Value != nil {
			t.Fatalf("outputs %q, want the row then a null", recs)
		}
		if _, ok := streamstest.KeyValueStore[string, *user](d, "profiles-store").Get("a"); ok {
			t.Error("tombstone did not delete the row")
		}
	})
}

// Kafka Streams' KTable.filter forwards a row that fails the predicate as a delete.
func TestTableFilterForwardsDeletes(t *testing.T) {
	backends(t, func(t *testing.T, opts ...streamstest.Option) {
		b := dsl.NewBuilder()
		b.Table("scores", serde.String(), serde.Int64()).
			Filter(func(_ string, v int64) bool { return v >= 10 }, dsl.Materialized("high")).
			ToStream().To("high-out")
		d := streamstest.New(t, mustBuild(t, b), opts...)
		in := streamstest.Input(d, "scores", serde.String(), serde.Int64())
		out := streamstest.Output(d, "high-out", serde.String(), serde.Bytes())
		in.PipeAt("a", 12, at(1))
		in.PipeAt("a", 3, at(2))
		recs := out.ReadAll()
		if len(recs) != 2 || recs[0].Value == nil || recs[1].Key != "a" {
			t.Fatalf("outputs %v", recs)
		}
		if got := streamstest.Map(streamstest.KeyValueStore[string, int64](d, "high")); len(got) != 0 {
			t.Errorf("filtered store %v, want empty after a fell below 10", got)
		}
	})
}

func TestStreamToTableWithNilDeletes(t *testing.T) {
	backends(t, func(t *testing.T, opts ...streamstest.Option) {
		b := dsl.NewBuilder()
		b.Stream("events", serde.String(), serde.JSON[*user]()).
			ToTable(dsl.Materialized("latest"))
		d := streamstest.New(t, mustBuild(t, b), opts...)
		in := streamstest.Input(d, "events", serde.String(), serde.JSON[*user]())
		in.PipeAt("a", &user{"eu", 1}, at(1))
		in.PipeAt("b", &user{"us", 2}, at(2))
		in.PipeAt("a", nil, at(3))
		got := streamstest.Map(streamstest.KeyValueStore[string, *user](d, "latest"))
		if len(got) != 1 || got["b"] == nil || got["b"].Region != "us" {
			t.Errorf("latest %v, want only b", got)
		}
	})
}

func TestGlobalTable(t *testing.T) {
	backends(t, func(t *testing.T, opts ...streamstest.Option) {
		b := dsl.NewBuilder()
		g := b.GlobalTable("customers", serde.String(), serde.String(), dsl.Materialized("customers-store"))
		b.Stream("orders", serde.String(), serde.String()).To("sink")
		topo := mustBuild(t, b)
		want := "Topologies:\n" +
			"   Sub-topology: 0 for global store (will not generate tasks)\n" +
			"    Source: KSTREAM-SOURCE-0000000000 (topics: [customers])\n" +
			"      --> KTABLE-SOURCE-0000000001\n" +
			"    Processor: KTABLE-SOURCE-0000000001 (stores: [customers-store])\n" +
			"      --> none\n" +
			"      <-- KSTREAM-SOURCE-0000000000\n" +
			"  Sub-topology: 1\n" +
			"    Source: KSTREAM-SOURCE-0000000002 (topics: [orders])\n" +
			"      --> KSTREAM-SINK-0000000003\n" +
			"    Sink: KSTREAM-SINK-0000000003 (topic: sink)\n" +
			"      <-- KSTREAM-SOURCE-0000000002\n\n"
		if got := topo.Describe().String(); got != want {
			t.Errorf("got:\n%s\nwant:\n%s", got, want)
		}
		d := streamstest.New(t, topo, append(opts, streamstest.WithPartitions(3))...)
		in := streamstest.Input(d, "customers", serde.String(), serde.String())
		for _, id := range []string{"c1", "c2", "c3", "c4"} {
			in.Pipe(id, "name-"+id)
		}
		if err := in.PipeRaw([]byte("c2"), nil, at(0)); err != nil {
			t.Fatal(err)
		}
		all := streamstest.KeyValueStore[string, string](d, g.StoreName()).All()
		var keys []string
		for _, kv := range all {
			keys = append(keys, kv.Key)
		}
		sort.Strings(keys)
		if strings.Join(keys, ",") != "c1,c3,c4" {
			t.Errorf("global store keys %v, want every partition's but the deleted c2", keys)
		}
	})
}

// Kafka Streams refuses two repartition topics of the same name (RepartitionTopicNamingTest).
func TestDuplicateRepartitionNameFails(t *testing.T) {
	b := dsl.NewBuilder()
	b.Stream("topic", serde.String(), serde.String()).SelectKey(func(k, _ string) string { return k }).
		GroupByKey(dsl.Named("grouping")).Count().ToStream()
	b.Stream("topicII", serde.String(), serde.String()).SelectKey(func(k, _ string) string { return k }).
		GroupByKey(dsl.Named("grouping")).Count().ToStream()
	_, err := b.Build()
	if !errors.Is(err, topology.ErrDuplicateName) {
		t.Fatalf("want ErrDuplicateName, got %v", err)
	}
}

// One named grouping feeds two aggregations through one repartition topic.
func TestNamedGroupingSharesRepartition(t *testing.T) {
	b := dsl.NewBuilder()
	g := b.Stream("topic", serde.String(), serde.String()).SelectKey(func(k, _ string) string { return k }).
		GroupByKey(dsl.Named("grouping"))
	g.Count().ToStream().To("c")
	g.Reduce(func(a, v string) string { return a + v }).ToStream().To("r")
	topo := mustBuild(t, b)
	if n := strings.Count(topo.Describe().String(), "(topic: grouping-repartition)"); n != 1 {
		t.Errorf("%d sinks to grouping-repartition, want 1:\n%s", n, topo.Describe())
	}
}
