package dsl

import (
	"bytes"

	"github.com/rillstreams/rill/internal/nullable"
	"github.com/rillstreams/rill/processor"
	"github.com/rillstreams/rill/serde"
	"github.com/rillstreams/rill/state"
)

// GroupedStream is a stream grouped by key, ready for an aggregation (Kafka Streams'
// KGroupedStream). If the key was changed upstream, the aggregation first sends records through
// a repartition topic, so that each key is aggregated by exactly one task.
type GroupedStream[K, V any] struct {
	s     *Stream[K, V]
	name  string // Grouped name: names the repartition topic
	serde any    // a SerdesOption[K, V] for the repartition topic
	// repartitioned is the source of the named repartition topic once made: aggregations of
	// one grouped stream share it, as in Kafka Streams (an unnamed one is made per aggregation).
	repartitioned string
	rks           serde.Serde[K]
}

func groupedOptions(opts []GroupedOption) groupedConfig {
	var c groupedConfig
	for _, o := range opts {
		o.applyGrouped(&c)
	}
	return c
}

// GroupByKey groups the stream by its current key.
func (s *Stream[K, V]) GroupByKey(opts ...GroupedOption) *GroupedStream[K, V] {
	c := groupedOptions(opts)
	return &GroupedStream[K, V]{s: s, name: c.name, serde: c.serdes}
}

// GroupBy groups the stream by a new key computed from each record; the aggregation
// repartitions by it. Named names the key selector node and the repartition topic.
func (s *Stream[K, V]) GroupBy[KR any](f func(K, V) KR, opts ...GroupedOption) *GroupedStream[KR, V] {
	c := groupedOptions(opts)
	name := addProcessor(s, s.b.nameOr(c.name, "KSTREAM-KEY-SELECT-"), selectKeySupplier(f))
	keyed := derive(s.b, name, sameSerde[K, KR](s.keySerde), s.valueSerde, true)
	return &GroupedStream[KR, V]{s: keyed, name: c.name, serde: c.serdes}
}

// Count counts records per key. Its table's store holds int64 counts.
func (g *GroupedStream[K, V]) Count(opts ...TableOption) *Table[K, int64] {
	cfg := tableOptions(opts)
	b := g.s.b
	if countBurnsName(cfg) {
		b.newName("KSTREAM-AGGREGATE-STATE-STORE-") // Kafka Streams burns a name here; keep in step
	}
	return aggregateStream(g, cfg, "KSTREAM-AGGREGATE-", serde.Int64(),
		func() int64 { return 0 }, func(_ K, _ V, n int64) int64 { return n + 1 })
}

// Reduce combines the records of each key with f, starting from the first record's value.
func (g *GroupedStream[K, V]) Reduce(f func(agg, v V) V, opts ...TableOption) *Table[K, V] {
	cfg := tableOptions(opts)
	return reduceStream(g, cfg, f)
}

// Aggregate folds the records of each key into an aggregate, starting from init(). The
// aggregate's serde comes from WithSerdes (or is the stock serde of VA).
func (g *GroupedStream[K, V]) Aggregate[VA any](init func() VA, f func(key K, v V, agg VA) VA, opts ...TableOption) *Table[K, VA] {
	cfg := tableOptions(opts)
	var vs serde.Serde[VA]
	if o, ok := cfg.serdes.(SerdesOption[K, VA]); ok {
		vs = o.value
	}
	return aggregateStream(g, cfg, "KSTREAM-AGGREGATE-", vs, init, f)
}

// countBurnsName tells whether Kafka Streams takes a store name it never uses for this count
// (kept for topology compatibility): count(Materialized) with no store name does, count() and
// count(Named) do not (TopologyTest's ...ZeroArgCount... and ...AnonymousMaterializedCount...
// cases). WithSerdes is rill's Materialized.with.
func countBurnsName(cfg tableConfig) bool {
	if cfg.materialized != nil {
		return cfg.materialized.name == ""
	}
	return cfg.serdes != nil
}

func reduceStream[K, V any](g *GroupedStream[K, V], cfg tableConfig, f func(V, V) V) *Table[K, V] {
	vs := g.s.valueSerde
	if o, ok := cfg.serdes.(SerdesOption[K, V]); ok && o.value != nil {
		vs = o.value
	}
	return groupAggregate(g, cfg, "KSTREAM-REDUCE-", vs, func(st *upsertState) processor.Supplier[K, V, K, change[V]] {
		return func() processor.Processor[K, V, K, change[V]] {
			return &streamReduceOp[K, V]{st: st, reduce: f, nulls: nullsOf[K, V]()}
		}
	})
}

