package dsl

import (
	"fmt"
	"time"

	"github.com/rillstreams/rill/processor"
	"github.com/rillstreams/rill/serde"
	"github.com/rillstreams/rill/state"
	"github.com/rillstreams/rill/windows"
)

// Windowed cogroups (KIP-150): every cogrouped stream gets its own windowed aggregator, as a
// windowed aggregation of that stream alone would, and they all fold into one window or
// session store; a merge node forwards what any of them emits. Each aggregator closes windows
// against the stream time it has observed itself, as Kafka Streams' per-stream
// KStreamWindowAggregate processors do.

// TimeWindowedCogroupedStream is a cogroup cut into time windows (Kafka Streams'
// TimeWindowedCogroupedKStream): tumbling, hopping or sliding windows.
type TimeWindowedCogroupedStream[K, VA any] struct {
	c *CogroupedStream[K, VA]
	w windows.Spec
}

// SessionWindowedCogroupedStream is a cogroup cut into session windows (Kafka Streams'
// SessionWindowedCogroupedKStream).
type SessionWindowedCogroupedStream[K, VA any] struct {
	c *CogroupedStream[K, VA]
	w windows.SessionWindows
}

// CogroupWindowedBy windows a cogroup by time (Kafka Streams' CogroupedKStream.windowedBy with
// TimeWindows or SlidingWindows). It is a package function for the reason WindowedBy is: its
// table is keyed by windows.Windowed[K].
//
//	views := dsl.Cogroup(clicks.GroupByKey(), func(_ string, _ Click, a Activity) Activity { a.Clicks++; return a }).
//		Cogroup(buys.GroupByKey(), func(_ string, b Buy, a Activity) Activity { a.Spent += b.Amount; return a })
//	perMinute := dsl.CogroupWindowedBy(views, windows.Tumbling(time.Minute, windows.Grace(10*time.Second))).
//		Aggregate(func() Activity { return Activity{} }, dsl.WithSerdes(serde.String(), serde.JSON[Activity]()))
//
// A record for a window that already closed is dropped and counted, as in WindowedBy.
func CogroupWindowedBy[K, VA any](c *CogroupedStream[K, VA], w windows.Spec) *TimeWindowedCogroupedStream[K, VA] {
	return &TimeWindowedCogroupedStream[K, VA]{c: c, w: w}
}

// CogroupSessionWindowedBy windows a cogroup by sessions (Kafka Streams'
// CogroupedKStream.windowedBy with SessionWindows); its Aggregate needs a merger for sessions
// that a record joins together.
func CogroupSessionWindowedBy[K, VA any](c *CogroupedStream[K, VA], w windows.SessionWindows) *SessionWindowedCogroupedStream[K, VA] {
	return &SessionWindowedCogroupedStream[K, VA]{c: c, w: w}
}

// windowedCogroupTarget is what the aggregators of one windowed cogroup share.
type windowedCogroupTarget[K, VA any] struct {
	st      *windowAggState
	time    windows.Spec // time or sliding windows; nil for sessions
	session windows.SessionWindows
	merge   func(K, VA, VA) VA // sessions
	vs      serde.Serde[VA]
}

// addWindowedCogroupAggregator adds one cogrouped stream's windowed aggregator.
func addWindowedCogroupAggregator[K, V, VA any](b *Builder, name, parent string, target any, f fold[K, V, VA]) {
	t := target.(*windowedCogroupTarget[K, VA])
	st, tvs := t.st, state.TimestampedSerde(t.vs)
	var sup processor.Supplier[K, V, windows.Windowed[K], change[VA]]
	switch w := t.time.(type) {
	case windows.TimeWindows:
		sup = func() processor.Processor[K, V, windows.Windowed[K], change[VA]] {
			return &timeWindowAggOp[K, V, VA]{st: st, w: w, f: f, vs: tvs}
		}
	case windows.SlidingWindows:
		sup = func() processor.Processor[K, V, windows.Windowed[K], change[VA]] {
			return &slidingWindowAggOp[K, V, VA]{st: st, w: w, f: f, vs: tvs}
		}
	case nil:
		f.merge = t.merge
		sw, vs := t.session, t.vs
		sup = func() processor.Processor[K, V, windows.Windowed[K], change[VA]] {
			return &sessionWindowAggOp[K, V, VA]{st: st, w: sw, f: f, vs: vs}
		}
	}
	b.check(b.topo.AddProcessor(name, sup, parent))
}

