package dsl_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/rillstreams/rill/dsl"
	"github.com/rillstreams/rill/serde"
	"github.com/rillstreams/rill/streamstest"
)

// asOf checks a versioned store's answers as of each time: want "" means no version.
func asOf[V comparable](t *testing.T, v *streamstest.VersionedView[string, V], key string, cases map[int64]V) {
	t.Helper()
	var zero V
	for ts, want := range cases {
		r, ok := v.GetAsOf(key, at(ts))
		got := zero
		if ok {
			got = r.Value
		}
		if got != want {
			t.Errorf("%s as of %d: %v, want %v", key, ts, got, want)
		}
	}
}

// A filtered table materialized as versioned (Kafka Streams' KTableFilter with a versioned
// store): each change is put at its timestamp; one older than the store's latest version goes
// into history and is forwarded marked not-latest, so ToStream emits it and a table-table join
// ignores it; a filtered-out row is a tombstone version; a change older than history retention
// is dropped and counted. A stream-table join reads the filtered table as of each record.
func TestVersionedFilter(t *testing.T) {
	backends(t, func(t *testing.T, opts ...streamstest.Option) {
		b := dsl.NewBuilder()
		prices := b.Table("prices", serde.String(), serde.String())
		cheap := prices.Filter(func(_ string, v string) bool { return v[0] == 'p' },
			dsl.Materialized("cheap").WithVersioned(12*time.Millisecond))
		cheap.ToStream().To("changes", dsl.WithSerdes(serde.String(), serde.String()))
		other := b.Table("other", serde.String(), serde.String())
		cheap.Join(other, func(_ string, p, o string) string { return p + "+" + o }).
			ToStream().To("joined", dsl.WithSerdes(serde.String(), serde.String()))
		b.Stream("orders", serde.String(), serde.String()).
			LeftJoinTable(cheap, func(_ string, o, p string, found bool) string {
				if !found {
					return o + "+none"
				}
				return o + "+" + p
			}).To("orders-out", dsl.WithSerdes(serde.String(), serde.String()))
		d := streamstest.New(t, mustBuild(t, b), append(opts, streamstest.WithCacheMaxBytes(-1))...)
		in := streamstest.Input(d, "prices", serde.String(), serde.Bytes())
		streamstest.Input(d, "other", serde.String(), serde.Bytes()).PipeAt("a", []byte("o"), at(0))
		in.PipeAt("a", []byte("p10"), at(10))
		in.PipeAt("a", []byte("p20"), at(20))
		in.PipeAt("a", []byte("p15"), at(15)) // out of order: history, not latest
		in.PipeAt("a", []byte("x5"), at(5))   // filtered out, older than 20 - 12: dropped
		in.PipeAt("a", []byte("x12"), at(12)) // filtered out, out of order: a tombstone version
		vs := streamstest.VersionedStore[string, string](d, "cheap")
		if r, ok := vs.Get("a"); !ok || r.Value != "p20" || r.Timestamp != 20 {
			t.Fatalf("latest of a: %+v %v, want p20@20", r, ok)
		}
		asOf(t, vs, "a", map[int64]string{9: "", 10: "p10", 11: "p10", 12: "", 14: "", 15: "p15", 19: "p15", 20: "p20", 99: "p20"})
		orders := streamstest.Input(d, "orders", serde.String(), serde.String())
		orders.PipeAt("a", "o17", at(17))
		orders.PipeAt("a", "o13", at(13))
		in.PipeAt("a", []byte("x25"), at(25)) // filtered out, the latest: a delete downstream
		in.PipeAt("a", nil, at(30))           // a source tombstone
		wantLines(t, "changes", readLines(d, "changes"),
			"a=p10@10", "a=p20@20", "a=p15@15", "a=null@12", "a=null@25", "a=null@30")
		wantLines(t, "joined", readLines(d, "joined"),
			"a=p10+o@10", "a=p20+o@20", "a=null@25", "a=null@30")
		wantLines(t, "orders-out", readLines(d, "orders-out"), "a=o17+p15@17", "a=o13+none@13")
		if got := d.Dropped(); got != 1 {
			t.Fatalf("dropped %d records, want 1 (the change older than history retention)", got)
		}
		// Stream time 30: as of 17 is past history retention; the latest is a tombstone.
		asOf(t, vs, "a", map[int64]string{17: "", 18: "p15", 19: "p15", 20: "p20", 24: "p20", 25: "", 30: ""})
	})
}

