package runtime

import (
	"context"
	"encoding/binary"
	"strconv"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rillstreams/rill/internal/kafka"
	"github.com/rillstreams/rill/kafkatest"
	"github.com/rillstreams/rill/state/memory"
)

// A task taken over while its previous owner's transaction is still open — that owner had
// committed its input offsets in the transaction (TxnOffsetCommit) but not yet ended it —
// restores what that transaction wrote once it commits. Restoring up to the changelog's last
// stable offset at once, while the consumer then waited for the pending offsets and started
// after the transaction's input, left the store behind its offsets: counts fell back and the
// transaction's records were never counted again (issue 14: the kfake exactly-once torture run
// after group-session losses; before the fix the count here went on from 50, not from 80).
func TestRestoreWaitsForThePreviousOwnersTransaction(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "in", "out"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cluster.Close)
	addrs := cluster.ListenAddrs()
	produceKey := func(n int) {
		t.Helper()
		recs := make([]kafkatest.Record, n)
		for i := range recs {
			recs[i] = kafkatest.Record{Topic: "in", Key: []byte("k"), Value: []byte("v"), Timestamp: time.Now()}
		}
		if err := kafkatest.Produce(ctx, addrs, recs...); err != nil {
			t.Fatal(err)
		}
	}

	// The first owner counts 50 records and stops cleanly.
	produceKey(50)
	run := startCountApp(t, ctx, addrs, "pending", true, memory.Backend())
	waitCommittedCount(t, ctx, addrs, "50")
	run.stop()
	if err := <-run.done; err != nil {
		t.Fatalf("first run: %v", err)
	}

	// A second owner (a member whose session the group has since given up on) processed 30
	// more records in a transaction: its changelog write and its input offsets are in, its
	// end is not.
	produceKey(30)
	last := lastRecord(t, ctx, addrs, "pending-counts-changelog")
	if len(last.Value) < 8 {
		t.Fatalf("changelog value %x: not a count", last.Value)
	}
	value := append([]byte(nil), last.Value...)
	// The count is the value's last 8 bytes (big endian), after the timestamp if any.
	if got := binary.BigEndian.Uint64(value[len(value)-8:]); got != 50 {
		t.Fatalf("changelog count %d, want 50 (value %x)", got, value)
	}
	binary.BigEndian.PutUint64(value[len(value)-8:], 80)
	zombie, err := kgo.NewClient(kgo.SeedBrokers(addrs...), kgo.TransactionalID("previous-owner"))
	if err != nil {
		t.Fatal(err)
	}
	defer zombie.Close()
	if err := zombie.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	if err := zombie.ProduceSync(ctx, &kgo.Record{Topic: "pending-counts-changelog", Key: last.Key, Value: value}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	pid, epoch, err := zombie.ProducerID(ctx)
	if err != nil {
		t.Fatal(err)
	}
	req := kmsg.NewPtrTxnOffsetCommitRequest()
	// From v5 the group joins the transaction implicitly (KIP-890).
	req.TransactionalID, req.Group, req.ProducerID, req.ProducerEpoch, req.Generation = "previous-owner", "pending", pid, epoch, -1
	topics, err := kadm.NewClient(zombie).ListTopics(ctx, "in")
	if err != nil {
		t.Fatal(err)
	}
	rt := kmsg.NewTxnOffsetCommitRequestTopic()
	rt.Topic, rt.TopicID = "in", topics["in"].ID // v6 names topics by id (KIP-1319)
	rp := kmsg.NewTxnOffsetCommitRequestTopicPartition()
	rp.Partition, rp.Offset, rp.LeaderEpoch = 0, 80, -1
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, zombie)
	if err != nil {
		t.Fatal(err)
	}
	for _, rt := range resp.Topics {
		for _, rp := range rt.Partitions {
			if rp.ErrorCode != 0 {
				t.Fatalf("TxnOffsetCommit: error code %d", rp.ErrorCode)
			}
		}
	}

	// The next owner starts while that transaction is open; it ends two seconds later.
	run = startCountApp(t, ctx, addrs, "pending", true, memory.Backend())
	defer func() {
		run.stop()
		if err := <-run.done; err != nil {
			t.Errorf("second run: %v", err)
		}
	}()
	time.Sleep(2 * time.Second)
	if err := zombie.EndTransaction(ctx, kgo.TryCommit); err != nil {
		t.Fatal(err)
	}
	produceKey(1)
	waitCommittedCount(t, ctx, addrs, "81")
}

// waitCommittedCount waits until the committed "out" holds a record whose value is want. It
// fails the test on a count that does not grow, or on one of 51 to 80: the first run ends at
// 50 and the previous owner's transaction counted to 80 without output, so such a count comes
// from a store restored behind its input offsets.
func waitCommittedCount(t *testing.T, ctx context.Context, addrs []string, want string) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...), kgo.ConsumeTopics("out"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	wantN, _ := strconv.ParseInt(want, 10, 64)
	var seen []string
	prev := int64(0)
	for {
		fetches := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("count %s never committed; seen %v", want, seen)
		}
		for _, r := range fetches.Records() {
			n, err := strconv.ParseInt(string(r.Value), 10, 64)
			if err != nil {
				t.Fatalf("out value %q", r.Value)
			}
			seen = append(seen, string(r.Value))
			if n <= prev || (n > 50 && n <= 80) {
				t.Fatalf("count %d after %d: the store is behind its input offsets; seen %v", n, prev, seen)
			}
			prev = n
			if n == wantN {
				return
			}
		}
	}
}

// lastRecord returns the last committed record of partition 0 of topic.
func lastRecord(t *testing.T, ctx context.Context, addrs []string, topic string) *kgo.Record {
	t.Helper()
	adm, err := kafka.NewAdmin(kafka.ClientConfig{Bootstrap: addrs})
	if err != nil {
		t.Fatal(err)
	}
	defer adm.Close()
	ends, err := adm.EndOffsets(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	end := ends[topic][0]
	cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var last *kgo.Record
	for last == nil || last.Offset+1 < end-1 {
		fetches := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("reading %s: %v", topic, ctx.Err())
		}
		for _, r := range fetches.Records() {
			last = r
		}
	}
	return last
}
