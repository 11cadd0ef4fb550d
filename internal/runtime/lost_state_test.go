package runtime

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rillstreams/rill/standby"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/zap"

	"github.com/rillstreams/rill/dsl"
	"github.com/rillstreams/rill/internal/kafka"
	"github.com/rillstreams/rill/serde"
	"github.com/rillstreams/rill/state/memory"
)

// A member whose group session is lost (the coordinator forgot it: brokers unreachable past the
// session timeout, a stalled thread) reports REBALANCING to the state listener, and RUNNING
// again once it rejoined (issue 15: State() stayed RUNNING while the tasks were gone).
func TestLostSessionReportsRebalancing(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var forget atomic.Bool
	cluster := faultCluster(t, kmsg.Heartbeat, func(req kmsg.Request) (kmsg.Response, error, bool) {
		if !forget.CompareAndSwap(true, false) {
			return nil, nil, false
		}
		resp := req.ResponseKind().(*kmsg.HeartbeatResponse)
		resp.ErrorCode = kerr.UnknownMemberID.Code
		return resp, nil, true
	})
	b := dsl.NewBuilder()
	b.Stream("in", serde.String(), serde.String()).To("out")
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var states []State
	running := make(chan struct{}, 4)
	rt, err := New(topo, Config{ApplicationID: "lost", Client: kafka.ClientConfig{Bootstrap: cluster.ListenAddrs()},
		StateDir: t.TempDir(), ProcessID: "p1", NumThreads: 1, CommitInterval: 20 * time.Millisecond,
		MaxPollRecords: 100, ReplicationFactor: -1, Backend: memory.Backend(), Logger: zap.NewNop(),
		Standby:        standby.Config{AcceptableRecoveryLag: 10000, MaxWarmupReplicas: 2, ProbingRebalanceInterval: time.Minute},
		SessionTimeout: 6 * time.Second, BufferedRecordsPerPartition: 1000,
		OnState: func(s State) {
			mu.Lock()
			states = append(states, s)
			mu.Unlock()
			if s == Running {
				running <- struct{}{}
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	rctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- rt.Run(rctx) }()
	for round := range 2 {
		select {
		case <-running:
		case err := <-done:
			t.Fatalf("Run returned %v", err)
		case <-ctx.Done():
			mu.Lock()
			defer mu.Unlock()
			t.Fatalf("RUNNING not reached in round %d; states %v", round, states)
		}
		forget.Store(true) // the next heartbeat is answered UNKNOWN_MEMBER_ID
	}
	stop()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	first := slices.Index(states, Running)
	if first < 0 || !slices.Contains(states[first:], Rebalancing) {
		t.Fatalf("states %v: want REBALANCING after RUNNING when the session was lost", states)
	}
}
