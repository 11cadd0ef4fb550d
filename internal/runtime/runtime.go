package runtime

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rillstreams/rill/changelog"
	"github.com/rillstreams/rill/internal/assign"
	ichangelog "github.com/rillstreams/rill/internal/changelog"
	"github.com/rillstreams/rill/internal/engine"
	"github.com/rillstreams/rill/internal/kafka"
	"github.com/rillstreams/rill/internal/topoaccess"
	"github.com/rillstreams/rill/processor"
	"github.com/rillstreams/rill/state"
	"github.com/rillstreams/rill/topology"
	"go.uber.org/zap"
)

// Runtime runs one application instance.
type Runtime struct {
	cfg  Config
	topo *topology.Topology
	// g is the processing guarantee (guarantee.go), chosen once from cfg.ExactlyOnce.
	g committer
	// newSession makes a thread's group session (tests fill in a fake).
	newSession func(kafka.SessionConfig) (groupSession, error)

	// Derived from the topology at start (read-only afterwards).
	subs         map[int]*engine.Subtopology
	taskTopics   kafka.TaskTopics // sub-topology → its source topics, fully qualified
	topicSub     map[string]int   // source topic → sub-topology
	stateful     map[int]bool
	sourceTopics []string
	globalSubs   []*engine.Subtopology // one per global store, all run by the global thread
	globalStores map[string]processor.Store
	// patterns are the pattern sources, resolved against the cluster's topics when Run
	// starts (patterns.go) into taskTopics, topicSub, sourceTopics and patternTopics (source
	// node → the topics its pattern matched).
	patterns      []patternSource
	patternTopics map[string][]string

	// resets are the offset reset policies of source topics other than earliest (set at
	// start, offsetreset.go).
	resets map[string]processor.OffsetReset
	// repartition names the repartition topics (fully qualified), set by prepareTopics:
	// what purge.go may delete records from.
	repartition map[string]bool

	admin *kafka.Admin
	// dirs hands task state directories to one stream thread at a time.
	dirs taskDirs

	// mu protects state, running, threads and subPartitions.
	mu      sync.Mutex
	state   State
	running map[int]bool
	// threads are the stream threads of the current Run, for interactive queries.
	threads []*thread
	// subPartitions is, per sub-topology, its source topic with the most partitions and
	// that count: where interactive queries find a key's partition (set once topics are
	// checked).
	subPartitions map[int]StoreInfo
	// shutdownRequested is set once a failure handler answered ShutdownApplication: every
	// thread's subscription carries it from then on (failure.go).
	shutdownRequested atomic.Bool
}

// New prepares a runtime; nothing connects before Run.
func New(topo *topology.Topology, cfg Config) (*Runtime, error) {
	// Bounds that must never be zero (a zero bound fails every commit or restore at once);
	// rill.New sets them, tests building a Config by hand may not.
	if cfg.BlockTimeout <= 0 {
		cfg.BlockTimeout = DefaultBlockTimeout
	}
	if cfg.RestoreStallTimeout <= 0 {
		cfg.RestoreStallTimeout = DefaultRestoreStallTimeout
	}
	if cfg.RepartitionPurgeInterval == 0 {
		cfg.RepartitionPurgeInterval = DefaultRepartitionPurgeInterval
	}
	r := &Runtime{cfg: cfg, topo: topo, g: newCommitter(cfg.ExactlyOnce), newSession: newKafkaSession, subs: map[int]*engine.Subtopology{}, taskTopics: kafka.TaskTopics{},
		topicSub: map[string]int{}, stateful: map[int]bool{}, running: map[int]bool{}, patternTopics: map[string][]string{},
		repartition: map[string]bool{}}
	for _, sub := range topoaccess.Subtopologies(topo) {
		if sub.Global {
			r.globalSubs = append(r.globalSubs, sub)
			continue
		}
		r.subs[sub.ID] = sub
		r.stateful[sub.ID] = len(sub.Stores) > 0
		for _, n := range sub.Nodes {
			if n.Kind != engine.SourceNode {
				continue
			}
			if n.Pattern != nil {
				r.patterns = append(r.patterns, patternSource{sub: sub.ID, node: n.Name, re: n.Pattern})
			}
			for _, t := range n.Topics {
				if n.Internal {
					t = cfg.ApplicationID + "-" + t
				}
				r.taskTopics[sub.ID] = append(r.taskTopics[sub.ID], t)
				r.topicSub[t] = sub.ID
				r.sourceTopics = append(r.sourceTopics, t)
			}
		}
	}
	sort.Strings(r.sourceTopics)
	return r, nil
}

func (r *Runtime) setState(s State) {
	r.mu.Lock()
	if r.state == PendingShutdown && s != NotRunning && s != Error {
		// Shutting down is one way, as in Kafka Streams: a rebalance callback running while the
		// threads stop (the group leave revokes their tasks) must not report REBALANCING
		// (rill-torture showed PENDING_SHUTDOWN -> REBALANCING -> NOT_RUNNING).
		r.mu.Unlock()
		return
	}
	changed := r.state != s
	r.state = s
	r.mu.Unlock()
	if changed && r.cfg.OnState != nil {
		r.cfg.OnState(s)
	}
}

