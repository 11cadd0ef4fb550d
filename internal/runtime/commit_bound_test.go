package runtime

import (
	"context"
	"strings"
	"sync"
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

// A broker that stops answering the end of a transaction (as after a broker restart in issue
// 14, where the app sat in PENDING_SHUTDOWN for over 10 minutes and SIGINT did nothing) must
// not hold the stream thread for ever: the commit fails after BlockTimeout and Run returns,
// also when the app was asked to stop meanwhile.
func TestHungCommitIsBounded(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "in", "out"))
	if err != nil {
		t.Fatal(err)
	}
	// Every EndTxn sleeps until the test ends: the transaction coordinator never answers.
	release := make(chan struct{})
	hung := make(chan struct{})
	var once sync.Once
	cluster.ControlKey(kmsg.EndTxn.Int16(), func(kmsg.Request) (kmsg.Response, error, bool) {
		cluster.KeepControl()
		once.Do(func() { close(hung) })
		cluster.SleepControl(func() { <-release })
		return nil, nil, false
	})
	defer cluster.Close()
	defer close(release) // before Close: wake the sleeping control functions
	addrs := cluster.ListenAddrs()
	if err := kafkatest.Produce(ctx, addrs, kafkatest.Record{Topic: "in", Key: []byte("k"), Value: []byte("v"), Timestamp: time.Now()}); err != nil {
		t.Fatal(err)
	}
	b := dsl.NewBuilder()
	b.Stream("in", serde.String(), serde.String()).To("out")
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	rt, err := New(topo, Config{ApplicationID: "hung-commit", Client: kafka.ClientConfig{Bootstrap: addrs},
		StateDir: t.TempDir(), ProcessID: "p1", NumThreads: 1, ExactlyOnce: true, CommitInterval: 50 * time.Millisecond,
		MaxPollRecords: 100, ReplicationFactor: -1, Backend: memory.Backend(), Logger: zap.NewNop(),
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
	case <-hung:
	case err := <-done:
		t.Fatalf("Run returned %v before committing", err)
	case <-ctx.Done():
		t.Fatal("no transaction ever ended")
	}
	stop() // Ctrl-C while the commit hangs
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "commit did not finish within 2s") {
			t.Fatalf("Run = %v, want the commit's timeout", err)
		}
		t.Logf("Run: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("Run still running 30 s after the stop, with BlockTimeout 2 s: the hung commit holds it")
	}
}
