package dsl

import (
	"fmt"

	"github.com/rillstreams/rill/processor"
	"github.com/rillstreams/rill/serde"
	"github.com/rillstreams/rill/state"
)

// CogroupedStream is several grouped streams folded into one aggregate per key, each with its
// own aggregator (Kafka Streams' CogroupedKStream, KIP-150): one store and one output table
// instead of an aggregation per stream and joins between them. Make one with
// GroupedStream.Cogroup, add streams with Cogroup, finish with Aggregate.
//
//	// Per customer: items bought and money refunded, from two streams, in one table.
//	totals := dsl.Cogroup(purchases.GroupByKey(), func(_ string, p Purchase, t Totals) Totals { t.Items += p.Items; return t }).
//		Cogroup(refunds.GroupByKey(), func(_ string, r Refund, t Totals) Totals { t.Refunded += r.Amount; return t }).
//		Aggregate(func() Totals { return Totals{} }, dsl.WithSerdes(serde.String(), serde.JSON[Totals]()))
//
// The grouped streams' keys must be co-partitioned: streams whose key changed upstream go
// through a repartition topic each ("<grouped name or store name>-<n>-repartition", n the
// stream's position, from 0). CogroupWindowedBy and CogroupSessionWindowedBy window them.
type CogroupedStream[K, VA any] struct {
	b      *Builder
	ks     serde.Serde[K] // the first stream's key serde, the table's by default
	inputs []func(in cogroupTarget) (string, bool)
}

// cogroupTarget is what each cogrouped stream's aggregator is wired to.
type cogroupTarget struct {
	st        *upsertState
	storeName string
	index     int
	init      any // func() VA
	// windowed, for a windowed cogroup, is the windows and store the aggregators share (a
	// *windowedCogroupTarget[K, VA]); nil otherwise.
	windowed any
}

// Cogroup starts a cogroup with g, folded with agg (the first of CogroupedStream's streams). It
// is a package function because its aggregate type is new.
func Cogroup[K, V, VA any](g *GroupedStream[K, V], agg func(key K, v V, aggregate VA) VA) *CogroupedStream[K, VA] {
	c := &CogroupedStream[K, VA]{b: g.s.b, ks: g.s.keySerde}
	return c.Cogroup(g, agg)
}

// Cogroup adds g, folded into the same aggregate with agg.
func (c *CogroupedStream[K, VA]) Cogroup[V any](g *GroupedStream[K, V], agg func(key K, v V, aggregate VA) VA) *CogroupedStream[K, VA] {
	c.inputs = append(c.inputs, func(in cogroupTarget) (string, bool) {
		s, b := g.s, c.b
		parent := s.node
		if s.repartitionRequired {
			ks, vs, err := resolveSerdes(in.storeName, g.serde, s.keySerde, s.valueSerde)
			if !b.check(err) {
				return "", false
			}
			prefix := g.name
			if prefix == "" {
				prefix = in.storeName
			}
			parent = repartitionThrough(s, fmt.Sprintf("%s-%d", prefix, in.index), 0, ks, vs, passThroughSupplier[K, V]())
		}
		name := b.newName("COGROUPKSTREAM-AGGREGATE-")
		init := in.init.(func() VA)
		if in.windowed != nil {
			addWindowedCogroupAggregator(b, name, parent, in.windowed, fold[K, V, VA]{init: init, add: agg})
			return name, true
		}
		n := nullsOf[K, V]()
		b.check(b.topo.AddProcessor(name, func() processor.Processor[K, V, K, change[VA]] {
			return &streamAggOp[K, V, VA]{derivedTableOp: derivedTableOp[K, VA]{st: in.st}, init: init, agg: agg, nulls: n}
		}, parent))
		return name, true
	})
	return c
}

// Aggregate folds the cogrouped streams' records into one aggregate per key, starting from
// init(): each record with its own stream's aggregator. The table's store holds the
// aggregates (Materialized names it; WithSerdes gives its serdes, else the stock serde of VA).
// Named names the node that merges the streams' updates.
func (c *CogroupedStream[K, VA]) Aggregate(init func() VA, opts ...TableOption) *Table[K, VA] {
	b := c.b
	cfg := tableOptions(opts)
	storeName, queryable := b.storeName(cfg, "COGROUPKSTREAM-AGGREGATE-")
	st := &upsertState{store: storeName}
	var aggs []string
	for i, wire := range c.inputs {
		name, ok := wire(cogroupTarget{st: st, storeName: storeName, index: i, init: init})
		if !ok {
			return &Table[K, VA]{b: b}
		}
		aggs = append(aggs, name)
	}
	merge := b.nameOr(cfg.name, "COGROUPKSTREAM-MERGE-")
	b.check(b.topo.AddProcessor(merge, passThroughSupplier[K, change[VA]](), aggs...))
	t := &Table[K, VA]{b: b, node: merge, queryable: queryable, keySerde: c.ks}
	ks, vs, err := resolveSerdes(merge, cfg.serdes, t.keySerde, t.valueSerde)
	if !b.check(err) {
		return t
	}
	t.keySerde, t.valueSerde = ks, vs
	backend, logging := cfg.storeOptions()
	var sb state.StoreBuilder = state.NewTimestampedKeyValueStoreBuilder(storeName, ks, vs).WithLogging(logging).
		WithBackend(backend).WithCaching(cfg.caching())
	if m := cfg.materialized; m != nil && m.versioned {
		// Kafka Streams' CogroupedStreamAggregateBuilder accepts a versioned store too; the
		// aggregators put into it as every aggregation does (derivedTableOp.emitVersioned).
		if !b.check(cfg.versionedNeedsName(merge)) {
			return t
		}
		if m.historyRetention < 0 {
			b.check(fmt.Errorf("%w: %s: history retention %v", state.ErrHistoryRetention, storeName, m.historyRetention))
			return t
		}
		sb = state.NewVersionedKeyValueStoreBuilder(storeName, ks, vs, m.historyRetention).WithLogging(logging).
			WithBackend(backend)
		t.versioned, t.historyRetention, t.storeVersioned = true, m.historyRetention, true
	}
	// The aggregators share the store; the merge node forwards what any of them emits.
	if b.check(b.topo.AddStore(sb, aggs...)) {
		t.store = storeName
	}
	t.sendOld = func() { st.sendOld = true }
	return t
}
