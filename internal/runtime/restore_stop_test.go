package runtime

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
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
	"github.com/rillstreams/rill/state/rocksdb"
	"github.com/rillstreams/rill/topology"
)

func countTopo(t *testing.T) *topology.Topology {
	b := dsl.NewBuilder()
	b.Stream("in", serde.String(), serde.String()).GroupByKey().Count(dsl.Materialized("counts")).
		ToStream().MapValues(func(_ string, c int64) string { return strconv.FormatInt(c, 10) }).To("out")
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	return topo
}

// Stopping the app while a task restores (here a restoration that cannot progress: every fetch
// hangs) ends Run promptly with nil, instead of finishing (or stalling through) the
// restoration first: franz-go runs the assignment under its client's context, which the
// app's cancellation did not reach.
func TestStopDuringRestore(t *testing.T) {
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
	var recs []kafkatest.Record
	for i := 0; i < 500; i++ {
		recs = append(recs, kafkatest.Record{Topic: "in", Key: []byte("k" + strconv.Itoa(i)), Value: []byte("v"), Timestamp: time.Now()})
	}
	if err := kafkatest.Produce(ctx, addrs, recs...); err != nil {
		t.Fatal(err)
	}
	backend, err := rocksdb.NewBackend(rocksdb.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer backend.Close()
	cfg := func(dir string) Config {
		return Config{ApplicationID: "stop-restore", Client: kafka.ClientConfig{Bootstrap: addrs},
			StateDir: dir, ProcessID: "p1", NumThreads: 1, CommitInterval: 20 * time.Millisecond,
			MaxPollRecords: 100, ReplicationFactor: -1, Backend: backend, Logger: zap.NewNop(),
			Standby:        standby.Config{AcceptableRecoveryLag: 10000, MaxWarmupReplicas: 2, ProbingRebalanceInterval: time.Minute},
			SessionTimeout: 10 * time.Second, BufferedRecordsPerPartition: 1000}
	}
	run := func(dir string, until func() bool) error {
		rt, err := New(countTopo(t), cfg(dir))
		if err != nil {
			t.Fatal(err)
		}
		rctx, stop := context.WithCancel(ctx)
		defer stop()
		done := make(chan error, 1)
		go func() { done <- rt.Run(rctx) }()
		for !until() {
			select {
			case err := <-done:
				t.Fatalf("Run returned early: %v", err)
			case <-time.After(20 * time.Millisecond):
			}
		}
		stop()
		select {
		case err := <-done:
			return err
		case <-time.After(30 * time.Second):
			t.Fatal("Run still running 30 s after the stop")
			return nil
		}
	}
	// A first run writes the changelog.
	adm, err := kafka.NewAdmin(kafka.ClientConfig{Bootstrap: addrs})
	if err != nil {
		t.Fatal(err)
	}
	defer adm.Close()
	changelogWritten := func() bool {
		end, err := adm.HighWatermarks(ctx, "stop-restore-counts-changelog")
		return err == nil && end["stop-restore-counts-changelog"][0] >= int64(len(recs))
	}
	if err := run(t.TempDir(), changelogWritten); err != nil {
		t.Fatal(err)
	}
	// From here every fetch hangs; a new state directory must restore the whole changelog.
	var fetching atomic.Bool
	var once sync.Once
	cluster.ControlKey(kmsg.Fetch.Int16(), func(kmsg.Request) (kmsg.Response, error, bool) {
		cluster.KeepControl()
		once.Do(func() { fetching.Store(true) })
		cluster.SleepControl(func() { <-release })
		return nil, nil, false
	})
	began := time.Now()
	if err := run(t.TempDir(), fetching.Load); err != nil {
		t.Fatalf("Run = %v, want nil for a stop during restoration", err)
	}
	t.Logf("stopped %v after the restoration began", time.Since(began).Round(time.Millisecond))
}
