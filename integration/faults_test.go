package integration

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/rillstreams/rill"
	"github.com/rillstreams/rill/dsl"
	"github.com/rillstreams/rill/kafkatest"
	"github.com/rillstreams/rill/serde"
	"github.com/rillstreams/rill/topology"
)

// Faults only real brokers show: a broker killed and restarted under exactly-once, a broker of a
// 3-node cluster lost and back, and a transaction the broker aborts because it outlived
// transaction.timeout.ms. Each checks every count update exactly once in the read_committed
// output, and that no transaction is left open.

// countSumTopology counts records per key and sums their int64 values, emitting "count:sum" on
// every update: a duplicate or a lost update shows as a gap or a repeat in a key's counts.
// stall, when not nil, runs on the stream thread before each record is aggregated.
func countSumTopology(t testing.TB, stall func(k string, v int64)) *topology.Topology {
	type agg struct {
		Count int64 `json:"c"`
		Sum   int64 `json:"s"`
	}
	b := dsl.NewBuilder()
	in := b.Stream("in", serde.String(), serde.Int64())
	if stall != nil {
		in = in.Peek(stall)
	}
	in.GroupByKey().
		Aggregate(func() agg { return agg{} }, func(_ string, v int64, a agg) agg { return agg{a.Count + 1, a.Sum + v} },
			dsl.Materialized("sums"), dsl.WithSerdes(serde.String(), serde.JSON[agg]())).
		ToStream().
		MapValues(func(_ string, a agg) string { return fmt.Sprintf("%d:%d", a.Count, a.Sum) }).
		To("out")
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	return topo
}

// input makes n records over keys keys, starting at record first (values are the record's index).
func input(first, n, keys int) []kafkatest.Record {
	base := time.Now().Add(-time.Hour).UnixMilli()
	recs := make([]kafkatest.Record, n)
	for j := range recs {
		i := first + j
		v, _ := serde.Int64().Serialize("", int64(i))
		recs[j] = kafkatest.Record{Topic: "in", Key: []byte("k" + strconv.Itoa(i%keys)), Value: v,
			Timestamp: time.UnixMilli(base + int64(i))}
	}
	return recs
}

// exact checks a "count:sum" stream against n records over keys keys made by input.
func exact(out []kafkatest.Record, n, keys int) error {
	wantCount, wantSum := map[string]int64{}, map[string]int64{}
	for i := range n {
		k := "k" + strconv.Itoa(i%keys)
		wantCount[k]++
		wantSum[k] += int64(i)
	}
	count := func(v []byte) (int64, error) {
		c, _, _ := strings.Cut(string(v), ":")
		return strconv.ParseInt(c, 10, 64)
	}
	if err := kafkatest.CheckCounts(out, wantCount, true, count).Err(true); err != nil {
		return err
	}
	last := map[string]string{}
	for _, r := range out {
		last[string(r.Key)] = string(r.Value)
	}
	for k, c := range wantCount {
		if want := fmt.Sprintf("%d:%d", c, wantSum[k]); last[k] != want {
			return fmt.Errorf("key %s: final %q, want %q", k, last[k], want)
		}
	}
	return nil
}

// faultApp is an exactly-once count app running in this process against a cluster.
type faultApp struct {
	done   chan error
	cancel context.CancelFunc
	states chan string
}

