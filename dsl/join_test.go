package dsl_test

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/rillstreams/rill/dsl"
	"github.com/rillstreams/rill/serde"
	"github.com/rillstreams/rill/streamstest"
	"github.com/rillstreams/rill/windows"
)

// Wiring of joins: repartitioning, co-partition groups, value getters, materialized
// results, null keys and build errors. Semantics are in the data-driven files.

func concat(_ string, a, b string) string { return a + "+" + b }

// A Named join repartitions re-keyed inputs through "<name>-left-repartition" and
// "<name>-right-repartition" (Kafka Streams' KStreamImpl.doJoin), and records the
// repartition topics as a co-partition group.
func TestStreamJoinRepartitionNamed(t *testing.T) {
	b := dsl.NewBuilder()
	l := b.Stream("l", serde.String(), serde.String()).SelectKey(func(_, v string) string { return v })
	r := b.Stream("r", serde.String(), serde.String()).SelectKey(func(_, v string) string { return v })
	l.Join(r, concat, windows.JoinWithin(time.Second), dsl.Named("j")).To("out")
	topo := mustBuild(t, b)
	for _, topic := range []string{"j-left-repartition", "j-right-repartition"} {
		if _, ok := topo.InternalTopics()[topic]; !ok {
			t.Errorf("no internal topic %s in %v", topic, topo.InternalTopics())
		}
	}
	names := nodeNames(topo)
	for _, n := range []string{"j-left-repartition-sink", "j-left-repartition-source", "j-right-repartition-filter",
		"j-this-windowed", "j-other-windowed", "j-this-join", "j-other-join", "j-merge"} {
		if !slices.Contains(names, n) {
			t.Errorf("no node %s in %v", n, names)
		}
	}
	if g := topo.CopartitionGroups(); len(g) != 1 || !slices.Equal(g[0], []string{"j-left-repartition", "j-right-repartition"}) {
		t.Errorf("co-partition groups %v", g)
	}
	// Named or not, store names come from the generated processor names (Kafka Streams).
	_, sub := describeNode(t, topo, "j-this-join")
	n, _ := describeNode(t, topo, "j-this-join")
	if sub != 2 || len(n.Stores) != 1 || !strings.HasPrefix(n.Stores[0], "KSTREAM-JOINOTHER-") {
		t.Errorf("j-this-join in sub-topology %d with stores %v", sub, n.Stores)
	}
}

// A re-keyed stream joined twice is repartitioned once.
func TestStreamJoinRepartitionOnce(t *testing.T) {
	b := dsl.NewBuilder()
	l := b.Stream("l", serde.String(), serde.String()).SelectKey(func(_, v string) string { return v })
	r1 := b.Stream("r1", serde.String(), serde.String())
	r2 := b.Stream("r2", serde.String(), serde.String())
	l.Join(r1, concat, windows.JoinWithin(time.Second)).To("out1")
	l.Join(r2, concat, windows.JoinWithin(time.Second)).To("out2")
	topo := mustBuild(t, b)
	if n := len(topo.InternalTopics()); n != 1 {
		t.Errorf("internal topics %v, want one repartition", topo.InternalTopics())
	}
	d := streamstest.New(t, topo, streamstest.WithPartitions(2))
	strIn(d, "l").PipeAt("x", "k", at(1))
	strIn(d, "r1").PipeAt("k", "a", at(2))
	strIn(d, "r2").PipeAt("k", "b", at(3))
	expectRecords(t, strOut(d, "out1"), rec("k", "k+a", 2))
	expectRecords(t, strOut(d, "out2"), rec("k", "k+b", 3))
}

