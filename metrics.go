package rill

import (
	"strconv"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rillstreams/rill/internal/engine"
	"github.com/rillstreams/rill/internal/runtime"
	"github.com/rillstreams/rill/state"
)

// MetricsLevel is the recording level of an App's metrics (Kafka Streams'
// metrics.recording.level): MetricsInfo exports the thread, task-drop, lag, restoration and
// end-to-end latency metrics; MetricsDebug adds per-task processing counts, record
// lateness, the record cache's counts and each state store's operation latencies. Most of
// what the stream threads count costs the same at either level (a few integer additions per
// loop turn); the debug level adds, per record, a lateness observation and, per store
// operation, two clock reads and three atomic additions (docs/metrics.md has figures).
type MetricsLevel int

const (
	// MetricsInfo is the default level.
	MetricsInfo MetricsLevel = iota
	// MetricsDebug adds the debug-level metrics.
	MetricsDebug
)

// The metric names are Kafka Streams' (group and name, in snake case, with Prometheus'
// unit and _total suffixes) under a rill_ prefix; docs/metrics.md lists them.
var (
	threadLabels    = []string{"thread_id"}
	taskLabels      = []string{"thread_id", "task_id"}
	nodeLabels      = []string{"thread_id", "task_id", "processor_node_id"}
	partitionLabels = []string{"thread_id", "task_id", "topic", "partition"}
	storeLabels     = []string{"thread_id", "task_id", "store"}

	mThreadProcess        = desc("rill_stream_thread_process_total", "Records processed by the stream thread.", threadLabels)
	mThreadProcessLatency = desc("rill_stream_thread_process_latency_seconds", "Processing time per record (each loop turn's, divided among its records).", threadLabels)
	mThreadCommit         = desc("rill_stream_thread_commit_total", "Commits of the stream thread.", threadLabels)
	mThreadCommitLatency  = desc("rill_stream_thread_commit_latency_seconds", "Time a commit takes.", threadLabels)
	mThreadPoll           = desc("rill_stream_thread_poll_total", "Polls of the stream thread's consumer.", threadLabels)
	mThreadPollLatency    = desc("rill_stream_thread_poll_latency_seconds", "Time a poll takes (waiting for records included).", threadLabels)
	mThreadPunctuate      = desc("rill_stream_thread_punctuate_total", "Punctuators run by the stream thread.", threadLabels)
	mThreadTaskCreated    = desc("rill_stream_thread_task_created_total", "Tasks the stream thread created.", threadLabels)
	mThreadTaskClosed     = desc("rill_stream_thread_task_closed_total", "Tasks the stream thread closed.", threadLabels)

	mTaskDropped   = desc("rill_stream_task_dropped_records_total", "Records the task dropped: skipped by an error handler or dropped on purpose by a processor.", taskLabels)
	mNodeDropped   = desc("rill_stream_processor_node_dropped_records_total", "Records the processor node dropped on purpose (late, or without the key it needs).", nodeLabels)
	mTaskProcess   = desc("rill_stream_task_process_total", "Records the task processed (debug).", taskLabels)
	mTaskEnforced  = desc("rill_stream_task_enforced_processing_total", "Times the task processed although an input partition was empty past MaxTaskIdle (debug).", taskLabels)
	mTaskPunctuate = desc("rill_stream_task_punctuate_total", "Punctuators the task ran (debug).", taskLabels)

	mRecordsLag = desc("rill_consumer_fetch_manager_records_lag", "Records between the consumer's position and the end of an input partition of an active task.", partitionLabels)
	mStandbyLag = desc("rill_stream_task_standby_records_lag", "Records between a standby task's position and the end of a changelog partition.", partitionLabels)

	mRestoreTotal     = desc("rill_stream_state_restore_total", "Changelog records restored into the store by its task's last restoration.", storeLabels)
	mRestoreRemaining = desc("rill_stream_state_restore_remaining_records", "Changelog records the store's restoration has left to read (0 once restored).", storeLabels)

	mNodeE2ELatency = desc("rill_stream_processor_node_record_e2e_latency_seconds", "Time from a record's timestamp to its arrival at the sink node (against the stream thread's clock as of its loop turn).", nodeLabels)
	mTaskLateness   = desc("rill_stream_task_record_lateness_seconds", "Stream time minus the timestamp of each record the task processes, 0 for records that advance stream time (debug).", taskLabels)

	mCacheHits     = desc("rill_stream_record_cache_hits_total", "Reads the record cache answered (debug).", threadLabels)
	mCacheMisses   = desc("rill_stream_record_cache_misses_total", "Reads the record cache did not answer (debug).", threadLabels)
	mCacheHitRatio = desc("rill_stream_record_cache_hit_ratio", "Hits of the record cache over its reads since the thread started (debug).", threadLabels)
)

