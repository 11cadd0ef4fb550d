package engine

import (
	"errors"
	"fmt"
	"regexp"
	"runtime/debug"
	"strconv"

	"go.uber.org/zap"

	"github.com/rillstreams/rill/processor"
	"github.com/rillstreams/rill/state"
)

// Subtopology is what a task instantiates: the nodes of one sub-topology, their edges, and the
// stores its processors use. The topology package builds it; tasks only read it.
type Subtopology struct {
	ID    int
	Nodes []*NodeSpec // in the order they were added
	// Edges maps a node name to its children, in the order they were connected.
	Edges  map[string][]string
	Stores []state.StoreBuilder
	// Global marks the sub-topology of a global store: one task reads every partition of its
	// topic and keeps the store that every other task may read.
	Global bool
}

// Config configures one task.
type Config struct {
	ID            processor.TaskID
	ApplicationID string
	Topology      *Subtopology
	Collector     Collector
	// StateDir is the task's directory for persistent stores; empty for none.
	StateDir string
	// Backend is the default backend for stores that name none (see
	// state.StoreContext.Backend).
	Backend state.Backend
	// GlobalStores are the global stores, readable by every processor of the task.
	GlobalStores map[string]processor.Store
	// Changelog is where the task's logged stores write (nil: none).
	Changelog state.ChangelogSink
	// Shared builds the task's stores to be read from other goroutines (global tasks).
	Shared bool
	Logger *zap.Logger
	// Handlers for failed records; nil means processor.LogAndFail.
	DeserializationHandler processor.ErrorHandler
	ProcessingHandler      processor.ErrorHandler
	ProductionHandler      processor.ErrorHandler
	// WallClock is the task's wall-clock time at creation, in milliseconds. The task never
	// reads a clock itself: AdvanceWallClock moves it.
	WallClock int64
	// TimestampExtractor gives records of sources without their own extractor their
	// timestamps (nil: the record's own, negative ones failing through the deserialization
	// handler).
	TimestampExtractor processor.TimestampExtractor
	// Cache is the stream thread's record cache, shared by the cached stores of its tasks
	// (nil: stores are built uncached).
	Cache *state.RecordCache
	// MaxTaskIdle is how long, in milliseconds, Readiness lets the task wait for an empty
	// input partition that is caught up on the broker before processing without it
	// (Kafka Streams' max.task.idle.ms): 0 waits only for partitions with records on the
	// broker, negative never waits. Owners that never call Readiness (the test driver) ignore
	// it.
	MaxTaskIdle int64
	// DebugMetrics turns on the debug-level metrics (Kafka Streams' metrics.recording.level
	// DEBUG): record lateness, and a metered layer on each store (state.Meter) timing its
	// operations. Global tasks (Shared) meter no store.
	DebugMetrics bool
}

