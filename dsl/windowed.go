package dsl

import (
	"errors"
	"fmt"
	"time"

	"github.com/rillstreams/rill/processor"
	"github.com/rillstreams/rill/serde"
	"github.com/rillstreams/rill/state"
	"github.com/rillstreams/rill/windows"
)

// Windowed aggregation. The entry points are package functions, not GroupedStream methods: a
// method returning a table keyed by windows.Windowed[K] would let a chain window that table's
// stream again (Windowed[Windowed[K]], ...), an instantiation cycle Go rejects. Everything
// after the entry point is a method, as in Kafka Streams.

// TimeWindowedStream is a grouped stream cut into time windows, ready for an aggregation per
// key and window (Kafka Streams' TimeWindowedKStream): tumbling and hopping windows
// (windows.Tumbling, windows.Hopping) or sliding windows (windows.Sliding).
type TimeWindowedStream[K, V any] struct {
	g         *GroupedStream[K, V]
	w         windows.Spec
	emitFinal bool
}

// WindowedBy windows a grouped stream by time (Kafka Streams' KGroupedStream.windowedBy with
// TimeWindows or SlidingWindows). Records are aggregated per key and window; the result is a
// table keyed by windows.Windowed[K], whose stream (ToStream) writes keys with
// windows.TimeWindowedSerde, as Kafka Streams does. Session windows have their own entry
// point, SessionWindowedBy, because their aggregations also need a merger.
//
// A record for a window that already closed (stream time reached its end plus the grace
// period) is dropped and counted as a dropped record.
func WindowedBy[K, V any](g *GroupedStream[K, V], w windows.Spec) *TimeWindowedStream[K, V] {
	return &TimeWindowedStream[K, V]{g: g, w: w}
}

// EmitFinal makes the aggregation emit one result per window, when the window closes, instead
// of every update (Kafka Streams' emitStrategy(EmitStrategy.onWindowClose())). Results come
// out as stream time passes each window's end plus the grace period, so their latency is the
// grace period; nothing comes out while stream time stands still.
//
// With tumbling and hopping windows a window is removed from the store once emitted (it can
// never change again), so a restarted application never emits it twice. Sliding windows stay
// in the store until retention drops them, because new windows are computed from them.
func (ws *TimeWindowedStream[K, V]) EmitFinal() *TimeWindowedStream[K, V] {
	c := *ws
	c.emitFinal = true
	return &c
}

// Count counts the records of each key and window.
func (ws *TimeWindowedStream[K, V]) Count(opts ...TableOption) *Table[windows.Windowed[K], int64] {
	cfg := tableOptions(opts)
	if _, sliding := ws.w.(windows.SlidingWindows); !sliding && countBurnsName(cfg) {
		ws.g.s.b.newName("KSTREAM-AGGREGATE-STATE-STORE-") // as Kafka Streams' TimeWindowedKStreamImpl.count
	}
	return timeWindowAggregate(ws, cfg, "KSTREAM-AGGREGATE-", serde.Int64(), countFold[K, V]())
}

// Reduce combines the records of each key and window with f, starting from the window's
// first record.
func (ws *TimeWindowedStream[K, V]) Reduce(f func(agg, v V) V, opts ...TableOption) *Table[windows.Windowed[K], V] {
	cfg := tableOptions(opts)
	vs := ws.g.s.valueSerde
	if o, ok := cfg.serdes.(SerdesOption[K, V]); ok && o.value != nil {
		vs = o.value
	}
	return timeWindowAggregate(ws, cfg, "KSTREAM-REDUCE-", vs, reduceFold[K](f))
}

// Aggregate folds the records of each key and window into an aggregate, starting from
// init(). The aggregate's serde comes from WithSerdes (or is the stock serde of VA).
func (ws *TimeWindowedStream[K, V]) Aggregate[VA any](init func() VA, f func(key K, v V, agg VA) VA, opts ...TableOption) *Table[windows.Windowed[K], VA] {
	cfg := tableOptions(opts)
	var vs serde.Serde[VA]
	if o, ok := cfg.serdes.(SerdesOption[K, VA]); ok {
		vs = o.value
	}
	return timeWindowAggregate(ws, cfg, "KSTREAM-AGGREGATE-", vs, fold[K, V, VA]{init: init, add: f})
}

// SessionWindowedStream is a grouped stream cut into per-key sessions of activity, ready for
// an aggregation per session (Kafka Streams' SessionWindowedKStream).
type SessionWindowedStream[K, V any] struct {
	g         *GroupedStream[K, V]
	w         windows.SessionWindows
	emitFinal bool
}

