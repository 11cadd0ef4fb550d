package runtime

import (
	"context"
	"strconv"
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
	"github.com/rillstreams/rill/state"
)

// The count app of the runtime's fault tests: "in" counted by key into "out" (the count as
// text), on a kfake cluster whose requests of one kind a test intercepts.

// faultCluster starts a one-broker kfake cluster with topics "in" and "out" (2 partitions)
// whose requests of key go to control (kfake's Control: return handled=false to let one
// through) for the whole test.
func faultCluster(t *testing.T, key kmsg.Key, control func(kmsg.Request) (kmsg.Response, error, bool)) *kfake.Cluster {
	t.Helper()
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(2, "in", "out"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cluster.Close)
	cluster.ControlKey(key.Int16(), func(req kmsg.Request) (kmsg.Response, error, bool) {
		cluster.KeepControl()
		return control(req)
	})
	return cluster
}

// countAppRun is a running count app: Run's result arrives on done; stop cancels it.
type countAppRun struct {
	done chan error
	stop context.CancelFunc
}

// startCountApp runs the count app on addrs with a 20 ms commit interval.
func startCountApp(t *testing.T, ctx context.Context, addrs []string, app string, exactlyOnce bool, backend state.Backend, tweak ...func(*Config)) countAppRun {
	t.Helper()
	b := dsl.NewBuilder()
	b.Stream("in", serde.String(), serde.String()).GroupByKey().Count(dsl.Materialized("counts")).
		ToStream().MapValues(func(_ string, c int64) string { return strconv.FormatInt(c, 10) }).To("out")
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{ApplicationID: app, Client: kafka.ClientConfig{Bootstrap: addrs},
		StateDir: t.TempDir(), ProcessID: "p1", NumThreads: 1, ExactlyOnce: exactlyOnce, CommitInterval: 20 * time.Millisecond,
		MaxPollRecords: 100, ReplicationFactor: -1, Backend: backend, Logger: zap.NewNop(),
		Standby:        standby.Config{AcceptableRecoveryLag: 10000, MaxWarmupReplicas: 2, ProbingRebalanceInterval: time.Minute},
		SessionTimeout: 10 * time.Second, BufferedRecordsPerPartition: 1000}
	for _, f := range tweak {
		f(&cfg)
	}
	rt, err := New(topo, cfg)
	if err != nil {
		t.Fatal(err)
	}
	rctx, stop := context.WithCancel(ctx)
	run := countAppRun{done: make(chan error, 1), stop: stop}
	go func() { run.done <- rt.Run(rctx) }()
	return run
}

// produceCountInput produces n records over keys k0..k<keys-1> in ten slices, 50 ms apart, so
// that the app commits several times while they arrive.
func produceCountInput(t *testing.T, ctx context.Context, addrs []string, n, keys int) {
	t.Helper()
	for i := 0; i < n; i += n / 10 {
		var recs []kafkatest.Record
		for j := i; j < i+n/10; j++ {
			recs = append(recs, kafkatest.Record{Topic: "in", Key: []byte("k" + strconv.Itoa(j%keys)), Value: []byte("v"), Timestamp: time.Now()})
		}
		if err := kafkatest.Produce(ctx, addrs, recs...); err != nil {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
