package changelog

import (
	"context"
	"sync/atomic"
	"time"

	cl "github.com/rillstreams/rill/changelog"
	"github.com/rillstreams/rill/processor"
	"github.com/rillstreams/rill/state"
)

// Manager is the state manager of one task, active or standby (Kafka Streams'
// ProcessorStateManager): it knows the task's directory and its logged stores' changelog
// partitions, decides whether what the directory holds can be trusted, restores the stores,
// and tracks where in their changelogs they stand (restored, then written), which is what a
// checkpoint records. The stream thread that owns the task owns its manager; only Acked may
// be called from another goroutine (the producer's callbacks).
type Manager struct {
	// Dir is the task's state directory.
	Dir string
	// Logged maps each logged store to its changelog partition.
	Logged map[string]cl.TopicPartition
	// Txns are the task's transactional stores (Track).
	Txns *Txns
	// Restored are the offsets restoration reached, the base of the next checkpoint.
	Restored cl.Checkpoint
	// Volatile marks the changelog partitions of in-memory stores: never checkpointed, since
	// such a store starts empty whenever the task opens.
	Volatile map[cl.TopicPartition]bool

	exact bool
	// written holds, per changelog partition of Logged, the next offset after the last
	// acknowledged changelog record. The map is filled in NewManager and never written
	// again, so the producer's goroutines read it without a lock; each entry is an atomic
	// maximum, so an ack costs no mutex.
	written map[cl.TopicPartition]*Written
}

// Written is where a changelog partition's acknowledged records reach: the offset after the
// highest acknowledged. Safe for concurrent use.
type Written struct{ next atomic.Int64 }

// Acked records that the changelog record at offset was written.
func (w *Written) Acked(offset int64) {
	for {
		cur := w.next.Load()
		if offset+1 <= cur || w.next.CompareAndSwap(cur, offset+1) {
			return
		}
	}
}

// NewManager returns the manager of a task with state directory dir whose logged stores
// write to logged (store → changelog partition). exact is the exactly-once guarantee: the
// stores record their changelog offsets with each commit, and are the truth about them.
func NewManager(dir string, logged map[string]cl.TopicPartition, exact bool) *Manager {
	m := &Manager{Dir: dir, Logged: logged, exact: exact, Restored: cl.Checkpoint{},
		Volatile: map[cl.TopicPartition]bool{}, written: map[cl.TopicPartition]*Written{}}
	for _, tp := range logged {
		m.written[tp] = new(Written)
	}
	return m
}

// Track takes the task's stores, as opened (again after a wipe): their transactions, and
// which of them are in memory.
func (m *Manager) Track(stores map[string]processor.Store) {
	m.Txns = NewTxns(stores, m.Logged, m.exact)
	clear(m.Volatile)
	for store, tp := range m.Logged {
		if s, ok := stores[store]; ok && !Persistent(s) {
			m.Volatile[tp] = true
		}
	}
}

// Acked records that the changelog record at offset of tp, a partition of Logged, was
// written.
func (m *Manager) Acked(tp cl.TopicPartition, offset int64) { m.written[tp].Acked(offset) }

// WrittenTo returns where tp's acknowledged records reach, for a sender to call Acked on
// without a lookup per record; nil when tp is not a partition of Logged.
func (m *Manager) WrittenTo(tp cl.TopicPartition) *Written { return m.written[tp] }

// Checkpoint returns the offsets the task's persistent stores hold: restored, then written
// since.
func (m *Manager) Checkpoint() cl.Checkpoint {
	cp := cl.Checkpoint{}
	for tp, o := range m.Restored {
		cp[tp] = o
	}
	for tp, w := range m.written {
		if o := w.next.Load(); o > 0 {
			cp[tp] = max(cp[tp], o)
		}
	}
	for tp := range m.Volatile {
		delete(cp, tp)
	}
	return cp
}

// StartOffsets decides where the stores stand in their changelogs, from file, the
// directory's checkpoint file (nil: none), and under exactly once from the offsets the stores'
// last commits recorded, which are exact where the file (written at clean closes, or by a
// standby less often than it commits) may lag. wipe tells that the directory cannot be trusted
// and must be emptied: exactly once, without a checkpoint file, some logged persistent store
// cannot vouch for what it holds (a backend without transactions, or a directory written
// at least once). existed tells whether the directory existed before the stores opened.
// Call after Track.
func (m *Manager) StartOffsets(stores map[string]processor.Store, existed bool, file cl.Checkpoint) (cp cl.Checkpoint, wipe bool, err error) {
	if !m.exact {
		return file, false, nil
	}
	stored, trusted, err := m.Txns.StoredOffsets(stores, existed)
	if err != nil {
		return nil, false, err
	}
	if len(file) > 0 {
		// A clean close's checkpoint: complete, if not always as fresh as the stores.
		for tp, o := range stored {
			file[tp] = o
		}
		return file, false, nil
	}
	if !trusted {
		return nil, true, nil
	}
	return stored, false, nil
}

// RestoreEvery is how many changelog records a restoration applies between commits of the
// stores: the batch size of its RocksDB writes, and at most what a crash during a restoration
// makes it read again.
const RestoreEvery = 10000