// SessionWindowedBy windows a grouped stream into sessions (Kafka Streams'
// KGroupedStream.windowedBy(SessionWindows)): a key's records no more than the inactivity gap
// apart form one session. A record that bridges sessions merges them: their aggregates are
// combined with the merger, the merged-away sessions are deleted from the result table (a
// delete each, as Kafka Streams forwards) and the merged session is added. The result is a
// table keyed by windows.Windowed[K] with inclusive [Start, End]; its stream writes keys with
// windows.SessionWindowedSerde.
func SessionWindowedBy[K, V any](g *GroupedStream[K, V], w windows.SessionWindows) *SessionWindowedStream[K, V] {
	return &SessionWindowedStream[K, V]{g: g, w: w}
}

// EmitFinal makes the aggregation emit each session once, when it closes (stream time passed
// its end plus the inactivity gap and grace period), instead of every update and merge. A
// session is removed from the store once emitted (it can never change again), so a restarted
// application never emits it twice.
func (ss *SessionWindowedStream[K, V]) EmitFinal() *SessionWindowedStream[K, V] {
	c := *ss
	c.emitFinal = true
	return &c
}

// Count counts the records of each session.
func (ss *SessionWindowedStream[K, V]) Count(opts ...TableOption) *Table[windows.Windowed[K], int64] {
	cfg := tableOptions(opts)
	if countBurnsName(cfg) {
		ss.g.s.b.newName("KSTREAM-AGGREGATE-STATE-STORE-") // as Kafka Streams' SessionWindowedKStreamImpl.count
	}
	f := countFold[K, V]()
	f.merge = func(_ K, a, b int64) int64 { return a + b }
	return sessionAggregate(ss, cfg, "KSTREAM-AGGREGATE-", serde.Int64(), f)
}

// Reduce combines the records of each session with f; merging sessions combines their
// aggregates with f too.
func (ss *SessionWindowedStream[K, V]) Reduce(f func(agg, v V) V, opts ...TableOption) *Table[windows.Windowed[K], V] {
	cfg := tableOptions(opts)
	vs := ss.g.s.valueSerde
	if o, ok := cfg.serdes.(SerdesOption[K, V]); ok && o.value != nil {
		vs = o.value
	}
	fd := reduceFold[K](f)
	fd.merge = func(_ K, a, b V) V { return f(a, b) }
	return sessionAggregate(ss, cfg, "KSTREAM-REDUCE-", vs, fd)
}

// Aggregate folds the records of each session into an aggregate, starting from init(). When a
// record merges sessions, merger combines their aggregates (starting from init()) before the
// record is folded in, as in Kafka Streams.
func (ss *SessionWindowedStream[K, V]) Aggregate[VA any](init func() VA, f func(key K, v V, agg VA) VA,
	merger func(key K, agg1, agg2 VA) VA, opts ...TableOption) *Table[windows.Windowed[K], VA] {
	cfg := tableOptions(opts)
	var vs serde.Serde[VA]
	if o, ok := cfg.serdes.(SerdesOption[K, VA]); ok {
		vs = o.value
	}
	return sessionAggregate(ss, cfg, "KSTREAM-AGGREGATE-", vs, fold[K, V, VA]{init: init, add: f, merge: merger})
}

// fold is how an aggregation folds records in: from init() for Aggregate and Count, from the
// first record's value for Reduce (init nil, first set).
type fold[K, V, VA any] struct {
	init  func() VA
	first func(V) VA
	add   func(K, V, VA) VA
	merge func(K, VA, VA) VA // sessions
}

// start is the aggregate of a window whose first record is k, v.
func (f *fold[K, V, VA]) start(k K, v V) VA {
	if f.init == nil {
		return f.first(v)
	}
	return f.add(k, v, f.init())
}

func countFold[K, V any]() fold[K, V, int64] {
	return fold[K, V, int64]{init: func() int64 { return 0 }, add: func(_ K, _ V, n int64) int64 { return n + 1 }}
}

func reduceFold[K, V any](f func(V, V) V) fold[K, V, V] {
	return fold[K, V, V]{first: func(v V) V { return v }, add: func(_ K, v V, agg V) V { return f(agg, v) }}
}

// windowing is what a windowed table knows of its keys' windows, for Suppress.
type windowing struct {
	end    any // func(K) int64 for the table's key type K: the end of a key's window
	closed func(end, streamTime int64) bool
}

