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
// (see compaction.go); before the fix this test read no value for the key. The embedded
// broker does not compact at all once transactions exist.
func TestCompactionKeepsCommittedValuesBehindOpenTransactions(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	const topic = "store-changelog"
	b := compactingBroker(t, ctx, topic)
	txnProducer := func(id string) *kgo.Client { return transactionalProducer(t, b, topic, id) }
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
	if seen["other"] != 3 {
		t.Fatalf("key other read %d times, want 3: the broker compacted a cluster with transactional data", seen["other"])
	}
}

// readCommitted reads topic read_committed from its start until last (a key) holds value
// lastValue, and returns every key's last value and how many records each had.
func readCommitted(t *testing.T, ctx context.Context, b *Broker, topic, last, lastValue string) (map[string]string, map[string]int) {
	t.Helper()
	rd, err := kgo.NewClient(kgo.SeedBrokers(b.Addrs()...), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	values, seen := map[string]string{}, map[string]int{}
	for values[last] != lastValue {
		fetches := rd.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("reading %s: %v (read %v)", topic, ctx.Err(), values)
		}
		fetches.EachRecord(func(r *kgo.Record) {
			values[string(r.Key)] = string(r.Value)
			seen[string(r.Key)]++
		})
	}
	return values, seen
}

// A producer that aborted a transaction on a partition, whose data there was then all
// superseded, and that commits there again later (a stream thread keeps its producer id under
// exactly-once v2, and a task comes back to it): its later commits must stay readable. kfake's
// cleaner dropped the producer's abort marker but kept its aborted-transaction entry, so
// read_committed clients skipped every later batch of the producer: the kfake torture's
// stores lost a run of committed updates at once.
func TestCompactionKeepsLaterCommitsOfAProducerThatAborted(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	const topic = "store-changelog"
	b := compactingBroker(t, ctx, topic)
	producer := func(id string) *kgo.Client { return transactionalProducer(t, b, topic, id) }
	txn := func(cl *kgo.Client, commit bool, kvs ...string) {
		t.Helper()
		if err := cl.BeginTransaction(); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < len(kvs); i += 2 {
			if err := cl.ProduceSync(ctx, &kgo.Record{Key: []byte(kvs[i]), Value: []byte(kvs[i+1])}).FirstErr(); err != nil {
				t.Fatal(err)
			}
		}
		if err := cl.EndTransaction(ctx, kgo.TransactionEndTry(commit)); err != nil {
			t.Fatal(err)
		}
	}
	p, q := producer("thread-p"), producer("thread-q")
	txn(q, true, "first", "q0")     // survives: the log's start stays before p's abort
	txn(p, false, "k", "p-aborted") // p aborts: its only data here
	txn(q, true, "k", "q1")         // q (the task's next owner) supersedes the key
	txn(q, true, "j", "q2")
	time.Sleep(time.Second)      // compactions are due every 100 ms
	txn(p, true, "k", "p-later") // the task is back on p's thread
	txn(q, true, "end", "x")
	values, _ := readCommitted(t, ctx, b, topic, "end", "x")
	if values["k"] != "p-later" {
		t.Fatalf("k reads %q, want \"p-later\" (p's later commit); values %v", values["k"], values)
	}
}

// Without transactions, compacted topics are compacted.
func TestCompactionCompactsPlainTopics(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	const topic = "plain-changelog"
	b := compactingBroker(t, ctx, topic)
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addrs()...), kgo.DefaultProduceTopic(topic))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	for _, v := range []string{"1", "2", "3"} {
		if err := cl.ProduceSync(ctx, &kgo.Record{Key: []byte("k"), Value: []byte(v)}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	if err := cl.ProduceSync(ctx, &kgo.Record{Key: []byte("end"), Value: []byte("x")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second)
	values, seen := readCommitted(t, ctx, b, topic, "end", "x")
	if values["k"] != "3" || seen["k"] != 1 {
		t.Fatalf("k read %d times (last %q), want once (\"3\"): not compacted", seen["k"], values["k"])
	}
}

// compactingBroker starts a broker compacting every 100 ms, with topic (one partition)
// compacted; the test closes it.
func compactingBroker(t *testing.T, ctx context.Context, topic string) *Broker {
	t.Helper()
	b, err := Start(Config{CompactionInterval: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	if err := b.CreateTopicWithConfigs(ctx, topic, 1, map[string]string{"cleanup.policy": "compact"}); err != nil {
		t.Fatal(err)
	}
	return b
}

// transactionalProducer is a client of b with transactional id id, producing to topic.
func transactionalProducer(t *testing.T, b *Broker, topic, id string) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addrs()...), kgo.TransactionalID(id), kgo.DefaultProduceTopic(topic))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}
