package kafkatest

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// A compaction while a transaction is open must not let that transaction's record supersede
// the key's committed value: when it then aborts, read_committed readers (a store restoring
// from its changelog) must still find the committed value. kfake's own cleaner dropped it
// (see compaction.go); before the fix this test read no value for the key.
func TestCompactionKeepsCommittedValuesBehindOpenTransactions(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	b, err := Start(Config{CompactionInterval: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	const topic = "store-changelog"
	if err := b.CreateTopicWithConfigs(ctx, topic, 1, map[string]string{"cleanup.policy": "compact"}); err != nil {
		t.Fatal(err)
	}
	txnProducer := func(id string) *kgo.Client {
		cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addrs()...), kgo.TransactionalID(id), kgo.DefaultProduceTopic(topic))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(cl.Close)
		return cl
	}
	write := func(cl *kgo.Client, key, value string) {
		t.Helper()
		if err := cl.ProduceSync(ctx, &kgo.Record{Key: []byte(key), Value: []byte(value)}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	// The committed value of k.
	a := txnProducer("a")
	if err := a.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	write(a, "k", "committed")
	if err := a.EndTransaction(ctx, kgo.TryCommit); err != nil {
		t.Fatal(err)
	}
	// An open transaction writes k again; later batches (another key, another producer)
	// put its batch in the range a cleaner may clean.
	open := txnProducer("open")
	if err := open.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	write(open, "k", "aborted")
	plainCl, err := kgo.NewClient(kgo.SeedBrokers(b.Addrs()...), kgo.DefaultProduceTopic(topic))
	if err != nil {
		t.Fatal(err)
	}
	defer plainCl.Close()
	for i := range 3 {
		write(plainCl, "other", string(rune('a'+i)))
	}
	// Compactions are due every 100 ms; let several pass, and one run for sure once the
	// transaction ended (the compactor skips rounds while it is open).
	time.Sleep(time.Second)
	if err := open.EndTransaction(ctx, kgo.TryAbort); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)

	rd, err := kgo.NewClient(kgo.SeedBrokers(b.Addrs()...), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	values, seen := map[string]string{}, map[string]int{}
	for values["other"] != "c" { // the last record
		fetches := rd.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("reading the topic: %v (read %v)", ctx.Err(), values)
		}
		fetches.EachRecord(func(r *kgo.Record) {
			values[string(r.Key)] = string(r.Value)
			seen[string(r.Key)]++
		})
	}
	if got := values["k"]; got != "committed" {
		t.Fatalf("k reads %q after the open transaction aborted, want \"committed\" (values %v)", got, values)
	}
	if seen["other"] != 1 {
		t.Fatalf("key other read %d times: the broker did not compact once the transaction ended", seen["other"])
	}
}
