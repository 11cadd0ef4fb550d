package runtime

import (
	"cmp"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rillstreams/rill/internal/engine"
	"github.com/rillstreams/rill/processor"
	"github.com/rillstreams/rill/state"
)

// The runtime's metrics (Kafka Streams' thread, task, store and record-cache sensors) are
// plain integers and histograms that the stream thread counts under its own lock (mu), on
// the goroutines that already hold it: no atomic, lock or allocation per record. The thread
// publishes a copy (statsMu) at most every statsInterval, and whenever a rebalance changed
// its tasks, at the end of a loop turn; Runtime.Stats reads the copies, so a scrape never
// waits for a thread's turn or commit. Restorations, which run inside a rebalance callback
// holding mu for as long as they take, report their progress through atomics instead.

// statsInterval bounds how often a thread publishes its counters: a scrape sees values at
// most this old.
const statsInterval = 100 * time.Millisecond

// LatencyBuckets are the upper bounds, in seconds, of the buckets of every latency Histogram.
var LatencyBuckets = [...]float64{1e-5, 5e-5, 1e-4, 5e-4, 1e-3, 5e-3, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 60}

// Histogram is a latency distribution with the bounds of LatencyBuckets.
type Histogram struct {
	// Counts are per bucket, not cumulative; observations above the last bound are only in
	// Count.
	Counts [len(LatencyBuckets)]uint64
	Count  uint64
	Sum    float64 // seconds
}

// observeN records n observations of d each.
func (h *Histogram) observeN(d time.Duration, n uint64) {
	s := d.Seconds()
	h.Count += n
	h.Sum += s * float64(n)
	for i, b := range LatencyBuckets {
		if s <= b {
			h.Counts[i] += n
			return
		}
	}
}

// ThreadStats are a stream thread's metrics and tasks, as last published.
type ThreadStats struct {
	// ThreadID is "<ProcessID>-StreamThread-<n>", n from 1, as Kafka Streams names threads.
	ThreadID string
	// Totals since the thread started: records processed, commits, punctuations run,
	// polls, tasks created (opened, or reopened after an aborted transaction) and closed.
	Processed, Commits, Punctuations, Polls, TasksCreated, TasksClosed int64
	// ProcessLatency is per record (each loop turn's processing time divided among the
	// records it processed); CommitLatency and PollLatency per commit and poll.
	ProcessLatency, CommitLatency, PollLatency Histogram
	// Cache are the counters of the thread's record cache; CacheEnabled tells whether it
	// has a budget.
	Cache        state.CacheStats
	CacheEnabled bool
	// Active are the thread's active tasks, restoring ones included; Standby its standbys.
	Active  []TaskStats
	Standby []StandbyStats
}

// TaskState is where an active task is: restoring its stores, or running.
type TaskState string

const (
	TaskRestoring TaskState = "RESTORING"
	TaskRunning   TaskState = "RUNNING"
)

// TaskStats are an active task's metrics.
type TaskStats struct {
	ID    processor.TaskID
	State TaskState
	// Processed, Dropped (skipped by error handlers or dropped on purpose by processors),
	// EnforcedProcessing and Punctuations count since the task was created.
	Processed, Dropped, EnforcedProcessing, Punctuations int64
	// DroppedByNode are the records each processor node dropped on purpose (late records,
	// say), by node name; nodes that dropped none are absent.
	DroppedByNode map[string]int64
	// Inputs are the task's input partitions.
	Inputs []PartitionStats
	// Restore is, per logged store, what its restoration read and what it has left.
	Restore []StoreRestoreStats
	// E2ELatency are the end-to-end latencies of the records reaching each sink node of the
	// task, in topology order.
	E2ELatency []NodeLatency
	// Lateness is the task's record lateness, when LatenessKnown (debug level).
	Lateness      engine.TimeHistogram
	LatenessKnown bool
	// Stores are the operation counts and latencies of the task's metered stores (debug
	// level; none otherwise).
	Stores []state.StoreStats
}

// NodeLatency is the end-to-end latency at a processor node.
type NodeLatency struct {
	Node    string
	Latency engine.TimeHistogram
}