// windowAggState is shared between a windowed aggregation's processors and the DSL, which may
// ask for old values after the node was added; processors read it at Init.
type windowAggState struct {
	store     string
	sendOld   bool
	emitFinal bool
	// ksRetention is the retention Kafka Streams' store would have (sessions: Materialized's,
	// else gap + grace), which rill's stores exceed by a millisecond (see sessionAggregate).
	ksRetention int64
}

var errNoWindows = errors.New("rill: no windows given")

// timeWindowAggregate adds a time or sliding window aggregation: naming and repartitioning
// as unwindowed aggregations, then a window store holding timestamped aggregates.
func timeWindowAggregate[K, V, VA any](ws *TimeWindowedStream[K, V], cfg tableConfig, prefix string, vs serde.Serde[VA],
	f fold[K, V, VA]) *Table[windows.Windowed[K], VA] {
	b := ws.g.s.b
	t := &Table[windows.Windowed[K], VA]{b: b}
	if ws.w == nil {
		b.errs = append(b.errs, fmt.Errorf("%w to WindowedBy", errNoWindows))
		return t
	}
	if err := ws.w.Err(); err != nil {
		b.errs = append(b.errs, err)
		return t
	}
	in := aggregationInput[K, V, VA](ws.g, cfg, prefix)
	t.node, t.queryable = in.name, in.queryable
	if !in.ok {
		return t
	}
	ks, vs, err := resolveSerdes(in.name, cfg.serdes, in.ks, vs)
	if !b.check(err) {
		return t
	}
	size, grace := ws.w.Size(), ws.w.Grace()
	st := &windowAggState{store: in.storeName, emitFinal: ws.emitFinal}
	tvs := state.TimestampedSerde(vs)
	var sup processor.Supplier[K, V, windows.Windowed[K], change[VA]]
	var minRetention, margin int64
	switch w := ws.w.(type) {
	case windows.TimeWindows:
		minRetention = size + grace // Kafka Streams' WindowStoreMaterializer
		sup = func() processor.Processor[K, V, windows.Windowed[K], change[VA]] {
			return &timeWindowAggOp[K, V, VA]{st: st, w: w, f: f, vs: tvs}
		}
		t.windows = &windowing{end: windowEnd[K], closed: w.Closed}
	case windows.SlidingWindows:
		// Kafka Streams' SlidingWindowStoreMaterializer keeps 2*difference + grace: a new
		// record reads windows starting up to 2*difference before it. rill's stores expire
		// to the millisecond, not by segment, so 2ms more keep those windows at the edge.
		minRetention, margin = 2*size+grace, 2
		sup = func() processor.Processor[K, V, windows.Windowed[K], change[VA]] {
			return &slidingWindowAggOp[K, V, VA]{st: st, w: w, f: f, vs: tvs}
		}
		// Suppress flushes a sliding window once end + grace <= stream time, Kafka Streams'
		// suppress rule for every window (its end is inclusive here, so one millisecond
		// before the aggregation closes it).
		t.windows = &windowing{end: windowEnd[K], closed: func(end, streamTime int64) bool {
			return satAdd(end, w.Grace()) <= streamTime
		}}
	default:
		b.errs = append(b.errs, fmt.Errorf("rill: WindowedBy: unsupported windows %T", ws.w))
		return t
	}
	retention, err := windowRetention(cfg, in.storeName, minRetention, margin)
	if !b.check(err) {
		return t
	}
	b.check(b.topo.AddProcessor(in.name, sup, in.parent))
	b.check(cfg.notVersioned(in.name))
	backend, logging := cfg.storeOptions()
	sb := state.NewWindowStoreBuilder(in.storeName, ks, tvs, state.WindowOptions{Retention: retention}).
		WithLogging(logging).WithBackend(backend).WithCaching(cfg.caching())
	if b.check(b.topo.AddStore(sb, in.name)) {
		t.store = in.storeName
	}
	t.keySerde = windows.TimeWindowedSerde(ks, time.Duration(size)*time.Millisecond)
	t.valueSerde = vs
	t.sendOld = func() { st.sendOld = true }
	t.getter = windowStoreGetter[K, VA](in.storeName)
	return t
}

