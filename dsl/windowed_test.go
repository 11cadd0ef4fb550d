package dsl_test

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/rillstreams/rill/dsl"
	"github.com/rillstreams/rill/serde"
	"github.com/rillstreams/rill/streamstest"
	"github.com/rillstreams/rill/windows"
)

// Windowed aggregations through the DSL: naming, repartitioning, sinks, build errors, state
// views and downstream table operations. The window semantics themselves are in the
// datadriven files under testdata/windows.

const msec = time.Millisecond

// The describe texts are Kafka Streams' TopologyTest cases of the same names: a zero-argument
// count takes no spare store name, an anonymous Materialized (rill: WithSerdes) takes one, a
// named one none; sliding windows never burn one.
func TestWindowedCountDescribe(t *testing.T) {
	single := func(proc, store string) string {
		return "Topologies:\n" +
			"   Sub-topology: 0\n" +
			"    Source: KSTREAM-SOURCE-0000000000 (topics: [input-topic])\n" +
			"      --> " + proc + "\n" +
			"    Processor: " + proc + " (stores: [" + store + "])\n" +
			"      --> none\n" +
			"      <-- KSTREAM-SOURCE-0000000000\n\n"
	}
	grouped := func(b *dsl.Builder) *dsl.GroupedStream[string, string] {
		return b.Stream("input-topic", serde.String(), serde.String()).GroupByKey()
	}
	for _, c := range []struct {
		name  string
		build func(b *dsl.Builder)
		want  string
	}{
		{"kGroupedStreamZeroArgCount", func(b *dsl.Builder) { grouped(b).Count() },
			single("KSTREAM-AGGREGATE-0000000002", "KSTREAM-AGGREGATE-STATE-STORE-0000000001")},
		{"kGroupedStreamNamedMaterializedCount", func(b *dsl.Builder) { grouped(b).Count(dsl.Materialized("count-store")) },
			single("KSTREAM-AGGREGATE-0000000001", "count-store")},
		{"kGroupedStreamAnonymousMaterializedCount", func(b *dsl.Builder) {
			grouped(b).Count(dsl.WithSerdes[string, int64](nil, serde.Int64()))
		}, single("KSTREAM-AGGREGATE-0000000003", "KSTREAM-AGGREGATE-STATE-STORE-0000000002")},
		{"timeWindowZeroArgCount", func(b *dsl.Builder) { dsl.WindowedBy(grouped(b), windows.Tumbling(msec)).Count() },
			single("KSTREAM-AGGREGATE-0000000002", "KSTREAM-AGGREGATE-STATE-STORE-0000000001")},
		{"timeWindowNamedMaterializedCount", func(b *dsl.Builder) {
			dsl.WindowedBy(grouped(b), windows.Tumbling(msec)).Count(dsl.Materialized("count-store"))
		}, single("KSTREAM-AGGREGATE-0000000001", "count-store")},
		{"timeWindowAnonymousMaterializedCount", func(b *dsl.Builder) {
			dsl.WindowedBy(grouped(b), windows.Tumbling(msec)).Count(dsl.WithSerdes[string, int64](nil, serde.Int64()))
		}, single("KSTREAM-AGGREGATE-0000000003", "KSTREAM-AGGREGATE-STATE-STORE-0000000002")},
		{"slidingWindowZeroArgCount", func(b *dsl.Builder) { dsl.WindowedBy(grouped(b), windows.Sliding(msec)).Count() },
			single("KSTREAM-AGGREGATE-0000000002", "KSTREAM-AGGREGATE-STATE-STORE-0000000001")},
		{"slidingWindowAnonymousMaterializedCount (no burnt name)", func(b *dsl.Builder) {
			dsl.WindowedBy(grouped(b), windows.Sliding(msec)).Count(dsl.WithSerdes[string, int64](nil, serde.Int64()))
		}, single("KSTREAM-AGGREGATE-0000000002", "KSTREAM-AGGREGATE-STATE-STORE-0000000001")},
		{"sessionWindowZeroArgCount", func(b *dsl.Builder) { dsl.SessionWindowedBy(grouped(b), windows.Session(msec)).Count() },
			single("KSTREAM-AGGREGATE-0000000002", "KSTREAM-AGGREGATE-STATE-STORE-0000000001")},
		{"sessionWindowNamedMaterializedCount", func(b *dsl.Builder) {
			dsl.SessionWindowedBy(grouped(b), windows.Session(msec)).Count(dsl.Materialized("count-store"))
		}, single("KSTREAM-AGGREGATE-0000000001", "count-store")},
		{"sessionWindowAnonymousMaterializedCount", func(b *dsl.Builder) {
			dsl.SessionWindowedBy(grouped(b), windows.Session(msec)).Count(dsl.WithSerdes[string, int64](nil, serde.Int64()))
		}, single("KSTREAM-AGGREGATE-0000000003", "KSTREAM-AGGREGATE-STATE-STORE-0000000002")},
		{"timeWindowReduce", func(b *dsl.Builder) {
			dsl.WindowedBy(grouped(b), windows.Tumbling(msec)).Reduce(func(a, v string) string { return a + v })
		}, single("KSTREAM-REDUCE-0000000002", "KSTREAM-REDUCE-STATE-STORE-0000000001")},
		{"sessionWindowAggregate", func(b *dsl.Builder) {
			dsl.SessionWindowedBy(grouped(b), windows.Session(msec)).Aggregate(func() int64 { return 0 },
				func(_ string, _ string, n int64) int64 { return n + 1 },
				func(_ string, a, b int64) int64 { return a + b }, dsl.WithSerdes[string, int64](nil, serde.Int64()))
		}, single("KSTREAM-AGGREGATE-0000000002", "KSTREAM-AGGREGATE-STATE-STORE-0000000001")},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := dsl.NewBuilder()
			c.build(b)
			if got := mustBuild(t, b).Describe().String(); got != c.want {
				t.Errorf("got:\n%s\nwant:\n%s", got, c.want)
			}
		})
	}
}

