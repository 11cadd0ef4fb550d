package rill_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rillstreams/rill"
)

// TestFencedProducerRecovers fences an exactly-once app's transactional producer mid-run (a
// second producer initializes the same transactional id, bumping its epoch, as the broker does
// when it aborts a transaction that outlived transaction.timeout.ms). Kafka Streams treats a
// fenced producer as a task migration: tasks close dirty, the producer is replaced and the
// thread rejoins. rill did not: the app failed with PRODUCER_FENCED / INVALID_PRODUCER_EPOCH.
// The output must stay exact and Run end cleanly.
func TestFencedProducerRecovers(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	broker := newBroker(t, ctx, 3, "in", "out")
	recs := keyed(6000, 30, int64Bytes)
	counts, sums, n := expectedCounts(recs)
	var mu sync.Mutex // the listener runs on whichever goroutine changed the state
	var states []string
	stop := startApp(t, ctx, countTopology(t), rill.Config{CacheMaxBytes: -1, ApplicationID: "fenced", Bootstrap: broker.Addrs(),
		StateDir: t.TempDir(), ProcessID: "p1", ProcessingGuarantee: rill.ExactlyOnceV2,
		StateListener: func(_, s rill.State) { mu.Lock(); states = append(states, s.String()); mu.Unlock() }})
	must(t, broker.Produce(ctx, recs[:n/3]...))
	if out, err := broker.Consume(ctx, "out", n/6, true); err != nil {
		t.Fatalf("consumed %d: %v", len(out), err)
	}
	// The app's transactional id is <application id>-<process id>-<thread index>.
	fencer, err := kgo.NewClient(kgo.SeedBrokers(broker.Addrs()...), kgo.TransactionalID("fenced-p1-0"))
	must(t, err)
	if _, _, err := fencer.ProducerID(ctx); err != nil {
		t.Fatalf("init the fencing producer: %v", err)
	}
	fencer.Close()
	must(t, broker.Produce(ctx, recs[n/3:]...))
	out, err := broker.Consume(ctx, "out", n, true)
	if err != nil {
		t.Fatalf("consumed %d of %d: %v", len(out), n, err)
	}
	if err := checkExact(out, counts, sums); err != nil {
		t.Fatal(err)
	}
	if err := stop(); err != nil {
		mu.Lock()
		defer mu.Unlock()
		t.Fatalf("Run after the fencing: %v (states %v)", err, states)
	}
}