// A mapped table materialized as versioned, derived from a versioned source: an out-of-order
// source update stays out of the mapped store's latest and is skipped by GroupBy, whose
// versioned count keeps every count's history.
func TestVersionedMapValues(t *testing.T) {
	backends(t, func(t *testing.T, opts ...streamstest.Option) {
		b := dsl.NewBuilder()
		prices := b.Table("prices", serde.String(), serde.String(),
			dsl.Materialized("prices-store").WithVersioned(time.Minute))
		upper := prices.MapValues(func(_ string, v string) string { return "P" + v },
			dsl.Materialized("upper").WithVersioned(time.Minute))
		upper.ToStream().To("changes", dsl.WithSerdes(serde.String(), serde.String()))
		upper.GroupBy(func(k, v string) (string, string) { return v, k }).
			Count(dsl.Materialized("counts").WithVersioned(time.Minute))
		d := streamstest.New(t, mustBuild(t, b), append(opts, streamstest.WithCacheMaxBytes(-1))...)
		in := streamstest.Input(d, "prices", serde.String(), serde.Bytes())
		in.PipeAt("a", []byte("10"), at(10))
		in.PipeAt("a", []byte("20"), at(20))
		in.PipeAt("a", []byte("15"), at(15)) // not latest: not regrouped
		in.PipeAt("b", []byte("15"), at(16))
		in.PipeAt("a", nil, at(30))
		wantLines(t, "changes", readLines(d, "changes"),
			"a=P10@10", "a=P20@20", "a=P15@15", "b=P15@16", "a=null@30")
		mapped := streamstest.VersionedStore[string, string](d, "upper")
		if r, ok := mapped.Get("a"); ok {
			t.Fatalf("latest of a: %+v, want the tombstone of 30", r)
		}
		asOf(t, mapped, "a", map[int64]string{10: "P10", 14: "P10", 15: "P15", 19: "P15", 20: "P20", 29: "P20", 30: ""})
		counts := streamstest.VersionedStore[string, int64](d, "counts")
		asOf(t, counts, "P10", map[int64]int64{9: 0, 10: 1, 19: 1, 20: 0})
		asOf(t, counts, "P20", map[int64]int64{19: 0, 20: 1, 29: 1, 30: 0})
		asOf(t, counts, "P15", map[int64]int64{15: 0, 16: 1, 99: 1}) // a's P15 was not counted
	})
}

