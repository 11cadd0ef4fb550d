package runtime

import (
	"context"
	"errors"
	"fmt"
	goruntime "runtime"
	"slices"
	"time"

	"github.com/rillstreams/rill/internal/assign"
	"github.com/rillstreams/rill/processor"
)

// Errors of interactive queries, matched with errors.Is. ErrStoreMigrating and ErrNotRunning
// are retriable: ask again (after metadata said where the key lives now).
var (
	// ErrStoreMigrating: the store's task is moving (a rebalance is under way, or the partition
	// is not active here). Kafka Streams: InvalidStateStoreException "may have migrated".
	ErrStoreMigrating = errors.New("rill: state store is migrating (rebalance or not hosted here); retry")
	// ErrNotRunning: the app is not RUNNING or REBALANCING (Kafka Streams:
	// StreamsNotStartedException / StateStoreNotAvailableException).
	ErrNotRunning = errors.New("rill: app is not running")
	// ErrUnknownStore: no store of that name in the topology (Kafka Streams:
	// UnknownStateStoreException).
	ErrUnknownStore = errors.New("rill: unknown state store")
)

// QueryTarget is one task's store handed to a query: read it, copy what you need and return.
// It is only valid inside the callback.
type QueryTarget struct {
	Store     processor.Store
	Partition int32
	// Standby is true when the store is a standby replica's (stale reads only); Position is
	// then the sum of the changelog offsets it applied, and Lag how far that is behind the
	// changelogs' end offsets as last seen (-1: unknown).
	Standby  bool
	Position int64
}

// queryPoll is how often a query waiting for a thread's lock checks whether the thread
// started a rebalance (then it gives up: the wait could last a whole restoration).
const queryPoll = 5 * time.Millisecond

// queryYieldMax bounds how long the loop, between two records, lets waiting queries take its
// lock (see yieldToQueries).
const queryYieldMax = 200 * time.Microsecond

var errRebalancing = errors.New("rebalancing")

// lockForQuery takes th.queryMu for a query, unless the thread is rebalancing (errRebalancing)
// or ctx ends first. The thread, told a query waits (queryWaiting), lets it in between two
// records (yieldToQueries) rather than after its whole step and commit. A wait given up
// leaves a goroutine that takes the lock and gives it back at once: every Lock is matched.
func (th *thread) lockForQuery(ctx context.Context) error {
	if th.migrating.Load() {
		return errRebalancing
	}
	if th.queryMu.TryLock() {
		return nil
	}
	th.queryWaiting.Add(1)
	got := make(chan struct{}, 1)
	go func() {
		th.queryMu.Lock()
		got <- struct{}{}
	}()
	tick := time.NewTicker(queryPoll)
	defer tick.Stop()
	giveUp := func(err error) error {
		th.queryWaiting.Add(-1)
		go func() {
			<-got
			th.queryMu.Unlock()
		}()
		return err
	}
	for {
		select {
		case <-got:
			th.queryWaiting.Add(-1)
			return nil
		case <-ctx.Done():
			return giveUp(ctx.Err())
		case <-tick.C:
			if th.migrating.Load() {
				return giveUp(errRebalancing)
			}
		}
	}
}

// yieldToQueries lets queries waiting for th.queryMu in, for at most queryYieldMax: the loop
// calls it between records, where the tasks are consistent (th.mu stays held). One atomic load
// when none waits.
func (th *thread) yieldToQueries() {
	if th.queryWaiting.Load() == 0 {
		return
	}
	th.queryMu.Unlock()
	deadline := time.Now().Add(queryYieldMax)
	for th.queryWaiting.Load() > 0 && time.Now().Before(deadline) {
		goruntime.Gosched()
	}
	th.queryMu.Lock()
}

// QueryStore runs fn on the store named name in each local task holding it: every partition
// (partition < 0) or one. stale admits standby replicas. A query takes the query lock of the
// stream thread that owns the task (thread.queryMu), for as long as fn runs: fn must be short
// (a Get, or a bounded copy); the thread waits for it. While the thread rebalances (its tasks
// moving) the query fails with ErrStoreMigrating at once instead of waiting for the rebalance
// to end.
func (r *Runtime) QueryStore(ctx context.Context, name string, partition int32, stale bool, fn func(QueryTarget) error) error {
	if !r.hasStore(name) {
		return fmt.Errorf("%w: %s", ErrUnknownStore, name)
	}
	r.mu.Lock()
	st, threads := r.state, slices.Clone(r.threads)
	r.mu.Unlock()
	if st != Running && st != Rebalancing {
		return fmt.Errorf("%w (state %s)", ErrNotRunning, st)
	}
	found := false
	for _, th := range threads {
		n, err := th.query(ctx, name, partition, stale, fn)
		if err != nil {
			return err
		}
		found = found || n > 0
	}
	if partition >= 0 && !found {
		return fmt.Errorf("%w: partition %d of store %s is not %s on this instance", ErrStoreMigrating, partition, name,
			map[bool]string{false: "active", true: "active or standby"}[stale])
	}
	return nil
}

