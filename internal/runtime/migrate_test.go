package runtime

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rillstreams/rill/standby"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/zap"

	"github.com/rillstreams/rill/dsl"
	"github.com/rillstreams/rill/internal/kafka"
	"github.com/rillstreams/rill/kafkatest"
	"github.com/rillstreams/rill/serde"
	"github.com/rillstreams/rill/state/memory"
	"github.com/rillstreams/rill/state/rocksdb"
)

// A producer whose epoch the transaction coordinator no longer accepts (as after the broker
// crash of issue 14, which stopped the app with INVALID_PRODUCER_EPOCH then PRODUCER_FENCED) is
// a task migration, not a failure: the thread closes its tasks dirty, makes a new producer,
// rejoins and carries on, and the read_committed output stays exact.
func TestFencedProducerMigratesTasks(t *testing.T) {
	for _, code := range []*kerr.Error{kerr.InvalidProducerEpoch, kerr.ProducerFenced} {
		t.Run(code.Message, func(t *testing.T) { fencedRun(t, code) })
	}
}

func fencedRun(t *testing.T, code *kerr.Error) {
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	// The third commit is refused: the coordinator has moved on from this producer's epoch.
	var commits, refused atomic.Int32
	cluster := faultCluster(t, kmsg.EndTxn, func(req kmsg.Request) (kmsg.Response, error, bool) {
		if !req.(*kmsg.EndTxnRequest).Commit || commits.Add(1) != 3 {
			return nil, nil, false
		}
		refused.Add(1)
		resp := req.ResponseKind().(*kmsg.EndTxnResponse)
		resp.ErrorCode = code.Code
		return resp, nil, true
	})
	addrs := cluster.ListenAddrs()
	const n, keys = 3000, 10
	backend, err := rocksdb.NewBackend(rocksdb.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer backend.Close()
	run := startCountApp(t, ctx, addrs, "fenced", true, backend)
	done, stop := run.done, run.stop
	produceCountInput(t, ctx, addrs, n, keys)
	cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...), kgo.ConsumeTopics("out"), kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	last := map[string]int64{}
	got := 0
	for got < n {
		select {
		case err := <-done:
			t.Fatalf("Run returned %v after %d of %d outputs", err, got, n)
		default:
		}
		fctx, fcancel := context.WithTimeout(ctx, 500*time.Millisecond)
		fetches := cl.PollFetches(fctx)
		fcancel()
		if ctx.Err() != nil {
			t.Fatalf("%d of %d outputs", got, n)
		}
		var bad error
		fetches.EachRecord(func(r *kgo.Record) {
			c, _ := strconv.ParseInt(string(r.Value), 10, 64)
			if c != last[string(r.Key)]+1 && bad == nil {
				bad = fmt.Errorf("key %s: count %d after %d (duplicate or lost update)", r.Key, c, last[string(r.Key)])
			}
			last[string(r.Key)] = c
			got++
		})
		if bad != nil {
			t.Fatal(bad)
		}
	}
	stop()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if refused.Load() != 1 {
		t.Fatalf("%d commits refused, want 1: the scenario did not happen", refused.Load())
	}
	for k, c := range last {
		if c != n/keys {
			t.Errorf("key %s: final count %d, want %d", k, c, n/keys)
		}
	}
}

// A producer fenced again and again (another live instance with the same ProcessID fences
// each new one) fails the thread with a hint instead of migrating for ever.
func TestFencedOverAndOverFails(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "in", "out"))
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Close()
	cluster.ControlKey(kmsg.EndTxn.Int16(), func(req kmsg.Request) (kmsg.Response, error, bool) {
		cluster.KeepControl()
		if !req.(*kmsg.EndTxnRequest).Commit {
			return nil, nil, false
		}
		resp := req.ResponseKind().(*kmsg.EndTxnResponse)
		resp.ErrorCode = kerr.ProducerFenced.Code
		return resp, nil, true
	})
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
	rt, err := New(topo, Config{ApplicationID: "fenced-again", Client: kafka.ClientConfig{Bootstrap: addrs},
		StateDir: t.TempDir(), ProcessID: "twin", NumThreads: 1, ExactlyOnce: true, CommitInterval: 20 * time.Millisecond,
		MaxPollRecords: 100, ReplicationFactor: -1, Backend: memory.Backend(), Logger: zap.NewNop(),
		Standby:        standby.Config{AcceptableRecoveryLag: 10000, MaxWarmupReplicas: 2, ProbingRebalanceInterval: time.Minute},
		SessionTimeout: 10 * time.Second, BufferedRecordsPerPartition: 1000})
	if err != nil {
		t.Fatal(err)
	}
	err = rt.Run(ctx)
	if err == nil || !strings.Contains(err.Error(), `another running instance use ProcessID "twin"`) || ctx.Err() != nil {
		t.Fatalf("Run = %v (ctx %v), want the repeated fencing reported", err, ctx.Err())
	}
	t.Logf("Run: %v", err)
}