// State returns the current state.
func (r *Runtime) State() State {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.state
}

// threadRunning marks a thread as having its tasks; the app is RUNNING when all are.
func (r *Runtime) threadRunning(index int) {
	r.mu.Lock()
	r.running[index] = true
	all := len(r.running) == r.cfg.NumThreads
	r.mu.Unlock()
	if all {
		r.setState(Running)
	}
}

// Run validates and creates topics, bootstraps global tables, then runs the stream threads
// until ctx is done or one fails. Tasks are closed cleanly either way.
func (r *Runtime) Run(ctx context.Context) error {
	r.setState(Rebalancing)
	err := r.run(ctx)
	if err != nil && ctx.Err() != nil && errors.Is(err, context.Canceled) {
		// Stopped while starting (the cluster's metadata, the topics, the global tables'
		// bootstrap): nothing was processed, so the stop is as clean as any other (a test
		// interrupting an instance under load saw Run fail with "cluster metadata: context
		// canceled" and the process exit 1).
		r.cfg.Logger.Info("rill: stopped while starting", zap.Error(err))
		err = nil
	}
	if err != nil {
		r.setState(Error)
		return err
	}
	r.setState(NotRunning)
	return nil
}

func (r *Runtime) run(ctx context.Context) error {
	unlock, err := r.lockAppDir()
	if err != nil {
		return err
	}
	defer unlock()
	adm, err := kafka.NewAdmin(r.cfg.Client)
	if err != nil {
		return err
	}
	defer adm.Close()
	// Starting, or opening a task, while a broker restarts waits for it (warning every 10 s)
	// as long as a restoration may stall, instead of failing the instance.
	adm.Patience = kafka.Stall{What: "admin", FailAfter: r.cfg.RestoreStallTimeout, Logger: r.cfg.Logger}
	r.admin = adm
	if err := r.checkClusterID(ctx); err != nil {
		return err
	}
	if err := r.resolvePatterns(ctx); err != nil {
		return err
	}
	if err := r.prepareTopics(ctx); err != nil {
		return err
	}
	r.resets = r.offsetResets()
	var wg sync.WaitGroup
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make(chan error, r.cfg.NumThreads+1)
	if len(r.patterns) > 0 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.watchPatterns(ctx, cmp.Or(r.cfg.PatternCheckInterval, time.Minute))
		}()
	}
	if len(r.globalSubs) > 0 {
		// The bootstrap reads every global topic from its start: stores left from an earlier
		// run would only keep rows deleted since (tombstones compacted away) or written by
		// another cluster. They start empty.
		if err := ichangelog.WipeDir(r.globalDir()); err != nil {
			return err
		}
		g, err := newGlobalThread(r)
		if err != nil {
			return err
		}
		if err := g.bootstrap(ctx); err != nil {
			g.close()
			return err
		}
		r.globalStores = g.stores()
		// Stream tasks read the global stores until their threads have stopped, committed
		// and closed: the stores close after every thread (below), never when the tailing
		// stops, or a task processing at the moment of the cancellation fails on a closed
		// store and Run fails instead of stopping cleanly.
		defer g.close()
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := g.tail(ctx); err != nil {
				errs <- err
				cancel()
			}
		}()
	}
	for i := 0; i < r.cfg.NumThreads; i++ {
		th, err := newThread(ctx, r, i)
		if err != nil {
			cancel()
			wg.Wait()
			return err
		}
		r.mu.Lock()
		r.threads = append(r.threads, th)
		r.mu.Unlock()
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := r.runThread(ctx, th); err != nil {
				errs <- err
				cancel()
			}
		}()
	}
	<-ctx.Done()
	r.setState(PendingShutdown)
	wg.Wait()
	close(errs)
	var all []error
	for err := range errs {
		all = append(all, err)
	}
	return errors.Join(all...)
}

