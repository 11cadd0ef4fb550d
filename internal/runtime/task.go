package runtime

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/rillstreams/rill/standby"

	"go.uber.org/zap"

	"github.com/rillstreams/rill/changelog"
	ichangelog "github.com/rillstreams/rill/internal/changelog"
	"github.com/rillstreams/rill/internal/engine"
	"github.com/rillstreams/rill/internal/kafka"
	"github.com/rillstreams/rill/processor"
)

// runningTask is a task of a stream thread with its state manager (the task's directory,
// its logged stores' changelog partitions and where the stores stand in them).
type runningTask struct {
	task  *engine.Task
	state taskState // taskstate.go
	*ichangelog.Manager
	// seen and restoreStats are the task's metrics the thread keeps (stats.go).
	seen         taskSeen
	restoreStats []StoreRestoreStats
}

// taskCollector sends a task's output and changelog records through the thread's session. It
// is the promise of its sends too (produce.go): one per task, no closure per record.
type taskCollector struct {
	th   *thread
	rt   *runningTask
	last *sendOrigin             // the origin of the last output or dead letter, shared while it holds (origin)
	logs map[string]*changelogTo // per logged store, built at its first record
}

func (c *taskCollector) Send(rec engine.OutRecord) error {
	c.send(rec, c.origin(sendOutput, c.rt.task.SendingSink()))
	return nil
}

// Log is the task's state.ChangelogSink: a changelog record in the task's partition.
func (c *taskCollector) Log(store string, key, value []byte) error {
	to := c.logs[store]
	if to == nil {
		tp, ok := c.rt.Logged[store]
		if !ok {
			return fmt.Errorf("rill: store %s is not logged in task %s", store, c.rt.task.ID())
		}
		if c.logs == nil {
			c.logs = map[string]*changelogTo{}
		}
		to = &changelogTo{tp: tp, origin: sendOrigin{rt: c.rt, kind: sendChangelog, acked: c.rt.WrittenTo(tp)}}
		c.logs[store] = to
	}
	rec := engine.OutRecord{Topic: to.tp.Topic, Partition: to.tp.Partition, Timestamp: c.rt.task.Timestamp(), Key: key, Value: value}
	c.send(rec, &to.origin)
	return nil
}

