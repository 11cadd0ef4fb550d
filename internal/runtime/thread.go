package runtime

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/rillstreams/rill/internal/assign"
	"github.com/rillstreams/rill/internal/engine"
	"github.com/rillstreams/rill/internal/kafka"
	"github.com/rillstreams/rill/processor"
)

func zapTask(id processor.TaskID) zap.Field      { return zap.Stringer("task", id) }
func zapErr(err error) zap.Field                 { return zap.Error(err) }
func zapInt64(k string, v int64) zap.Field       { return zap.Int64(k, v) }
func zapDur(k string, v time.Duration) zap.Field { return zap.Duration(k, v) }

// thread is a stream thread: one group member whose loop polls, processes every polled record
// through its tasks, punctuates and commits. Rebalance callbacks run on franz-go's goroutine,
// but only while the loop waits in Poll: the session blocks rebalances from Poll's return until
// AllowRebalance, which the loop calls after a commit.
type thread struct {
	rt    *Runtime
	index int
	log   *zap.Logger
	sess  *kafka.Session
	bal   *kafka.Balancer

	// mu protects tasks and rebalanced: the loop holds it while it processes and commits,
	// the rebalance callbacks while they open and close tasks.
	mu         sync.Mutex
	tasks      map[processor.TaskID]*runningTask
	rebalanced bool
	assignErr  error

	// prodMu protects prodErr, set from produce callbacks.
	prodMu  sync.Mutex
	prodErr error

	lastCommit time.Time
	dirty      bool // processed something since the last commit
}

func newThread(rt *Runtime, index int) (*thread, error) {
	th := &thread{rt: rt, index: index, tasks: map[processor.TaskID]*runningTask{},
		log: rt.cfg.Logger.With(zap.Int("thread", index))}
	th.bal = kafka.NewBalancer(kafka.BalancerConfig{
		Tasks: rt.taskTopics, Stateful: rt.stateful, NumStandbyReplicas: rt.cfg.NumStandbyReplicas,
		AcceptableRecoveryLag: rt.cfg.AcceptableRecoveryLag, MaxWarmupReplicas: rt.cfg.MaxWarmupReplicas,
		Subscription: th.subscription, EndOffsetSums: rt.endOffsetSums, Logger: th.log,
	})
	scfg := kafka.SessionConfig{
		ClientConfig: rt.cfg.Client, Group: rt.cfg.ApplicationID, Topics: rt.sourceTopics, Balancer: th.bal,
		OnAssigned: th.onAssigned, OnRevoked: th.onRevoked, OnLost: th.onLost,
	}
	scfg.ClientID = fmt.Sprintf("%s-%s-StreamThread-%d", rt.cfg.ApplicationID, rt.cfg.ProcessID, index)
	if rt.cfg.ExactlyOnce {
		scfg.TransactionalID = fmt.Sprintf("%s-%s-%d", rt.cfg.ApplicationID, rt.cfg.ProcessID, index)
	}
	sess, err := kafka.NewSession(scfg)
	if err != nil {
		return nil, err
	}
	th.sess = sess
	return th, nil
}

// subscription is what this member reports to the group leader: its tasks and, per task with
// a checkpoint on disk, the sum of its changelog offsets (KIP-441's lag signal).
func (th *thread) subscription() assign.Subscription {
	th.mu.Lock()
	defer th.mu.Unlock()
	sub := assign.Subscription{ProcessID: th.rt.cfg.ProcessID, HostPort: th.rt.cfg.ApplicationServer,
		TaskOffsetSums: map[assign.TaskID]int64{}}
	for id := range th.tasks {
		t := assign.TaskID{Subtopology: id.Subtopology, Partition: id.Partition}
		sub.PrevActive = append(sub.PrevActive, t)
		sub.TaskOffsetSums[t] = assign.OffsetSumLatest // a running task is current by definition
	}
	sort.Slice(sub.PrevActive, func(i, j int) bool { return sub.PrevActive[i].String() < sub.PrevActive[j].String() })
	return sub
}