// mStoreOp are the latency histograms of each state store operation (debug level), named
// after Kafka Streams' sensors: rill_stream_state_put_latency_seconds, whose count is put-rate.
var mStoreOp = func() (out [len(state.StoreOps)]*prometheus.Desc) {
	for i, op := range state.StoreOps {
		name := strings.ReplaceAll(op.String(), "-", "_")
		out[i] = desc("rill_stream_state_"+name+"_latency_seconds",
			"Time a "+op.String()+" of the state store takes (iterators: from opening to Close) (debug).", storeLabels)
	}
	return out
}()

func desc(name, help string, labels []string) *prometheus.Desc {
	return prometheus.NewDesc(name, help, labels, nil)
}

// collector exports an App's runtime statistics at each scrape. It is unchecked (Describe
// sends nothing) so that several Apps may share one registry: their thread ids differ by
// ProcessID.
type collector struct {
	rt    *runtime.Runtime
	level MetricsLevel
}

func (c *collector) Describe(chan<- *prometheus.Desc) {}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	counter := func(d *prometheus.Desc, v int64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	buckets := func(d *prometheus.Desc, bounds []float64, counts []uint64, count uint64, sum float64, labels ...string) {
		m := make(map[float64]uint64, len(bounds))
		var cum uint64
		for i, b := range bounds {
			cum += counts[i]
			m[b] = cum
		}
		ch <- prometheus.MustNewConstHistogram(d, count, sum, m, labels...)
	}
	hist := func(d *prometheus.Desc, h runtime.Histogram, labels ...string) {
		buckets(d, runtime.LatencyBuckets[:], h.Counts[:], h.Count, h.Sum, labels...)
	}
	timeHist := func(d *prometheus.Desc, h engine.TimeHistogram, labels ...string) {
		buckets(d, engine.TimeBuckets[:], h.Counts[:], h.Count, h.Sum, labels...)
	}
	debug := c.level >= MetricsDebug
	for _, th := range c.rt.Stats() {
		id := th.ThreadID
		counter(mThreadProcess, th.Processed, id)
		hist(mThreadProcessLatency, th.ProcessLatency, id)
		counter(mThreadCommit, th.Commits, id)
		hist(mThreadCommitLatency, th.CommitLatency, id)
		counter(mThreadPoll, th.Polls, id)
		hist(mThreadPollLatency, th.PollLatency, id)
		counter(mThreadPunctuate, th.Punctuations, id)
		counter(mThreadTaskCreated, th.TasksCreated, id)
		counter(mThreadTaskClosed, th.TasksClosed, id)
		if debug && th.CacheEnabled {
			counter(mCacheHits, th.Cache.Hits, id)
			counter(mCacheMisses, th.Cache.Misses, id)
			if reads := th.Cache.Hits + th.Cache.Misses; reads > 0 {
				gauge(mCacheHitRatio, float64(th.Cache.Hits)/float64(reads), id)
			}
		}
		for _, t := range th.Active {
			task := t.ID.String()
			for _, r := range t.Restore {
				counter(mRestoreTotal, r.Total, id, task, r.Store)
				gauge(mRestoreRemaining, float64(r.Remaining), id, task, r.Store)
			}
			if t.State != runtime.TaskRunning {
				continue
			}
			counter(mTaskDropped, t.Dropped, id, task)
			for node, n := range t.DroppedByNode {
				counter(mNodeDropped, n, id, task, node)
			}
			for _, e := range t.E2ELatency {
				timeHist(mNodeE2ELatency, e.Latency, id, task, e.Node)
			}
			if debug && t.LatenessKnown {
				timeHist(mTaskLateness, t.Lateness, id, task)
			}
			if debug {
				for _, s := range t.Stores {
					for _, op := range s.Ops {
						buckets(mStoreOp[op.Op], state.StoreLatencyBuckets[:], op.Counts[:], op.Count, op.Sum, id, task, s.Store)
					}
				}
				counter(mTaskProcess, t.Processed, id, task)
				counter(mTaskEnforced, t.EnforcedProcessing, id, task)
				counter(mTaskPunctuate, t.Punctuations, id, task)
			}
			for _, p := range t.Inputs {
				if p.LagKnown {
					gauge(mRecordsLag, float64(p.Lag), id, task, p.Topic, strconv.Itoa(int(p.Partition)))
				}
			}
		}
		for _, s := range th.Standby {
			task := s.ID.String()
			for _, p := range s.Changelogs {
				if p.LagKnown {
					gauge(mStandbyLag, float64(p.Lag), id, task, p.Topic, strconv.Itoa(int(p.Partition)))
				}
			}
		}
	}
}