// A re-keyed stream joined with a table goes through "<node>-repartition" first, so that
// with several partitions each record meets its key's row.
func TestStreamTableJoinRepartition(t *testing.T) {
	backends(t, func(t *testing.T, opts ...streamstest.Option) {
		b := dsl.NewBuilder()
		clicks := b.Stream("clicks", serde.String(), serde.String()).
			SelectKey(func(_, user string) string { return user })
		users := b.Table("users", serde.String(), serde.String())
		clicks.LeftJoinTable(users, func(_ string, c, u string, found bool) string {
			if !found {
				return c + "+?"
			}
			return c + "+" + u
		}).To("enriched")
		topo := mustBuild(t, b)
		if _, ok := topo.InternalTopics()["KSTREAM-KEY-SELECT-0000000001-repartition"]; !ok {
			t.Fatalf("internal topics %v", topo.InternalTopics())
		}
		if g := topo.CopartitionGroups(); len(g) != 1 || !slices.Equal(g[0], []string{"KSTREAM-KEY-SELECT-0000000001-repartition", "users"}) {
			t.Errorf("co-partition groups %v", g)
		}
		d := streamstest.New(t, topo, append(opts, streamstest.WithPartitions(3))...)
		usersIn := strIn(d, "users")
		for i := range 10 {
			usersIn.PipeAt(fmt.Sprintf("u%d", i), fmt.Sprintf("User%d", i), at(1))
		}
		clicksIn := strIn(d, "clicks")
		for i := range 12 {
			clicksIn.PipeAt(fmt.Sprintf("c%d", i), fmt.Sprintf("u%d", i), at(int64(10+i)))
		}
		got := map[string]string{}
		for _, r := range strOut(d, "enriched").ReadAll() {
			got[r.Key] = r.Value
		}
		for i := range 12 {
			u := fmt.Sprintf("u%d", i)
			want := fmt.Sprintf("u%d+User%d", i, i)
			if i >= 10 {
				want = u + "+?"
			}
			if got[u] != want {
				t.Errorf("%s: %q, want %q", u, got[u], want)
			}
		}
	})
}

// Table-table and foreign-key joins record their co-partition groups: the two tables' topics
// for a primary-key join; for a foreign-key join, the right table with the subscription topic
// and the left table with the response topic.
func TestTableJoinCopartitionGroups(t *testing.T) {
	b := dsl.NewBuilder()
	l := b.Table("l", serde.String(), serde.String())
	r := b.Table("r", serde.String(), serde.String())
	l.Join(r, concat)
	l.JoinOnForeignKey(r, func(_, v string) string { return v }, concat, dsl.Named("fk"))
	topo := mustBuild(t, b)
	want := [][]string{{"l", "r"}, {"fk-subscription-registration-topic", "r"}, {"fk-subscription-response-topic", "l"}}
	if got := topo.CopartitionGroups(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("co-partition groups %v, want %v", got, want)
	}
	// The global table of a global join is in none.
	b = dsl.NewBuilder()
	g := b.GlobalTable("g", serde.String(), serde.String())
	b.Stream("s", serde.String(), serde.String()).JoinGlobal(g, func(k, _ string) string { return k }, concat).To("out")
	if groups := mustBuild(t, b).CopartitionGroups(); len(groups) != 0 {
		t.Errorf("global join co-partition groups %v", groups)
	}
}

// A filtered or mapped table without a store of its own is read through its source's store
// (Kafka Streams' value getters): the join processor is connected to the source's store and
// sees only rows that pass the filter, mapped.
func TestJoinReadsDerivedTableThroughParent(t *testing.T) {
	backends(t, func(t *testing.T, opts ...streamstest.Option) {
		b := dsl.NewBuilder()
		prices := b.Table("prices", serde.String(), serde.String(), dsl.Materialized("prices-store"))
		cheap := prices.Filter(func(_, p string) bool { return len(p) < 3 }).
			MapValues(func(_, p string) string { return "$" + p })
		b.Stream("orders", serde.String(), serde.String()).
			JoinTable(cheap, concat, dsl.Named("enrich")).To("out")
		topo := mustBuild(t, b)
		n, _ := describeNode(t, topo, "enrich")
		if !slices.Equal(n.Stores, []string{"prices-store"}) {
			t.Errorf("join connected to stores %v, want [prices-store]", n.Stores)
		}
		d := streamstest.New(t, topo, opts...)
		strIn(d, "prices").PipeAt("a", "10", at(1))
		strIn(d, "prices").PipeAt("b", "1000", at(1))
		orders := strIn(d, "orders")
		orders.PipeAt("a", "o1", at(2))
		orders.PipeAt("b", "o2", at(3))
		expectRecords(t, strOut(d, "out"), rec("a", "o1+$10", 2))
	})
}