// Suppress takes a processor name, then a store name (Kafka Streams' KTableImpl.suppress);
// Named names both.
func TestSuppressDescribe(t *testing.T) {
	b := dsl.NewBuilder()
	counts := dsl.WindowedBy(b.Stream("in", serde.String(), serde.String()).GroupByKey(), windows.Tumbling(time.Second)).Count()
	counts.Suppress(dsl.UntilWindowCloses()).ToStream().To("out")
	counts.Suppress(dsl.UntilWindowCloses(), dsl.Named("final")).ToStream().To("out2")
	desc := mustBuild(t, b).Describe().String()
	for _, want := range []string{
		"Processor: KTABLE-SUPPRESS-0000000003 (stores: [KTABLE-SUPPRESS-STATE-STORE-0000000004])",
		"Processor: final (stores: [final-store])",
	} {
		if !strings.Contains(desc, want) {
			t.Errorf("describe lacks %q:\n%s", want, desc)
		}
	}
}

// A windowed count after a key change goes through a repartition topic named after the store,
// as unwindowed aggregations; with four partitions each key is still counted by one task.
func TestWindowedCountRepartitions(t *testing.T) {
	backends(t, func(t *testing.T, opts ...streamstest.Option) {
		b := dsl.NewBuilder()
		dsl.WindowedBy(b.Stream("clicks", serde.String(), serde.String()).
			SelectKey(func(_, page string) string { return page }).GroupByKey(),
			windows.Tumbling(10*msec)).
			// Uncached: the retention check below reads the store beneath (a window still in
			// the cache is returned past retention, as with Kafka Streams' caching stores).
			Count(dsl.Materialized("page-counts").WithCachingDisabled()).
			ToStream().
			Map(func(w windows.Windowed[string], n int64) (string, int64) { return w.String(), n }).
			To("out")
		topo := mustBuild(t, b)
		if desc := topo.Describe().String(); !strings.Contains(desc, "(topic: page-counts-repartition)") {
			t.Fatalf("no repartition through page-counts-repartition:\n%s", desc)
		}
		d := streamstest.New(t, topo, append(opts, streamstest.WithPartitions(4))...)
		in := strIn(d, "clicks")
		out := streamstest.Output(d, "out", serde.String(), serde.Int64())
		for i, page := range []string{"home", "cart", "home", "about", "home", "cart"} {
			in.PipeAt("user", page, at(int64(i)))
		}
		view := streamstest.WindowStore[string, int64](d, "page-counts")
		if vt, ok := view.FetchWithTimestamp("home", 0); !ok || vt.Value != 3 || vt.Timestamp != 4 {
			t.Errorf("home@0 = %v %v, want 3 stamped 4", vt, ok)
		}
		in.PipeAt("user", "home", at(12))
		got := map[string][]int64{}
		for _, r := range out.ReadAll() {
			got[r.Key] = append(got[r.Key], r.Value)
		}
		want := map[string]string{"[home@0/10]": "[1 2 3]", "[cart@0/10]": "[1 2]", "[about@0/10]": "[1]", "[home@10/20]": "[1]"}
		if len(got) != len(want) {
			t.Fatalf("windows %v, want %v", got, want)
		}
		for k, v := range want {
			if s := fmt.Sprint(got[k]); s != v {
				t.Errorf("%s: counts %s, want %s", k, s, v)
			}
		}
		if n := len(d.Stores("page-counts")); n != 4 {
			t.Errorf("%d page-counts stores, want one per partition", n)
		}
		// Retention is size + grace (10ms) of window starts: at 12, window 0 is gone.
		if _, ok := view.Fetch("home", 0); ok {
			t.Error("window home@0 still in the store past retention")
		}
		if n, ok := view.Fetch("home", 10); !ok || n != 1 {
			t.Errorf("home@10 = %d %v, want 1", n, ok)
		}
	})
}

