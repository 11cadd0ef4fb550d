package runtime

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/rillstreams/rill/kafkatest"
	"github.com/rillstreams/rill/state/memory"
)

// Exactly once, a commit that comes while a rebalance waits for the thread (the member left
// its heartbeat loop: here the session was lost) aborts its transaction and lets the
// rebalance in. franz-go's End asked for a heartbeat only that loop answers and waited out
// the commit's whole bound first: rill-torture's instances spent BlockTimeout (a minute) in
// such commits, failed them as brokers unreachable, and were killed for not stopping.
func TestCommitDuringAWaitingRebalanceDoesNotStall(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	var forget, refused atomic.Int32
	forget.Store(-1 << 30) // no heartbeat refused until the app runs
	cluster := faultCluster(t, kmsg.Heartbeat, func(req kmsg.Request) (kmsg.Response, error, bool) {
		if forget.Add(-1) != 0 {
			return nil, nil, false
		}
		refused.Add(1)
		resp := req.ResponseKind().(*kmsg.HeartbeatResponse)
		resp.ErrorCode = kerr.UnknownMemberID.Code
		return resp, nil, true
	})
	// The app's next transactional produce is held back a while: the thread sits in that
	// commit's flush while the heartbeat is refused, so the rebalance waits for it.
	var holdProduce atomic.Bool
	cluster.ControlKey(kmsg.Produce.Int16(), func(req kmsg.Request) (kmsg.Response, error, bool) {
		cluster.KeepControl()
		if r, ok := req.(*kmsg.ProduceRequest); ok && r.TransactionID != nil && holdProduce.CompareAndSwap(true, false) {
			cluster.SleepControl(func() { time.Sleep(5 * time.Second) })
		}
		return nil, nil, false
	})
	addrs := cluster.ListenAddrs()
	core, logs := observer.New(zap.WarnLevel)
	const rounds, perRound, keys = 120, 50, 10
	const n = rounds * perRound
	run := startCountApp(t, ctx, addrs, "waiting", true, memory.Backend(), func(c *Config) {
		c.Logger = zap.New(core)
		c.BlockTimeout = 20 * time.Second
	})
	defer func() {
		run.stop()
		<-run.done
	}()
	for i := range rounds {
		if i == 20 {
			holdProduce.Store(true)
			forget.Store(1) // the next heartbeat: UNKNOWN_MEMBER_ID
		}
		var recs []kafkatest.Record
		for j := range perRound {
			recs = append(recs, kafkatest.Record{Topic: "in", Key: []byte("k" + strconv.Itoa((i*perRound+j)%keys)), Value: []byte("v"), Timestamp: time.Now()})
		}
		if err := kafkatest.Produce(ctx, addrs, recs...); err != nil {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if refused.Load() == 0 {
		t.Fatal("no heartbeat was refused: the test did not make a rebalance wait")
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...), kgo.ConsumeTopics("out"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	final := map[string]bool{}
	for len(final) < keys {
		fetches := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("%d of %d keys reached their final count", len(final), keys)
		}
		fetches.EachRecord(func(r *kgo.Record) {
			if c, _ := strconv.Atoi(string(r.Value)); c == n/keys {
				final[string(r.Key)] = true
			}
		})
	}
	if stalled := logs.FilterMessageSnippet("a commit or a send failed"); stalled.Len() > 0 {
		t.Fatalf("%d commits stalled until their bound and failed as brokers unreachable: %v",
			stalled.Len(), stalled.All()[0].ContextMap())
	}
}
