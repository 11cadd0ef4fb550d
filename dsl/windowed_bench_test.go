package dsl_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/rillstreams/rill/dsl"
	"github.com/rillstreams/rill/serde"
	"github.com/rillstreams/rill/state"
	"github.com/rillstreams/rill/state/memory"
	"github.com/rillstreams/rill/state/rocksdb"
	"github.com/rillstreams/rill/streamstest"
	"github.com/rillstreams/rill/windows"
)

// BenchmarkWindowedCount runs windowed counts through the test driver, one record per op, so
// ns/op is the time per record and allocs/op the allocations per record (driver included).
// The workload is Kafka Streams' SimpleBenchmark streamcountwindowed: 10,000 keys, 1-second
// windows hopping by 500ms (two windows per record), timestamps 1ms apart, plus a tumbling
// emit-final count, a session count and, for scale, an unwindowed count. Records are piped
// as bytes, so the test serializers are not measured.
func BenchmarkWindowedCount(b *testing.B) {
	const keys = 10000
	keyBytes := make([][]byte, keys)
	for i := range keyBytes {
		keyBytes[i] = []byte("key-" + strconv.Itoa(i))
	}
	value := make([]byte, 100)
	cases := []struct {
		name  string
		build func(g *dsl.GroupedStream[string, []byte])
	}{
		{"hopping", func(g *dsl.GroupedStream[string, []byte]) {
			dsl.WindowedBy(g, windows.Hopping(time.Second, 500*time.Millisecond)).Count().ToStream().ForEach(func(windows.Windowed[string], int64) {})
		}},
		{"tumbling-emitfinal", func(g *dsl.GroupedStream[string, []byte]) {
			dsl.WindowedBy(g, windows.Tumbling(time.Second)).EmitFinal().Count().ToStream().ForEach(func(windows.Windowed[string], int64) {})
		}},
		{"session", func(g *dsl.GroupedStream[string, []byte]) {
			dsl.SessionWindowedBy(g, windows.Session(time.Second)).Count().ToStream().ForEach(func(windows.Windowed[string], int64) {})
		}},
		{"unwindowed", func(g *dsl.GroupedStream[string, []byte]) {
			g.Count().ToStream().ForEach(func(string, int64) {})
		}},
	}
	backends := []struct {
		name string
		open func(b *testing.B) state.Backend
	}{
		{"memory", func(*testing.B) state.Backend { return memory.Backend() }},
		{"rocksdb", func(b *testing.B) state.Backend {
			be, err := rocksdb.NewBackend(rocksdb.Config{})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(be.Close)
			return be
		}},
	}
	for _, be := range backends {
		for _, c := range cases {
			b.Run(be.name+"/"+c.name, func(b *testing.B) {
				bld := dsl.NewBuilder()
				c.build(bld.Stream("in", serde.String(), serde.Bytes()).GroupByKey())
				topo, err := bld.Build()
				if err != nil {
					b.Fatal(err)
				}
				d := streamstest.New(b, topo, streamstest.WithBackend(be.open(b)))
				in := streamstest.Input(d, "in", serde.String(), serde.Bytes())
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					if err := in.PipeRaw(keyBytes[i%keys], value, time.UnixMilli(int64(i))); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
			})
		}
	}
}