func (th *thread) produce(rec engine.OutRecord, acked func(offset int64)) {
	th.sess.Produce(context.Background(), rec, func(offset int64, err error) {
		if err != nil {
			th.prodMu.Lock()
			if th.prodErr == nil {
				th.prodErr = fmt.Errorf("rill: produce to %s: %w", rec.Topic, err)
			}
			th.prodMu.Unlock()
			return
		}
		if acked != nil {
			acked(offset)
		}
	})
}

func (th *thread) produceError() error {
	th.prodMu.Lock()
	defer th.prodMu.Unlock()
	return th.prodErr
}

// onRevoked: with the eager protocol every task's partitions are revoked at each rebalance.
// Tasks stay open (a task reassigned here needs no restore); what they did is committed here
// at least once (under exactly-once the loop committed before allowing the rebalance).
func (th *thread) onRevoked(ctx context.Context, _ map[string][]int32) {
	th.mu.Lock()
	defer th.mu.Unlock()
	th.rt.setState(Rebalancing)
	if !th.rt.cfg.ExactlyOnce && th.dirty {
		if err := th.commitLocked(ctx); err != nil {
			th.assignErr = err
		}
	}
}

// onLost: the member lost its partitions without a chance to commit (a session timeout):
// tasks close dirty.
func (th *thread) onLost(_ context.Context, _ map[string][]int32) {
	th.mu.Lock()
	defer th.mu.Unlock()
	for id, rt := range th.tasks {
		if err := th.closeTask(rt, false); err != nil {
			th.log.Warn("rill: close lost task", zapTask(id), zapErr(err))
		}
		delete(th.tasks, id)
	}
	th.rebalanced = true
}

// onAssigned closes the tasks this member no longer has and opens (restoring) the new ones.
func (th *thread) onAssigned(ctx context.Context, _ map[string][]int32) {
	th.mu.Lock()
	defer th.mu.Unlock()
	th.rebalanced = true
	want := map[processor.TaskID]bool{}
	for _, t := range th.bal.Assignment().Active {
		want[processor.TaskID{Subtopology: t.Subtopology, Partition: t.Partition}] = true
	}
	for id, rt := range th.tasks {
		if !want[id] {
			if err := th.closeTask(rt, true); err != nil {
				th.log.Warn("rill: close revoked task", zapTask(id), zapErr(err))
			}
			delete(th.tasks, id)
		}
	}
	ids := make([]processor.TaskID, 0, len(want))
	for id := range want {
		if th.tasks[id] == nil {
			ids = append(ids, id)
		}
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i].String() < ids[j].String() })
	for _, id := range ids {
		sub := th.rt.subs[id.Subtopology]
		if sub == nil {
			th.assignErr = fmt.Errorf("rill: assigned task %s of unknown sub-topology", id)
			return
		}
		rt, err := th.openTask(ctx, sub, id)
		if err != nil {
			th.assignErr = err
			return
		}
		th.tasks[id] = rt
	}
	th.log.Info("rill: tasks assigned", zap.Int("tasks", len(th.tasks)))
	th.rt.threadRunning(th.index)
}

// run is the thread's loop; it returns on a fatal error or when ctx is done.
func (th *thread) run(ctx context.Context) (err error) {
	defer func() {
		th.mu.Lock()
		clean := err == nil
		if clean && th.dirty {
			clean = th.commitLocked(context.Background()) == nil
		}
		for id, rt := range th.tasks {
			if cerr := th.closeTask(rt, clean); cerr != nil {
				th.log.Warn("rill: close task", zapTask(id), zapErr(cerr))
			}
			delete(th.tasks, id)
		}
		th.mu.Unlock()
		// Leaving the group runs the revoke callback, which takes mu: not under it.
		th.sess.Close()
	}()
	th.lastCommit = time.Now()
	// Poll blocks until records arrive; bound it so that commits (the last one before an
	// idle period above all) and wall-clock punctuations happen without new input.
	wait := min(th.rt.cfg.CommitInterval, 200*time.Millisecond)
	for {
		pctx, cancel := context.WithTimeout(ctx, wait)
		recs, perr := th.sess.Poll(pctx, th.rt.cfg.MaxPollRecords)
		cancel()
		if ctx.Err() != nil {
			return nil
		}
		if errors.Is(perr, kafka.ErrClosed) {
			return nil
		}
		if perr != nil {
			th.log.Warn("rill: poll", zapErr(perr))
		}
		committed, err := th.step(ctx, recs)
		if err != nil {
			return err
		}
		if committed || !th.rt.cfg.ExactlyOnce {
			th.sess.AllowRebalance()
		}
	}
}

