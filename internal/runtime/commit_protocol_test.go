package runtime

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/rillstreams/rill/standby"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"

	"github.com/rillstreams/rill/changelog"
	"github.com/rillstreams/rill/dsl"
	"github.com/rillstreams/rill/internal/engine"
	"github.com/rillstreams/rill/internal/kafka"
	"github.com/rillstreams/rill/processor"
	"github.com/rillstreams/rill/serde"
	"github.com/rillstreams/rill/state"
	"github.com/rillstreams/rill/state/rocksdb"
)

// Unit tests of the commit protocol (commit.go, guarantee.go): a stream thread over a fake
// group session. The fake has no group (records are handed to the thread, offsets are only
// recorded), but produces, and commits or aborts its transactions, on a kfake cluster, so that
// the tasks' changelogs and restorations are real.

// fakeSession is a groupSession without a group.
type fakeSession struct {
	cl   *kgo.Client
	txn  bool // a transactional producer (exactly once)
	open bool // a transaction is open

	mu      sync.Mutex
	commits []kafka.Offsets
	// onCommit, when set, decides a commit's outcome after the producer's flush: committed
	// false aborts the transaction; an error fails the commit (the transaction aborts too).
	onCommit func(processed kafka.Offsets) (committed bool, err error)
	// lags answers Lag (topic → lag; absent: caught up).
	lags map[string]int64
}

func (f *fakeSession) Poll(ctx context.Context, _ int) ([]engine.RawRecord, error) {
	<-ctx.Done()
	return nil, nil
}

func (f *fakeSession) Begin() error {
	if !f.txn || f.open {
		return nil
	}
	f.open = true
	return f.cl.BeginTransaction()
}

func (f *fakeSession) Flush(ctx context.Context) error { return f.cl.Flush(ctx) }

func (f *fakeSession) Commit(ctx context.Context, processed kafka.Offsets) (bool, error) {
	f.mu.Lock()
	f.commits = append(f.commits, processed)
	f.mu.Unlock()
	if err := f.cl.Flush(ctx); err != nil {
		return false, err
	}
	ok, err := true, error(nil)
	if f.onCommit != nil {
		ok, err = f.onCommit(processed)
	}
	if f.txn && f.open {
		f.open = false
		if eerr := f.cl.EndTransaction(ctx, kgo.TransactionEndTry(ok && err == nil)); eerr != nil {
			return false, eerr
		}
	}
	return ok, err
}

func (f *fakeSession) Abort(ctx context.Context) error {
	if !f.txn || !f.open {
		return nil
	}
	f.open = false
	if err := f.cl.AbortBufferedRecords(ctx); err != nil {
		return err
	}
	return f.cl.EndTransaction(ctx, kgo.TryAbort)
}

func (f *fakeSession) AllowRebalance() {}
func (f *fakeSession) ForceRebalance() {}
func (f *fakeSession) Lag(topic string, _ int32) (int64, bool) {
	return f.lags[topic], true
}
func (f *fakeSession) Measured(string, int32) (int64, int64, bool)           { return 0, 0, false }
func (f *fakeSession) RefreshLags(context.Context, map[string][]int32) error { return nil }
func (f *fakeSession) PausePartitions(map[string][]int32)                    {}
func (f *fakeSession) ResumePartitions(map[string][]int32)                   {}
func (f *fakeSession) Close(context.Context)                                 { f.cl.Close() }

// protocolThread is a stream thread of topo on a kfake cluster, over a fake session, with task
// 0_0 open.
type protocolThread struct {
	th    *thread
	sess  *fakeSession
	task  *runningTask
	addrs []string
}

