package kafka

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Close is bounded by its context even when the coordinator holds a JoinGroup (a rebalance in
// progress waits for every member, up to the rebalance timeout): franz-go's own Close waits for
// the group to be left, and the leave for the join. rill-torture saw an instance take over a
// minute to stop on SIGTERM, stuck there.
func TestSessionCloseIsBoundedDuringAJoin(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "in"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	release := make(chan struct{})
	defer close(release)
	var joins, held atomic.Int32
	c.ControlKey(int16(kmsg.JoinGroup), func(kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		if joins.Add(1) <= 2 { // the first join (and its member-id retry) goes through
			return nil, nil, false
		}
		held.Add(1)
		c.SleepControl(func() { <-release })
		return nil, nil, false
	})
	s, err := NewSession(SessionConfig{ClientConfig: ClientConfig{Bootstrap: c.ListenAddrs()}, Group: "g", Topics: []string{"in"}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for joins.Load() < 2 && ctx.Err() == nil {
		pctx, pcancel := context.WithTimeout(ctx, 200*time.Millisecond)
		_, _ = s.Poll(pctx, 10)
		pcancel()
		s.AllowRebalance()
	}
	s.ForceRebalance()
	for held.Load() == 0 && ctx.Err() == nil {
		s.AllowRebalance()
		time.Sleep(50 * time.Millisecond)
	}
	if held.Load() == 0 {
		t.Fatal("no JoinGroup held: the test did not make a rebalance wait")
	}
	cctx, ccancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer ccancel()
	start := time.Now()
	s.Close(cctx)
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("Close took %v with a 2 s context while a join was held", d)
	}
}
