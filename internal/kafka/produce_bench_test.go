package kafka

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/rillstreams/rill/internal/engine"
)

// BenchmarkSessionProduce measures what one produced record costs the session (kgo.Record,
// promise) and franz-go (batching, the produce request) over kfake: allocs/op is per record.
// Flushes every 1000 records, as a thread commits, so the buffer never blocks.
func BenchmarkSessionProduce(b *testing.B) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "out"))
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	s, err := NewSession(SessionConfig{ClientConfig: ClientConfig{Bootstrap: c.ListenAddrs()}, Group: "g", Topics: []string{"out"}})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	defer s.Close(ctx)
	rec := engine.OutRecord{Topic: "out", Partition: 0, Key: []byte("key-0001"), Value: []byte("value-0001"), Timestamp: 1}
	var failed int
	done := func(_ int64, err error) {
		if err != nil {
			failed++ // one promise goroutine per client: no race
		}
	}
	for range 1000 { // connected, metadata loaded
		s.ProduceTo(rec, PromiseFunc(done), nil)
	}
	if err := s.Flush(ctx); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		s.ProduceTo(rec, PromiseFunc(done), nil)
		if i%1000 == 999 {
			if err := s.Flush(ctx); err != nil {
				b.Fatal(err)
			}
		}
	}
	if err := s.Flush(ctx); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	if failed > 0 {
		b.Fatalf("%d sends failed", failed)
	}
}