func aggregateStream[K, V, VA any](g *GroupedStream[K, V], cfg tableConfig, prefix string, vs serde.Serde[VA],
	init func() VA, f func(K, V, VA) VA) *Table[K, VA] {
	return groupAggregate(g, cfg, prefix, vs, func(st *upsertState) processor.Supplier[K, V, K, change[VA]] {
		return func() processor.Processor[K, V, K, change[VA]] {
			return &streamAggOp[K, V, VA]{st: st, init: init, agg: f, nulls: nullsOf[K, V]()}
		}
	})
}

// groupAggregate adds an aggregation of a grouped stream, with Kafka Streams' naming: the store
// name, then the processor name, then (if the key changed upstream) the repartition through
// "<grouped name or store name>-repartition".
func groupAggregate[K, V, VA any](g *GroupedStream[K, V], cfg tableConfig, prefix string, vs serde.Serde[VA],
	sup func(*upsertState) processor.Supplier[K, V, K, change[VA]]) *Table[K, VA] {
	b := g.s.b
	in := aggregationInput[K, V, VA](g, cfg, prefix)
	t := &Table[K, VA]{b: b, node: in.name, keySerde: in.ks, valueSerde: vs, queryable: in.queryable}
	if !in.ok {
		return t
	}
	st := &upsertState{store: in.storeName}
	b.check(b.topo.AddProcessor(in.name, sup(st), in.parent))
	if t.materialize(in.storeName, cfg) {
		t.sendOld = func() { st.sendOld = true }
	}
	return t
}

// aggInput is where an aggregation of a grouped stream reads from and what it is called.
type aggInput[K any] struct {
	storeName string
	queryable bool   // the store was named with Materialized
	name      string // the aggregation's processor
	parent    string // the grouped stream's node, or the repartition topic's source
	ks        serde.Serde[K]
	ok        bool // false when a wiring error was recorded
}

// aggregationInput names an aggregation of g (store, then processor, as Kafka Streams'
// GroupedStreamAggregateBuilder) and, when the key changed upstream, routes g through a
// repartition topic first: shared by windowed and unwindowed aggregations. VA is the
// aggregate type, for WithSerdes[K, VA] among the options.
func aggregationInput[K, V, VA any](g *GroupedStream[K, V], cfg tableConfig, prefix string) aggInput[K] {
	s, b := g.s, g.s.b
	in := aggInput[K]{ok: true}
	in.storeName, in.queryable = b.storeName(cfg, prefix)
	in.name = b.nameOr(cfg.name, prefix)
	in.ks = s.keySerde
	if o, ok := cfg.serdes.(SerdesOption[K, VA]); ok && o.key != nil {
		in.ks = o.key
	}
	in.parent = s.node
	switch {
	case s.repartitionRequired && g.repartitioned != "":
		in.parent, in.ks = g.repartitioned, g.rks
	case s.repartitionRequired:
		rks, rvs, err := resolveSerdes(in.name, g.serde, in.ks, s.valueSerde)
		if !b.check(err) {
			in.ok = false
			return in
		}
		prefix := g.name
		if prefix == "" {
			prefix = in.storeName
		}
		in.parent = repartitionThrough(s, prefix, 0, rks, rvs, passThroughSupplier[K, V]())
		in.ks = rks
		if g.name != "" {
			g.repartitioned, g.rks = in.parent, rks
		}
	}
	return in
}

// streamAggOp is KSTREAM-AGGREGATE: it folds each record into its key's row and forwards the
// new aggregate (and the old one when asked). The row's timestamp is the largest of its
// records', as in Kafka Streams.
type streamAggOp[K, V, VA any] struct {
	derivedTableOp[K, VA]
	init  func() VA
	agg   func(K, V, VA) VA
	nulls nulls
}

// nulls says whether keys and values of a record type can be nil (Kafka nulls).
type nulls struct{ key, value bool }

func nullsOf[K, V any]() nulls { return nulls{key: nullable.Can[K](), value: nullable.Can[V]()} }

// skipNull drops a record with a nil key or value, as Kafka Streams' KStreamAggregate and
// KStreamReduce do ("Skipping record due to null key or value"), counted and logged.
func skipNull[K, V, KO, VO any](ctx processor.Context[KO, VO], n nulls, r *processor.Record[K, V], op string) bool {
	if nullable.IsNil(&r.Key, n.key) || nullable.IsNil(&r.Value, n.value) {
		ctx.RecordDropped(op + ": null key or value")
		return true
	}
	return false
}

