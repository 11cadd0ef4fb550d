package runtime

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rillstreams/rill/standby"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/zap"

	"github.com/rillstreams/rill/dsl"
	"github.com/rillstreams/rill/internal/kafka"
	"github.com/rillstreams/rill/kafkatest"
	"github.com/rillstreams/rill/serde"
	"github.com/rillstreams/rill/state/memory"
)

// Brokers that take no record while the producer's buffer fills (every produce request hangs)
// must not hold the stream thread in Produce for ever, with the app's stop behind it: the
// sends fail after BlockTimeout without progress, and Run returns.
func TestStuckProducerIsBounded(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "in", "out"))
	if err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	defer cluster.Close()
	defer close(release)
	addrs := cluster.ListenAddrs()
	// More input than the producer buffers (50 000 records), each becoming one output.
	const n = 60_000
	recs := make([]kafkatest.Record, n)
	for i := range recs {
		recs[i] = kafkatest.Record{Topic: "in", Key: []byte("k" + strconv.Itoa(i%100)), Value: []byte("v"), Timestamp: time.Now()}
	}
	if err := kafkatest.Produce(ctx, addrs, recs...); err != nil {
		t.Fatal(err)
	}
	cluster.ControlKey(kmsg.Produce.Int16(), func(kmsg.Request) (kmsg.Response, error, bool) {
		cluster.KeepControl()
		cluster.SleepControl(func() { <-release })
		return nil, nil, false
	})
	b := dsl.NewBuilder()
	b.Stream("in", serde.String(), serde.String()).To("out")
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	rt, err := New(topo, Config{ApplicationID: "stuck-producer", Client: kafka.ClientConfig{Bootstrap: addrs},
		StateDir: t.TempDir(), ProcessID: "p1", NumThreads: 1, CommitInterval: time.Hour,
		MaxPollRecords: 1000, ReplicationFactor: -1, Backend: memory.Backend(), Logger: zap.NewNop(),
		Standby:        standby.Config{AcceptableRecoveryLag: 10000, MaxWarmupReplicas: 2, ProbingRebalanceInterval: time.Minute},
		SessionTimeout: 10 * time.Second, BufferedRecordsPerPartition: 1000, BlockTimeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	rctx, stop := context.WithCancel(ctx)
	defer stop()
	done := make(chan error, 1)
	go func() { done <- rt.Run(rctx) }()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "producer blocked") {
			t.Fatalf("Run = %v, want the stuck producer reported", err)
		}
		t.Logf("Run: %v", err)
	case <-time.After(60 * time.Second):
		stop()
		select {
		case err := <-done:
			t.Fatalf("Run returned only when stopped (%v): the stuck producer was not noticed", err)
		case <-time.After(30 * time.Second):
			t.Fatal("Run still running 30 s after the stop: the thread hangs in Produce")
		}
	}
}
