package runtime

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/rillstreams/rill/standby"

	ichangelog "github.com/rillstreams/rill/internal/changelog"

	"github.com/rillstreams/rill/changelog"
	"github.com/rillstreams/rill/internal/assign"
	"github.com/rillstreams/rill/internal/engine"
	"github.com/rillstreams/rill/internal/kafka"
	"github.com/rillstreams/rill/processor"
	"github.com/rillstreams/rill/state"
)

// standbyBatch bounds the changelog records a thread applies to its standbys per loop turn,
// so that active tasks are not starved while a warm-up catches up.
const standbyBatch = 10000

// standbyTask is Kafka Streams' StandbyTask: a task's stores, kept up to date from their
// changelogs on an instance that does not run the task, so that taking it over restores
// only the tail. No processor runs and nothing is produced: the stores are built alone and
// only ever written through state.Restorer.
//
// The stream thread owns its standbys as it owns its active tasks: they are only touched
// under thread.mu, by the loop (applying changelog records, checkpointing) or by the
// rebalance callbacks (opening, closing, promoting).
type standbyTask struct {
	id     processor.TaskID
	stores map[string]processor.Store
	sink   *handoverSink
	// The state manager: the directory, the logged stores' changelog partitions, which of
	// them are in memory (Volatile), and the stores' transactions: a standby commits what it
	// applied after every batch (with the offsets, under exactly-once).
	*ichangelog.Manager
	// restorers are by changelog partition.
	restorers map[changelog.TopicPartition]state.Restorer
	// next is, per changelog partition, the offset of the next record to apply: everything
	// before it (read_committed, so committed data only) is in the stores.
	next changelog.Checkpoint
	// moved tells that next moved since the last checkpoint; checkpointed is when that was.
	moved        bool
	checkpointed time.Time
}

// offsetSum is the standby's KIP-441 offset sum: the changelog offsets it has applied.
func (st *standbyTask) offsetSum() int64 {
	var sum int64
	for _, o := range st.next {
		sum += max(o, 0)
	}
	return sum
}

// partitions returns the standby's changelog partitions at the offsets to read from.
func (st *standbyTask) partitions() map[string]map[int32]int64 {
	out := map[string]map[int32]int64{}
	for tp, o := range st.next {
		if out[tp.Topic] == nil {
			out[tp.Topic] = map[int32]int64{}
		}
		out[tp.Topic][tp.Partition] = o
	}
	return out
}

// checkpoint flushes the stores and records next for the persistent ones.
func (st *standbyTask) checkpoint() error {
	if err := st.commit(); err != nil {
		return err
	}
	for name, s := range st.stores {
		if err := s.Flush(); err != nil {
			return fmt.Errorf("rill: standby %s: flush store %s: %w", st.id, name, err)
		}
	}
	cp := changelog.Checkpoint{}
	for tp, o := range st.next {
		if !st.Volatile[tp] {
			cp[tp] = o
		}
	}
	if err := changelog.WriteCheckpoint(st.Dir, cp); err != nil {
		return err
	}
	st.moved = false
	st.checkpointed = time.Now()
	return nil
}

// commit applies what the standby buffered under exactly-once, with the offsets it reached.
func (st *standbyTask) commit() error {
	if err := st.Txns.Commit(st.next); err != nil {
		return fmt.Errorf("rill: standby %s: %w", st.id, err)
	}
	return nil
}

// handoverSink is the state.ChangelogSink a standby's stores are built with. A standby never
// writes through its stores, so Log fails until a promotion points the sink at the active
// task's collector: the stores pass to the active task as they are, logging included.
type handoverSink struct{ target state.ChangelogSink }

func (s *handoverSink) Log(store string, key, value []byte) error {
	if s.target == nil {
		return fmt.Errorf("rill: store %s of a standby task was written to", store)
	}
	return s.target.Log(store, key, value)
}

// adoptedStore is a store builder that hands out a store already open: the engine builds a
// promoted standby's task around the standby's stores.
type adoptedStore struct {
	state.StoreBuilder
	store processor.Store
}

func (a adoptedStore) Build(state.StoreContext) (processor.Store, error) { return a.store, nil }

// adopt returns a copy of sub whose stores are st's.
func (st *standbyTask) adopt(sub *engine.Subtopology) *engine.Subtopology {
	cp := *sub
	cp.Stores = make([]state.StoreBuilder, len(sub.Stores))
	for i, sb := range sub.Stores {
		cp.Stores[i] = adoptedStore{StoreBuilder: sb, store: st.stores[sb.Name()]}
	}
	return &cp
}