func (p *streamAggOp[K, V, VA]) Process(r processor.Record[K, V]) error {
	if skipNull(p.ctx, p.nulls, &r, "aggregation") {
		return nil
	}
	old, had, err := p.get(r.Key)
	if err != nil {
		return err
	}
	agg := old.Value
	if !had {
		agg = p.init()
	}
	return p.emit(aggregated(r, p.agg(r.Key, r.Value, agg), old, had))
}

// streamReduceOp is KSTREAM-REDUCE: the first value of a key is its aggregate; later ones are
// folded in with reduce.
type streamReduceOp[K, V any] struct {
	derivedTableOp[K, V]
	reduce func(V, V) V
	nulls  nulls
}

func (p *streamReduceOp[K, V]) Process(r processor.Record[K, V]) error {
	if skipNull(p.ctx, p.nulls, &r, "reduce") {
		return nil
	}
	old, had, err := p.get(r.Key)
	if err != nil {
		return err
	}
	next := r.Value
	if had {
		next = p.reduce(old.Value, r.Value)
	}
	return p.emit(aggregated(r, next, old, had))
}

// aggregated is the change an aggregation forwards for record r: the new aggregate, the old one
// if there was one, stamped with the later of the record's and the old row's timestamps.
func aggregated[K, V, VA any](r processor.Record[K, V], next VA, old state.ValueAndTimestamp[VA], had bool) processor.Record[K, change[VA]] {
	ts := r.Timestamp
	if had && old.Timestamp > ts {
		ts = old.Timestamp
	}
	return processor.Record[K, change[VA]]{Key: r.Key, Timestamp: ts, Headers: r.Headers,
		Value: change[VA]{New: next, HasNew: true, Old: old.Value, HasOld: had}}
}

// GroupedTable is a table regrouped by a new key, ready for an aggregation that keeps up with
// updates (Kafka Streams' KGroupedTable): each update subtracts the row's old value from its
// old group and adds the new value to its new group.
type GroupedTable[K, V any] struct {
	b      *Builder
	node   string
	ks     serde.Serde[K]
	vs     serde.Serde[V]
	name   string
	serdes any
	// selectKeys is the group key serde KTABLE-SELECT compares groups with, resolved by the
	// aggregation.
	selectKeys *serde.Serde[K]
}

// GroupBy regroups the table's rows by f's key and value. Aggregations of the result go
// through a repartition topic. As in Kafka Streams (KIP-904), an update whose old and new
// value fall in the same group travels as one change, so the aggregate subtracts and adds in
// one step and emits once; a row f maps to a null key or value is in no group.
func (t *Table[K, V]) GroupBy[KR, VR any](f func(K, V) (KR, VR), opts ...GroupedOption) *GroupedTable[KR, VR] {
	c := groupedOptions(opts)
	b := t.b
	name := b.nameOr(c.name, "KTABLE-SELECT-")
	if t.sendOld != nil {
		t.sendOld() // the old row must be subtracted from its old group
	}
	keys := new(serde.Serde[KR]) // set by the aggregation, which resolves the repartition serdes
	b.check(b.topo.AddProcessor(name, func() processor.Processor[K, change[V], KR, change[VR]] {
		return &tableSelectOp[K, V, KR, VR]{f: f, keys: *keys, keyNil: nullable.Can[KR](), valueNil: nullable.Can[VR]()}
	}, t.node))
	return &GroupedTable[KR, VR]{b: b, node: name, name: c.name, serdes: c.serdes,
		ks: sameSerde[K, KR](t.keySerde), vs: sameSerde[V, VR](t.valueSerde), selectKeys: keys}
}

// tableSelectOp is KTABLE-SELECT (Kafka Streams' KTableRepartitionMap): it sends a row's old
// value (to subtract) and new value (to add) to the groups f assigns them: as one change when
// both groups are the same (their keys serialize alike), else the old one first. A value f
// maps to a null key or value is not sent; it is counted as dropped.
type tableSelectOp[K, V, KR, VR any] struct {
	ctx              processor.Context[KR, change[VR]]
	f                func(K, V) (KR, VR)
	keys             serde.Serde[KR]
	keyNil, valueNil bool
}

func (p *tableSelectOp[K, V, KR, VR]) Init(ctx processor.Context[KR, change[VR]]) error {
	p.ctx = ctx
	return nil
}