// Windowed tables write their keys as Kafka Streams does: time windows as key bytes and the
// start (8 bytes, big-endian), sessions as key bytes, end, start.
func TestWindowedSinkKeyFormat(t *testing.T) {
	b := dsl.NewBuilder()
	g := b.Stream("in", serde.String(), serde.String()).GroupByKey()
	dsl.WindowedBy(g, windows.Hopping(10*msec, 5*msec)).Count().ToStream().To("time-out")
	dsl.SessionWindowedBy(g, windows.Session(10*msec)).Count().ToStream().To("session-out")
	d := streamstest.New(t, mustBuild(t, b))
	in := strIn(d, "in")
	in.PipeAt("k", "a", at(7))
	in.PipeAt("k", "b", at(9))

	raw := streamstest.Output(d, "time-out", serde.Bytes(), serde.Int64()).ReadAll()
	var starts []int64
	for _, r := range raw {
		if len(r.Key) != 9 || r.Key[0] != 'k' {
			t.Fatalf("time-windowed key % x: want 'k' and 8 bytes", r.Key)
		}
		starts = append(starts, int64(binary.BigEndian.Uint64(r.Key[1:])))
	}
	if fmt.Sprint(starts) != "[0 5 0 5]" {
		t.Errorf("window starts %v, want [0 5 0 5]", starts)
	}
	// Read back with the serde, the end comes from the size.
	w, err := windows.TimeWindowedSerde(serde.String(), 10*msec).Deserialize("time-out", raw[3].Key)
	if err != nil || w != (windows.Windowed[string]{Key: "k", Start: 5, End: 15}) || raw[3].Value != 2 {
		t.Errorf("last record %v = %d (%v), want [k@5/15] = 2", w, raw[3].Value, err)
	}

	sraw := streamstest.Output(d, "session-out", serde.Bytes(), serde.Int64())
	recs := sraw.ReadAll()
	if len(recs) != 3 { // [7,7] 1; [7,7] deleted; [7,9] 2
		t.Fatalf("session records %v", recs)
	}
	last := recs[2].Key
	if len(last) != 17 || binary.BigEndian.Uint64(last[1:]) != 9 || binary.BigEndian.Uint64(last[9:]) != 7 {
		t.Errorf("session key % x: want 'k', end 9, start 7", last)
	}
}