// Task runs one sub-topology for one partition. It is a state machine with no goroutine and no
// clock of its own (like raft's RawNode): the owner hands it records (AddRecords), asks it to
// process them one at a time in timestamp order (Process), advances its wall clock
// (AdvanceWallClock) and flushes it before commits (Flush). All of it must happen on one
// goroutine, which then owns the task's processors and stores: nothing in a task takes a lock.
type Task struct {
	id        processor.TaskID
	cfg       Config
	collector Collector
	log       *zap.Logger

	nodes      []Node // in topology order; processors closed in reverse
	sources    map[string]rawSource
	patterns   []patternSource
	queues     []*recordQueue
	queueIndex map[topicPartition]*recordQueue
	buffered   int
	// inputs are the partitions the task reads: each source topic at the task's partition.
	// Readiness waits for the empty ones.
	inputs   []topicPartition
	idle     idleTracker
	statuses []partitionStatus // reused by Readiness
	enforced int64

	stores map[string]processor.Store
	// extractors are the timestamp extractors by source node; sourceDrops count the records
	// sources skipped for a negative timestamp.
	extractors  map[string]processor.TimestampExtractor
	sourceDrops map[string]*dropLog
	// cached are the stores with a record cache, in the order Kafka Streams flushes them:
	// by the first processor (in topology order) connected to each.
	cached []cacheFlusher

	streamTime     int64
	wallClock      int64
	streamSchedule punctuationQueue
	wallSchedule   punctuationQueue

	// current is the raw record being processed; nil in punctuations. It points at cur, the
	// task's own copy, so that taking a record off a queue allocates nothing.
	current *RawRecord
	cur     RawRecord
	// recTS and recHeaders are the timestamp and headers of the record the current processor
	// was given (its record context, with current's topic, partition and offset): what a
	// cached store keeps with a write.
	recTS      int64
	recHeaders []processor.Header
	// flushRec is current while a cached store flushes an entry: the entry's record context.
	flushRec RawRecord
	// node is the processor node currently punctuating, for error reports.
	node string
	// deadLetterFailed is set while the production handler decides about a dead letter the
	// producer could not write (HandleDeadLetterError): a dead letter it asks for then is the
	// record's last (LastDeadLetterCollector).
	deadLetterFailed bool
	// sink is the sink node handing a record to the collector (empty otherwise).
	sink string

	processed  int64
	dropped    int64
	punctuated int64
	closed     bool

	// readyAt is the time of the owner's last Readiness call: with wallClock, the task's
	// clock for end-to-end latencies (metrics.go). lateness and storeMetrics are the
	// debug-level metrics (Config.DebugMetrics).
	readyAt      int64
	lateness     TimeHistogram
	storeMetrics []*state.StoreMetrics
}

type patternSource struct {
	re  *regexp.Regexp
	src rawSource
}

type topicPartition struct {
	topic     string
	partition int32
}

