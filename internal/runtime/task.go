package runtime

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/rillstreams/rill/changelog"
	"github.com/rillstreams/rill/internal/engine"
	"github.com/rillstreams/rill/internal/kafka"
	"github.com/rillstreams/rill/processor"
	"github.com/rillstreams/rill/state"
)

// runningTask is a task of a stream thread with what the thread keeps beside it: its state
// directory and the changelog offsets its stores have been written up to.
type runningTask struct {
	task *engine.Task
	dir  string
	// logged maps each logged store to its changelog partition.
	logged map[string]changelog.TopicPartition

	// mu protects written, updated from franz-go's produce callbacks.
	mu      sync.Mutex
	written map[changelog.TopicPartition]int64 // next offset after the last acknowledged changelog record
	// restored are the offsets restoration reached, the base of the next checkpoint.
	restored changelog.Checkpoint
	// volatile marks the changelog partitions of in-memory stores: never checkpointed, since
	// the store starts empty whenever the task opens.
	volatile map[changelog.TopicPartition]bool
	// txns are the task's transactional stores: they buffer writes until commits.
	txns *storeTxns
	// seen and restoreStats are the task's metrics the thread keeps (stats.go).
	seen         taskSeen
	restoreStats []StoreRestoreStats
}

// taskCollector sends a task's output and changelog records through the thread's session.
type taskCollector struct {
	th  *thread
	rt  *runningTask
	src *engine.RawRecord // the input record of the last send, shared by its outputs (origin)
}

func (c *taskCollector) Send(rec engine.OutRecord) error {
	c.th.produce(rec, c.origin(sendOutput, c.rt.task.SendingSink()), nil)
	return nil
}

// Log is the task's state.ChangelogSink: a changelog record in the task's partition.
func (c *taskCollector) Log(store string, key, value []byte) error {
	tp, ok := c.rt.logged[store]
	if !ok {
		return fmt.Errorf("rill: store %s is not logged in task %s", store, c.rt.task.ID())
	}
	rec := engine.OutRecord{Topic: tp.Topic, Partition: tp.Partition, Timestamp: c.rt.task.Timestamp(), Key: key, Value: value}
	c.th.produce(rec, c.origin(sendChangelog, ""), func(offset int64) {
		c.rt.mu.Lock()
		if offset+1 > c.rt.written[tp] {
			c.rt.written[tp] = offset + 1
		}
		c.rt.mu.Unlock()
	})
	return nil
}

// checkpoint returns the offsets the task's persistent stores hold: restored, then written
// since.
func (rt *runningTask) checkpoint() changelog.Checkpoint {
	cp := changelog.Checkpoint{}
	for tp, o := range rt.restored {
		cp[tp] = o
	}
	rt.mu.Lock()
	for tp, o := range rt.written {
		cp[tp] = max(cp[tp], o)
	}
	rt.mu.Unlock()
	for tp := range rt.volatile {
		delete(cp, tp)
	}
	return cp
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
		th.detachStandby(st)
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
		if err := os.MkdirAll(dir, dirMode); err != nil {
			return nil, err
		}
	}
	rt := &runningTask{dir: dir, logged: th.rt.changelogPartitions(id),
		written: map[changelog.TopicPartition]int64{}, restored: changelog.Checkpoint{},
		volatile: map[changelog.TopicPartition]bool{}}
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
			TimestampExtractor: cfg.TimestampExtractor,
		})
	}
	task, err := newTask()
	if err != nil {
		return nil, err
	}
	rt.txns = newStoreTxns(task.Stores(), rt.logged, th.rt.g.exact())
	// wipe empties the task directory and reopens the task on it: nothing local is kept,
	// everything is restored from the changelogs.
	wipe := func() error {
		_ = task.Close()
		if err := wipeTaskDir(dir); err != nil {
			return err
		}
		var err error
		if task, err = newTask(); err != nil {
			return err
		}
		rt.txns = newStoreTxns(task.Stores(), rt.logged, th.rt.g.exact())
		cp = nil
		return nil
	}
	if th.rt.g.exact() && st == nil {
		// The stores say where they stand, exactly, when they can; a checkpoint file may lag
		// them (a standby writes it less often than it commits).
		stored, trusted, err := rt.txns.storedOffsets(task.Stores(), existed)
		if err != nil {
			_ = task.Close()
			return nil, err
		}
		if len(cp) > 0 {
			// A clean close's checkpoint: complete, if not always as fresh as the stores.
			for tp, o := range stored {
				cp[tp] = o
			}
		} else {
			cp = stored
			if !trusted {
				// Stores that may hold writes of aborted transactions: wipe them and
				// restore from the changelog alone.
				th.log.Info("rill: state without committed offsets, wiping it", zapTask(id))
				if err := wipe(); err != nil {
					return nil, err
				}
			}
		}
	}
	if st == nil {
		// A standby's offsets were vetted when it opened; its stores moved with them since.
		vetted, ahead, err := th.vetCheckpoint(ctx, id, task.Stores(), rt.logged, cp)
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
	}
	if err := rt.txns.begin(); err != nil {
		_ = task.Close()
		return nil, err
	}
	rt.task = task
	for store, tp := range rt.logged {
		if s, ok := task.Stores()[store]; ok && !persistent(s) {
			rt.volatile[tp] = true
			if st == nil {
				delete(cp, tp) // an in-memory store opens empty: restore it whole
			}
		}
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
	th.counters.created++
	return rt, nil
}

