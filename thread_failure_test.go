package rill_test

import (
	"context"
	"errors"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rillstreams/rill"
	"github.com/rillstreams/rill/dsl"
	"github.com/rillstreams/rill/kafkatest"
	"github.com/rillstreams/rill/serde"
	"github.com/rillstreams/rill/state/memory"
	"github.com/rillstreams/rill/topology"
)

// failingTopology copies "in" to "out", failing (processing error, default handler: the thread
// fails) on every record for which fail says so.
func failingTopology(t *testing.T, fail func(v string) bool) *topology.Topology {
	b := dsl.NewBuilder()
	b.Stream("in", serde.String(), serde.String()).
		MapValues(func(_, v string) string {
			if fail(v) {
				panic("poison " + v)
			}
			return v
		}).
		To("out")
	topo, err := b.Build()
	must(t, err)
	return topo
}

func threadFailureInput(n int) []kafkatest.Record {
	var recs []kafkatest.Record
	for i := range n {
		recs = append(recs, kafkatest.Record{Topic: "in", Key: []byte("k" + strconv.Itoa(i%11)), Value: []byte(strconv.Itoa(i)), Timestamp: time.UnixMilli(int64(i))})
	}
	return recs
}

// ReplaceThread (Kafka Streams' REPLACE_THREAD): a thread failing on a record once is replaced;
// the new thread starts from the committed offsets and processes everything, exactly once
// under exactly-once, and Run does not stop.
func TestThreadFailureReplaceThread(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	broker := newBroker(t, ctx, 2, "in", "out")
	const n = 200
	var failed atomic.Bool
	topo := failingTopology(t, func(v string) bool { return v == "117" && failed.CompareAndSwap(false, true) })
	must(t, broker.Produce(ctx, threadFailureInput(n)...))
	var handled atomic.Int32
	stop := startApp(t, ctx, topo, rill.Config{CacheMaxBytes: -1, ApplicationID: "replace-thread", Bootstrap: broker.Addrs(),
		StateDir: t.TempDir(), CommitInterval: 50 * time.Millisecond, StoreBackend: memory.Backend(),
		ProcessingGuarantee: rill.ExactlyOnceV2,
		ErrorHandlers: rill.ErrorHandlers{ThreadFailure: func(err error) rill.ThreadFailureResponse {
			handled.Add(1)
			return rill.ReplaceThread
		}}})
	out, err := broker.Consume(ctx, "out", n, true)
	if err != nil {
		t.Fatalf("consumed %d of %d: %v", len(out), n, err)
	}
	seen := map[string]int{}
	for _, r := range out {
		seen[string(r.Value)]++
	}
	for i := range n {
		if c := seen[strconv.Itoa(i)]; c != 1 {
			t.Errorf("record %d in the output %d times, want 1", i, c)
		}
	}
	if !failed.Load() || handled.Load() != 1 {
		t.Fatalf("poison met %v, handler called %d times; want true, 1", failed.Load(), handled.Load())
	}
	must(t, stop()) // Run was still running, and stops cleanly
}

// ShutdownApplication (Kafka Streams' SHUTDOWN_APPLICATION): one instance's thread fails on a
// record and its handler asks the application to shut down; every instance's Run returns
// ErrShutdownRequested (the failing one with its thread's error too), not only the failing one.
func TestThreadFailureShutdownApplication(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	broker := newBroker(t, ctx, 4, "in", "out")
	const n = 400
	var poisonOn atomic.Bool // the poison fails once both instances run their tasks
	topo := failingTopology(t, func(v string) bool { return v == "poison" && poisonOn.Load() })
	must(t, broker.Produce(ctx, threadFailureInput(n)...))
	type result struct {
		i   int
		err error
	}
	results := make(chan result, 2)
	var handled atomic.Int32
	for i := range 2 {
		app, err := rill.New(topo, rill.Config{CacheMaxBytes: -1, ApplicationID: "shutdown-app", Bootstrap: broker.Addrs(),
			StateDir: t.TempDir(), ProcessID: "p" + strconv.Itoa(i), CommitInterval: 50 * time.Millisecond,
			StoreBackend: memory.Backend(),
			ErrorHandlers: rill.ErrorHandlers{ThreadFailure: func(error) rill.ThreadFailureResponse {
				handled.Add(1)
				return rill.ShutdownApplication
			}}})
		must(t, err)
		go func() { results <- result{i, app.Run(ctx)} }()
	}
	if out, err := broker.Consume(ctx, "out", n, false); err != nil {
		t.Fatalf("consumed %d of %d before the poison: %v", len(out), n, err)
	}
	poisonOn.Store(true)
	must(t, broker.Produce(ctx, kafkatest.Record{Topic: "in", Key: []byte("k3"), Value: []byte("poison"), Timestamp: time.UnixMilli(n)}))
	for range 2 {
		select {
		case r := <-results:
			if !errors.Is(r.err, rill.ErrShutdownRequested) {
				t.Errorf("instance %d: Run returned %v, want ErrShutdownRequested", r.i, r.err)
			}
			t.Logf("instance %d: %v", r.i, r.err)
		case <-ctx.Done():
			t.Fatal("an instance did not stop after the shutdown request")
		}
	}
	if handled.Load() != 1 {
		t.Fatalf("handler called %d times, want 1", handled.Load())
	}
}
