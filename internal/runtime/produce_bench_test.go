package runtime

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/rillstreams/rill/dsl"
	"github.com/rillstreams/rill/internal/engine"
	"github.com/rillstreams/rill/serde"
)

// benchProcess feeds the thread of p records of "in" partition 0 in polls of 100 (keys over
// 100 values), committing every 1000 records, and reports allocations per input record.
func benchProcess(b *testing.B, p *protocolThread, ctx context.Context) {
	const poll, keys = 100, 100
	key := make([][]byte, keys)
	for i := range key {
		key[i] = []byte("key-" + strconv.Itoa(i))
	}
	value := []byte("value-0001")
	recs := make([]engine.RawRecord, poll)
	var off int64
	b.ReportAllocs()
	b.ResetTimer()
	for n := 0; n < b.N; n += poll {
		for i := range recs {
			recs[i] = engine.RawRecord{Topic: "in", Offset: off, Timestamp: 1000 + off, Key: key[off%keys], Value: value}
			off++
		}
		p.th.lock()
		_, _, err := p.th.processLocked(ctx, recs)
		p.th.unlock()
		if err != nil {
			b.Fatal(err)
		}
		if off%1000 == 0 {
			if err := p.commit(ctx); err != nil {
				b.Fatal(err)
			}
		}
	}
	if err := p.commit(ctx); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
}

// BenchmarkThreadCountProduce is the produce path of a stream thread: a count whose every
// input record sends one output and one changelog record (cache off), at least once over the
// fake session (whose own kgo.Record and callback per send are counted too: the session's
// share is BenchmarkSessionProduce in internal/kafka).
func BenchmarkThreadCountProduce(b *testing.B) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	benchProcess(b, newProtocolThread(b, ctx, countTopology(), false, 0), ctx)
}

// BenchmarkThreadPollPath is processLocked's per-record cost without output or state: a
// stream whose records are all filtered out.
func BenchmarkThreadPollPath(b *testing.B) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	t := dsl.NewBuilder()
	t.Stream("in", serde.String(), serde.String()).Filter(func(string, string) bool { return false }).To("out")
	benchProcess(b, newProtocolThread(b, ctx, t, false, 0), ctx)
}