// hasStore tells whether a (non-global) sub-topology has a store named name.
func (r *Runtime) hasStore(name string) bool {
	_, ok := r.storeSub(name)
	return ok
}

// storeSub returns the sub-topology holding store name.
func (r *Runtime) storeSub(name string) (int, bool) {
	for id, sub := range r.subs {
		for _, sb := range sub.Stores {
			if sb.Name() == name {
				return id, true
			}
		}
	}
	return 0, false
}

// query runs fn on the thread's tasks holding store name; it returns how many it ran on.
func (th *thread) query(ctx context.Context, name string, partition int32, stale bool, fn func(QueryTarget) error) (int, error) {
	if err := th.lockForQuery(ctx); err != nil {
		return 0, fmt.Errorf("%w: store %s (thread %d: %v)", ErrStoreMigrating, name, th.index, err)
	}
	defer th.queryMu.Unlock()
	if th.migrating.Load() {
		// Between the revocation and the assignment: tasks are open but may be about to
		// move. Kafka Streams answers only from RUNNING threads (unless stale stores).
		if !stale || partition < 0 {
			return 0, fmt.Errorf("%w: store %s (thread %d is rebalancing)", ErrStoreMigrating, name, th.index)
		}
	}
	n := 0
	for _, id := range sortedIDs(th.tasks) {
		if partition >= 0 && id.Partition != partition {
			continue
		}
		s, ok := th.tasks[id].task.Stores()[name]
		if !ok {
			continue
		}
		n++
		if err := fn(QueryTarget{Store: s, Partition: id.Partition}); err != nil {
			return n, err
		}
	}
	if !stale {
		return n, nil
	}
	for _, id := range sortedIDs(th.standbys) {
		if partition >= 0 && id.Partition != partition {
			continue
		}
		st := th.standbys[id]
		s, ok := st.stores[name]
		if !ok || th.tasks[id] != nil {
			continue
		}
		n++
		if err := fn(QueryTarget{Store: s, Partition: id.Partition, Standby: true, Position: st.offsetSum()}); err != nil {
			return n, err
		}
	}
	return n, nil
}

// HostMetadata is the interactive-query metadata of the latest assignment: per
// application.server host:port, the tasks it runs as active and keeps as standby.
type HostMetadata struct {
	Active, Standby map[string][]processor.TaskID
}

// Hosts returns the host metadata of the latest assignment this instance received (empty
// before the first one).
func (r *Runtime) Hosts() HostMetadata {
	r.mu.Lock()
	threads := slices.Clone(r.threads)
	r.mu.Unlock()
	out := HostMetadata{Active: map[string][]processor.TaskID{}, Standby: map[string][]processor.TaskID{}}
	if len(threads) == 0 {
		return out
	}
	// Every member gets the same host maps in a generation; thread 0's is as good as any.
	info := threads[0].bal.Assignment()
	conv := func(in map[string][]assign.TaskID, out map[string][]processor.TaskID) {
		for h, ts := range in {
			for _, t := range ts {
				out[h] = append(out[h], processor.TaskID{Subtopology: t.Subtopology, Partition: t.Partition})
			}
		}
	}
	conv(info.HostTasks, out.Active)
	conv(info.HostStandbys, out.Standby)
	return out
}

// StoreInfo is where a store lives: its sub-topology, that sub-topology's source topic with
// the most partitions (the partitioner's topic, as Kafka Streams' queryMetadataForKey) and
// that count (0 before Run checked the topics).
type StoreInfo struct {
	Subtopology int
	Topic       string
	Partitions  int32
}

// Store describes store name, or fails with ErrUnknownStore.
func (r *Runtime) Store(name string) (StoreInfo, error) {
	sub, ok := r.storeSub(name)
	if !ok {
		return StoreInfo{}, fmt.Errorf("%w: %s", ErrUnknownStore, name)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	info := r.subPartitions[sub]
	info.Subtopology = sub
	return info, nil
}

// StoreNames returns the names of the stores of each sub-topology.
func (r *Runtime) StoreNames() map[int][]string {
	out := map[int][]string{}
	for id, sub := range r.subs {
		for _, sb := range sub.Stores {
			out[id] = append(out[id], sb.Name())
		}
		slices.Sort(out[id])
	}
	return out
}

// StoreTimestamped tells whether store name holds values with their timestamps (Kafka
// Streams' timestamped stores: DSL tables and aggregations).
func (r *Runtime) StoreTimestamped(name string) bool {
	for _, sub := range r.subs {
		for _, sb := range sub.Stores {
			if sb.Name() == name {
				t, ok := sb.(interface{ Timestamped() bool })
				return ok && t.Timestamped()
			}
		}
	}
	return false
}