// Table-table joins materialized as versioned (Kafka Streams' KTableKTableJoinMerger with a
// versioned store): a joined row computed from an out-of-order update goes into the store's
// history and reaches ToStream marked not-latest, instead of replacing the latest row.
func TestVersionedTableTableJoins(t *testing.T) {
	for _, c := range []struct {
		kind string
		join func(l, r *dsl.Table[string, string], opts ...dsl.TableOption) *dsl.Table[string, string]
		// first: the outer join's row of the right row alone; deleted: after the right
		// row's delete at 25, which meets the left source's latest row, L15 (the left source
		// is not versioned)
		first, deleted string
	}{
		{"inner", func(l, r *dsl.Table[string, string], opts ...dsl.TableOption) *dsl.Table[string, string] {
			return l.Join(r, func(_ string, a, b string) string { return a + "+" + b }, opts...)
		}, "", "a=null@25"},
		{"left", func(l, r *dsl.Table[string, string], opts ...dsl.TableOption) *dsl.Table[string, string] {
			return l.LeftJoin(r, func(_ string, a, b string, found bool) string {
				if !found {
					b = "none"
				}
				return a + "+" + b
			}, opts...)
		}, "", "a=L15+none@25"},
		{"outer", func(l, r *dsl.Table[string, string], opts ...dsl.TableOption) *dsl.Table[string, string] {
			return l.OuterJoin(r, func(_ string, a string, hasA bool, b string, hasB bool) string {
				if !hasB {
					b = "none"
				}
				return a + "+" + b
			}, opts...)
		}, "a=+R@5", "a=L15+none@25"},
	} {
		t.Run(c.kind, func(t *testing.T) {
			backends(t, func(t *testing.T, opts ...streamstest.Option) {
				b := dsl.NewBuilder()
				l := b.Table("l", serde.String(), serde.String())
				r := b.Table("r", serde.String(), serde.String())
				c.join(l, r, dsl.Materialized("joined").WithVersioned(time.Minute)).
					ToStream().To("out", dsl.WithSerdes(serde.String(), serde.String()))
				d := streamstest.New(t, mustBuild(t, b), append(opts, streamstest.WithCacheMaxBytes(-1))...)
				lin := streamstest.Input(d, "l", serde.String(), serde.Bytes())
				rin := streamstest.Input(d, "r", serde.String(), serde.Bytes())
				rin.PipeAt("a", []byte("R"), at(5))
				lin.PipeAt("a", []byte("L10"), at(10))
				lin.PipeAt("a", []byte("L20"), at(20))
				lin.PipeAt("a", []byte("L15"), at(15)) // the joined row of 15 is not the latest
				js := streamstest.VersionedStore[string, string](d, "joined")
				if got, ok := js.Get("a"); !ok || got.Value != "L20+R" {
					t.Fatalf("latest joined row of a: %+v %v, want L20+R", got, ok)
				}
				rin.PipeAt("a", nil, at(25))
				want := []string{"a=L10+R@10", "a=L20+R@20", "a=L15+R@15", c.deleted}
				if c.first != "" {
					want = append([]string{c.first}, want...)
				}
				wantLines(t, "out", readLines(d, "out"), want...)
				rows := map[int64]string{10: "L10+R", 14: "L10+R", 15: "L15+R", 19: "L15+R", 20: "L20+R", 24: "L20+R", 25: ""}
				if c.kind != "inner" {
					rows[25] = "L15+none"
				}
				asOf(t, js, "a", rows)
			})
		})
	}
}

// A versioned aggregation (Kafka Streams' KStreamAggregate with a versioned store): the
// aggregate's timestamp never goes back, so every update is the latest; the first record of a
// key older than observed stream time minus history retention is refused by the store and
// dropped, as Kafka Streams forwards nothing for a put that was not stored.
func TestVersionedStreamAggregation(t *testing.T) {
	backends(t, func(t *testing.T, opts ...streamstest.Option) {
		b := dsl.NewBuilder()
		b.Stream("s", serde.String(), serde.String()).GroupByKey().
			Count(dsl.Materialized("counts").WithVersioned(5*time.Millisecond)).
			ToStream().To("out", dsl.WithSerdes(serde.String(), serde.Int64()))
		d := streamstest.New(t, mustBuild(t, b), append(opts, streamstest.WithCacheMaxBytes(-1))...)
		in := streamstest.Input(d, "s", serde.String(), serde.String())
		in.PipeAt("a", "x", at(10))
		in.PipeAt("a", "x", at(20))
		in.PipeAt("a", "x", at(15)) // counted at 20, the aggregate's time
		in.PipeAt("b", "x", at(10)) // a new key older than 20 - 5: refused, dropped
		in.PipeAt("b", "x", at(30))
		var got []string
		for _, r := range streamstest.Output(d, "out", serde.String(), serde.Int64()).ReadAll() {
			got = append(got, fmt.Sprintf("%s=%d@%d", r.Key, r.Value, r.Time.UnixMilli()))
		}
		wantLines(t, "out", got, "a=1@10", "a=2@20", "a=3@20", "b=1@30")
		if d.Dropped() != 1 {
			t.Fatalf("dropped %d records, want 1", d.Dropped())
		}
		counts := streamstest.VersionedStore[string, int64](d, "counts")
		asOf(t, counts, "a", map[int64]int64{25: 3, 30: 3})
		asOf(t, counts, "b", map[int64]int64{29: 0, 30: 1})
	})
}