// A materialized join result is queryable, and its old values are right when a downstream
// aggregation asks for them: re-grouping the joined table by value and counting moves rows
// between groups as joined values change.
func TestTableJoinMaterializedAndOldValues(t *testing.T) {
	backends(t, func(t *testing.T, opts ...streamstest.Option) {
		b := dsl.NewBuilder()
		l := b.Table("l", serde.String(), serde.String())
		r := b.Table("r", serde.String(), serde.String())
		joined := l.LeftJoin(r, func(_ string, v, vo string, found bool) string {
			if !found {
				return v + "+none"
			}
			return v + "+" + vo
		}, dsl.Materialized("joined"))
		joined.GroupBy(func(_, v string) (string, string) { return v, v }).Count(dsl.Materialized("counts"))
		d := streamstest.New(t, mustBuild(t, b), opts...)
		li, ri := strIn(d, "l"), strIn(d, "r")
		li.PipeAt("k1", "a", at(1))
		li.PipeAt("k2", "a", at(2))
		ri.PipeAt("k1", "x", at(3))
		li.PipeAt("k2", "b", at(4))
		ri.PipeAt("k1", "y", at(5))
		if err := li.PipeRaw([]byte("k2"), nil, at(6)); err != nil {
			t.Fatal(err)
		}
		rows := streamstest.Map(streamstest.KeyValueStore[string, string](d, "joined"))
		if fmt.Sprint(rows) != "map[k1:a+y]" {
			t.Errorf("joined store %v, want map[k1:a+y]", rows)
		}
		row, _ := streamstest.KeyValueStore[string, string](d, "joined").GetWithTimestamp("k1")
		if row.Timestamp != 5 {
			t.Errorf("k1 row timestamp %d, want 5", row.Timestamp)
		}
		counts := streamstest.Map(streamstest.KeyValueStore[string, int64](d, "counts"))
		want := map[string]int64{"a+none": 0, "a+x": 0, "b+none": 0, "a+y": 1}
		for k, n := range want {
			if counts[k] != n {
				t.Errorf("count of %s = %d, want %d (all: %v)", k, counts[k], n, counts)
			}
		}
	})
}

// A foreign-key join over several partitions: subscriptions and responses cross partitions
// through the internal topics and every row ends up joined with its foreign row.
func TestForeignKeyJoinPartitioned(t *testing.T) {
	backends(t, func(t *testing.T, opts ...streamstest.Option) {
		b := dsl.NewBuilder()
		orders := b.Table("orders", serde.String(), serde.String())       // order -> customer id
		customers := b.Table("customers", serde.String(), serde.String()) // customer -> name
		orders.LeftJoinOnForeignKey(customers, func(_, c string) string { return c },
			func(_ string, c, name string, found bool) string {
				if !found {
					return c + ":?"
				}
				return c + ":" + name
			}, dsl.Materialized("order-customers"))
		d := streamstest.New(t, mustBuild(t, b), append(opts, streamstest.WithPartitions(3))...)
		oi, ci := strIn(d, "orders"), strIn(d, "customers")
		for i := range 8 {
			ci.PipeAt(fmt.Sprintf("c%d", i), fmt.Sprintf("Name%d", i), at(1))
		}
		for i := range 20 {
			oi.PipeAt(fmt.Sprintf("o%02d", i), fmt.Sprintf("c%d", i%10), at(2))
		}
		ci.PipeAt("c3", "Renamed3", at(3))                           // every order of c3 follows
		oi.PipeAt("o00", "c1", at(4))                                // o00 moves from c0 to c1
		if err := ci.PipeRaw([]byte("c2"), nil, at(5)); err != nil { // c2 is deleted
			t.Fatal(err)
		}
		rows := streamstest.Map(streamstest.KeyValueStore[string, string](d, "order-customers"))
		var bad []string
		for i := range 20 {
			o := fmt.Sprintf("o%02d", i)
			c := i % 10
			if o == "o00" {
				c = 1
			}
			want := fmt.Sprintf("c%d:Name%d", c, c)
			switch {
			case c == 3:
				want = "c3:Renamed3"
			case c == 2 || c >= 8:
				want = fmt.Sprintf("c%d:?", c)
			}
			if rows[o] != want {
				bad = append(bad, fmt.Sprintf("%s=%q (want %q)", o, rows[o], want))
			}
		}
		sort.Strings(bad)
		if len(bad) > 0 || len(rows) != 20 {
			t.Errorf("%d rows; wrong: %v", len(rows), bad)
		}
	})
}