// step processes one poll's records and commits when due.
func (th *thread) step(ctx context.Context, recs []engine.RawRecord) (committed bool, err error) {
	th.mu.Lock()
	defer th.mu.Unlock()
	if th.assignErr != nil {
		return false, th.assignErr
	}
	if th.rebalanced {
		th.rebalanced = false
		// A rebalance happened (while Poll waited). Under exactly-once the session marked it
		// and would abort the next transaction; ending an empty one clears the mark, and rewinds
		// the consumer to the committed offsets, which are exactly what the tasks processed
		// (every rebalance comes after a commit). The batch just polled is dropped: it is
		// fetched again from there.
		if th.rt.cfg.ExactlyOnce {
			if err := th.sess.Abort(ctx); err != nil {
				return false, err
			}
			recs = nil
		}
	}
	if len(recs) > 0 {
		if err := th.sess.Begin(); err != nil {
			return false, err
		}
		for i := range recs {
			id := processor.TaskID{Subtopology: th.rt.topicSub[recs[i].Topic], Partition: recs[i].Partition}
			rt := th.tasks[id]
			if rt == nil {
				return false, fmt.Errorf("rill: record of %s[%d] for task %s, which this thread does not run", recs[i].Topic, recs[i].Partition, id)
			}
			if err := rt.task.AddRecords(recs[i]); err != nil {
				return false, err
			}
		}
		th.dirty = true
	}
	now := time.Now().UnixMilli()
	for _, rt := range th.tasks {
		for {
			ok, err := rt.task.Process()
			if err != nil {
				return false, err
			}
			if !ok {
				break
			}
		}
		if err := rt.task.AdvanceWallClock(now); err != nil {
			return false, err
		}
	}
	if err := th.produceError(); err != nil {
		return false, err
	}
	if th.dirty && time.Since(th.lastCommit) >= th.rt.cfg.CommitInterval {
		if err := th.commitLocked(ctx); err != nil {
			return false, err
		}
		return true, nil
	}
	return !th.dirty, nil
}

// commitLocked commits: at least once, flush stores, the producer and the offsets, then
// checkpoint; exactly once, end the transaction (outputs, changelogs and offsets together).
func (th *thread) commitLocked(ctx context.Context) error {
	if !th.rt.cfg.ExactlyOnce {
		for _, rt := range th.tasks {
			if err := rt.task.Flush(); err != nil {
				return err
			}
		}
	}
	ok, err := th.sess.Commit(ctx)
	if err != nil {
		return fmt.Errorf("rill: commit: %w", err)
	}
	if err := th.produceError(); err != nil {
		return err
	}
	if !ok {
		// The transaction aborted (a rebalance or a fencing cut in): the stores hold writes
		// that never happened, and the session rewound the consumer to the committed offsets.
		// Close every task dirty (wiping its state) and reopen it from its changelog, which
		// holds exactly the committed writes (Kafka Streams' TaskCorruptedException path).
		th.log.Warn("rill: transaction aborted; reinitializing tasks from their changelogs")
		for id, rt := range th.tasks {
			_ = th.closeTask(rt, false)
			reopened, err := th.openTask(ctx, th.rt.subs[id.Subtopology], id)
			if err != nil {
				delete(th.tasks, id)
				return err
			}
			th.tasks[id] = reopened
		}
		th.dirty = false
		th.lastCommit = time.Now()
		return nil
	}
	if !th.rt.cfg.ExactlyOnce {
		for _, rt := range th.tasks {
			if err := writeCheckpoint(rt); err != nil {
				return err
			}
		}
	}
	th.dirty = false
	th.lastCommit = time.Now()
	return nil
}