// ReadFunc reads, read_committed, the records of partitions from start up to end, calling
// apply in offset order per partition (kafka.ReadRange with a stall bound).
type ReadFunc func(ctx context.Context, start, end map[string]map[int32]int64,
	apply func(topic string, partition int32, offset int64, key, value []byte, timestamp int64) error) error

// RestoreHooks are told how a restoration goes (Kafka Streams' StateRestoreListener); any
// may be nil.
type RestoreHooks struct {
	// Start: store's partition tp restores from start up to end.
	Start func(store string, tp cl.TopicPartition, start, end int64)
	// Record: a record at offset of tp was applied (progress reports).
	Record func(tp cl.TopicPartition, offset int64)
	// Batch: a batch of n records was applied and committed, up to batchEnd.
	Batch func(store string, tp cl.TopicPartition, batchEnd int64, n int64)
	// End: store's partition tp is restored, total records in all.
	End func(store string, tp cl.TopicPartition, total int64)
	// Suspended: the restoration stopped before the end (an error, or ctx ended), after total
	// records of tp; what they restored stays committed in the store.
	Suspended func(store string, tp cl.TopicPartition, total int64)
}

// Restore replays the logged stores' changelog partitions into stores, from from (the
// offsets StartOffsets and vetting settled) up to end (the changelogs' last stable offsets),
// bypassing logging. Every RestoreEvery records the stores commit with the offsets reached,
// then durable makes the batch durable (at least once a Flush: those batches go without the
// WAL). It returns how many records it applied.
func (m *Manager) Restore(ctx context.Context, read ReadFunc, stores map[string]processor.Store, from cl.Checkpoint,
	end map[string]map[int32]int64, durable func() error, hooks RestoreHooks) (int64, error) {
	if len(m.Logged) == 0 {
		return 0, nil
	}
	start := map[string]map[int32]int64{}
	byTopic := map[string]state.Restorer{}
	storeOf := map[cl.TopicPartition]string{}
	counts := map[cl.TopicPartition]int64{}
	for store, tp := range m.Logged {
		r, ok := stores[store].(state.Restorer)
		if !ok {
			return 0, errNotRestorable(store)
		}
		byTopic[tp.Topic] = r
		storeOf[tp] = store
		at := max(from[tp], 0)
		start[tp.Topic] = map[int32]int64{tp.Partition: at}
		m.Restored[tp] = at
		if hooks.Start != nil {
			hooks.Start(store, tp, at, end[tp.Topic][tp.Partition])
		}
	}
	var n int64
	batchStart := map[cl.TopicPartition]int64{}
	commit := func() error {
		if err := m.Txns.Commit(m.Restored); err != nil {
			return err
		}
		if hooks.Batch != nil {
			for tp, c := range counts {
				if c > batchStart[tp] {
					hooks.Batch(storeOf[tp], tp, m.Restored[tp]-1, c-batchStart[tp])
					batchStart[tp] = c
				}
			}
		}
		return nil
	}
	err := read(ctx, start, end, func(topic string, p int32, offset int64, key, value []byte, _ int64) error {
		n++
		tp := cl.TopicPartition{Topic: topic, Partition: p}
		m.Restored[tp] = offset + 1
		counts[tp]++
		if hooks.Record != nil {
			hooks.Record(tp, offset)
		}
		if err := byTopic[topic].Restore(key, value); err != nil {
			return err
		}
		if n%RestoreEvery == 0 {
			// Large atomic batches, each with the offsets it reaches.
			if err := commit(); err != nil {
				return err
			}
			return durable()
		}
		return nil
	})
	if err != nil {
		if hooks.Suspended != nil {
			for store, tp := range m.Logged {
				hooks.Suspended(store, tp, counts[tp])
			}
		}
		return n, err
	}
	for _, tp := range m.Logged {
		// Everything up to the end is in the store now, markers and aborted records included.
		if e, ok := end[tp.Topic][tp.Partition]; ok && e > m.Restored[tp] {
			m.Restored[tp] = e
		}
	}
	if err := commit(); err != nil {
		return n, err
	}
	if hooks.End != nil {
		for store, tp := range m.Logged {
			hooks.End(store, tp, counts[tp])
		}
	}
	return n, nil
}

// SettleTimeout bounds SettleEnds: transaction markers travel in milliseconds; a changelog
// still behind after it holds a transaction that is really open (an owner killed in the
// middle of one, whose offsets were never committed), which restoring up to the last stable
// offset handles right.
const SettleTimeout = 5 * time.Second

// SettleEnds returns the ends of a restoration (end, the changelogs' last stable offsets) once
// they caught up with the logs' ends, or after SettleTimeout: called when a previous owner's
// transaction just committed, whose markers reach the partitions one by one, each from the
// transaction coordinator.
func (m *Manager) SettleEnds(ctx context.Context, logs LogEnds, end map[string]map[int32]int64) (map[string]map[int32]int64, error) {
	var topics []string
	for _, tp := range m.Logged {
		topics = append(topics, tp.Topic)
	}
	deadline := time.Now().Add(SettleTimeout)
	for {
		hw, err := logs.HighWatermarks(ctx, topics...)
		if err != nil {
			return nil, err
		}
		behind := false
		for _, tp := range m.Logged {
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
		if end, err = logs.EndOffsets(ctx, topics...); err != nil {
			return nil, err
		}
	}
}