// Aggregate folds the cogrouped streams' records into one aggregate per key and window,
// starting from init(): each record with its own stream's aggregator. The table is keyed by
// windows.Windowed[K] (its stream writes keys with windows.TimeWindowedSerde). Materialized
// names the window store and may set its retention (at least size plus grace); WithSerdes
// gives the key and aggregate serdes.
func (ws *TimeWindowedCogroupedStream[K, VA]) Aggregate(init func() VA, opts ...TableOption) *Table[windows.Windowed[K], VA] {
	b := ws.c.b
	t := &Table[windows.Windowed[K], VA]{b: b}
	if ws.w == nil {
		b.errs = append(b.errs, fmt.Errorf("%w to CogroupWindowedBy", errNoWindows))
		return t
	}
	if err := ws.w.Err(); err != nil {
		b.errs = append(b.errs, err)
		return t
	}
	size, grace := ws.w.Size(), ws.w.Grace()
	var minRetention, margin int64
	switch w := ws.w.(type) {
	case windows.TimeWindows:
		minRetention = size + grace
		t.windows = &windowing{end: windowEnd[K], closed: w.Closed}
	case windows.SlidingWindows:
		minRetention, margin = 2*size+grace, 2 // as timeWindowAggregate
		t.windows = &windowing{end: windowEnd[K], closed: w.Closed}
	default:
		b.errs = append(b.errs, fmt.Errorf("rill: CogroupWindowedBy: unsupported windows %T", ws.w))
		return t
	}
	cfg := tableOptions(opts)
	storeName, queryable := b.storeName(cfg, "COGROUPKSTREAM-AGGREGATE-")
	ks, vs, err := resolveSerdes(storeName, cfg.serdes, ws.c.ks, serde.Serde[VA](nil))
	if !b.check(err) {
		return t
	}
	retention, err := windowRetention(cfg, storeName, minRetention, margin)
	if !b.check(err) {
		return t
	}
	st := &windowAggState{store: storeName}
	target := &windowedCogroupTarget[K, VA]{st: st, time: ws.w, vs: vs}
	aggs, ok := ws.c.wire(storeName, init, target)
	if !ok {
		return t
	}
	t.node = b.nameOr(cfg.name, "COGROUPKSTREAM-MERGE-")
	t.queryable = queryable
	b.check(b.topo.AddProcessor(t.node, passThroughSupplier[windows.Windowed[K], change[VA]](), aggs...))
	b.check(cfg.notVersioned(t.node))
	backend, logging := cfg.storeOptions()
	sb := state.NewWindowStoreBuilder(storeName, ks, state.TimestampedSerde(vs), state.WindowOptions{Retention: retention}).
		WithLogging(logging).WithBackend(backend).WithCaching(cfg.caching())
	if b.check(b.topo.AddStore(sb, aggs...)) {
		t.store = storeName
	}
	t.keySerde = windows.TimeWindowedSerde(ks, time.Duration(size)*time.Millisecond)
	t.valueSerde = vs
	t.sendOld = func() { st.sendOld = true }
	t.getter = windowStoreGetter[K, VA](storeName)
	return t
}

// Aggregate folds the cogrouped streams' records into one aggregate per key and session,
// starting from init(): each record with its own stream's aggregator; merger combines the
// aggregates of sessions a record joins together. Materialized names the session store and
// may set its retention (at least gap plus grace).
func (ss *SessionWindowedCogroupedStream[K, VA]) Aggregate(init func() VA, merger func(key K, agg1, agg2 VA) VA,
	opts ...TableOption) *Table[windows.Windowed[K], VA] {
	b := ss.c.b
	t := &Table[windows.Windowed[K], VA]{b: b}
	if err := ss.w.Err(); err != nil {
		b.errs = append(b.errs, err)
		return t
	}
	if merger == nil {
		b.errs = append(b.errs, fmt.Errorf("rill: CogroupSessionWindowedBy: Aggregate needs a session merger"))
		return t
	}
	cfg := tableOptions(opts)
	storeName, queryable := b.storeName(cfg, "COGROUPKSTREAM-AGGREGATE-")
	ks, vs, err := resolveSerdes(storeName, cfg.serdes, ss.c.ks, serde.Serde[VA](nil))
	if !b.check(err) {
		return t
	}
	retention, err := windowRetention(cfg, storeName, ss.w.Gap()+ss.w.Grace(), 1) // as sessionAggregate
	if !b.check(err) {
		return t
	}
	st := &windowAggState{store: storeName, ksRetention: ksSessionRetention(cfg, ss.w)}
	target := &windowedCogroupTarget[K, VA]{st: st, session: ss.w, merge: merger, vs: vs}
	aggs, ok := ss.c.wire(storeName, init, target)
	if !ok {
		return t
	}
	t.node = b.nameOr(cfg.name, "COGROUPKSTREAM-MERGE-")
	t.queryable = queryable
	b.check(b.topo.AddProcessor(t.node, passThroughSupplier[windows.Windowed[K], change[VA]](), aggs...))
	b.check(cfg.notVersioned(t.node))
	backend, logging := cfg.storeOptions()
	sb := state.NewSessionStoreBuilder(storeName, ks, vs, state.WindowOptions{Retention: retention}).
		WithLogging(logging).WithBackend(backend).WithCaching(cfg.caching())
	if b.check(b.topo.AddStore(sb, aggs...)) {
		t.store = storeName
	}
	t.keySerde = windows.SessionWindowedSerde(ks)
	t.valueSerde = vs
	t.sendOld = func() { st.sendOld = true }
	t.windows = &windowing{end: windowEnd[K], closed: ss.w.Closed}
	t.getter = sessionStoreGetter[K, VA](storeName)
	return t
}

// wire adds every cogrouped stream's windowed aggregator and returns their names.
func (c *CogroupedStream[K, VA]) wire(storeName string, init func() VA, target any) ([]string, bool) {
	var aggs []string
	for i, w := range c.inputs {
		name, ok := w(cogroupTarget{storeName: storeName, index: i, init: init, windowed: target})
		if !ok {
			return nil, false
		}
		aggs = append(aggs, name)
	}
	return aggs, true
}