func newProtocolThread(t testing.TB, ctx context.Context, topo *dsl.Builder, exactlyOnce bool, maxTaskIdle time.Duration) *protocolThread {
	t.Helper()
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "in", "in2", "out"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cluster.Close)
	addrs := cluster.ListenAddrs()
	built, err := topo.Build()
	if err != nil {
		t.Fatal(err)
	}
	backend, err := rocksdb.NewBackend(rocksdb.Config{})
	if err != nil {
		t.Fatal(err)
	}
	r, err := New(built, Config{ApplicationID: "protocol", Client: kafka.ClientConfig{Bootstrap: addrs},
		StateDir: t.TempDir(), ProcessID: "p1", NumThreads: 1, ExactlyOnce: exactlyOnce, CommitInterval: time.Hour,
		MaxPollRecords: 100, ReplicationFactor: -1, Backend: backend, Logger: zap.NewNop(), CacheMaxBytes: -1,
		Standby:        standby.Config{AcceptableRecoveryLag: 10000, MaxWarmupReplicas: 2, ProbingRebalanceInterval: time.Minute},
		SessionTimeout: 10 * time.Second, BufferedRecordsPerPartition: 1000, MaxTaskIdle: maxTaskIdle,
		BlockTimeout: 30 * time.Second, RestoreStallTimeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	adm, err := kafka.NewAdmin(r.cfg.Client)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(adm.Close)
	r.admin = adm
	if err := r.prepareTopics(ctx); err != nil {
		t.Fatal(err)
	}
	r.resets = r.offsetResets()
	fake := &fakeSession{txn: exactlyOnce, lags: map[string]int64{}}
	r.newSession = func(cfg kafka.SessionConfig) (groupSession, error) {
		opts := []kgo.Opt{kgo.SeedBrokers(addrs...)}
		if cfg.TransactionalID != "" {
			opts = append(opts, kgo.TransactionalID(cfg.TransactionalID))
		}
		cl, err := kgo.NewClient(opts...)
		fake.cl = cl
		return fake, err
	}
	th, err := newThread(ctx, r, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		th.lock()
		th.closeAllLocked(false)
		th.unlock()
		th.sess.Close(ctx)
	})
	id := processor.TaskID{Subtopology: 0, Partition: 0}
	th.lock()
	defer th.unlock()
	rt, err := th.openTask(ctx, r.subs[0], id, nil)
	if err != nil {
		t.Fatal(err)
	}
	th.tasks[id] = rt
	th.lastCommit = time.Now() // commits happen when the test asks (CommitInterval is an hour)
	return &protocolThread{th: th, sess: fake, task: rt, addrs: addrs}
}

// feed hands the thread records of topic (partition 0) with values prefix0, prefix1, ... at
// offsets from..., timestamps 1000+offset, key k, and processes what the task is ready for.
func (p *protocolThread) feed(t *testing.T, ctx context.Context, topic, prefix string, from, n int) {
	t.Helper()
	recs := make([]engine.RawRecord, n)
	for i := range recs {
		off := int64(from + i)
		recs[i] = engine.RawRecord{Topic: topic, Offset: off, Timestamp: 1000 + off, Key: []byte("k"), Value: []byte(prefix + strconv.Itoa(from+i))}
	}
	p.th.lock()
	defer p.th.unlock()
	if _, _, err := p.th.processLocked(ctx, recs); err != nil {
		t.Fatal(err)
	}
}

func (p *protocolThread) commit(ctx context.Context) error {
	p.th.lock()
	defer p.th.unlock()
	return p.th.commitLocked(ctx)
}

// storeOffset is the changelog offset the store's last commit recorded (-1: none).
func (p *protocolThread) storeOffset(t *testing.T, store string) int64 {
	t.Helper()
	p.th.lock()
	defer p.th.unlock()
	return p.storeOffsetLocked(t, store)
}

// storeOffsetLocked is storeOffset with the thread's locks held (in a commit).
func (p *protocolThread) storeOffsetLocked(t *testing.T, store string) int64 {
	t.Helper()
	tx := state.TransactionalOf(p.th.tasks[p.task.task.ID()].task.Stores()[store])
	if tx == nil {
		t.Fatalf("store %s is not transactional", store)
	}
	off, ok, err := tx.CommittedOffset()
	if err != nil {
		t.Fatal(err)
	}
	if !ok {
		return -1
	}
	return off
}