// openStandby opens the stores of task id as a standby, from the task directory's checkpoint
// when there is one, and starts tailing its changelogs. Nothing is restored here: the loop
// applies the changelogs as they come, off the rebalance's critical path.
func (th *thread) openStandby(ctx context.Context, sub *engine.Subtopology, id processor.TaskID) (*standbyTask, error) {
	cfg := th.rt.cfg
	dir := th.rt.stateDirFor(id)
	if err := th.rt.dirs.acquire(ctx, id, th.index); err != nil {
		return nil, err
	}
	cp, err := changelog.ReadCheckpoint(dir)
	if err != nil {
		th.log.Warn("rill: unreadable checkpoint, standby reads the changelog from the start", zapTask(id), zapErr(err))
		cp = nil
	}
	_, serr := os.Stat(dir)
	existed := serr == nil
	if err := os.MkdirAll(dir, ichangelog.DirMode); err != nil {
		th.rt.dirs.release(id, th.index)
		return nil, err
	}
	st := &standbyTask{id: id, stores: map[string]processor.Store{}, sink: &handoverSink{},
		Manager:   ichangelog.NewManager(dir, th.rt.changelogPartitions(id), th.rt.g.exact()),
		restorers: map[changelog.TopicPartition]state.Restorer{}, next: changelog.Checkpoint{}, checkpointed: time.Now()}
	closeStores := func() {
		for _, s := range st.stores {
			_ = s.Close()
		}
		st.stores = map[string]processor.Store{}
	}
	fail := func(err error) (*standbyTask, error) {
		closeStores()
		th.rt.dirs.release(id, th.index)
		return nil, fmt.Errorf("rill: open standby task %s: %w", id, err)
	}
	build := func() error {
		for _, sb := range sub.Stores {
			s, err := sb.Build(state.StoreContext{ApplicationID: cfg.ApplicationID, TaskID: id, Dir: dir,
				Backend: cfg.Backend, Changelog: st.sink})
			if err != nil {
				return err
			}
			st.stores[sb.Name()] = s
		}
		return nil
	}
	if err := build(); err != nil {
		return fail(err)
	}
	st.Track(st.stores)
	wipe := func() error {
		closeStores()
		if err := ichangelog.WipeDir(dir); err != nil {
			return err
		}
		if err := build(); err != nil {
			return err
		}
		st.Track(st.stores)
		cp = nil
		return nil
	}
	// As for active tasks (openTask): exactly once, the stores' committed offsets, exact where
	// the checkpoint file may lag, or a wipe when they cannot vouch for what they hold (an
	// active task of a backend without transactions that crashed). A standby's own writes are
	// always committed data: it applies read_committed changelogs only.
	cp, untrusted, err := st.StartOffsets(st.stores, existed, cp)
	if err != nil {
		return fail(err)
	}
	if untrusted {
		if err := wipe(); err != nil {
			return fail(err)
		}
	}
	// As for active tasks: state ahead of its changelogs (another cluster's) is wiped, and a
	// store that opened empty reads its changelog from the start (ichangelog.Vet).
	vetted, ahead, err := ichangelog.Vet(ctx, th.rt.admin, th.log, id, st.stores, st.Logged, cp)
	if err != nil {
		return fail(err)
	}
	if ahead {
		if err := wipe(); err != nil {
			return fail(err)
		}
	} else {
		cp = vetted
	}
	if err := st.Txns.Begin(); err != nil {
		return fail(err)
	}
	for _, sb := range sub.Stores {
		s := st.stores[sb.Name()]
		tp, ok := st.Logged[sb.Name()]
		if !ok {
			continue
		}
		r, ok := s.(state.Restorer)
		if !ok {
			return fail(fmt.Errorf("store %s cannot be restored", sb.Name()))
		}
		st.restorers[tp] = r
		from := int64(0)
		if !st.Volatile[tp] {
			from = max(cp[tp], 0)
		}
		st.next[tp] = from
	}
	if len(st.next) > 0 {
		rd, err := th.standbyReader()
		if err != nil {
			return fail(err)
		}
		rd.Add(st.partitions())
		for tp := range st.next {
			th.standbyParts[tp] = st
		}
	}
	if l := th.rt.cfg.StandbyUpdateListener; l != nil {
		for store, tp := range st.Logged {
			l.OnUpdateStart(store, tp, st.next[tp])
		}
	}
	th.log.Info("rill: standby task opened", zapTask(id), zapInt64("offsetSum", st.offsetSum()))
	return st, nil
}

