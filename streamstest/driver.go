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
	"github.com/rillstreams/rill/processor"
	"github.com/rillstreams/rill/topology"
)

// Driver runs a topology without a broker (Kafka Streams' TopologyTestDriver). Every topic has
// one partition, so there is one task per sub-topology; records piped in are processed at once,
// on the calling goroutine, and so are records the topology writes to topics it reads itself
// (repartition topics included). It never sleeps and never reads a clock: wall-clock time
// moves only with AdvanceWallClock.
type Driver struct {
	t      testing.TB
	cfg    config
	tasks  []*engine.Task
	wall   int64
	offset map[string]int64 // next offset per topic (partition 0)
	// outputs holds every record written, per topic, and read cursors per topic.
	outputs map[string][]engine.OutRecord
	read    map[string]int
	// pending are records produced but not yet routed to the tasks that read their topic.
	pending []engine.OutRecord
	closed  bool
}

type config struct {
	appID       string
	wall        time.Time
	logger      *zap.Logger
	deser, proc processor.ErrorHandler
	prod        processor.ErrorHandler
}

// Option configures a Driver.
type Option func(*config)

// WithApplicationID sets the application id (default "test"), which prefixes internal topics.
func WithApplicationID(id string) Option { return func(c *config) { c.appID = id } }

// WithWallClock sets the initial wall-clock time (default: the Unix epoch), which is also the
// timestamp Pipe gives records.
func WithWallClock(t time.Time) Option { return func(c *config) { c.wall = t } }

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

// New starts a driver for a sealed topology and closes it when the test ends.
func New(t testing.TB, topo *topology.Topology, opts ...Option) *Driver {
	t.Helper()
	cfg := config{appID: "test", wall: time.UnixMilli(0)}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.logger == nil {
		cfg.logger = zaptest.NewLogger(t)
	}
	if topo == nil || len(topo.Subtopologies()) == 0 {
		t.Fatalf("streamstest: topology is nil or not built (call Build first)")
	}
	d := &Driver{
		t: t, cfg: cfg, wall: cfg.wall.UnixMilli(),
		offset:  make(map[string]int64),
		outputs: make(map[string][]engine.OutRecord),
		read:    make(map[string]int),
	}
	stateDir := t.TempDir()
	for _, sub := range topo.Subtopologies() {
		id := processor.TaskID{Subtopology: sub.ID, Partition: 0}
		task, err := engine.New(engine.Config{
			ID: id, ApplicationID: cfg.appID, Topology: sub, Collector: d,
			StateDir: filepath.Join(stateDir, cfg.appID, id.String()), Logger: cfg.logger,
			DeserializationHandler: cfg.deser, ProcessingHandler: cfg.proc, ProductionHandler: cfg.prod,
			WallClock: d.wall,
		})
		if err != nil {
			d.Close()
			t.Fatalf("streamstest: %v", err)
		}
		d.tasks = append(d.tasks, task)
	}
	t.Cleanup(d.Close)
	return d
}

// Send is the tasks' collector: it keeps every record as output and queues it for routing.
func (d *Driver) Send(rec engine.OutRecord) error {
	d.outputs[rec.Topic] = append(d.outputs[rec.Topic], rec)
	d.pending = append(d.pending, rec)
	return nil
}

// pipe hands one raw record to the task reading its topic and processes everything that
// follows from it.
func (d *Driver) pipe(rec engine.RawRecord) error {
	if d.closed {
		return errors.New("streamstest: driver is closed")
	}
	rec.Offset = d.offset[rec.Topic]
	d.offset[rec.Topic]++
	task := d.taskFor(rec.Topic)
	if task == nil {
		return fmt.Errorf("streamstest: no source reads topic %q", rec.Topic)
	}
	if err := task.AddRecords(rec); err != nil {
		return err
	}
	return d.drain()
}

func (d *Driver) taskFor(topic string) *engine.Task {
	for _, t := range d.tasks {
		if t.Accepts(topic) {
			return t
		}
	}
	return nil
}

// drain processes queued records until none are left, routing produced records to the tasks
// that read their topics, as a running application would through the broker.
func (d *Driver) drain() error {
	for {
		progressed := false
		for _, task := range d.tasks {
			for task.Buffered() > 0 {
				if _, err := task.Process(); err != nil {
					return err
				}
				progressed = true
				if err := d.route(); err != nil {
					return err
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
		task := d.taskFor(rec.Topic)
		if task == nil {
			continue
		}
		off := d.offset[rec.Topic]
		d.offset[rec.Topic]++
		if err := task.AddRecords(engine.RawRecord{Topic: rec.Topic, Partition: 0, Offset: off,
			Timestamp: rec.Timestamp, Key: rec.Key, Value: rec.Value, Headers: rec.Headers}); err != nil {
			return err
		}
	}
	return nil
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
	for _, task := range d.tasks {
		if err := task.AdvanceWallClock(d.wall); err != nil {
			return err
		}
		if err := d.route(); err != nil {
			return err
		}
	}
	return d.drain()
}

// WallClock returns the driver's wall-clock time.
func (d *Driver) WallClock() time.Time { return time.UnixMilli(d.wall) }

// Store returns the named state store of the task that has it.
func (d *Driver) Store(name string) (processor.Store, bool) {
	for _, t := range d.tasks {
		if s, ok := t.Stores()[name]; ok {
			return s, true
		}
	}
	return nil, false
}

// Dropped is the number of records the error handlers skipped, over all tasks.
func (d *Driver) Dropped() int64 {
	var n int64
	for _, t := range d.tasks {
		n += t.Dropped()
	}
	return n
}

// Close closes every task (processors, then stores). The driver closes itself at the end of
// the test; calling Close earlier is allowed.
func (d *Driver) Close() {
	if d.closed {
		return
	}
	d.closed = true
	for _, t := range d.tasks {
		if err := t.Close(); err != nil {
			d.t.Errorf("streamstest: close task %s: %v", t.ID(), err)
		}
	}
}
