package streamstest

import (
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/rillstreams/rill/internal/engine"
	"github.com/rillstreams/rill/internal/partition"
	"github.com/rillstreams/rill/internal/topoaccess"
	"github.com/rillstreams/rill/processor"
	"github.com/rillstreams/rill/state"
	"github.com/rillstreams/rill/state/memory"
	"github.com/rillstreams/rill/topology"
)

// Driver runs a topology without a broker (Kafka Streams' TopologyTestDriver). Every topic has
// one partition, so there is one task per sub-topology; records piped in are processed at once,
// on the calling goroutine, and so are records the topology writes to topics it reads itself
// (repartition topics included). It never sleeps and never reads a clock: wall-clock time
// moves only with AdvanceWallClock.
type Driver struct {
	t   testing.TB
	cfg config
	// tasks are the stream tasks, sub-topology by sub-topology, partition by partition;
	// global tasks read every partition of their topics and run first.
	tasks  []*engine.Task
	global []*engine.Task
	wall   int64
	offset map[topicPartition]int64 // next offset per topic partition
	// nullKeys spreads records without a key over partitions round-robin.
	nullKeys int32
	// outputs holds every record written, per topic, and read cursors per topic.
	outputs map[string][]engine.OutRecord
	read    map[string]int
	// pending are records produced but not yet routed to the tasks that read their topic.
	pending []engine.OutRecord
	// cache is the record cache of the driver's one "thread", shared by every task.
	cache  *state.RecordCache
	closed bool
}

type topicPartition struct {
	topic     string
	partition int32
}

type config struct {
	appID       string
	partitions  int32
	backend     state.Backend
	wall        time.Time
	logger      *zap.Logger
	deser, proc processor.ErrorHandler
	prod        processor.ErrorHandler
	cacheBytes  int64
	manual      bool
	extractor   processor.TimestampExtractor
}

// Option configures a Driver.
type Option func(*config)

// WithApplicationID sets the application id (default "test"), which prefixes internal topics.
func WithApplicationID(id string) Option { return func(c *config) { c.appID = id } }

// WithWallClock sets the initial wall-clock time (default: the Unix epoch), which is also the
// timestamp Pipe gives records.
func WithWallClock(t time.Time) Option { return func(c *config) { c.wall = t } }

// WithPartitions gives every topic n partitions (default 1, as Kafka Streams'
// TopologyTestDriver), so each sub-topology runs as n tasks. Records are spread over partitions
// by Kafka's default partitioner (murmur2 of the serialized key), the way a broker and
// producers would, so that multi-partition behaviour — repartitioning above all — matches a
// real deployment.
func WithPartitions(n int) Option { return func(c *config) { c.partitions = int32(n) } }

// WithBackend sets the backend of stores that name none (default: in memory). Run a suite
// with memory.Backend() and a rocksdb backend to check both.
func WithBackend(b state.Backend) Option { return func(c *config) { c.backend = b } }

// WithLogger sets the logger (default: the test's log).
func WithLogger(l *zap.Logger) Option { return func(c *config) { c.logger = l } }

// WithDeserializationHandler sets the handler for records that fail to deserialize.
func WithDeserializationHandler(h processor.ErrorHandler) Option {
	return func(c *config) { c.deser = h }
}

// WithProcessingHandler sets the handler for records whose processing fails.
func WithProcessingHandler(h processor.ErrorHandler) Option { return func(c *config) { c.proc = h } }

// WithProductionHandler sets the handler for records that fail to serialize at a sink.
func WithProductionHandler(h processor.ErrorHandler) Option { return func(c *config) { c.prod = h } }

// WithCacheMaxBytes sets the size of the record cache the driver's tasks share (default
// 10 MiB, as Kafka Streams' statestore.cache.max.bytes; 0 or less: no cache). Since the
// driver commits after every record, the cache changes what a topology emits only with
// WithManualCommit, or when one record makes a store evict.
func WithCacheMaxBytes(n int64) Option { return func(c *config) { c.cacheBytes = n } }

// WithTimestampExtractor sets the timestamp extractor of sources without their own (see
// processor.TimestampExtractor; rill.Config.TimestampExtractor in an App).
func WithTimestampExtractor(ex processor.TimestampExtractor) Option {
	return func(c *config) { c.extractor = ex }
}

// WithManualCommit makes the driver commit — flush its record caches, forwarding each cached
// key's latest value downstream — only when Commit is called (and at Close), instead of after
// every record as Kafka Streams' TopologyTestDriver does. Tests of what the record cache
// emits between commits use it.
func WithManualCommit() Option { return func(c *config) { c.manual = true } }

