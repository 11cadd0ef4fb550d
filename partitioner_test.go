package rill_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/rillstreams/rill"
	"github.com/rillstreams/rill/dsl"
	"github.com/rillstreams/rill/internal/partition"
	"github.com/rillstreams/rill/kafkatest"
	"github.com/rillstreams/rill/serde"
	"github.com/rillstreams/rill/state/memory"
)

// A custom partitioner on Repartition and To, on the broker: records go through the
// repartition topic and land in the output topic in the partitions it picked; records it
// declines get Kafka's default (murmur2) partition, under exactly-once.
func TestCustomPartitionerOnBroker(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	broker := newBroker(t, ctx, 4, "in", "out")
	// The value names the partition; "-" declines.
	byValue := func(_ string, _ string, v string, n int32) (int32, bool) {
		p, err := strconv.Atoi(v)
		if err != nil {
			return 0, false
		}
		return int32(p) % n, true
	}
	b := dsl.NewBuilder()
	b.Stream("in", serde.String(), serde.String()).
		Repartition(dsl.Named("spread"), dsl.WithPartitioner(byValue)).
		To("out", dsl.WithPartitioner(byValue))
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	var recs []kafkatest.Record
	for i := range 200 {
		v := strconv.Itoa(i % 7)
		if i%10 == 0 {
			v = "-"
		}
		recs = append(recs, kafkatest.Record{Topic: "in", Key: []byte("k" + strconv.Itoa(i%13)), Value: []byte(v), Timestamp: time.UnixMilli(int64(i))})
	}
	must(t, broker.Produce(ctx, recs...))
	stop := startApp(t, ctx, topo, rill.Config{CacheMaxBytes: -1, ApplicationID: "partitioner", Bootstrap: broker.Addrs(),
		StateDir: t.TempDir(), CommitInterval: 50 * time.Millisecond, StoreBackend: memory.Backend(), ProcessingGuarantee: rill.ExactlyOnceV2})
	out, err := broker.Consume(ctx, "out", len(recs), true)
	if err != nil {
		t.Fatalf("consumed %d of %d: %v", len(out), len(recs), err)
	}
	must(t, stop())
	declined := 0
	for _, r := range out {
		want := partition.ForKey(r.Key, 4)
		if p, err := strconv.Atoi(string(r.Value)); err == nil {
			want = int32(p) % 4
		} else {
			declined++
		}
		if r.Partition != want {
			t.Errorf("record %s=%s in partition %d, want %d", r.Key, r.Value, r.Partition, want)
		}
	}
	if declined != 20 {
		t.Errorf("%d declined records, want 20", declined)
	}
}