// restore replays the task's changelog partitions into its stores, bypassing logging.
// changelogSettleTimeout bounds settleChangelogEnds: markers travel in milliseconds; a
// changelog still behind after it holds a transaction that is really open (an owner killed in
// the middle of one, whose offsets were never committed), which restoring up to the last
// stable offset handles right.
const changelogSettleTimeout = 5 * time.Second

// settleChangelogEnds returns the restoration's ends (the changelogs' last stable offsets,
// end) once they caught up with the logs' ends, or after changelogSettleTimeout: a previous
// owner's transaction just committed (waitPreviousOwnersLocked), and its markers reach the
// partitions one by one, each from the transaction coordinator.
func (th *thread) settleChangelogEnds(ctx context.Context, rt *runningTask, topics []string, end map[string]map[int32]int64) (map[string]map[int32]int64, error) {
	deadline := time.Now().Add(changelogSettleTimeout)
	for {
		hw, err := th.rt.admin.HighWatermarks(ctx, topics...)
		if err != nil {
			return nil, err
		}
		behind := false
		for _, tp := range rt.logged {
			if end[tp.Topic][tp.Partition] < hw[tp.Topic][tp.Partition] {
				behind = true
			}
		}
		if !behind || time.Now().After(deadline) {
			return end, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if end, err = th.rt.admin.EndOffsets(ctx, topics...); err != nil {
			return nil, err
		}
	}
}

func (th *thread) restore(ctx context.Context, rt *runningTask, cp changelog.Checkpoint, fromStandby bool) error {
	if len(rt.logged) == 0 {
		return nil
	}
	start := map[string]map[int32]int64{}
	byTopic := map[string]state.Restorer{}
	var topics []string
	// progress reports the restoration to Runtime.Stats while it runs (under th.mu).
	progress := map[string]*storeRestore{}
	var progList []*storeRestore
	for store, tp := range rt.logged {
		progress[tp.Topic] = &storeRestore{store: store}
		progList = append(progList, progress[tp.Topic])
		r, ok := rt.task.Stores()[store].(state.Restorer)
		if !ok {
			return fmt.Errorf("rill: store %s cannot be restored", store)
		}
		byTopic[tp.Topic] = r
		topics = append(topics, tp.Topic)
		from := cp[tp]
		if from < 0 {
			from = 0
		}
		start[tp.Topic] = map[int32]int64{tp.Partition: from}
		rt.restored[tp] = from
	}
	end, err := th.rt.admin.EndOffsets(ctx, topics...)
	if err != nil {
		return err
	}
	if th.settleChangelogs {
		if end, err = th.settleChangelogEnds(ctx, rt, topics, end); err != nil {
			return err
		}
	}
	for _, tp := range rt.logged {
		progress[tp.Topic].remaining.Store(max(end[tp.Topic][tp.Partition]-rt.restored[tp], 0))
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
	var n int64
	err = kafka.ReadRange(ctx, th.rt.cfg.Client, start, end, 200*time.Millisecond,
		kafka.Stall{What: "restore task " + rt.task.ID().String(), FailAfter: th.rt.cfg.RestoreStallTimeout, Logger: th.log},
		func(topic string, p int32, offset int64, key, value []byte, _ int64) error {
			n++
			rt.restored[changelog.TopicPartition{Topic: topic, Partition: p}] = offset + 1
			if pr := progress[topic]; pr != nil {
				pr.total.Add(1)
				pr.remaining.Store(max(end[topic][p]-offset-1, 0))
			}
			if err := byTopic[topic].Restore(key, value); err != nil {
				return err
			}
			if n%restoreCommitEvery == 0 {
				// Large atomic batches, each with the offsets it reaches.
				if err := rt.txns.commit(rt.restored); err != nil {
					return err
				}
				// At least once the batches go without the WAL: a Flush makes them durable,
				// and lets window stores drop the segments they expired (which they hold
				// back until then), so that a long restoration does not pile up segments.
				return th.rt.g.restoredBatch(rt)
			}
			return nil
		})
	if err != nil {
		return err
	}
	for _, tp := range rt.logged {
		// Everything up to the end is in the store now, markers and aborted records included.
		if e, ok := end[tp.Topic][tp.Partition]; ok && e > rt.restored[tp] {
			rt.restored[tp] = e
		}
	}
	if err := rt.txns.commit(rt.restored); err != nil {
		return err
	}
	for _, p := range progList {
		p.remaining.Store(0) // the end reached: markers and aborted records read too
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
	th.foldTaskLocked(rt)
	th.counters.closed++
	th.stats.dirty = true
	if n := rt.txns.abort(); n > 0 && clean {
		// The loop commits before any clean close; writes left over mean a bug, and
		// applying them now would put them on disk without their transaction.
		th.log.Warn("rill: uncommitted store writes at a clean close, dropped", zapTask(rt.task.ID()), zap.Int("writes", n))
		clean = false
	}
	wipe := !clean && th.rt.g.exact() && rt.txns.wipeNeeded(rt.task.Stores())
	err := rt.task.Close() // flushes stores
	if clean {
		return errors.Join(err, changelog.WriteCheckpoint(rt.dir, rt.checkpoint()))
	}
	if wipe {
		return errors.Join(err, wipeTaskDir(rt.dir))
	}
	return err
}
