package dsl_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/rillstreams/rill/dsl"
	"github.com/rillstreams/rill/serde"
	"github.com/rillstreams/rill/streamstest"
	"github.com/rillstreams/rill/windows"
)

func windowKey(w windows.Windowed[string]) string {
	return fmt.Sprintf("%s@%d/%d", w.Key, w.Start, w.End)
}

// With the record cache and commits only when asked, a windowed count forwards each window
// once per commit, with its latest count, in the order the windows were last written, stamped
// with the window's latest record time (Kafka Streams' CachingWindowStore).
func TestCacheWindowedCountEmitsLatestPerWindowOnCommit(t *testing.T) {
	for _, caching := range []bool{true, false} {
		t.Run(fmt.Sprint("caching=", caching), func(t *testing.T) {
			b := dsl.NewBuilder()
			mat := dsl.Materialized("counts")
			if !caching {
				mat = mat.WithCachingDisabled()
			}
			dsl.WindowedBy(b.Stream("in", serde.String(), serde.String()).GroupByKey(), windows.Tumbling(10*msec, windows.Grace(20*msec))).
				Count(mat).ToStream().
				Map(func(w windows.Windowed[string], n int64) (string, int64) { return windowKey(w), n }).
				To("out", dsl.WithSerdes(serde.String(), serde.Int64()))
			d := streamstest.New(t, mustBuild(t, b), streamstest.WithManualCommit())
			in := streamstest.Input(d, "in", serde.String(), serde.String())
			out := streamstest.Output(d, "out", serde.String(), serde.Int64())
			in.PipeAt("a", "x", at(1))
			in.PipeAt("a", "x", at(5))
			in.PipeAt("b", "x", at(3))
			in.PipeAt("a", "x", at(12))
			in.PipeAt("a", "x", at(4))
			if !caching {
				expectRecords(t, out, rec("a@0/10", int64(1), 1), rec("a@0/10", int64(2), 5), rec("b@0/10", int64(1), 3),
					rec("a@10/20", int64(1), 12), rec("a@0/10", int64(3), 5))
				return
			}
			if !out.IsEmpty() {
				t.Fatalf("%d records before the commit, want none", out.Len())
			}
			d.Commit()
			expectRecords(t, out, rec("b@0/10", int64(1), 3), rec("a@10/20", int64(1), 12), rec("a@0/10", int64(3), 5))
			d.Commit()
			expectRecords(t, out)
		})
	}
}

// A session created and merged away between two commits never reaches the store or the
// output; the session it was merged into does, once.
func TestCacheSessionMergedAwayIsNotForwarded(t *testing.T) {
	b := dsl.NewBuilder()
	dsl.SessionWindowedBy(b.Stream("in", serde.String(), serde.String()).GroupByKey(), windows.Session(10*msec, windows.Grace(50*msec))).
		Count().ToStream().
		Map(func(w windows.Windowed[string], n int64) (string, int64) { return windowKey(w), n }).
		To("out", dsl.WithSerdes(serde.String(), serde.Int64()))
	d := streamstest.New(t, mustBuild(t, b), streamstest.WithManualCommit())
	in := streamstest.Input(d, "in", serde.String(), serde.String())
	out := streamstest.Output(d, "out", serde.String(), serde.Int64())
	in.PipeAt("a", "x", at(0))
	d.Commit()
	expectRecords(t, out, rec("a@0/0", int64(1), 0))
	in.PipeAt("a", "x", at(30)) // [30,30], merged away by the next record before the commit
	in.PipeAt("a", "x", at(5))  // merges [0,0] into [0,5]
	in.PipeAt("a", "x", at(25)) // [25,30] absorbs [30,30]
	d.Commit()
	// The removal of [0,0], which the store held, is forwarded (a nil count prints as 0 here:
	// its old value is gone); [30,30] is not.
	got := out.ReadAll()
	var keys []string
	for _, r := range got {
		keys = append(keys, r.Key)
	}
	want := []string{"a@0/0", "a@0/5", "a@25/30"}
	if !slices.Equal(keys, want) {
		t.Fatalf("forwarded %v, want %v", keys, want)
	}
	if got[1].Value != 2 || got[2].Value != 2 {
		t.Fatalf("counts %v, want 2 for [0,5] and [25,30]", got)
	}
}

