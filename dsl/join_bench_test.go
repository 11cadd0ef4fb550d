package dsl_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/rillstreams/rill/dsl"
	"github.com/rillstreams/rill/serde"
	"github.com/rillstreams/rill/state"
	"github.com/rillstreams/rill/state/memory"
	"github.com/rillstreams/rill/state/rocksdb"
	"github.com/rillstreams/rill/streamstest"
	"github.com/rillstreams/rill/windows"
)

// BenchmarkStreamStreamJoin pipes records through a stream-stream join in the test driver
// (Kafka Streams' SimpleBenchmark "streamstreamjoin": a 10 s window): 1000 keys, 100-byte
// values, left and right records alternating, timestamps 10 ms apart, so each right record
// meets exactly the left record just before it (a key comes back after 20 s, out of the
// window) and every left record of a left join finds its match. Results go to a ForEach, not
// a topic, so that the driver's output buffer is not measured. One op is one input record:
// ns/op and allocs/op are per record, the driver's piping included.
func BenchmarkStreamStreamJoin(b *testing.B) {
	for _, kind := range []string{"inner", "left"} {
		for _, backend := range []string{"memory", "rocksdb"} {
			b.Run(kind+"/"+backend, func(b *testing.B) { benchStreamStreamJoin(b, kind, backend) })
		}
	}
}

func benchStreamStreamJoin(b *testing.B, kind, backend string) {
	bld := dsl.NewBuilder()
	l := bld.Stream("left", serde.String(), serde.String())
	r := bld.Stream("right", serde.String(), serde.String())
	w := windows.JoinWithin(10 * time.Second)
	var out *dsl.Stream[string, string]
	if kind == "inner" {
		out = l.Join(r, func(_ string, a, b string) string { return a }, w)
	} else {
		out = l.LeftJoin(r, func(_ string, a, b string, _ bool) string { return a }, w)
	}
	results := 0
	out.ForEach(func(string, string) { results++ })
	topo, err := bld.Build()
	if err != nil {
		b.Fatal(err)
	}
	var opt streamstest.Option
	if backend == "memory" {
		opt = streamstest.WithBackend(memory.Backend())
	} else {
		opt = streamstest.WithBackend(rocksdbBackendB(b))
	}
	d := streamstest.New(b, topo, opt, streamstest.WithLogger(nopLogger()))
	left := streamstest.Input(d, "left", serde.String(), serde.String())
	right := streamstest.Input(d, "right", serde.String(), serde.String())
	keyBytes := make([][]byte, 1000)
	for i := range keyBytes {
		keyBytes[i] = fmt.Appendf(nil, "key-%04d", i)
	}
	valueBytes := []byte(strings.Repeat("v", 100))
	ts := time.UnixMilli(0)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		in := left
		if i%2 == 1 {
			in = right
		}
		ts = ts.Add(10 * time.Millisecond)
		if err := in.PipeRaw(keyBytes[(i/2)%len(keyBytes)], valueBytes, ts); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/record")
	if want := b.N / 2; results != want {
		b.Fatalf("%d results for %d records, want %d", results, b.N, want)
	}
}

func nopLogger() *zap.Logger { return zap.NewNop() }

func rocksdbBackendB(tb testing.TB) state.Backend {
	be, err := rocksdb.NewBackend(rocksdb.Config{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(be.Close)
	return be
}