// taskMetricsLocked copies the task's own metrics (metrics.go of package engine) into ts.
// th.mu must be held: the task counts under it.
func taskMetricsLocked(rt *runningTask, ts *TaskStats) {
	rt.task.E2ELatency(func(node string, h *engine.TimeHistogram) {
		ts.E2ELatency = append(ts.E2ELatency, NodeLatency{Node: node, Latency: *h})
	})
	ts.Lateness, ts.LatenessKnown = rt.task.Lateness()
	if ms := rt.task.StoreMetrics(); len(ms) > 0 {
		ts.Stores = make([]state.StoreStats, len(ms))
		for i, m := range ms {
			ts.Stores[i] = m.Snapshot()
		}
	}
}

// PartitionStats is where a task (or standby) stands on one partition.
type PartitionStats struct {
	Topic     string
	Partition int32
	// Offset is the next offset to process (input; before the task processed any since its
	// assignment, the consumer's position) or to apply (changelog); -1 when unknown.
	Offset int64
	// Lag is the records between the consumer's position and the partition's end, as of
	// the last fetch that returned records of it (or the broker's answer), when LagKnown.
	Lag      int64
	LagKnown bool
}

// StoreRestoreStats are a store's restoration: the changelog records it read and those left.
type StoreRestoreStats struct {
	Store            string
	Total, Remaining int64
}

// StandbyStats are a standby task's changelog partitions with their lags.
type StandbyStats struct {
	ID         processor.TaskID
	Changelogs []PartitionStats
}

// threadCounters are the thread's running totals; mu protects them.
type threadCounters struct {
	processed, commits, punctuations, polls, created, closed int64
	processLatency, commitLatency, pollLatency               Histogram
	// pollTook is the last poll's duration, set by the loop before its step counts it.
	pollTook time.Duration
}

// threadStats is what a thread publishes and how it got there.
type threadStats struct {
	// mu protects pub, restoring and restored.
	mu  sync.Mutex
	pub ThreadStats
	// restoring are the restorations under way, by task: updated with atomics while the
	// rebalance callback restoring holds the thread's mu. restored are those finished since
	// pub was written, so that a task does not vanish from Stats between its restoration's
	// end and the next publication.
	restoring map[processor.TaskID][]*storeRestore
	restored  map[processor.TaskID][]StoreRestoreStats
	// published is when pub was last written; dirty asks for the next loop turn to publish
	// (tasks changed). The thread's mu protects both.
	published time.Time
	dirty     bool
}

// storeRestore is the progress of a store's restoration.
type storeRestore struct {
	store            string
	total, remaining atomic.Int64
}

// taskSeen is what the thread last folded of a task's own counters into its totals, and the
// task's per-node drops as of its last change.
type taskSeen struct {
	punctuations, dropped int64
	byNode                map[string]int64
}

// foldTaskLocked adds what the task did since the last fold to the thread's totals. th.mu
// must be held.
func (th *thread) foldTaskLocked(rt *runningTask) {
	p := rt.task.Punctuations()
	th.counters.punctuations += p - rt.seen.punctuations
	rt.seen.punctuations = p
	if d := rt.task.Dropped(); d != rt.seen.dropped {
		rt.seen.dropped = d
		rt.seen.byNode = rt.task.DroppedByNode()
	}
}