// selected applies f to one side of a change; ok is false when that side is absent or f gives
// a null key or value.
func (p *tableSelectOp[K, V, KR, VR]) selected(k K, v V, has bool) (kr KR, vr VR, ok bool) {
	if !has {
		return kr, vr, false
	}
	kr, vr = p.f(k, v)
	if nullable.IsNil(&kr, p.keyNil) || nullable.IsNil(&vr, p.valueNil) {
		p.ctx.RecordDropped("table groupBy: null group key or value")
		return kr, vr, false
	}
	return kr, vr, true
}

func (p *tableSelectOp[K, V, KR, VR]) Process(r processor.Record[K, change[V]]) error {
	if r.Value.NotLatest {
		// An aggregation of a versioned table counts each key's latest version only
		// (Kafka Streams' KTableRepartitionMap with versioned semantics, KIP-914).
		return nil
	}
	ok, ov, hasOld := p.selected(r.Key, r.Value.Old, r.Value.HasOld)
	nk, nv, hasNew := p.selected(r.Key, r.Value.New, r.Value.HasNew)
	if hasOld && hasNew {
		same, err := p.sameGroup(ok, nk)
		if err != nil {
			return err
		}
		if same {
			return p.ctx.Forward(processor.Record[KR, change[VR]]{Key: nk,
				Value:     change[VR]{New: nv, HasNew: true, Old: ov, HasOld: true},
				Timestamp: r.Timestamp, Headers: r.Headers})
		}
	}
	if hasOld {
		if err := p.ctx.Forward(processor.Record[KR, change[VR]]{Key: ok, Value: change[VR]{Old: ov, HasOld: true},
			Timestamp: r.Timestamp, Headers: r.Headers}); err != nil {
			return err
		}
	}
	if hasNew {
		return p.ctx.Forward(processor.Record[KR, change[VR]]{Key: nk, Value: change[VR]{New: nv, HasNew: true},
			Timestamp: r.Timestamp, Headers: r.Headers})
	}
	return nil
}

// sameGroup tells whether two group keys are equal, as the repartition topic sees them: their
// serialized bytes are equal (Kafka Streams uses equals; KR need not be comparable in Go).
func (p *tableSelectOp[K, V, KR, VR]) sameGroup(a, b KR) (bool, error) {
	if p.keys == nil {
		return false, nil
	}
	ab, err := p.keys.Serialize("", a)
	if err != nil {
		return false, err
	}
	bb, err := p.keys.Serialize("", b)
	if err != nil {
		return false, err
	}
	return bytes.Equal(ab, bb), nil
}

func (p *tableSelectOp[K, V, KR, VR]) Close() error { return nil }

// Count counts the rows per group.
func (g *GroupedTable[K, V]) Count(opts ...TableOption) *Table[K, int64] {
	return aggregateTable(g, tableOptions(opts), "KTABLE-AGGREGATE-", serde.Int64(),
		func() int64 { return 0 },
		func(_ K, _ V, n int64) int64 { return n + 1 },
		func(_ K, _ V, n int64) int64 { return n - 1 })
}

// Reduce keeps a per-group value: adder folds a new row value in, subtractor takes an old row
// value out.
func (g *GroupedTable[K, V]) Reduce(adder, subtractor func(agg, v V) V, opts ...TableOption) *Table[K, V] {
	cfg := tableOptions(opts)
	vs := g.vs
	if o, ok := cfg.serdes.(SerdesOption[K, V]); ok && o.value != nil {
		vs = o.value
	}
	return groupTableAggregate(g, cfg, "KTABLE-REDUCE-", vs, func(st *upsertState) processor.Supplier[K, change[V], K, change[V]] {
		return func() processor.Processor[K, change[V], K, change[V]] {
			return &tableReduceOp[K, V]{st: st, add: adder, sub: subtractor}
		}
	})
}

// Aggregate keeps a per-group aggregate from init(), with adder for new row values and
// subtractor for old ones.
func (g *GroupedTable[K, V]) Aggregate[VA any](init func() VA, adder, subtractor func(key K, v V, agg VA) VA, opts ...TableOption) *Table[K, VA] {
	cfg := tableOptions(opts)
	var vs serde.Serde[VA]
	if o, ok := cfg.serdes.(SerdesOption[K, VA]); ok {
		vs = o.value
	}
	return aggregateTable(g, cfg, "KTABLE-AGGREGATE-", vs, init, adder, subtractor)
}