// count reads key k's count from the task's store (0: none).
func (p *protocolThread) count(t *testing.T, store string) int64 {
	t.Helper()
	p.th.lock()
	defer p.th.unlock()
	raw := p.th.tasks[p.task.task.ID()].task.Stores()[store]
	s, ok := raw.(*state.KeyValueStore[string, state.ValueAndTimestamp[int64]])
	if !ok {
		t.Fatalf("store %s (%T) is not a count store", store, raw)
	}
	v, _, err := s.Get("k")
	if err != nil {
		t.Fatal(err)
	}
	return v.Value
}

func countTopology() *dsl.Builder {
	b := dsl.NewBuilder()
	b.Stream("in", serde.String(), serde.String()).GroupByKey().Count(dsl.Materialized("counts")).
		ToStream().MapValues(func(_ string, c int64) string { return strconv.FormatInt(c, 10) }).To("out")
	return b
}

// A commit's offsets are those of the records the tasks processed, not of those polled: a
// task waiting for its other input partition (timestamp synchronization) keeps records queued,
// and a restart must read them again.
func TestCommitOffsetsAreTheProcessedRecords(t *testing.T) {
	for _, eos := range []bool{false, true} {
		t.Run(newCommitter(eos).String(), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			b := dsl.NewBuilder()
			b.Stream("in", serde.String(), serde.String()).Merge(b.Stream("in2", serde.String(), serde.String())).To("out")
			p := newProtocolThread(t, ctx, b, eos, time.Hour)
			// in2 has records on the broker the thread has not fetched: the task waits for
			// them before processing anything of "in" (Kafka Streams' max.task.idle.ms).
			p.sess.lags["in2"] = 5
			p.feed(t, ctx, "in", "a", 0, 5) // timestamps 1000..1004
			if err := p.commit(ctx); err != nil {
				t.Fatal(err)
			}
			p.feed(t, ctx, "in2", "b", 2, 1) // timestamp 1002: "in" up to it goes first
			if err := p.commit(ctx); err != nil {
				t.Fatal(err)
			}
			p.sess.mu.Lock()
			defer p.sess.mu.Unlock()
			if len(p.sess.commits) != 2 {
				t.Fatalf("%d commits, want 2", len(p.sess.commits))
			}
			if got := p.sess.commits[0]; len(got) != 0 {
				t.Fatalf("first commit's offsets %v: nothing was processed", got)
			}
			got := p.sess.commits[1]
			// "in" 0 and 1 (timestamps 1000, 1001) come before in2's 1002; "in" 2 ties
			// with it, and then the task waits for in2 again (queued: "in" 3 and 4 at least).
			in, in2 := got["in"][0], got["in2"][0]
			if in2 != 3 {
				t.Fatalf("in2's committed offset %d, want 3 (its record at offset 2 processed); offsets %v", in2, got)
			}
			if in < 2 || in > 3 {
				t.Fatalf("in's committed offset %d, want 2 or 3: records polled but still queued must not be committed; offsets %v", in, got)
			}
		})
	}
}

// Exactly once, the stores apply the writes of a commit only once its transaction committed:
// a store ahead of its transaction would keep the writes of one that aborts.
func TestExactlyOnceStoresApplyAfterTheTransaction(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	p := newProtocolThread(t, ctx, countTopology(), true, 0)
	before := p.storeOffset(t, "counts")
	var during int64
	var buffered int
	p.sess.onCommit = func(kafka.Offsets) (bool, error) {
		during = p.storeOffsetLocked(t, "counts") // the commit holds the thread's locks
		buffered = p.task.Txns.Buffered()
		return true, nil
	}
	p.feed(t, ctx, "in", "v", 0, 3)
	if err := p.commit(ctx); err != nil {
		t.Fatal(err)
	}
	after := p.storeOffset(t, "counts")
	if during != before || buffered == 0 {
		t.Fatalf("the store applied its writes before the transaction committed (offset %d, was %d; %d writes still buffered)", during, before, buffered)
	}
	if after <= before {
		t.Fatalf("the store's committed offset is %d after the commit, was %d: the transaction's writes were not applied", after, before)
	}
	if c := p.count(t, "counts"); c != 3 {
		t.Fatalf("count %d, want 3", c)
	}
}