// Old values flow through windowed tables, so a table operation downstream stays right: the
// per-key total of window counts, kept by a regrouped aggregation that subtracts each
// window's old count, equals the number of records counted, through session merges too.
func TestWindowedOldValuesDownstream(t *testing.T) {
	backends(t, func(t *testing.T, opts ...streamstest.Option) {
		b := dsl.NewBuilder()
		g := b.Stream("in", serde.String(), serde.String()).GroupByKey()
		total := func(tbl *dsl.Table[windows.Windowed[string], int64], store string) {
			tbl.GroupBy(func(w windows.Windowed[string], n int64) (string, int64) { return w.Key, n }).
				Reduce(func(a, v int64) int64 { return a + v }, func(a, v int64) int64 { return a - v },
					dsl.Materialized(store))
		}
		grace := windows.Grace(100 * msec) // every record below is on time
		total(dsl.WindowedBy(g, windows.Hopping(10*msec, 5*msec, grace)).Count(), "hopping-total")
		total(dsl.SessionWindowedBy(g, windows.Session(10*msec, grace)).Count(), "session-total")
		total(dsl.WindowedBy(g, windows.Sliding(10*msec, grace)).Count(dsl.Materialized("sliding")), "sliding-total")
		d := streamstest.New(t, mustBuild(t, b), opts...)
		in := strIn(d, "in")
		for _, ts := range []int64{1, 3, 20, 12, 40, 25, 31} {
			in.PipeAt("k", "v", at(ts))
		}
		check := func(store string, want int64) {
			t.Helper()
			if got, _ := streamstest.KeyValueStore[string, int64](d, store).Get("k"); got != want {
				t.Errorf("%s = %d, want %d", store, got, want)
			}
		}
		// Hopping 10/5: every record is in two windows, but those at 1 and 3 only in [0,10)
		// (windows start at 0 or later): 2 + 5*2.
		check("hopping-total", 12)
		// Sessions (gap 10): 1,3,12,20,25,31,40 end up one session of 7 records, after
		// merges whose deletes carry the merged sessions' counts.
		check("session-total", 7)
		if s := streamstest.SessionStore[string, int64](d, "KSTREAM-AGGREGATE-STATE-STORE-0000000007").All(); len(s) != 1 ||
			s[0].Start != 1 || s[0].End != 40 || s[0].Value != 7 {
			t.Errorf("sessions %v, want [1,40] = 7", s)
		}
		// Sliding windows: the total is the sum of the counts of the windows in the store,
		// which the regrouped table must follow through updates.
		var sum int64
		for _, w := range streamstest.WindowStore[string, int64](d, "sliding").All() {
			sum += w.Value
		}
		if sum == 0 {
			t.Fatal("no sliding windows")
		}
		check("sliding-total", sum)
	})
}