// A cogroup kept in a versioned store: both aggregators put into it, each update the latest.
func TestVersionedCogroup(t *testing.T) {
	b := dsl.NewBuilder()
	a := b.Stream("a", serde.String(), serde.String()).GroupByKey()
	c := b.Stream("c", serde.String(), serde.String()).GroupByKey()
	dsl.Cogroup(a, func(_ string, v, agg string) string { return agg + v }).
		Cogroup(c, func(_ string, v, agg string) string { return agg + "-" + v }).
		Aggregate(func() string { return "" }, dsl.Materialized("agg").WithVersioned(time.Minute)).
		ToStream().To("out", dsl.WithSerdes(serde.String(), serde.String()))
	d := streamstest.New(t, mustBuild(t, b), streamstest.WithCacheMaxBytes(-1))
	streamstest.Input(d, "a", serde.String(), serde.String()).PipeAt("k", "x", at(10))
	streamstest.Input(d, "c", serde.String(), serde.String()).PipeAt("k", "y", at(20))
	streamstest.Input(d, "a", serde.String(), serde.String()).PipeAt("k", "z", at(15))
	wantLines(t, "out", readLines(d, "out"), "k=x@10", "k=x-y@20", "k=x-yz@20")
	asOf(t, streamstest.VersionedStore[string, string](d, "agg"), "k", map[int64]string{9: "", 10: "x", 19: "x", 20: "x-yz"})
}

// A foreign-key join's result kept in a versioned store (its result processor is a table
// source, as Kafka Streams' KTableSource), read as of a time.
func TestVersionedForeignKeyJoin(t *testing.T) {
	b := dsl.NewBuilder()
	l := b.Table("l", serde.String(), serde.String())
	r := b.Table("r", serde.String(), serde.String())
	l.JoinOnForeignKey(r, func(_, v string) string { return v }, func(_, v, vo string) string { return v + "+" + vo },
		dsl.Materialized("fk").WithVersioned(time.Minute))
	d := streamstest.New(t, mustBuild(t, b), streamstest.WithCacheMaxBytes(-1))
	rin := streamstest.Input(d, "r", serde.String(), serde.String())
	lin := streamstest.Input(d, "l", serde.String(), serde.String())
	rin.PipeAt("x", "X1", at(5))
	lin.PipeAt("a", "x", at(10))
	rin.PipeAt("x", "X2", at(20))
	asOf(t, streamstest.VersionedStore[string, string](d, "fk"), "a", map[int64]string{9: "", 10: "x+X1", 19: "x+X1", 20: "x+X2"})
}

// A table derived from a versioned one but kept in a plain store is not versioned (Kafka
// Streams' rule): its store takes an out-of-order update as the key's row and forwards it as
// the latest, so a join downstream uses it, and Suppress is allowed.
func TestVersionedParentPlainStore(t *testing.T) {
	b := dsl.NewBuilder()
	prices := b.Table("prices", serde.String(), serde.String(),
		dsl.Materialized("prices-store").WithVersioned(time.Minute))
	plain := prices.MapValues(func(_ string, v string) string { return v }, dsl.Materialized("plain"))
	other := b.Table("other", serde.String(), serde.String())
	plain.Join(other, func(_ string, p, o string) string { return p + "+" + o }).
		ToStream().To("joined", dsl.WithSerdes(serde.String(), serde.String()))
	plain.Suppress(dsl.UntilTimeLimit(time.Second, dsl.Unbounded()))
	d := streamstest.New(t, mustBuild(t, b), streamstest.WithCacheMaxBytes(-1))
	streamstest.Input(d, "other", serde.String(), serde.String()).PipeAt("a", "o", at(0))
	in := streamstest.Input(d, "prices", serde.String(), serde.String())
	in.PipeAt("a", "p20", at(20))
	in.PipeAt("a", "p15", at(15))
	wantLines(t, "joined", readLines(d, "joined"), "a=p20+o@20", "a=p15+o@15")
	if v, _ := streamstest.KeyValueStore[string, string](d, "plain").Get("a"); v != "p15" {
		t.Fatalf("plain store row of a: %q, want p15", v)
	}
}