// openTask creates a task, restores its logged stores from their changelogs and returns it
// ready to process. A task promoted from the thread's standby st (nil otherwise) takes over
// the standby's open stores and restores from where the standby got to; any other restores
// from the checkpoint in its directory, or under exactly-once from the offsets its
// transactional stores recorded (see txn.go), or from the start when there is neither.
func (th *thread) openTask(ctx context.Context, sub *engine.Subtopology, id processor.TaskID, st *standbyTask) (*runningTask, error) {
	cfg := th.rt.cfg
	dir := th.rt.stateDirFor(id)
	if err := th.rt.dirs.acquire(ctx, id, th.index); err != nil {
		return nil, err
	}
	var cp changelog.Checkpoint
	existed := false
	if st != nil {
		// The standby's stores hold the committed changelog up to st.next (it reads
		// read_committed): under exactly-once too, a clean starting point.
		th.detachStandby(st, standby.Promoted)
		cp = st.next
	} else {
		var err error
		cp, err = changelog.ReadCheckpoint(dir)
		if err != nil {
			th.log.Warn("rill: unreadable checkpoint, restoring from scratch", zapTask(id), zapErr(err))
			cp = nil
		}
		_, serr := os.Stat(dir)
		existed = serr == nil
		if err := os.MkdirAll(dir, ichangelog.DirMode); err != nil {
			return nil, err
		}
	}
	rt := &runningTask{Manager: ichangelog.NewManager(dir, th.rt.changelogPartitions(id), th.rt.g.exact())}
	coll := &taskCollector{th: th, rt: rt}
	topo := sub
	if st != nil {
		topo = st.adopt(sub)
		st.sink.target = coll
	}
	newTask := func() (*engine.Task, error) {
		return engine.New(engine.Config{
			ID: id, ApplicationID: cfg.ApplicationID, Topology: topo, Collector: coll, StateDir: dir,
			Logger: cfg.Logger, Backend: cfg.Backend, GlobalStores: th.rt.globalStores, Changelog: coll,
			DeserializationHandler: cfg.DeserializationHandler, ProcessingHandler: cfg.ProcessingHandler,
			ProductionHandler: cfg.ProductionHandler, WallClock: time.Now().UnixMilli(),
			MaxTaskIdle: maxTaskIdleMillis(cfg.MaxTaskIdle), Cache: th.cache,
			TimestampExtractor: cfg.TimestampExtractor, DebugMetrics: cfg.DebugMetrics,
		})
	}
	task, err := newTask()
	if err != nil {
		return nil, err
	}
	rt.Track(task.Stores())
	// wipe empties the task directory and reopens the task on it: nothing local is kept,
	// everything is restored from the changelogs.
	wipe := func() error {
		_ = task.Close()
		if err := ichangelog.WipeDir(dir); err != nil {
			return err
		}
		var err error
		if task, err = newTask(); err != nil {
			return err
		}
		rt.Track(task.Stores())
		cp = nil
		return nil
	}
	if st == nil {
		// A standby's offsets were settled when it opened; its stores moved with them since.
		start, untrusted, err := rt.StartOffsets(task.Stores(), existed, cp)
		if err != nil {
			_ = task.Close()
			return nil, err
		}
		cp = start
		if untrusted {
			// Stores that may hold writes of aborted transactions: wipe them and restore
			// from the changelog alone.
			th.log.Info("rill: state without committed offsets, wiping it", zapTask(id))
			if err := wipe(); err != nil {
				return nil, err
			}
		}
		vetted, ahead, err := ichangelog.Vet(ctx, th.rt.admin, th.log, id, task.Stores(), rt.Logged, cp)
		if err != nil {
			_ = task.Close()
			return nil, err
		}
		if ahead {
			if err := wipe(); err != nil {
				return nil, err
			}
		} else {
			cp = vetted
		}
		for tp := range rt.Volatile {
			delete(cp, tp) // an in-memory store opens empty: restore it whole
		}
	}
	if err := rt.Txns.Begin(); err != nil {
		_ = task.Close()
		return nil, err
	}
	rt.task = task
	if err := rt.moveTo(taskRestoring); err != nil {
		_ = task.Close()
		return nil, err
	}
	if err := th.restore(ctx, rt, cp, st != nil); err != nil {
		_ = task.Close()
		return nil, fmt.Errorf("rill: restore task %s: %w", id, err)
	}
	if !th.rt.g.keepsCheckpointFile() {
		if err := changelog.RemoveCheckpoint(dir); err != nil {
			_ = task.Close()
			return nil, err
		}
	}
	if err := rt.moveTo(taskRunning); err != nil {
		_ = task.Close()
		return nil, err
	}
	th.counters.created++
	return rt, nil
}