// prepareTopics checks that source topics exist and co-partitioned ones agree, then creates
// repartition and changelog topics (Kafka Streams' InternalTopicManager).
func (r *Runtime) prepareTopics(ctx context.Context) error {
	app := r.cfg.ApplicationID
	internal := r.topo.InternalTopics()
	var external []string
	for _, t := range r.topo.SourceTopics() {
		if _, ok := internal[t]; !ok {
			external = append(external, t)
		}
	}
	for _, p := range r.patterns {
		external = append(external, r.patternTopics[p.node]...)
	}
	counts, err := r.admin.PartitionCounts(ctx, external...)
	if err != nil {
		return err
	}
	var missing []string
	for _, t := range external {
		if counts[t] == 0 {
			missing = append(missing, t)
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return fmt.Errorf("rill: source topics do not exist: %v", missing)
	}
	// Repartition topics get the partition count of the sub-topology writing them; sub-
	// topologies are in upstream-first order, so writers are resolved before readers.
	for _, sub := range topoaccess.Subtopologies(r.topo) {
		var n int32
		for _, src := range sub.Nodes {
			for _, t := range r.resolvedTopics(src.Name, src.Topics) {
				if src.Internal {
					t = app + "-" + t
				}
				n = max(n, counts[t])
			}
		}
		var specs []kafka.TopicSpec
		for _, sink := range sub.Nodes {
			if sink.Kind != engine.SinkNode || !sink.Internal {
				continue
			}
			p := int32(internal[sink.Topic].Partitions)
			if p == 0 {
				p = max(n, 1)
			}
			name := app + "-" + sink.Topic
			counts[name] = p
			r.repartition[name] = true
			specs = append(specs, kafka.TopicSpec{Name: name, Partitions: p, ReplicationFactor: r.cfg.ReplicationFactor,
				Configs: map[string]string{"cleanup.policy": "delete", "retention.ms": "-1", "message.timestamp.type": "CreateTime"}})
		}
		if err := r.admin.EnsureTopics(ctx, specs); err != nil {
			return err
		}
	}
	if err := r.checkCopartitioning(counts); err != nil {
		return err
	}
	subParts := map[int]StoreInfo{}
	for id, topics := range r.taskTopics {
		var info StoreInfo
		for _, t := range topics {
			if info.Topic == "" || counts[t] > info.Partitions {
				info.Topic, info.Partitions = t, counts[t]
			}
		}
		subParts[id] = info
	}
	r.mu.Lock()
	r.subPartitions = subParts
	r.mu.Unlock()
	// Changelog topics: one partition per task.
	var specs []kafka.TopicSpec
	for _, sub := range r.subs {
		var n int32
		for _, t := range r.taskTopics[sub.ID] {
			n = max(n, counts[t])
		}
		for _, sb := range sub.Stores {
			l, ok := sb.(interface{ Logged() bool })
			if !ok || !l.Logged() {
				continue
			}
			cfgs := map[string]string{"cleanup.policy": "compact", "message.timestamp.type": "CreateTime"}
			if w, ok := sb.(interface{ WindowOptions() state.WindowOptions }); ok {
				// Windowed changelogs also expire: retention plus a day, as Kafka Streams.
				cfgs["cleanup.policy"] = "compact,delete"
				cfgs["retention.ms"] = strconv.FormatInt(w.WindowOptions().Retention+24*time.Hour.Milliseconds(), 10)
			}
			specs = append(specs, kafka.TopicSpec{Name: changelog.TopicName(app, sb.Name()), Partitions: n,
				ReplicationFactor: r.cfg.ReplicationFactor, Configs: cfgs})
		}
	}
	return r.admin.EnsureTopics(ctx, specs)
}

func (r *Runtime) checkCopartitioning(counts map[string]int32) error {
	var errs []error
	check := func(group []string, why string) {
		var first string
		for _, t := range group {
			if first == "" {
				first = t
				continue
			}
			if counts[t] != counts[first] {
				errs = append(errs, fmt.Errorf("rill: co-partitioned topics differ in partitions: %s has %d, %s has %d%s",
					first, counts[first], t, counts[t], why))
			}
		}
	}
	for _, g := range r.topo.CopartitionGroups() {
		q := make([]string, len(g))
		for i, t := range g {
			if _, ok := r.topo.InternalTopics()[t]; ok {
				t = r.cfg.ApplicationID + "-" + t
			}
			q[i] = t
		}
		check(q, "")
	}
	// A task reads partition p of each of its topics: they must agree too.
	for _, sub := range r.subs {
		check(r.taskTopics[sub.ID], fmt.Sprintf(" (sub-topology %d reads both%s)", sub.ID, r.patternNote(sub.ID)))
	}
	return errors.Join(errs...)
}

// endOffsetSums sums, per stateful task, the end offsets of its changelog partitions.
func (r *Runtime) endOffsetSums(tasks []assign.TaskID) (map[assign.TaskID]int64, error) {
	topicsOf := map[int][]string{}
	var all []string
	for _, sub := range r.subs {
		for _, sb := range sub.Stores {
			if l, ok := sb.(interface{ Logged() bool }); ok && l.Logged() {
				t := changelog.TopicName(r.cfg.ApplicationID, sb.Name())
				topicsOf[sub.ID] = append(topicsOf[sub.ID], t)
				all = append(all, t)
			}
		}
	}
	out := make(map[assign.TaskID]int64, len(tasks))
	if len(all) == 0 {
		return out, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ends, err := r.admin.EndOffsets(ctx, all...)
	if err != nil {
		return nil, err
	}
	for _, t := range tasks {
		var sum int64
		for _, topic := range topicsOf[t.Subtopology] {
			sum += ends[topic][t.Partition]
		}
		out[t] = sum
	}
	return out, nil
}

// globalDir returns the directory of the global stores.
func (r *Runtime) globalDir() string {
	return filepath.Join(r.cfg.StateDir, r.cfg.ApplicationID, "global")
}

// stateDirFor returns a task's state directory.
func (r *Runtime) stateDirFor(id processor.TaskID) string {
	return filepath.Join(r.cfg.StateDir, r.cfg.ApplicationID, id.String())
}