// Build reports invalid windows, too short retentions and misplaced Suppress, with the other
// wiring errors.
func TestWindowedBuildErrors(t *testing.T) {
	b := dsl.NewBuilder()
	g := b.Stream("in", serde.String(), serde.String()).GroupByKey()
	dsl.WindowedBy(g, windows.Hopping(10*msec, 20*msec)).Count()
	dsl.SessionWindowedBy(g, windows.Session(0)).Count()
	dsl.WindowedBy(g, nil).Count()
	dsl.WindowedBy(g, windows.Tumbling(10*msec, windows.Grace(5*msec))).
		Count(dsl.Materialized("short").WithRetention(14 * msec))
	g.Count().Suppress(dsl.UntilWindowCloses())
	err := buildErr(t, b)
	if !errors.Is(err, windows.ErrInvalidWindow) || !errors.Is(err, dsl.ErrNotWindowed) {
		t.Errorf("want ErrInvalidWindow and ErrNotWindowed in %v", err)
	}
	errs := joinedErrors(err)
	if len(errs) != 5 {
		t.Errorf("%d errors, want 5: %v", len(errs), err)
	}
	for _, e := range errs {
		if !strings.HasPrefix(e.Error(), "rill: ") {
			t.Errorf("error %q is not rill:-prefixed", e)
		}
	}
	if !strings.Contains(err.Error(), "retention of window store short must be at least 15ms") {
		t.Errorf("no retention error in %v", err)
	}
}

// A retention longer than the windows need keeps closed windows queryable.
func TestWindowedRetention(t *testing.T) {
	backends(t, func(t *testing.T, opts ...streamstest.Option) {
		b := dsl.NewBuilder()
		dsl.WindowedBy(b.Stream("in", serde.String(), serde.String()).GroupByKey(), windows.Tumbling(10*msec)).
			Count(dsl.Materialized("long").WithRetention(time.Hour).WithCachingDisabled())
		dsl.WindowedBy(b.Stream("in2", serde.String(), serde.String()).GroupByKey(), windows.Tumbling(10*msec)).
			Count(dsl.Materialized("short").WithCachingDisabled()) // cached windows outlive retention (Kafka Streams)
		d := streamstest.New(t, mustBuild(t, b), opts...)
		for _, topic := range []string{"in", "in2"} {
			in := strIn(d, topic)
			in.PipeAt("k", "v", at(5))
			in.PipeAt("k", "v", at(100))
		}
		if _, ok := streamstest.WindowStore[string, int64](d, "long").Fetch("k", 0); !ok {
			t.Error("window 0 gone from the store retained for an hour")
		}
		if _, ok := streamstest.WindowStore[string, int64](d, "short").Fetch("k", 0); ok {
			t.Error("window 0 still in the store retained for size + grace (10ms)")
		}
	})
}

// Records with a nil key cannot be aggregated: they are dropped and counted (Kafka Streams'
// shouldLogAndMeterWhenSkippingNullKey).
func TestWindowedNullKeyDropped(t *testing.T) {
	b := dsl.NewBuilder()
	s := b.Stream("in", serde.JSON[*string](), serde.String())
	dsl.WindowedBy(s.GroupByKey(), windows.Tumbling(10*msec)).Count(dsl.Materialized("t"))
	dsl.SessionWindowedBy(s.GroupByKey(), windows.Session(10*msec)).Count(dsl.Materialized("s"))
	dsl.WindowedBy(s.GroupByKey(), windows.Sliding(10*msec)).Count(dsl.Materialized("sl"))
	d := streamstest.New(t, mustBuild(t, b))
	in := streamstest.Input(d, "in", serde.JSON[*string](), serde.String())
	in.PipeAt(nil, "v", at(1))
	if n := d.Dropped(); n != 3 {
		t.Errorf("dropped %d, want 3 (one per aggregation)", n)
	}
	k := "k"
	in.PipeAt(&k, "v", at(2))
	if n := d.Dropped(); n != 3 {
		t.Errorf("dropped %d after a keyed record, want still 3", n)
	}
	if s := streamstest.SessionStore[*string, int64](d, "s").Fetch(&k); len(s) != 1 || s[0].Value != 1 {
		t.Errorf("sessions of k: %v", s)
	}
}