func aggregateTable[K, V, VA any](g *GroupedTable[K, V], cfg tableConfig, prefix string, vs serde.Serde[VA],
	init func() VA, adder, subtractor func(K, V, VA) VA) *Table[K, VA] {
	return groupTableAggregate(g, cfg, prefix, vs, func(st *upsertState) processor.Supplier[K, change[V], K, change[VA]] {
		return func() processor.Processor[K, change[V], K, change[VA]] {
			return &tableAggOp[K, V, VA]{st: st, init: init, add: adder, sub: subtractor}
		}
	})
}

// groupTableAggregate adds a grouped table's aggregation: store name, repartition sink and
// source, then the processor (Kafka Streams' KGroupedTableImpl order).
func groupTableAggregate[K, V, VA any](g *GroupedTable[K, V], cfg tableConfig, prefix string, vs serde.Serde[VA],
	sup func(*upsertState) processor.Supplier[K, change[V], K, change[VA]]) *Table[K, VA] {
	b := g.b
	storeName, queryable := b.storeName(cfg, "KTABLE-AGGREGATE-")
	sinkName := b.nameOr(suffixed(cfg.name, "-sink"), "KSTREAM-SINK-")
	sourceName := b.nameOr(suffixed(cfg.name, "-source"), "KSTREAM-SOURCE-")
	name := b.nameOr(cfg.name, prefix)
	topicPrefix := g.name
	if topicPrefix == "" {
		topicPrefix = storeName
	}
	topic := topicPrefix + "-repartition"
	t := &Table[K, VA]{b: b, node: name, valueSerde: vs, queryable: queryable}
	ks, rvs, err := resolveSerdes(sinkName, g.serdes, g.ks, g.vs)
	if !b.check(err) {
		return t
	}
	t.keySerde = ks
	if g.selectKeys != nil {
		*g.selectKeys = ks
	}
	cs := changeSerde[V]{rvs}
	b.check(b.topo.AddInternalTopic(topologyInternal(topic)))
	b.check(b.topo.AddSink(sinkName, topic, ks, cs, g.node))
	b.check(b.topo.AddSource(sourceName, ks, cs, topic))
	st := &upsertState{store: storeName}
	b.check(b.topo.AddProcessor(name, sup(st), sourceName))
	if t.materialize(storeName, cfg) {
		t.sendOld = func() { st.sendOld = true }
	}
	return t
}

// tableAggOp is KTABLE-AGGREGATE (Kafka Streams' KTableAggregate): subtract the old value
// from an existing aggregate, add the new one (to init() for a new group). A group without an
// aggregate that is only subtracted from stays without one: a delete is forwarded.
type tableAggOp[K, V, VA any] struct {
	derivedTableOp[K, VA]
	init     func() VA
	add, sub func(K, V, VA) VA
}

func (p *tableAggOp[K, V, VA]) Process(r processor.Record[K, change[V]]) error {
	old, had, err := p.get(r.Key)
	if err != nil {
		return err
	}
	agg := old.Value
	if r.Value.HasOld && had {
		agg = p.sub(r.Key, r.Value.Old, agg)
	}
	if r.Value.HasNew {
		if !had {
			agg = p.init()
		}
		agg = p.add(r.Key, r.Value.New, agg)
	}
	return p.emit(aggregatedChange(r, agg, had || r.Value.HasNew, old, had))
}

// tableReduceOp is KTABLE-REDUCE (Kafka Streams' KTableReduce): subtract from an existing
// aggregate; the first value of a group is its aggregate; a group never given a value has none.
type tableReduceOp[K, V any] struct {
	derivedTableOp[K, V]
	add, sub func(V, V) V
}

func (p *tableReduceOp[K, V]) Process(r processor.Record[K, change[V]]) error {
	old, had, err := p.get(r.Key)
	if err != nil {
		return err
	}
	agg, has := old.Value, had
	if r.Value.HasOld && has {
		agg = p.sub(agg, r.Value.Old)
	}
	if r.Value.HasNew {
		if has {
			agg = p.add(agg, r.Value.New)
		} else {
			agg, has = r.Value.New, true
		}
	}
	return p.emit(aggregatedChange(r, agg, has, old, had))
}

func aggregatedChange[K, V, VA any](r processor.Record[K, change[V]], next VA, has bool, old state.ValueAndTimestamp[VA], had bool) processor.Record[K, change[VA]] {
	ts := r.Timestamp
	if had && old.Timestamp > ts {
		ts = old.Timestamp
	}
	return processor.Record[K, change[VA]]{Key: r.Key, Timestamp: ts, Headers: r.Headers,
		Value: change[VA]{New: next, HasNew: has, Old: old.Value, HasOld: had}}
}
