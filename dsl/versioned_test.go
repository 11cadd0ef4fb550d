package dsl_test

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/rillstreams/rill/dsl"
	"github.com/rillstreams/rill/serde"
	"github.com/rillstreams/rill/state"
	"github.com/rillstreams/rill/streamstest"
	"github.com/rillstreams/rill/windows"
)

func readLines(d *streamstest.Driver, topic string) []string {
	var out []string
	for _, r := range streamstest.Output(d, topic, serde.String(), serde.Bytes()).ReadAll() {
		v := "null"
		if r.Value != nil {
			v = string(r.Value)
		}
		out = append(out, fmt.Sprintf("%s=%s@%d", r.Key, v, r.Time.UnixMilli()))
	}
	return out
}

func wantLines(t *testing.T, what string, got []string, want ...string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Fatalf("%s:\ngot  %q\nwant %q", what, got, want)
	}
}

// KIP-914: a versioned table stores an out-of-order update in its history and forwards it
// marked as not the latest: ToStream emits it (as Kafka Streams' KTableSource forwards it),
// a table-table join ignores it; an update older than history retention is dropped and
// counted, and neither stored nor forwarded. Tombstones follow the same rules.
func TestVersionedTableOutOfOrder(t *testing.T) {
	backends(t, func(t *testing.T, opts ...streamstest.Option) {
		b := dsl.NewBuilder()
		prices := b.Table("prices", serde.String(), serde.String(),
			dsl.Materialized("prices-store").WithVersioned(12*time.Millisecond))
		prices.ToStream().To("changes", dsl.WithSerdes(serde.String(), serde.String()))
		other := b.Table("other", serde.String(), serde.String())
		prices.Join(other, func(_ string, p, o string) string { return p + "+" + o }).
			ToStream().To("joined", dsl.WithSerdes(serde.String(), serde.String()))
		d := streamstest.New(t, mustBuild(t, b), append(opts, streamstest.WithCacheMaxBytes(-1))...)
		in := streamstest.Input(d, "prices", serde.String(), serde.Bytes())
		streamstest.Input(d, "other", serde.String(), serde.Bytes()).PipeAt("a", []byte("o"), at(0))
		in.PipeAt("a", []byte("p10"), at(10))
		in.PipeAt("a", []byte("p20"), at(20))
		in.PipeAt("a", []byte("p15"), at(15)) // out of order, within retention
		in.PipeAt("a", []byte("p5"), at(5))   // older than 20 - 12: dropped
		in.PipeAt("a", nil, at(12))           // an out-of-order tombstone
		in.PipeAt("a", nil, at(25))           // the latest is a tombstone
		wantLines(t, "changes", readLines(d, "changes"),
			"a=p10@10", "a=p20@20", "a=p15@15", "a=null@12", "a=null@25")
		wantLines(t, "joined", readLines(d, "joined"),
			"a=p10+o@10", "a=p20+o@20", "a=null@25")
		if got := d.Dropped(); got != 1 {
			t.Fatalf("dropped %d records, want 1 (the update older than history retention)", got)
		}
		st, ok := d.Store("prices-store")
		if !ok {
			t.Fatal("no store prices-store")
		}
		vs := st.(*state.VersionedKeyValueStore[string, string])
		for _, c := range []struct {
			asOf int64
			want string
		}{
			{11, ""}, // older than 25 - 12: past history retention
			{13, ""}, // the tombstone of 12
			{15, "p15"}, {19, "p15"}, {20, "p20"}, {24, "p20"}, {25, ""}, {99, ""},
		} {
			r, ok, err := vs.GetAsOf("a", c.asOf)
			if err != nil {
				t.Fatal(err)
			}
			if got := map[bool]string{true: r.Value}[ok]; got != c.want {
				t.Fatalf("as of %d: %q, want %q", c.asOf, got, c.want)
			}
		}
	})
}

// A stream-table join against a versioned table reads the row as of each stream record's
// timestamp, not the latest one (KIP-914).
func TestStreamVersionedTableJoinAsOf(t *testing.T) {
	backends(t, func(t *testing.T, opts ...streamstest.Option) {
		b := dsl.NewBuilder()
		rates := b.Table("rates", serde.String(), serde.String(),
			dsl.Materialized("rates-store").WithVersioned(time.Minute))
		b.Stream("orders", serde.String(), serde.String()).
			LeftJoinTable(rates, func(_ string, o, r string, found bool) string {
				if !found {
					return o + "+none"
				}
				return o + "+" + r
			}).To("out", dsl.WithSerdes(serde.String(), serde.String()))
		d := streamstest.New(t, mustBuild(t, b), append(opts, streamstest.WithCacheMaxBytes(-1))...)
		rin := streamstest.Input(d, "rates", serde.String(), serde.String())
		oin := streamstest.Input(d, "orders", serde.String(), serde.String())
		rin.PipeAt("eur", "r1", at(10))
		rin.PipeAt("eur", "r2", at(20))
		oin.PipeAt("eur", "o1", at(15)) // as of 15: r1, though r2 is the latest
		oin.PipeAt("eur", "o2", at(25))
		oin.PipeAt("eur", "o3", at(5)) // before any rate
		wantLines(t, "out", readLines(d, "out"), "eur=o1+r1@15", "eur=o2+r2@25", "eur=o3+none@5")
	})
}

