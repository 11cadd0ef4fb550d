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

	"github.com/rillstreams/rill/state/memory"
)

// An at-least-once offset commit the coordinator refuses because the member is no longer in
// the group (UNKNOWN_MEMBER_ID: a session that timed out on a loaded host) or in this generation
// (ILLEGAL_GENERATION, REBALANCE_IN_PROGRESS) is a task migration, as Kafka Streams' commit turns
// CommitFailedException into TaskMigratedException: the thread closes its tasks dirty, rejoins
// and goes on from the committed offsets. rill-torture on real Kafka had an instance die of
// "commit torture-in[1]: UNKNOWN_MEMBER_ID".
func TestRefusedCommitMigratesTasks(t *testing.T) {
	for _, code := range []*kerr.Error{kerr.UnknownMemberID, kerr.IllegalGeneration, kerr.RebalanceInProgress} {
		t.Run(code.Message, func(t *testing.T) { refusedCommitRun(t, code) })
	}
}

func refusedCommitRun(t *testing.T, code *kerr.Error) {
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	// The third commit is refused.
	var commits, refused atomic.Int32
	cluster := faultCluster(t, kmsg.OffsetCommit, func(req kmsg.Request) (kmsg.Response, error, bool) {
		if commits.Add(1) != 3 {
			return nil, nil, false
		}
		refused.Add(1)
		r := req.(*kmsg.OffsetCommitRequest)
		resp := r.ResponseKind().(*kmsg.OffsetCommitResponse)
		for _, rt := range r.Topics {
			st := kmsg.NewOffsetCommitResponseTopic()
			st.Topic, st.TopicID = rt.Topic, rt.TopicID
			for _, rp := range rt.Partitions {
				sp := kmsg.NewOffsetCommitResponseTopicPartition()
				sp.Partition, sp.ErrorCode = rp.Partition, code.Code
				st.Partitions = append(st.Partitions, sp)
			}
			resp.Topics = append(resp.Topics, st)
		}
		return resp, nil, true
	})
	addrs := cluster.ListenAddrs()
	const n, keys = 2000, 10
	run := startCountApp(t, ctx, addrs, "refused", false, memory.Backend())
	done, stop := run.done, run.stop
	produceCountInput(t, ctx, addrs, n, keys)
	cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...), kgo.ConsumeTopics("out"))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	// At least once: every key's count reaches its number of inputs (a replay may count some
	// records twice, never fewer).
	last := map[string]int64{}
	for {
		reached := 0
		for k := range keys {
			if last["k"+strconv.Itoa(k)] >= n/keys {
				reached++
			}
		}
		if reached == keys {
			break
		}
		select {
		case err := <-done:
			t.Fatalf("Run returned %v (the refused commit must not stop the app); counts %v", err, last)
		default:
		}
		fctx, fcancel := context.WithTimeout(ctx, 500*time.Millisecond)
		fetches := cl.PollFetches(fctx)
		fcancel()
		if ctx.Err() != nil {
			t.Fatalf("counts %v, want %d each", last, n/keys)
		}
		fetches.EachRecord(func(r *kgo.Record) {
			c, _ := strconv.ParseInt(string(r.Value), 10, 64)
			last[string(r.Key)] = max(last[string(r.Key)], c)
		})
	}
	if refused.Load() != 1 {
		t.Fatalf("%d commits refused, want 1", refused.Load())
	}
	stop()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
}