// sessionAggregate adds a session window aggregation with a session store.
func sessionAggregate[K, V, VA any](ss *SessionWindowedStream[K, V], cfg tableConfig, prefix string, vs serde.Serde[VA],
	f fold[K, V, VA]) *Table[windows.Windowed[K], VA] {
	b := ss.g.s.b
	t := &Table[windows.Windowed[K], VA]{b: b}
	if err := ss.w.Err(); err != nil {
		b.errs = append(b.errs, err)
		return t
	}
	in := aggregationInput[K, V, VA](ss.g, cfg, prefix)
	t.node, t.queryable = in.name, in.queryable
	if !in.ok {
		return t
	}
	ks, vs, err := resolveSerdes(in.name, cfg.serdes, in.ks, vs)
	if !b.check(err) {
		return t
	}
	// Kafka Streams keeps sessions for gap + grace (SessionStoreMaterializer); 1ms more
	// keeps a session ending exactly at the close time findable, since rill's stores expire
	// to the millisecond rather than by segment.
	retention, err := windowRetention(cfg, in.storeName, ss.w.Gap()+ss.w.Grace(), 1)
	if !b.check(err) {
		return t
	}
	st := &windowAggState{store: in.storeName, emitFinal: ss.emitFinal, ksRetention: ksSessionRetention(cfg, ss.w)}
	w := ss.w
	b.check(b.topo.AddProcessor(in.name, func() processor.Processor[K, V, windows.Windowed[K], change[VA]] {
		return &sessionWindowAggOp[K, V, VA]{st: st, w: w, f: f, vs: vs}
	}, in.parent))
	b.check(cfg.notVersioned(in.name))
	backend, logging := cfg.storeOptions()
	// Kafka Streams' SessionStoreMaterializer caches no store of an aggregation that emits
	// only final results.
	sb := state.NewSessionStoreBuilder(in.storeName, ks, vs, state.WindowOptions{Retention: retention}).
		WithLogging(logging).WithBackend(backend).WithCaching(cfg.caching() && !ss.emitFinal)
	if b.check(b.topo.AddStore(sb, in.name)) {
		t.store = in.storeName
	}
	t.keySerde = windows.SessionWindowedSerde(ks)
	t.valueSerde = vs
	t.sendOld = func() { st.sendOld = true }
	// Suppress flushes a session once end + gap + grace <= stream time, Kafka Streams' rule
	// (its grace for sessions is gap + grace): when its store stops returning the session,
	// one millisecond before the aggregation calls it closed.
	t.windows = &windowing{end: windowEnd[K], closed: func(end, streamTime int64) bool {
		return satAdd(satAdd(end, w.Gap()), w.Grace()) <= streamTime
	}}
	t.getter = sessionStoreGetter[K, VA](in.storeName)
	return t
}

func windowEnd[K any](k windows.Windowed[K]) int64 { return k.End }

// ksSessionRetention is the retention of Kafka Streams' session store for the same
// aggregation: Materialized's, else gap plus grace.
func ksSessionRetention(cfg tableConfig, w windows.SessionWindows) int64 {
	if cfg.materialized != nil && cfg.materialized.retention != 0 {
		return cfg.materialized.retention.Milliseconds()
	}
	return w.Gap() + w.Grace()
}

// windowRetention is the retention of a windowed store: Materialized's WithRetention, which
// may not be shorter than Kafka Streams' minimum (it fails the same way), else the minimum;
// at least the minimum plus margin either way (see the callers).
func windowRetention(cfg tableConfig, store string, minimum, margin int64) (int64, error) {
	if cfg.materialized == nil || cfg.materialized.retention == 0 {
		return minimum + margin, nil
	}
	r := cfg.materialized.retention.Milliseconds()
	if r < minimum {
		return 0, fmt.Errorf("rill: retention of window store %s must be at least %dms (the windows' size plus grace period), got %v",
			store, minimum, cfg.materialized.retention)
	}
	return max(r, minimum+margin), nil
}

// windowStore looks up the window store a windowed aggregation was connected to.
func windowStore[K, V, KO, VO any](ctx processor.Context[KO, VO], name string) (*state.WindowStore[K, V], error) {
	s, err := ctx.StateStore(name)
	if err != nil {
		return nil, err
	}
	ws, ok := s.(*state.WindowStore[K, V])
	if !ok {
		return nil, fmt.Errorf("rill: store %s is a %T, not a window store of these types", name, s)
	}
	return ws, nil
}

// keyError wraps a key serde failure as the typed stores do.
func keyError(store string, ser bool, err error) error {
	return &serde.Error{Topic: store, Partition: -1, Offset: -1, Key: true, Serialize: ser, Err: err}
}

// valueError wraps a value serde failure.
func valueError(store string, ser bool, err error) error {
	return &serde.Error{Topic: store, Partition: -1, Offset: -1, Serialize: ser, Err: err}
}