// KIP-923: with a grace period, stream records wait until stream time is the grace past
// them, then join as of their own timestamp, in timestamp order: a table update that arrives
// late but within the grace still meets the stream record it precedes. A record already
// older than stream time minus grace joins at once.
func TestStreamTableJoinGracePeriod(t *testing.T) {
	backends(t, func(t *testing.T, opts ...streamstest.Option) {
		b := dsl.NewBuilder()
		rates := b.Table("rates", serde.String(), serde.String(),
			dsl.Materialized("rates-store").WithVersioned(time.Minute))
		b.Stream("orders", serde.String(), serde.String()).
			JoinTable(rates, func(_ string, o, r string) string { return o + "+" + r },
				dsl.WithGracePeriod(10*time.Millisecond), dsl.Named("j")).
			To("out", dsl.WithSerdes(serde.String(), serde.String()))
		d := streamstest.New(t, mustBuild(t, b), append(opts, streamstest.WithCacheMaxBytes(-1))...)
		if _, ok := d.Store("j-Buffer"); !ok {
			t.Fatal("no buffer store j-Buffer")
		}
		rin := streamstest.Input(d, "rates", serde.String(), serde.String())
		oin := streamstest.Input(d, "orders", serde.String(), serde.String())
		oin.PipeAt("eur", "o1", at(100))
		oin.PipeAt("eur", "o0", at(95)) // buffered too, joins first
		wantLines(t, "out (buffered)", readLines(d, "out"))
		rin.PipeAt("eur", "r1", at(90)) // late, but before both orders
		oin.PipeAt("eur", "o2", at(105))
		wantLines(t, "out (o0 due at 105)", readLines(d, "out"), "eur=o0+r1@95")
		oin.PipeAt("eur", "o3", at(110))
		wantLines(t, "out (o1 due at 110)", readLines(d, "out"), "eur=o1+r1@100")
		oin.PipeAt("eur", "o4", at(80)) // older than 110 - 10: joined at once, as of 80
		rin.PipeAt("eur", "r0", at(70))
		oin.PipeAt("eur", "o5", at(75)) // at once, as of 75: r0
		wantLines(t, "out (late)", readLines(d, "out"), "eur=o5+r0@75")
		oin.PipeAt("x", "o6", at(200)) // stream time 200 flushes o2 (105) and o3 (110)
		wantLines(t, "out (flushed)", readLines(d, "out"), "eur=o2+r1@105", "eur=o3+r1@110")
	})
}

// Kafka Streams refuses a grace period against a table that is not versioned and suppress on
// a versioned table; only source tables and ToTable can be materialized as versioned here.
func TestVersionedBuildErrors(t *testing.T) {
	cases := map[string]func(b *dsl.Builder){
		"grace without versioned table": func(b *dsl.Builder) {
			tb := b.Table("t", serde.String(), serde.String())
			b.Stream("s", serde.String(), serde.String()).
				JoinTable(tb, func(_ string, a, b string) string { return a + b }, dsl.WithGracePeriod(time.Second))
		},
		"suppress of versioned": func(b *dsl.Builder) {
			b.Table("t", serde.String(), serde.String(), dsl.Materialized("v").WithVersioned(time.Second)).
				Filter(func(string, string) bool { return true }).
				Suppress(dsl.UntilTimeLimit(time.Second, dsl.Unbounded()))
		},
		"versioned windowed aggregation": func(b *dsl.Builder) {
			dsl.WindowedBy(b.Stream("s", serde.String(), serde.String()).GroupByKey(), windows.Tumbling(time.Second)).
				Count(dsl.Materialized("c").WithVersioned(time.Second))
		},
		"versioned filter without a name": func(b *dsl.Builder) {
			b.Table("t", serde.String(), serde.String()).
				Filter(func(string, string) bool { return true }, dsl.Materialized("").WithVersioned(time.Second))
		},
		"versioned count without a name": func(b *dsl.Builder) {
			b.Stream("s", serde.String(), serde.String()).GroupByKey().
				Count(dsl.Materialized("").WithVersioned(time.Second))
		},
		"versioned without a name": func(b *dsl.Builder) {
			b.Table("t", serde.String(), serde.String(), dsl.Materialized("").WithVersioned(time.Second))
		},
	}
	for name, build := range cases {
		b := dsl.NewBuilder()
		build(b)
		if _, err := b.Build(); !errors.Is(err, dsl.ErrVersionedUnsupported) {
			t.Errorf("%s: Build error %v, want ErrVersionedUnsupported", name, err)
		}
	}
}