// At least once, the stores are durable before the offsets commit, and the checkpoint file is
// written after: a checkpoint ahead of the offsets would skip restoring writes that are not
// in the stores.
func TestAtLeastOnceCheckpointsAfterTheOffsets(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	p := newProtocolThread(t, ctx, countTopology(), false, 0)
	var during changelog.Checkpoint
	p.sess.onCommit = func(kafka.Offsets) (bool, error) {
		cp, err := changelog.ReadCheckpoint(p.task.Dir)
		if err != nil {
			t.Error(err)
		}
		during = cp
		return true, nil
	}
	p.feed(t, ctx, "in", "v", 0, 3)
	if err := p.commit(ctx); err != nil {
		t.Fatal(err)
	}
	after, err := changelog.ReadCheckpoint(p.task.Dir)
	if err != nil {
		t.Fatal(err)
	}
	tp := changelog.TopicPartition{Topic: "protocol-counts-changelog", Partition: 0}
	if during[tp] >= 3 {
		t.Fatalf("checkpoint %v written before the offsets committed", during)
	}
	if after[tp] != 3 {
		t.Fatalf("checkpoint %v after the commit, want %s at 3", after, tp.Topic)
	}
}

// A transaction that aborts (a rebalance or a fencing cut in) leaves the stores at their last
// commit: the tasks close dirty, dropping what they buffered, and reopen from their stores'
// committed offsets.
func TestAbortedTransactionDropsTheTasksWrites(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	p := newProtocolThread(t, ctx, countTopology(), true, 0)
	p.feed(t, ctx, "in", "v", 0, 3)
	if err := p.commit(ctx); err != nil {
		t.Fatal(err)
	}
	p.feed(t, ctx, "in", "v", 3, 2)
	if c := p.count(t, "counts"); c != 5 {
		t.Fatalf("count %d before the abort, want 5 (buffered)", c)
	}
	p.sess.onCommit = func(kafka.Offsets) (bool, error) { return false, nil }
	if err := p.commit(ctx); err != nil {
		t.Fatalf("an aborted transaction is not an error: %v", err)
	}
	if c := p.count(t, "counts"); c != 3 {
		t.Fatalf("count %d after the abort, want 3 (the last commit's)", c)
	}
}

// A commit refused because the producer was fenced (another instance took the transactional
// id over), or because the coordinator holds no transaction open for it any more (it aborted
// it after a timeout: INVALID_TXN_STATE), is a task migration, as Kafka Streams'
// TaskMigratedException: the stores keep only what committed before.
func TestFencedCommitIsATaskMigration(t *testing.T) {
	for _, fail := range []*kerr.Error{kerr.ProducerFenced, kerr.InvalidTxnState} {
		t.Run(fail.Message, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			p := newProtocolThread(t, ctx, countTopology(), true, 0)
			p.feed(t, ctx, "in", "v", 0, 3)
			if err := p.commit(ctx); err != nil {
				t.Fatal(err)
			}
			before := p.storeOffset(t, "counts")
			p.feed(t, ctx, "in", "v", 3, 2)
			p.sess.onCommit = func(kafka.Offsets) (bool, error) { return false, fail }
			err := p.commit(ctx)
			if err == nil || !kafka.IsTaskMigrated(err) {
				t.Fatalf("commit: %v; want a task migration", err)
			}
			if !errors.Is(err, fail) {
				t.Fatalf("commit: %v; want the error kept", err)
			}
			if after := p.storeOffset(t, "counts"); after != before {
				t.Fatalf("the store's committed offset moved from %d to %d with a failed transaction", before, after)
			}
		})
	}
}
