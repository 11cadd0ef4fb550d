package runtime

import (
	"context"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/rillstreams/rill/standby"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/rillstreams/rill/dsl"
	"github.com/rillstreams/rill/internal/kafka"
	"github.com/rillstreams/rill/kafkatest"
	"github.com/rillstreams/rill/serde"
	"github.com/rillstreams/rill/state/memory"
)

// A topic created while the app runs that a pattern matches is not read (it would need a
// restart), and the runtime says so instead of missing it silently.
func TestPatternNewTopicWarns(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	broker := kafkatest.New(t)
	for _, topic := range []string{"orders-eu", "out"} {
		if err := broker.CreateTopic(ctx, topic, 1); err != nil {
			t.Fatal(err)
		}
	}
	b := dsl.NewBuilder()
	b.StreamPattern(regexp.MustCompile(`orders-.*`), serde.String(), serde.String()).To("out")
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	core, logs := observer.New(zap.WarnLevel)
	running := make(chan struct{})
	var once sync.Once
	rt, err := New(topo, Config{OnState: func(s State) {
		if s == Running {
			once.Do(func() { close(running) })
		}
	}, ApplicationID: "pattern-watch", Client: kafka.ClientConfig{Bootstrap: broker.Addrs()},
		StateDir: t.TempDir(), ProcessID: "p1", NumThreads: 1, CommitInterval: 50 * time.Millisecond,
		MaxPollRecords: 100, ReplicationFactor: -1, Backend: memory.Backend(), Logger: zap.New(core),
		Standby:        standby.Config{AcceptableRecoveryLag: 10000, MaxWarmupReplicas: 2, ProbingRebalanceInterval: time.Minute},
		SessionTimeout: 10 * time.Second, PatternCheckInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	rctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- rt.Run(rctx) }()
	defer func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	// Created once the app runs, so after the patterns were resolved: a topic created while
	// Run starts may be resolved with the others (and rightly not warned about), which made
	// this test fail under load (issue 15).
	select {
	case <-running:
	case <-ctx.Done():
		t.Fatal("the app never ran")
	}
	if err := broker.CreateTopic(ctx, "orders-us", 1); err != nil {
		t.Fatal(err)
	}
	for ctx.Err() == nil {
		for _, e := range logs.FilterMessageSnippet("matches a pattern source").All() {
			if e.ContextMap()["topic"] != "orders-us" {
				t.Fatalf("warned about %v", e.ContextMap())
			}
			time.Sleep(200 * time.Millisecond) // a few more checks: still one warning
			if n := logs.FilterMessageSnippet("matches a pattern source").Len(); n != 1 {
				t.Errorf("%d warnings, want one per topic", n)
			}
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("no warning about orders-us")
}