// standbyReader returns the thread's changelog reader, made on first use.
func (th *thread) standbyReader() (*kafka.ChangelogReader, error) {
	if th.reader == nil {
		cc := th.rt.cfg.Client
		cc.ClientID = fmt.Sprintf("%s-%s-StreamThread-%d-standby", th.rt.cfg.ApplicationID, th.rt.cfg.ProcessID, th.index)
		rd, err := kafka.NewChangelogReader(cc)
		if err != nil {
			return nil, err
		}
		th.reader = rd
	}
	return th.reader, nil
}

// detachStandby stops tailing st's changelogs and forgets it; its stores stay open.
func (th *thread) detachStandby(st *standbyTask, why standby.SuspendReason) {
	if l := th.rt.cfg.StandbyUpdateListener; l != nil {
		for store, tp := range st.Logged {
			end := int64(-1)
			if th.reader != nil {
				if e, ok := th.reader.End(tp.Topic, tp.Partition); ok {
					end = e
				}
			}
			l.OnUpdateSuspended(store, tp, st.next[tp]-1, end, why)
		}
	}
	if th.reader != nil && len(st.next) > 0 {
		parts := map[string][]int32{}
		for tp := range st.next {
			parts[tp.Topic] = append(parts[tp.Topic], tp.Partition)
		}
		th.reader.Remove(parts)
	}
	for tp := range st.next {
		if th.standbyParts[tp] == st {
			delete(th.standbyParts, tp)
		}
	}
	delete(th.standbys, st.id)
}

// closeStandby checkpoints and closes a standby; its directory stays, for a later standby or
// active task of the same id to resume from (and reported in the subscription meanwhile).
func (th *thread) closeStandby(st *standbyTask) error {
	th.detachStandby(st, standby.Migrated)
	err := st.checkpoint()
	for name, s := range st.stores {
		if cerr := s.Close(); cerr != nil {
			err = errors.Join(err, fmt.Errorf("rill: standby %s: close store %s: %w", st.id, name, cerr))
		}
	}
	th.rt.dirs.release(st.id, th.index)
	return err
}

// updateStandbysLocked applies the changelog records the reader has buffered to the standbys
// and checkpoints those due. It reports how many records it took. th.mu must be held.
func (th *thread) updateStandbysLocked() (int, error) {
	if th.reader == nil || len(th.standbys) == 0 {
		return 0, nil
	}
	recs, err := th.reader.Poll(standbyBatch)
	if err != nil && time.Since(th.readerWarned) >= 10*time.Second {
		// Fetch errors are retried by the client; say so now and then, not every turn.
		th.readerWarned = time.Now()
		th.log.Warn("rill: standby changelog read", zapErr(err))
	}
	listener := th.rt.cfg.StandbyUpdateListener
	var loaded map[changelog.TopicPartition]int64 // records applied per partition, for listener
	if listener != nil {
		loaded = map[changelog.TopicPartition]int64{}
	}
	for i := range recs {
		r := &recs[i]
		tp := changelog.TopicPartition{Topic: r.Topic, Partition: r.Partition}
		st := th.standbyParts[tp]
		if st == nil || r.Offset < st.next[tp] {
			continue // a standby that went, or a record it already has
		}
		if loaded != nil && !r.Control {
			loaded[tp]++
		}
		if !r.Control {
			if err := st.restorers[tp].Restore(r.Key, r.Value); err != nil {
				return 0, fmt.Errorf("rill: standby task %s: apply %s[%d]@%d: %w", st.id, r.Topic, r.Partition, r.Offset, err)
			}
		}
		st.next[tp] = r.Offset + 1
		st.moved = true
	}
	for tp, n := range loaded {
		st := th.standbyParts[tp]
		for store, stp := range st.Logged {
			if stp == tp {
				end, ok := th.reader.End(tp.Topic, tp.Partition)
				if !ok {
					end = -1
				}
				listener.OnBatchLoaded(store, tp, st.id, st.next[tp]-1, n, end)
			}
		}
	}
	every := max(th.rt.cfg.CommitInterval, time.Second)
	for _, st := range th.standbys {
		if st.moved {
			if err := st.commit(); err != nil {
				return 0, err
			}
		}
		if st.moved && time.Since(st.checkpointed) >= every {
			if err := st.checkpoint(); err != nil {
				return 0, err
			}
		}
	}
	return len(recs), nil
}

// standbyOffsetSumsLocked returns the offset sums of the thread's standbys. th.mu must be
// held.
func (th *thread) standbyOffsetSumsLocked() map[assign.TaskID]int64 {
	out := make(map[assign.TaskID]int64, len(th.standbys))
	for id, st := range th.standbys {
		out[assign.TaskID{Subtopology: id.Subtopology, Partition: id.Partition}] = st.offsetSum()
	}
	return out
}