// New creates a task: it instantiates and connects the sub-topology's nodes, opens its stores
// and initializes its processors. On error, whatever was opened is closed again.
func New(cfg Config) (*Task, error) {
	if cfg.Topology == nil || cfg.Collector == nil {
		return nil, errors.New("rill: task needs a topology and a collector")
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	for _, h := range []*processor.ErrorHandler{&cfg.DeserializationHandler, &cfg.ProcessingHandler, &cfg.ProductionHandler} {
		if *h == nil {
			*h = processor.LogAndFail
		}
	}
	t := &Task{
		id:         cfg.ID,
		cfg:        cfg,
		collector:  cfg.Collector,
		log:        cfg.Logger, // handlers log the task id themselves
		sources:    make(map[string]rawSource),
		queueIndex: make(map[topicPartition]*recordQueue),
		stores:     make(map[string]processor.Store),
		streamTime: processor.UnknownTime,
		wallClock:  cfg.WallClock,
		idle:       idleTracker{maxIdle: cfg.MaxTaskIdle},
	}
	byName := make(map[string]Node, len(cfg.Topology.Nodes))
	for _, spec := range cfg.Topology.Nodes {
		n := spec.New()
		byName[spec.Name] = n
		t.nodes = append(t.nodes, n)
		if spec.Kind != SourceNode {
			continue
		}
		src := n.(rawSource)
		ex := spec.TimestampExtractor
		if ex == nil {
			ex = cfg.TimestampExtractor
		}
		if ex != nil {
			if t.extractors == nil {
				t.extractors, t.sourceDrops = make(map[string]processor.TimestampExtractor), make(map[string]*dropLog)
			}
			t.extractors[spec.Name], t.sourceDrops[spec.Name] = ex, &dropLog{}
		}
		for _, topic := range spec.Topics {
			if spec.Internal {
				topic = t.InternalTopic(topic)
			}
			t.sources[topic] = src
			t.inputs = append(t.inputs, topicPartition{topic, cfg.ID.Partition})
		}
		if spec.Pattern != nil {
			t.patterns = append(t.patterns, patternSource{re: spec.Pattern, src: src})
		}
	}
	for _, spec := range cfg.Topology.Nodes {
		for _, child := range cfg.Topology.Edges[spec.Name] {
			c, ok := byName[child]
			if !ok {
				return nil, fmt.Errorf("rill: task %s: %s has unknown child %s", t.id, spec.Name, child)
			}
			if err := byName[spec.Name].connect(c); err != nil {
				return nil, err
			}
		}
	}
	for _, sb := range cfg.Topology.Stores {
		sc := state.StoreContext{ApplicationID: cfg.ApplicationID, TaskID: cfg.ID, Dir: cfg.StateDir, Backend: cfg.Backend,
			Changelog: cfg.Changelog, Shared: cfg.Shared, Records: t, Cache: cfg.Cache}
		s, err := sb.Build(sc)
		if err != nil {
			t.closeStores()
			return nil, fmt.Errorf("rill: task %s: open store %s: %w", t.id, sb.Name(), err)
		}
		t.stores[sb.Name()] = s
		if cfg.DebugMetrics && !cfg.Shared {
			if m := state.Meter(s); m != nil {
				t.storeMetrics = append(t.storeMetrics, m)
			}
		}
	}
	t.cached = cachedStores(cfg.Topology, t.stores)
	// Initialize downstream nodes first (reverse insertion order) so that a processor may
	// forward from Init to children that are ready.
	for i := len(t.nodes) - 1; i >= 0; i-- {
		if err := t.nodes[i].init(t); err != nil {
			for j := len(t.nodes) - 1; j > i; j-- {
				_ = t.nodes[j].close()
			}
			t.closeStores()
			return nil, fmt.Errorf("rill: task %s: %w", t.id, err)
		}
	}
	return t, nil
}

// ID returns the task id.
func (t *Task) ID() processor.TaskID { return t.id }

// StreamTime returns the largest timestamp the task has processed (processor.UnknownTime before any).
func (t *Task) StreamTime() int64 { return t.streamTime }

// Processed is the number of records the task has taken from its queues.
func (t *Task) Processed() int64 { return t.processed }

// Dropped is the number of records skipped by error handlers that continued or dropped on
// purpose by processors (late records, say).
func (t *Task) Dropped() int64 { return t.dropped }

// Punctuations is the number of punctuators the task has run (stream time and wall clock).
func (t *Task) Punctuations() int64 { return t.punctuated }

// Buffered is the number of records waiting in the task's queues.
func (t *Task) Buffered() int { return t.buffered }

// InternalTopic returns the full name of the task's internal topic name: "<app id>-<name>".
func (t *Task) InternalTopic(name string) string { return t.cfg.ApplicationID + "-" + name }

// Stores returns the task's open stores by name, for the runtime and the test driver.
func (t *Task) Stores() map[string]processor.Store { return t.stores }

// RecordMetadata tells where the record being processed came from (false in punctuations).
func (t *Task) RecordMetadata() (processor.RecordMetadata, bool) {
	if t.current == nil || (t.current == &t.flushRec && t.flushRec.Topic == "") {
		return processor.RecordMetadata{}, false
	}
	return processor.RecordMetadata{Topic: t.current.Topic, Partition: t.current.Partition, Offset: t.current.Offset}, true
}

// Accepts tells whether the task has a source for topic.
func (t *Task) Accepts(topic string) bool { return t.sourceFor(topic) != nil }

func (t *Task) sourceFor(topic string) rawSource {
	if s, ok := t.sources[topic]; ok {
		return s
	}
	for _, p := range t.patterns {
		if p.re.MatchString(topic) {
			t.sources[topic] = p.src // resolve a pattern once per topic
			return p.src
		}
	}
	return nil
}

// AddRecords queues records of one topic partition. They must come in offset order. Nothing
// is queued when a record's topic has no source in the task.
func (t *Task) AddRecords(recs ...RawRecord) error {
	for i := range recs {
		if t.sourceFor(recs[i].Topic) == nil {
			return fmt.Errorf("rill: task %s has no source for topic %q", t.id, recs[i].Topic)
		}
	}
	for i := range recs {
		r := &recs[i]
		tp := topicPartition{r.Topic, r.Partition}
		q := t.queueIndex[tp]
		if q == nil {
			q = &recordQueue{tp: tp, next: -1, partitionTime: processor.UnknownTime}
			t.queueIndex[tp] = q
			t.queues = append(t.queues, q)
		}
		if ex := t.extractors[t.sourceFor(r.Topic).Name()]; ex != nil {
			rec := *r
			t.extract(ex, q, &rec)
			q.push(rec)
		} else {
			q.push(*r)
		}
		t.buffered++
	}
	return nil
}

// Process processes the next record: the head of the partition queue whose head has the
// smallest timestamp (Kafka Streams' choice, which keeps joins and windows close to timestamp
// order across partitions). It reports whether there was a record. A non-nil error is fatal
// for the task: an error handler answered Fail.
func (t *Task) Process() (bool, error) {
	var next *recordQueue
	for _, q := range t.queues {
		if q.len() > 0 && (next == nil || q.head().Timestamp < next.head().Timestamp) {
			next = q
		}
	}
	if next == nil {
		return false, nil
	}
	t.cur = next.pop()
	t.buffered--
	t.processed++
	err := t.processRecord(&t.cur)
	t.cur = RawRecord{} // drop references to the record's bytes
	if err != nil {
		return true, err
	}
	return true, t.punctuate(&t.streamSchedule, t.streamTime)
}

func (t *Task) processRecord(r *RawRecord) (err error) {
	src := t.sourceFor(r.Topic)
	switch {
	case r.extractErr != nil:
		return t.deserializationFailed(src.Name(), r, r.extractErr)
	case r.skip:
		t.current, t.recTS = r, r.Timestamp
		t.recordDropped(src.Name(), "negative extracted timestamp", t.sourceDrops[src.Name()])
		t.current = nil
		return nil
	}
	if r.Timestamp < 0 {
		// Kafka Streams' default extractor refuses negative timestamps; the record goes to the
		// deserialization handler rather than corrupting stream time.
		return t.deserializationFailed(src.Name(), r, fmt.Errorf("rill: invalid timestamp %d", r.Timestamp))
	}
	if t.cfg.DebugMetrics {
		t.recordLateness(r.Timestamp)
	}
	if r.Timestamp > t.streamTime {
		t.streamTime = r.Timestamp
	}
	t.current = r
	t.recTS, t.recHeaders = r.Timestamp, r.Headers
	defer func() {
		t.current = nil
		if p := recover(); p != nil {
			// A panic in user code must not take the process down: it is a processing error
			// of this record, handled like any other.
			err = t.handle(processor.ProcessingError, "", r, &processor.PanicError{Value: p, Stack: debug.Stack()})
		}
	}()
	return src.processRaw(r)
}

// AdvanceWallClock sets the task's wall clock (milliseconds) and runs the wall-clock
// punctuations that are due.
func (t *Task) AdvanceWallClock(now int64) error {
	if now > t.wallClock {
		t.wallClock = now
	}
	return t.punctuate(&t.wallSchedule, t.wallClock)
}

// Flush flushes the task's stores; the owner calls it before committing.
func (t *Task) Flush() error {
	var errs []error
	for name, s := range t.stores {
		if err := s.Flush(); err != nil {
			errs = append(errs, fmt.Errorf("rill: task %s: flush store %s: %w", t.id, name, err))
		}
	}
	return errors.Join(errs...)
}

// Close closes the processors (downstream last) and then flushes and closes the stores.
func (t *Task) Close() error {
	if t.closed {
		return nil
	}
	t.closed = true
	var errs []error
	for _, n := range t.nodes {
		if err := n.close(); err != nil {
			errs = append(errs, fmt.Errorf("rill: task %s: close %s: %w", t.id, n.Name(), err))
		}
	}
	errs = append(errs, t.Flush())
	errs = append(errs, t.closeStores())
	return errors.Join(errs...)
}

func (t *Task) closeStores() error {
	var errs []error
	for name, s := range t.stores {
		if err := s.Close(); err != nil {
			errs = append(errs, fmt.Errorf("rill: task %s: close store %s: %w", t.id, name, err))
		}
		delete(t.stores, name)
	}
	return errors.Join(errs...)
}

// deserializationFailed, processingFailed and productionFailed hand an error to the configured
// handler. They return nil when the handler continues (the record is skipped, counted, and
// possibly sent to a dead-letter topic) and a *processor.TaskError when it fails. An error that
// is already a TaskError was handled deeper in the graph and passes through unchanged.
func (t *Task) deserializationFailed(node string, r *RawRecord, err error) error {
	return t.handle(processor.DeserializationError, node, r, err)
}

func (t *Task) processingFailed(node string, err error) error {
	return t.handle(processor.ProcessingError, node, t.current, err)
}

func (t *Task) productionFailed(node string, err error) error {
	return t.handle(processor.ProductionError, node, t.current, err)
}

func (t *Task) handle(kind processor.ErrorKind, node string, r *RawRecord, err error) error {
	var handled *processor.TaskError
	if errors.As(err, &handled) {
		return err
	}
	if node == "" {
		node = t.node
	}
	ec := &processor.ErrorContext{Kind: kind, TaskID: t.id, Node: node, Logger: t.log, Partition: -1, Offset: -1}
	if r != nil {
		ec.Topic, ec.Partition, ec.Offset, ec.Timestamp = r.Topic, r.Partition, r.Offset, r.Timestamp
		ec.Key, ec.Value, ec.Headers = r.Key, r.Value, r.Headers
	}
	var h processor.ErrorHandler
	switch kind {
	case processor.DeserializationError:
		h = t.cfg.DeserializationHandler
	case processor.ProcessingError:
		h = t.cfg.ProcessingHandler
	default:
		h = t.cfg.ProductionHandler
	}
	resp := h(ec, err)
	if resp.Fail {
		return &processor.TaskError{Kind: kind, TaskID: t.id, Node: node, Topic: ec.Topic,
			Partition: ec.Partition, Offset: ec.Offset, Err: err}
	}
	if resp.DeadLetterTopic != "" && r != nil {
		dl := deadLetter(resp.DeadLetterTopic, r, err)
		var derr error
		if lc, ok := t.collector.(LastDeadLetterCollector); ok && t.deadLetterFailed {
			derr = lc.SendLastDeadLetter(dl)
		} else if dc, ok := t.collector.(DeadLetterCollector); ok {
			derr = dc.SendDeadLetter(dl)
		} else {
			derr = t.collector.Send(dl)
		}
		if derr != nil {
			// Losing the record silently is not an option: fail instead.
			return &processor.TaskError{Kind: processor.ProductionError, TaskID: t.id, Node: node, Topic: ec.Topic,
				Partition: ec.Partition, Offset: ec.Offset, Err: fmt.Errorf("rill: dead-letter topic %s: %w (after %w)", resp.DeadLetterTopic, derr, err)}
		}
	}
	if r != nil {
		t.dropped++ // a record skipped (or dead-lettered); a failed punctuation drops no record
	}
	return nil
}

func deadLetter(topic string, r *RawRecord, err error) OutRecord {
	h := make([]processor.Header, 0, len(r.Headers)+5)
	h = append(h, r.Headers...)
	var pe *processor.PanicError
	if errors.As(err, &pe) {
		h = append(h, processor.Header{Key: processor.HeaderErrorStacktrace, Value: pe.Stack})
	}
	h = append(h,
		processor.Header{Key: processor.HeaderErrorException, Value: []byte(fmt.Sprintf("%T", err))},
		processor.Header{Key: processor.HeaderErrorMessage, Value: []byte(err.Error())},
		processor.Header{Key: processor.HeaderErrorTopic, Value: []byte(r.Topic)},
		processor.Header{Key: processor.HeaderErrorPartition, Value: []byte(strconv.FormatInt(int64(r.Partition), 10))},
		processor.Header{Key: processor.HeaderErrorOffset, Value: []byte(strconv.FormatInt(r.Offset, 10))},
	)
	return OutRecord{Topic: topic, Partition: -1, Timestamp: r.Timestamp, Key: r.Key, Value: r.Value, Headers: h}
}

// Timestamp is the timestamp of what the task is doing: the current record's, or stream time
// in a punctuation. Changelog records carry it, as in Kafka Streams.
func (t *Task) Timestamp() int64 {
	if t.current != nil {
		return t.current.Timestamp
	}
	return t.streamTime
}