// publishStatsLocked copies the thread's counters and tasks into what Runtime.Stats reads,
// when due (or force). th.mu must be held.
func (th *thread) publishStatsLocked(now time.Time, force bool) {
	s := &th.stats
	if !force && !s.dirty && now.Sub(s.published) < statsInterval {
		return
	}
	s.published, s.dirty = now, false
	c := &th.counters
	active := make([]TaskStats, 0, len(th.tasks))
	for _, id := range sortedIDs(th.tasks) {
		rt := th.tasks[id]
		th.foldTaskLocked(rt)
		ts := TaskStats{ID: id, State: TaskRunning, Processed: rt.task.Processed(), Dropped: rt.task.Dropped(),
			EnforcedProcessing: rt.task.EnforcedProcessing(), Punctuations: rt.seen.punctuations,
			DroppedByNode: rt.seen.byNode, Restore: rt.restoreStats}
		taskMetricsLocked(rt, &ts)
		offsets := map[string]int64{}
		rt.task.Positions(func(topic string, _ int32, next int64) { offsets[topic] = next })
		for _, topic := range th.rt.taskTopics[id.Subtopology] {
			ps := PartitionStats{Topic: topic, Partition: id.Partition, Offset: -1}
			pos, lag, measured := th.sess.Measured(topic, id.Partition)
			if o, ok := offsets[topic]; ok {
				ps.Offset = o
			} else if measured {
				ps.Offset = pos // nothing processed since the assignment: where the consumer is
			}
			ps.Lag, ps.LagKnown = lag, measured
			if !measured && !slices.Contains(th.lagMisses[topic], id.Partition) {
				// A caught-up partition never shows up in a poll: the next turn asks the
				// broker once (RefreshLags paces itself), as for a task waiting on it.
				th.lagMisses[topic] = append(th.lagMisses[topic], id.Partition)
			}
			ts.Inputs = append(ts.Inputs, ps)
		}
		active = append(active, ts)
	}
	standby := make([]StandbyStats, 0, len(th.standbys))
	for _, id := range sortedIDs(th.standbys) {
		st := th.standbys[id]
		ss := StandbyStats{ID: id}
		for tp, next := range st.next {
			ps := PartitionStats{Topic: tp.Topic, Partition: tp.Partition, Offset: next}
			if th.reader != nil {
				if end, ok := th.reader.End(tp.Topic, tp.Partition); ok {
					ps.Lag, ps.LagKnown = max(end-max(next, 0), 0), true
				}
			}
			ss.Changelogs = append(ss.Changelogs, ps)
		}
		slices.SortFunc(ss.Changelogs, func(a, b PartitionStats) int {
			return cmp.Or(cmp.Compare(a.Topic, b.Topic), cmp.Compare(a.Partition, b.Partition))
		})
		standby = append(standby, ss)
	}
	s.mu.Lock()
	s.pub = ThreadStats{ThreadID: s.pub.ThreadID, Processed: c.processed, Commits: c.commits,
		Punctuations: c.punctuations, Polls: c.polls, TasksCreated: c.created, TasksClosed: c.closed,
		ProcessLatency: c.processLatency, CommitLatency: c.commitLatency, PollLatency: c.pollLatency,
		Cache: th.cache.Stats(), CacheEnabled: th.cache.MaxBytes() > 0, Active: active, Standby: standby}
	clear(s.restored)
	s.mu.Unlock()
}

// snapshot returns a copy of what the thread last published, with the restorations under
// way.
func (th *thread) snapshot() ThreadStats {
	s := &th.stats
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.pub
	out.Active = slices.Clone(out.Active)
	out.Standby = slices.Clone(out.Standby)
	for _, id := range sortedIDs(s.restored) {
		if !slices.ContainsFunc(out.Active, func(t TaskStats) bool { return t.ID == id }) {
			out.Active = append(out.Active, TaskStats{ID: id, State: TaskRunning, Restore: s.restored[id]})
		}
	}
	for _, id := range sortedIDs(s.restoring) {
		var rs []StoreRestoreStats
		for _, p := range s.restoring[id] {
			rs = append(rs, StoreRestoreStats{Store: p.store, Total: p.total.Load(), Remaining: p.remaining.Load()})
		}
		i := slices.IndexFunc(out.Active, func(t TaskStats) bool { return t.ID == id })
		if i < 0 {
			out.Active = append(out.Active, TaskStats{ID: id})
			i = len(out.Active) - 1
		}
		out.Active[i].State, out.Active[i].Restore = TaskRestoring, rs
	}
	return out
}

// restoreStarted registers the restoration of a task's stores; restoreDone unregisters it.
func (th *thread) restoreStarted(id processor.TaskID, progress []*storeRestore) {
	th.stats.mu.Lock()
	defer th.stats.mu.Unlock()
	if th.stats.restoring == nil {
		th.stats.restoring = map[processor.TaskID][]*storeRestore{}
	}
	th.stats.restoring[id] = progress
}

func (th *thread) restoreDone(id processor.TaskID, final []StoreRestoreStats) {
	th.stats.mu.Lock()
	defer th.stats.mu.Unlock()
	delete(th.stats.restoring, id)
	if th.stats.restored == nil {
		th.stats.restored = map[processor.TaskID][]StoreRestoreStats{}
	}
	th.stats.restored[id] = final
}

// Stats returns the metrics and tasks of every stream thread of the current (or last) Run,
// as each last published them (at most statsInterval old).
func (r *Runtime) Stats() []ThreadStats {
	r.mu.Lock()
	threads := slices.Clone(r.threads)
	r.mu.Unlock()
	out := make([]ThreadStats, 0, len(threads))
	for _, th := range threads {
		out = append(out, th.snapshot())
	}
	return out
}
