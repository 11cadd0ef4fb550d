package rill_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rillstreams/rill"
	"github.com/rillstreams/rill/dsl"
	"github.com/rillstreams/rill/kafkatest"
	"github.com/rillstreams/rill/serde"
	"github.com/rillstreams/rill/state/memory"
)

// Repartition topics are purged below the committed offsets after commits (Kafka Streams'
// repartition.purge.interval.ms): they are created with infinite retention, and without the
// purge grew without bound (issue 15). Each partition's log start offset moves up to what the
// app committed, and nothing it has not processed goes: every record reaches the output.
func TestRepartitionTopicsArePurged(t *testing.T) {
	for name, g := range map[string]rill.ProcessingGuarantee{"alos": rill.AtLeastOnce, "eos": rill.ExactlyOnceV2} {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
			defer cancel()
			broker := newBroker(t, ctx, 2, "in", "out")
			b := dsl.NewBuilder()
			b.Stream("in", serde.String(), serde.String()).
				Repartition(dsl.Named("by-key")).
				To("out")
			topo, err := b.Build()
			if err != nil {
				t.Fatal(err)
			}
			const n = 300
			var recs []kafkatest.Record
			for i := range n {
				recs = append(recs, kafkatest.Record{Topic: "in", Key: []byte("k" + strconv.Itoa(i%17)), Value: []byte(strconv.Itoa(i)), Timestamp: time.UnixMilli(int64(i))})
			}
			must(t, broker.Produce(ctx, recs...))
			app := "purge-" + name
			stop := startApp(t, ctx, topo, rill.Config{CacheMaxBytes: -1, ApplicationID: app, Bootstrap: broker.Addrs(),
				StateDir: t.TempDir(), CommitInterval: 50 * time.Millisecond, StoreBackend: memory.Backend(), ProcessingGuarantee: g,
				RepartitionPurgeInterval: 100 * time.Millisecond})
			defer func() { must(t, stop()) }()
			out, err := broker.Consume(ctx, "out", n, true)
			if err != nil || len(out) != n {
				t.Fatalf("consumed %d of %d: %v", len(out), n, err)
			}
			cl, err := kgo.NewClient(kgo.SeedBrokers(broker.Addrs()...))
			if err != nil {
				t.Fatal(err)
			}
			defer cl.Close()
			adm := kadm.NewClient(cl)
			topic := app + "-by-key-repartition"
			// The last commit may come after the last purge: wait for one more.
			for {
				starts, err := adm.ListStartOffsets(ctx, topic)
				if err != nil {
					t.Fatal(err)
				}
				ends, err := adm.ListEndOffsets(ctx, topic)
				if err != nil {
					t.Fatal(err)
				}
				var start, end int64
				starts.Each(func(o kadm.ListedOffset) { start += o.Offset })
				ends.Each(func(o kadm.ListedOffset) { end += o.Offset })
				if end < n {
					t.Fatalf("repartition topic %s holds %d records, want at least %d", topic, end, n)
				}
				// Under exactly-once the end offsets count the transaction markers too; the
				// purge stops at the committed offsets, which are past them.
				if start > 0 && start >= end-int64(2*len(starts)) {
					t.Logf("%s: log start offsets sum %d, end offsets %d", topic, start, end)
					return
				}
				select {
				case <-ctx.Done():
					t.Fatalf("repartition topic %s not purged: log start offsets sum %d, end offsets %d", topic, start, end)
				case <-time.After(100 * time.Millisecond):
				}
			}
		})
	}
}