// Nil keys (Kafka's null) cannot join: inner joins drop and count them; the outer side of a
// left join emits them unmatched at once; a nil mapped key of a left global join is unmatched.
func TestJoinNilKeys(t *testing.T) {
	ps := func(s string) *string { return &s }
	b := dsl.NewBuilder()
	l := b.Stream("l", serde.JSON[*string](), serde.String())
	r := b.Stream("r", serde.JSON[*string](), serde.String())
	w := windows.JoinWithin(time.Second)
	l.Join(r, func(_ *string, a, b string) string { return a + "+" + b }, w).
		To("inner", dsl.WithSerdes(serde.JSON[*string](), serde.String()))
	l.LeftJoin(r, func(_ *string, a, b string, found bool) string { return fmt.Sprintf("%s+%s/%v", a, b, found) }, w).
		To("left", dsl.WithSerdes(serde.JSON[*string](), serde.String()))
	g := b.GlobalTable("g", serde.JSON[*string](), serde.String())
	b.Stream("s", serde.String(), serde.String()).
		LeftJoinGlobal(g, func(_, v string) *string {
			if v == "" {
				return nil
			}
			return &v
		}, func(_ string, v, gv string, found bool) string { return fmt.Sprintf("%s+%s/%v", v, gv, found) }).
		To("global")
	d := streamstest.New(t, mustBuild(t, b))
	li := streamstest.Input(d, "l", serde.JSON[*string](), serde.String())
	li.PipeAt(nil, "a", at(1))
	li.PipeAt(ps("k"), "b", at(2))
	streamstest.Input(d, "r", serde.JSON[*string](), serde.String()).PipeAt(nil, "x", at(3))
	streamstest.Input(d, "g", serde.JSON[*string](), serde.String()).PipeAt(ps("g1"), "G1", at(1))
	si := strIn(d, "s")
	si.PipeAt("s1", "", at(4))
	si.PipeAt("s2", "g1", at(5))

	if out := streamstest.Output(d, "inner", serde.JSON[*string](), serde.String()).ReadAll(); len(out) != 0 {
		t.Errorf("inner join emitted %v", out)
	}
	left := streamstest.Output(d, "left", serde.JSON[*string](), serde.String()).ReadAll()
	if len(left) != 1 || left[0].Key != nil || left[0].Value != "a+/false" || left[0].Time.UnixMilli() != 1 {
		t.Errorf("left join emitted %v, want the nil-keyed record unmatched at once", left)
	}
	expectRecords(t, strOut(d, "global"), rec("s1", "+/false", 4), rec("s2", "g1+G1/true", 5))
	// Dropped: the inner join's nil-keyed left and right records, the left join's right one.
	if n := d.Dropped(); n != 3 {
		t.Errorf("dropped %d records, want 3", n)
	}
}