func startFaultApp(t *testing.T, ctx context.Context, bootstrap []string, topo *topology.Topology, log *zap.Logger) *faultApp {
	t.Helper()
	a := &faultApp{done: make(chan error, 1), states: make(chan string, 1000)}
	app, err := rill.New(topo, rill.Config{
		// Every update is checked: the record cache would fold a key's updates per commit.
		CacheMaxBytes:       -1,
		ApplicationID:       "faults",
		Bootstrap:           bootstrap,
		StateDir:            t.TempDir(),
		ProcessingGuarantee: rill.ExactlyOnceV2,
		Logger:              log,
		StateListener: func(old, new rill.State) {
			select {
			case a.states <- fmt.Sprintf("%v->%v", old, new):
			default:
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	a.cancel = cancel
	go func() { a.done <- app.Run(runCtx) }()
	t.Cleanup(func() { _ = a.stop() })
	return a
}

func (a *faultApp) stop() error {
	if a.cancel == nil {
		return nil
	}
	a.cancel()
	a.cancel = nil
	select {
	case err := <-a.done:
		return err
	case <-time.After(60 * time.Second):
		return errors.New("app did not stop within 60s")
	}
}

// consumeExact reads n records of out (read_committed), failing early if the app stops.
func consumeExact(t *testing.T, ctx context.Context, broker *kafkatest.Broker, a *faultApp, n int) []kafkatest.Record {
	t.Helper()
	type res struct {
		out []kafkatest.Record
		err error
	}
	ch := make(chan res, 1)
	cctx, cancel := context.WithTimeout(ctx, 4*time.Minute)
	defer cancel()
	go func() {
		out, err := broker.Consume(cctx, "out", n, true)
		ch <- res{out, err}
	}()
	select {
	case r := <-ch:
		if r.err != nil {
			t.Fatalf("read %d of %d outputs: %v", len(r.out), n, r.err)
		}
		return r.out
	case err := <-a.done:
		t.Fatalf("app stopped while outputs were expected: %v", err)
	}
	return nil
}

// noOpenTransactions fails the test if the cluster still has an ongoing transaction of the app
// (a dangling transaction blocks every read_committed reader of its partitions).
func noOpenTransactions(t *testing.T, ctx context.Context, bootstrap []string) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(bootstrap...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	deadline := time.Now().Add(30 * time.Second)
	for {
		txns, err := adm.ListTransactions(ctx, nil, []string{"Ongoing", "PrepareCommit", "PrepareAbort"})
		if err != nil {
			t.Fatalf("list transactions: %v", err)
		}
		var open []string
		for _, tx := range txns.Sorted() {
			open = append(open, fmt.Sprintf("%s (%s)", tx.TxnID, tx.State))
		}
		if len(open) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("transactions still open 30s after the app stopped: %v", open)
		}
		time.Sleep(time.Second)
	}
}

// runThroughFault runs the count app over 4 chunks of input, calling fault after the first
// chunk has been processed in part, and checks the output exact.
func runThroughFault(t *testing.T, c *cluster, fault func(ctx context.Context)) {
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	t.Setenv(kafkatest.ExternalEnv, strings.Join(c.Bootstrap(), ","))
	broker := kafkatest.New(t)
	if err := broker.CreateTopic(ctx, "in", 3); err != nil {
		t.Fatal(err)
	}
	if err := broker.CreateTopic(ctx, "out", 3); err != nil {
		t.Fatal(err)
	}
	const chunk, chunks, keys = 5000, 4, 30
	a := startFaultApp(t, ctx, c.Bootstrap(), countSumTopology(t, nil), zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel)))
	if err := broker.Produce(ctx, input(0, chunk, keys)...); err != nil {
		t.Fatal(err)
	}
	consumeExact(t, ctx, broker, a, chunk/4) // processing is under way
	start := time.Now()
	fault(ctx)
	for i := 1; i < chunks; i++ {
		if err := produceRetrying(ctx, broker, input(i*chunk, chunk, keys)); err != nil {
			t.Fatal(err)
		}
	}
	out := consumeExact(t, ctx, broker, a, chunk*chunks)
	t.Logf("all %d outputs %s after the fault", len(out), time.Since(start).Round(time.Millisecond))
	if err := exact(out, chunk*chunks, keys); err != nil {
		t.Fatal(err)
	}
	if err := a.stop(); err != nil {
		t.Fatalf("Run after the fault: %v", err)
	}
	noOpenTransactions(t, ctx, c.Bootstrap())
}

// produceRetrying produces, retrying while the cluster is still electing leaders after a restart.
func produceRetrying(ctx context.Context, b *kafkatest.Broker, recs []kafkatest.Record) error {
	var err error
	for range 10 {
		if err = b.Produce(ctx, recs...); err == nil {
			return nil
		}
		time.Sleep(2 * time.Second)
	}
	return err
}

// TestBrokerKilledExactlyOnce SIGKILLs the only broker while an exactly-once app is busy and
// starts it again: the app must ride it out (no ERROR, no hang) and the output stay exact.
func TestBrokerKilledExactlyOnce(t *testing.T) {
	needKafka(t)
	c := startCluster(t, context.Background(), clusterOpts{nodes: 1})
	runThroughFault(t, c, func(ctx context.Context) {
		c.Kill(ctx, 0)
		time.Sleep(3 * time.Second)
		c.Start(ctx, 0)
	})
}

// TestBrokerStoppedExactlyOnce stops the only broker cleanly (SIGTERM: leadership and
// coordinators move nowhere, open transactions stay open) and starts it again.
func TestBrokerStoppedExactlyOnce(t *testing.T) {
	needKafka(t)
	c := startCluster(t, context.Background(), clusterOpts{nodes: 1})
	runThroughFault(t, c, func(ctx context.Context) {
		c.Stop(ctx, 0)
		c.Start(ctx, 0)
	})
}

// TestBrokerLossExactlyOnce kills one broker of three (partition leaders and coordinators move
// to the others), keeps going without it, then brings it back.
func TestBrokerLossExactlyOnce(t *testing.T) {
	needKafka(t)
	if skipCluster() {
		t.Skip("RILL_SKIP_CLUSTER set: runs in make test-kafka-cluster")
	}
	c := startCluster(t, context.Background(), clusterOpts{nodes: 3})
	runThroughFault(t, c, func(ctx context.Context) {
		c.Kill(ctx, 1)
		time.Sleep(15 * time.Second)
		c.Start(ctx, 1)
	})
}

// TestTransactionTimeoutExactlyOnce stalls the stream thread past the producer's transaction
// timeout (10 s, Kafka Streams' EOS default): the broker aborts the open transaction and bumps
// the producer's epoch, so the next produce or commit is refused as fenced. Kafka Streams treats
// that as a task migration (close the tasks dirty, re-initialize the producer, rejoin); the app
// must not fail, and the aborted records must be processed again exactly once.
func TestTransactionTimeoutExactlyOnce(t *testing.T) {
	needKafka(t)
	c := startCluster(t, context.Background(), clusterOpts{nodes: 1, extraConfig: []string{
		// The coordinator looks for timed-out transactions every second, not every 10 s.
		"transaction.abort.timed.out.transaction.cleanup.interval.ms=1000",
	}})
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	t.Setenv(kafkatest.ExternalEnv, strings.Join(c.Bootstrap(), ","))
	broker := kafkatest.New(t)
	for _, topic := range []string{"in", "out"} {
		if err := broker.CreateTopic(ctx, topic, 3); err != nil {
			t.Fatal(err)
		}
	}
	const n, keys = 3000, 30
	var stalled atomic.Bool
	var mu sync.Mutex
	var stalledAt time.Time
	topo := countSumTopology(t, func(k string, v int64) {
		if v == n/2 && stalled.CompareAndSwap(false, true) {
			mu.Lock()
			stalledAt = time.Now()
			mu.Unlock()
			time.Sleep(16 * time.Second) // past the 10 s transaction timeout and the abort sweep
		}
	})
	a := startFaultApp(t, ctx, c.Bootstrap(), topo, zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel)))
	if err := broker.Produce(ctx, input(0, n, keys)...); err != nil {
		t.Fatal(err)
	}
	out := consumeExact(t, ctx, broker, a, n)
	if !stalled.Load() {
		t.Fatal("the stall never ran")
	}
	mu.Lock()
	t.Logf("all %d outputs %s after the stall began", len(out), time.Since(stalledAt).Round(time.Millisecond))
	mu.Unlock()
	if err := exact(out, n, keys); err != nil {
		t.Fatal(err)
	}
	if err := a.stop(); err != nil {
		t.Fatalf("Run after the aborted transaction: %v", err)
	}
	noOpenTransactions(t, ctx, c.Bootstrap())
}