// New starts a driver for a sealed topology and closes it when the test ends.
func New(t testing.TB, topo *topology.Topology, opts ...Option) *Driver {
	t.Helper()
	cfg := config{appID: "test", wall: time.UnixMilli(0), partitions: 1, cacheBytes: state.DefaultCacheMaxBytes}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.logger == nil {
		cfg.logger = zaptest.NewLogger(t)
	}
	if cfg.backend == nil {
		cfg.backend = memory.Backend()
	}
	if cfg.partitions < 1 {
		t.Fatalf("streamstest: WithPartitions(%d): need at least one", cfg.partitions)
	}
	if topo == nil || len(topoaccess.Subtopologies(topo)) == 0 {
		t.Fatalf("streamstest: topology is nil or not built (call Build first)")
	}
	d := &Driver{
		t: t, cfg: cfg, wall: cfg.wall.UnixMilli(),
		offset:  make(map[topicPartition]int64),
		outputs: make(map[string][]engine.OutRecord),
		read:    make(map[string]int),
		cache:   state.NewRecordCache(cfg.cacheBytes),
	}
	stateDir := t.TempDir()
	newTask := func(sub *engine.Subtopology, partition int32, globals map[string]processor.Store) bool {
		id := processor.TaskID{Subtopology: sub.ID, Partition: partition}
		task, err := engine.New(engine.Config{
			ID: id, ApplicationID: cfg.appID, Topology: sub, Collector: collector{d},
			StateDir: filepath.Join(stateDir, cfg.appID, id.String()), Logger: cfg.logger,
			Backend: cfg.backend, GlobalStores: globals,
			DeserializationHandler: cfg.deser, ProcessingHandler: cfg.proc, ProductionHandler: cfg.prod,
			WallClock: d.wall, Cache: d.cache, TimestampExtractor: cfg.extractor,
		})
		if err != nil {
			d.Close()
			t.Fatalf("streamstest: %v", err)
			return false
		}
		if sub.Global {
			d.global = append(d.global, task)
		} else {
			d.tasks = append(d.tasks, task)
		}
		return true
	}
	// Global stores first: every stream task may read them from its first record on.
	globals := make(map[string]processor.Store)
	for _, sub := range topoaccess.Subtopologies(topo) {
		if sub.Global && newTask(sub, 0, nil) {
			for name, s := range d.global[len(d.global)-1].Stores() {
				globals[name] = s
			}
		}
	}
	for _, sub := range topoaccess.Subtopologies(topo) {
		for p := int32(0); p < cfg.partitions && !sub.Global; p++ {
			newTask(sub, p, globals)
		}
	}
	t.Cleanup(d.Close)
	return d
}

// collector is the tasks' collector (a type of its own so that the driver exports no engine
// type): it keeps every record as output and queues it for routing.
type collector struct{ d *Driver }

func (c collector) Send(rec engine.OutRecord) error { return c.d.send(rec) }

func (d *Driver) send(rec engine.OutRecord) error {
	if rec.Partitioner != nil {
		p, ok := rec.Partitioner(d.cfg.partitions)
		switch {
		case !ok:
			rec.Partition = d.partitionFor(rec.Key)
		case p < 0 || p >= d.cfg.partitions:
			return fmt.Errorf("streamstest: partitioner of %s picked partition %d of %d", rec.Topic, p, d.cfg.partitions)
		default:
			rec.Partition = p
		}
		rec.Partitioner = nil
	} else if rec.Partition < 0 {
		rec.Partition = d.partitionFor(rec.Key)
	}
	d.outputs[rec.Topic] = append(d.outputs[rec.Topic], rec)
	d.pending = append(d.pending, rec)
	return nil
}

// partitionFor picks a record's partition as Kafka's default partitioner does.
func (d *Driver) partitionFor(key []byte) int32 {
	if d.cfg.partitions == 1 {
		return 0
	}
	if key == nil {
		d.nullKeys++
		return d.nullKeys % d.cfg.partitions
	}
	return partition.ForKey(key, d.cfg.partitions)
}

// pipe hands one raw record to the task reading its topic and partition and processes
// everything that follows from it.
func (d *Driver) pipe(rec engine.RawRecord) error {
	if d.closed {
		return errors.New("streamstest: driver is closed")
	}
	rec.Partition = d.partitionFor(rec.Key)
	queued, err := d.enqueue(rec)
	if err != nil {
		return err
	}
	if !queued {
		return fmt.Errorf("streamstest: no source reads topic %q", rec.Topic)
	}
	return d.drain()
}

// enqueue gives rec the next offset of its partition and queues it in the task that reads it,
// if any. A global task reads all partitions of its topics.
func (d *Driver) enqueue(rec engine.RawRecord) (bool, error) {
	tp := topicPartition{rec.Topic, rec.Partition}
	rec.Offset = d.offset[tp]
	d.offset[tp]++
	for _, t := range d.global {
		if t.Accepts(rec.Topic) {
			return true, t.AddRecords(rec)
		}
	}
	for _, t := range d.tasks {
		if t.ID().Partition == rec.Partition && t.Accepts(rec.Topic) {
			return true, t.AddRecords(rec)
		}
	}
	return false, nil
}