// Final results do not depend on the cache: windowed aggregations that emit only final
// results, or are suppressed until their windows close, forward the same records with the
// cache on (with commits at random points and a cache small enough to evict) as with it off;
// aggregations that emit updates end with the same latest value per window.
func TestCacheWindowedFinalResultsMatchUncached(t *testing.T) {
	type build func(b *dsl.Builder, mat dsl.MaterializedOption)
	toOut := func(tb *dsl.Table[windows.Windowed[string], int64]) {
		tb.ToStream().Map(func(w windows.Windowed[string], n int64) (string, int64) { return windowKey(w), n }).
			To("out", dsl.WithSerdes(serde.String(), serde.Int64()))
	}
	grouped := func(b *dsl.Builder) *dsl.GroupedStream[string, string] {
		return b.Stream("in", serde.String(), serde.String()).GroupByKey()
	}
	kinds := map[string]func(final, suppress bool) build{
		"hopping": func(final, suppress bool) build {
			return func(b *dsl.Builder, mat dsl.MaterializedOption) {
				w := dsl.WindowedBy(grouped(b), windows.Hopping(20*msec, 5*msec, windows.Grace(10*msec)))
				if final {
					w = w.EmitFinal()
				}
				tb := w.Count(mat)
				if suppress {
					tb = tb.Suppress(dsl.UntilWindowCloses())
				}
				toOut(tb)
			}
		},
		"sliding": func(final, suppress bool) build {
			return func(b *dsl.Builder, mat dsl.MaterializedOption) {
				w := dsl.WindowedBy(grouped(b), windows.Sliding(10*msec, windows.Grace(10*msec)))
				if final {
					w = w.EmitFinal()
				}
				tb := w.Count(mat)
				if suppress {
					tb = tb.Suppress(dsl.UntilWindowCloses())
				}
				toOut(tb)
			}
		},
		"session": func(final, suppress bool) build {
			return func(b *dsl.Builder, mat dsl.MaterializedOption) {
				w := dsl.SessionWindowedBy(grouped(b), windows.Session(5*msec, windows.Grace(10*msec)))
				if final {
					w = w.EmitFinal()
				}
				tb := w.Count(mat)
				if suppress {
					tb = tb.Suppress(dsl.UntilWindowCloses())
				}
				toOut(tb)
			}
		},
	}
	type input struct {
		key    string
		ts     int64
		commit bool
	}
	r := rand.New(rand.NewPCG(17, 42))
	var inputs []input
	ts := int64(0)
	for range 400 {
		ts += r.Int64N(4)
		in := input{key: fmt.Sprint("k", r.IntN(5)), ts: max(0, ts-r.Int64N(12)), commit: r.IntN(10) == 0}
		inputs = append(inputs, in)
	}
	run := func(t *testing.T, bf build, caching bool) ([]kvt[string, int64], map[string]int64) {
		b := dsl.NewBuilder()
		mat := dsl.Materialized("store")
		opts := []streamstest.Option{streamstest.WithManualCommit(), streamstest.WithCacheMaxBytes(600)}
		if !caching {
			mat = mat.WithCachingDisabled()
		}
		bf(b, mat)
		d := streamstest.New(t, mustBuild(t, b), opts...)
		in := streamstest.Input(d, "in", serde.String(), serde.String())
		out := streamstest.Output(d, "out", serde.String(), serde.Int64())
		for _, i := range inputs {
			in.PipeAt(i.key, "x", at(i.ts))
			if i.commit {
				d.Commit()
			}
		}
		d.Commit()
		var got []kvt[string, int64]
		latest := map[string]int64{}
		for _, r := range out.ReadAll() {
			got = append(got, rec(r.Key, r.Value, r.Time.UnixMilli()))
			latest[r.Key] = r.Value
			if r.Value == 0 { // a removed session (a tombstone; counts are never 0)
				delete(latest, r.Key)
			}
		}
		return got, latest
	}
	for name, kind := range kinds {
		for _, mode := range []string{"update", "final", "suppress"} {
			t.Run(name+"/"+mode, func(t *testing.T) {
				bf := kind(mode == "final", mode == "suppress")
				cached, cachedLatest := run(t, bf, true)
				uncached, uncachedLatest := run(t, bf, false)
				if len(uncached) == 0 {
					t.Fatal("no output: the inputs close no window")
				}
				if mode == "update" {
					if len(cached) >= len(uncached) {
						t.Errorf("cached forwarded %d updates, uncached %d: want fewer", len(cached), len(uncached))
					}
					if len(cachedLatest) != len(uncachedLatest) {
						t.Errorf("%d windows cached, %d uncached", len(cachedLatest), len(uncachedLatest))
					}
					for k, v := range uncachedLatest {
						if cv, ok := cachedLatest[k]; !ok || cv != v {
							t.Errorf("window %s: latest %d cached (%v), %d uncached", k, cv, ok, v)
						}
					}
					return
				}
				if !slices.Equal(cached, uncached) {
					t.Fatalf("cached forwarded\n%v\nuncached\n%v", cached, uncached)
				}
			})
		}
	}
}