// Windowed tables can be joined: a lookup reads the window (or session) from the
// aggregation's store by key and window.
func TestWindowedTableJoin(t *testing.T) {
	backends(t, func(t *testing.T, opts ...streamstest.Option) {
		b := dsl.NewBuilder()
		g := b.Stream("in", serde.String(), serde.String()).GroupByKey()
		joiner := func(_ windows.Windowed[string], n, m int64) string { return fmt.Sprintf("%d/%d", n, m) }
		counts := dsl.WindowedBy(g, windows.Tumbling(10*msec)).Count()
		counts.ToStream().JoinTable(counts, joiner).
			Map(func(w windows.Windowed[string], s string) (string, string) { return w.String(), s }).To("time")
		sessions := dsl.SessionWindowedBy(g, windows.Session(10*msec)).Count()
		sessions.ToStream().Filter(func(_ windows.Windowed[string], n int64) bool { return n > 0 }).
			JoinTable(sessions, joiner).
			Map(func(w windows.Windowed[string], s string) (string, string) { return w.String(), s }).To("session")
		d := streamstest.New(t, mustBuild(t, b), opts...)
		in := strIn(d, "in")
		in.PipeAt("k", "a", at(1))
		in.PipeAt("k", "b", at(5))
		expectRecords(t, strOut(d, "time"), rec("[k@0/10]", "1/1", 1), rec("[k@0/10]", "2/2", 5))
		// Deletes of merged sessions carry a zero count and are filtered out.
		expectRecords(t, strOut(d, "session"), rec("[k@1/1]", "1/1", 1), rec("[k@1/5]", "2/2", 5))
	})
}

// Suppress works on tables derived from a windowed table with the same keys (Kafka Streams
// finds the windows' grace period up the graph): a window the filter drops is never emitted.
// As in Kafka Streams, Suppress's stream time comes from the updates it receives: c@25's
// first update is filtered out and flushes nothing; its second passes and flushes [b@10/20].
func TestSuppressAfterFilter(t *testing.T) {
	backends(t, func(t *testing.T, opts ...streamstest.Option) {
		b := dsl.NewBuilder()
		dsl.WindowedBy(b.Stream("in", serde.String(), serde.String()).GroupByKey(), windows.Tumbling(10*msec)).
			Count().
			Filter(func(_ windows.Windowed[string], n int64) bool { return n >= 2 }).
			Suppress(dsl.UntilWindowCloses()).
			ToStream().
			Map(func(w windows.Windowed[string], n int64) (string, int64) { return w.String(), n }).
			To("out")
		d := streamstest.New(t, mustBuild(t, b), opts...)
		in := strIn(d, "in")
		for _, r := range []struct {
			k  string
			ts int64
		}{{"a", 1}, {"a", 2}, {"b", 3}, {"a", 11}, {"b", 12}, {"b", 13}, {"c", 25}} {
			in.PipeAt(r.k, "v", at(r.ts))
		}
		out := streamstest.Output(d, "out", serde.String(), serde.Int64())
		expectRecords(t, out, rec("[a@0/10]", int64(2), 2))
		in.PipeAt("c", "v", at(25))
		expectRecords(t, out, rec("[b@10/20]", int64(2), 13))
	})
}

// A serde failing inside a windowed aggregation fails the record with a serde error (to the
// processing handler), never a panic.
func TestWindowedSerdeErrorFailsRecord(t *testing.T) {
	failing := serde.New(func(string, string) ([]byte, error) { return nil, errBoom },
		func(string, []byte) (string, error) { return "", errBoom })
	b := dsl.NewBuilder()
	g := b.Stream("in", serde.String(), serde.String()).GroupByKey()
	dsl.WindowedBy(g, windows.Tumbling(10*msec)).Reduce(func(a, v string) string { return a + v },
		dsl.WithSerdes[string, string](nil, failing))
	d := streamstest.New(t, mustBuild(t, b))
	err := streamstest.Input(d, "in", serde.String(), serde.String()).
		TryPipe(streamstest.Record[string, string]{Key: "k", Value: "v", Time: at(1)})
	var se *serde.Error
	if !errors.As(err, &se) || !errors.Is(err, errBoom) || se.Key || !se.Serialize {
		t.Fatalf("err = %v, want the value serde's error", err)
	}
}