// restore replays the task's changelog partitions into its stores, bypassing logging.
// restore replays the task's changelog partitions into its stores (the state manager's
// restore loop), reporting its progress to Runtime.Stats and the restore listener.
func (th *thread) restore(ctx context.Context, rt *runningTask, cp changelog.Checkpoint, fromStandby bool) error {
	if len(rt.Logged) == 0 {
		return nil
	}
	var topics []string
	for _, tp := range rt.Logged {
		topics = append(topics, tp.Topic)
	}
	end, err := th.rt.admin.EndOffsets(ctx, topics...)
	if err != nil {
		return err
	}
	if th.settleChangelogs {
		if end, err = rt.SettleEnds(ctx, th.rt.admin, end); err != nil {
			return err
		}
	}
	// progress reports the restoration to Runtime.Stats while it runs (under th.mu).
	progress := map[string]*storeRestore{}
	var progList []*storeRestore
	for store, tp := range rt.Logged {
		p := &storeRestore{store: store}
		p.remaining.Store(max(end[tp.Topic][tp.Partition]-max(cp[tp], 0), 0))
		progress[tp.Topic] = p
		progList = append(progList, p)
	}
	slices.SortFunc(progList, func(a, b *storeRestore) int { return cmp.Compare(a.store, b.store) })
	th.restoreStarted(rt.task.ID(), progList)
	defer func() {
		// A new slice: published copies of the old one may be read meanwhile.
		rt.restoreStats = make([]StoreRestoreStats, 0, len(progList))
		for _, p := range progList {
			rt.restoreStats = append(rt.restoreStats, StoreRestoreStats{Store: p.store, Total: p.total.Load(), Remaining: p.remaining.Load()})
		}
		th.restoreDone(rt.task.ID(), rt.restoreStats)
	}()
	began := time.Now()
	read := func(ctx context.Context, start, end map[string]map[int32]int64,
		apply func(topic string, partition int32, offset int64, key, value []byte, timestamp int64) error) error {
		return kafka.ReadRange(ctx, th.rt.cfg.Client, start, end, 200*time.Millisecond,
			kafka.Stall{What: "restore task " + rt.task.ID().String(), FailAfter: th.rt.cfg.RestoreStallTimeout, Logger: th.log}, apply)
	}
	hooks := ichangelog.RestoreHooks{
		Record: func(tp changelog.TopicPartition, offset int64) {
			if p := progress[tp.Topic]; p != nil {
				p.total.Add(1)
				p.remaining.Store(max(end[tp.Topic][tp.Partition]-offset-1, 0))
			}
		},
		End: func(store string, tp changelog.TopicPartition, total int64) {
			progress[tp.Topic].remaining.Store(0) // the end reached: markers and aborted records read too
			if l := th.rt.cfg.StateRestoreListener; l != nil {
				l.OnRestoreEnd(store, tp, total)
			}
		},
	}
	if l := th.rt.cfg.StateRestoreListener; l != nil {
		hooks.Start = l.OnRestoreStart
		hooks.Batch = l.OnBatchRestored
		hooks.Suspended = l.OnRestoreSuspended
	}
	n, err := rt.Restore(ctx, read, rt.task.Stores(), cp, end, func() error { return th.rt.g.restoredBatch(rt) }, hooks)
	if err != nil {
		return err
	}
	if l := th.rt.cfg.RestoreListener; l != nil {
		l(RestoreEvent{Task: rt.task.ID(), Records: n, Duration: time.Since(began), FromStandby: fromStandby})
	}
	th.log.Info("rill: restored task", zapTask(rt.task.ID()), zapInt64("records", n), zapDur("took", time.Since(began)),
		zap.Bool("fromStandby", fromStandby))
	return nil
}

// closeTask closes a task; clean means everything it did is committed, so its stores are
// flushed and checkpointed. A dirty close drops the writes its transactional stores hold
// for the next commit, leaving them at their last one; under exactly-once it wipes the
// task's state only when some store writes straight to disk.
func (th *thread) closeTask(rt *runningTask, clean bool) error {
	if err := rt.moveTo(taskClosed); err != nil {
		return err
	}
	th.foldTaskLocked(rt)
	th.counters.closed++
	th.stats.dirty = true
	if n := rt.Txns.Abort(); n > 0 && clean {
		// The loop commits before any clean close; writes left over mean a bug, and
		// applying them now would put them on disk without their transaction.
		th.log.Warn("rill: uncommitted store writes at a clean close, dropped", zapTask(rt.task.ID()), zap.Int("writes", n))
		clean = false
	}
	wipe := !clean && th.rt.g.exact() && rt.Txns.WipeNeeded(rt.task.Stores())
	err := rt.task.Close() // flushes stores
	if clean {
		return errors.Join(err, changelog.WriteCheckpoint(rt.Dir, rt.Checkpoint()))
	}
	if wipe {
		return errors.Join(err, ichangelog.WipeDir(rt.Dir))
	}
	return err
}