// drain processes queued records until none are left, routing produced records to the tasks
// that read their topics, as a running application would through the broker. Global tasks go
// first, so that stream tasks see global tables up to date.
func (d *Driver) drain() error {
	for {
		progressed := false
		for _, tasks := range [][]*engine.Task{d.global, d.tasks} {
			for _, task := range tasks {
				for task.Buffered() > 0 {
					if _, err := task.Process(); err != nil {
						return err
					}
					if !d.cfg.manual {
						// A commit after every record, as TopologyTestDriver: caches hold
						// nothing across records.
						if err := task.FlushCaches(); err != nil {
							return err
						}
					}
					progressed = true
					if err := d.route(); err != nil {
						return err
					}
				}
			}
		}
		if err := d.route(); err != nil {
			return err
		}
		if !progressed {
			return nil
		}
	}
}

func (d *Driver) route() error {
	pending := d.pending
	d.pending = nil
	for _, rec := range pending {
		p := rec.Partition
		if p < 0 {
			p = d.partitionFor(rec.Key)
		}
		if _, err := d.enqueue(engine.RawRecord{Topic: rec.Topic, Partition: p,
			Timestamp: rec.Timestamp, Key: rec.Key, Value: rec.Value, Headers: rec.Headers}); err != nil {
			return err
		}
	}
	return nil
}

// Commit commits every task as the runtime does: their record caches are flushed (each
// cached key's latest value is written to its store and forwarded downstream) and what that
// produces is processed. Without WithManualCommit the driver commits after every record
// already.
func (d *Driver) Commit() {
	d.t.Helper()
	if err := d.TryCommit(); err != nil {
		d.t.Fatalf("streamstest: %v", err)
	}
}

// TryCommit is Commit returning the error a flush failed with.
func (d *Driver) TryCommit() error {
	for {
		for _, task := range d.allTasks() {
			if err := task.FlushCaches(); err != nil {
				return err
			}
		}
		if len(d.pending) == 0 {
			return nil
		}
		// What the flushes produced may fill caches downstream (through repartition
		// topics): process it and flush again, as successive commits would.
		if err := d.route(); err != nil {
			return err
		}
		if err := d.drain(); err != nil {
			return err
		}
	}
}

// AdvanceWallClock moves the wall clock forward by d and runs the wall-clock punctuations that
// fall due, in every task.
func (d *Driver) AdvanceWallClock(by time.Duration) {
	d.t.Helper()
	if err := d.TryAdvanceWallClock(by); err != nil {
		d.t.Fatalf("streamstest: %v", err)
	}
}

// TryAdvanceWallClock is AdvanceWallClock returning the error a punctuation failed with.
func (d *Driver) TryAdvanceWallClock(by time.Duration) error {
	d.wall += by.Milliseconds()
	for _, task := range d.allTasks() {
		if err := task.AdvanceWallClock(d.wall); err != nil {
			return err
		}
		if !d.cfg.manual {
			// TopologyTestDriver commits after wall-clock punctuations too.
			if err := task.FlushCaches(); err != nil {
				return err
			}
		}
		if err := d.route(); err != nil {
			return err
		}
	}
	return d.drain()
}

// WallClock returns the driver's wall-clock time.
func (d *Driver) WallClock() time.Time { return time.UnixMilli(d.wall) }

func (d *Driver) allTasks() []*engine.Task {
	return append(append([]*engine.Task(nil), d.global...), d.tasks...)
}

// Store returns the named state store of the first task (lowest partition) that has it.
func (d *Driver) Store(name string) (processor.Store, bool) {
	stores := d.Stores(name)
	if len(stores) == 0 {
		return nil, false
	}
	return stores[0], true
}

// Stores returns the named store of every task that has it, by partition.
func (d *Driver) Stores(name string) []processor.Store {
	var out []processor.Store
	for _, t := range d.allTasks() {
		if s, ok := t.Stores()[name]; ok {
			out = append(out, s)
		}
	}
	return out
}

// Dropped is the number of records the error handlers skipped, over all tasks.
func (d *Driver) Dropped() int64 {
	var n int64
	for _, t := range d.allTasks() {
		n += t.Dropped()
	}
	return n
}

// DroppedByNode returns how many records each processor node dropped on purpose (late for
// a window, without a key it needs), over all tasks: the count Kafka Streams reports as the
// dropped-records metric. Nodes that dropped nothing are absent.
func (d *Driver) DroppedByNode() map[string]int64 {
	out := make(map[string]int64)
	for _, t := range d.allTasks() {
		for node, n := range t.DroppedByNode() {
			out[node] += n
		}
	}
	return out
}

// Close closes every task (processors, then stores). The driver closes itself at the end of
// the test; calling Close earlier is allowed.
func (d *Driver) Close() {
	if d.closed {
		return
	}
	if d.cfg.manual {
		// Closing commits first, as TopologyTestDriver.close: cached updates are output.
		if err := d.TryCommit(); err != nil {
			d.t.Errorf("streamstest: commit at close: %v", err)
		}
	}
	d.closed = true
	for _, t := range append(d.tasks, d.global...) { // stream tasks read global stores: close them first
		if err := t.Close(); err != nil {
			d.t.Errorf("streamstest: close task %s: %v", t.ID(), err)
		}
	}
}