func TestJoinBuildErrors(t *testing.T) {
	type noSerde struct{ X int }
	cases := []struct {
		name  string
		build func(b *dsl.Builder)
		is    error
		text  string
	}{
		{"invalid window", func(b *dsl.Builder) {
			l := b.Stream("l", serde.String(), serde.String())
			l.Join(l, concat, windows.JoinWithin(time.Second, windows.Before(-2*time.Second))).To("out")
		}, windows.ErrInvalidWindow, ""},
		{"missing value serde", func(b *dsl.Builder) {
			l := b.Stream("l", serde.String(), serde.String())
			r := b.Stream("r", serde.String(), serde.String()).MapValues(func(_, v string) noSerde { return noSerde{} })
			l.Join(r, func(_ string, a string, _ noSerde) string { return a }, windows.JoinWithin(time.Second)).To("out")
		}, dsl.ErrMissingSerde, ""},
		{"wrong join serde types", func(b *dsl.Builder) {
			l := b.Stream("l", serde.String(), serde.String())
			l.Join(l, concat, windows.JoinWithin(time.Second), dsl.WithJoinSerdes(serde.String(), serde.Int64(), serde.String())).To("out")
		}, dsl.ErrSerdeType, ""},
		{"other builder", func(b *dsl.Builder) {
			l := b.Stream("l", serde.String(), serde.String())
			r := dsl.NewBuilder().Stream("r", serde.String(), serde.String())
			l.Join(r, concat, windows.JoinWithin(time.Second)).To("out")
		}, nil, "another builder"},
		{"other builder's table", func(b *dsl.Builder) {
			tbl := dsl.NewBuilder().Table("t", serde.String(), serde.String())
			b.Stream("l", serde.String(), serde.String()).JoinTable(tbl, concat).To("out")
		}, nil, "another builder"},
		{"foreign-key join without serdes", func(b *dsl.Builder) {
			l := b.Table("l", serde.String(), serde.String()).MapValues(func(_, v string) noSerde { return noSerde{} })
			r := b.Table("r", serde.String(), serde.String())
			l.JoinOnForeignKey(r, func(_ string, _ noSerde) string { return "" }, func(_ string, _ noSerde, vo string) string { return vo })
		}, dsl.ErrMissingSerde, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := dsl.NewBuilder()
			c.build(b)
			err := buildErr(t, b)
			if c.is != nil && !errors.Is(err, c.is) {
				t.Errorf("error %v, want %v", err, c.is)
			}
			if !strings.HasPrefix(err.Error(), "rill: ") || !strings.Contains(err.Error(), c.text) {
				t.Errorf("error %q, want a rill: error containing %q", err, c.text)
			}
		})
	}
}

// A join result without a store of its own is read by a later join through both joined
// tables (Kafka Streams' KTableKTableJoinMerger value getter): here a stream looks up a left
// join of two tables.
func TestStreamJoinsUnmaterializedTableJoin(t *testing.T) {
	backends(t, func(t *testing.T, opts ...streamstest.Option) {
		b := dsl.NewBuilder()
		users := b.Table("users", serde.String(), serde.String())
		plans := b.Table("plans", serde.String(), serde.String())
		profiles := users.LeftJoin(plans, func(_ string, u, p string, found bool) string {
			if !found {
				p = "free"
			}
			return u + "/" + p
		})
		b.Stream("visits", serde.String(), serde.String()).
			LeftJoinTable(profiles, func(_ string, v, p string, found bool) string { return fmt.Sprintf("%s@%s/%v", v, p, found) }).
			To("out")
		topo := mustBuild(t, b)
		n, _ := describeNode(t, topo, "KSTREAM-LEFTJOIN-0000000010")
		if len(n.Stores) != 2 {
			t.Errorf("lookup connected to %v, want both tables' stores", n.Stores)
		}
		d := streamstest.New(t, topo, opts...)
		strIn(d, "users").PipeAt("u1", "Ann", at(1))
		strIn(d, "users").PipeAt("u2", "Bob", at(1))
		strIn(d, "plans").PipeAt("u2", "pro", at(2))
		strIn(d, "plans").PipeAt("u3", "pro", at(2)) // no user: no profile
		visits := strIn(d, "visits")
		visits.PipeAt("u1", "home", at(3))
		visits.PipeAt("u2", "cart", at(4))
		visits.PipeAt("u3", "faq", at(5))
		expectRecords(t, strOut(d, "out"),
			rec("u1", "home@Ann/free/true", 3), rec("u2", "cart@Bob/pro/true", 4), rec("u3", "faq@/false", 5))
	})
}
