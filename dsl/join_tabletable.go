package dsl

import (
	"fmt"

	"github.com/rillstreams/rill/internal/nullable"
	"github.com/rillstreams/rill/internal/tablejoin"
	"github.com/rillstreams/rill/joins"
	"github.com/rillstreams/rill/processor"
	"github.com/rillstreams/rill/serde"
	"github.com/rillstreams/rill/state"
)

// Join joins the table with other on their keys (Kafka Streams' KTable.join): the result is
// a table with a row, joiner's value, wherever both tables have one. A change of either
// table's row recomputes the key's joined row and emits it; a row deleted from either table
// deletes the joined row (a delete is emitted even when the key had no joined row, as Kafka
// Streams does). Rows carry the larger of the two rows' timestamps.
//
// Both tables are read through their stores (source tables are materialized for the join)
// and must be co-partitioned: their input topics form a co-partition group the runtime
// checks. Named names the join's nodes; Materialized keeps the result in a store of its own
// (else it has none, and joins downstream read both inputs); WithSerdes gives the result's
// serdes.
func (t *Table[K, V]) Join[VO, VR any](other *Table[K, VO], joiner func(K, V, VO) VR, opts ...TableOption) *Table[K, VR] {
	return tableJoin(t, other, tablejoin.Inner, func(k K, v V, _ bool, vo VO, _ bool) VR { return joiner(k, v, vo) }, opts)
}

// LeftJoin is Join with a row wherever this table has one: joiner(k, v, zero, false) when
// other has none. A change of other's row only matters where this table has the key.
func (t *Table[K, V]) LeftJoin[VO, VR any](other *Table[K, VO], joiner func(k K, v V, vo VO, found bool) VR, opts ...TableOption) *Table[K, VR] {
	return tableJoin(t, other, tablejoin.Left, func(k K, v V, _ bool, vo VO, hasVO bool) VR { return joiner(k, v, vo, hasVO) }, opts)
}

// OuterJoin is Join with a row wherever either table has one; the side without a row is
// passed as its zero value with false.
func (t *Table[K, V]) OuterJoin[VO, VR any](other *Table[K, VO], joiner func(k K, v V, hasV bool, vo VO, hasVO bool) VR, opts ...TableOption) *Table[K, VR] {
	return tableJoin(t, other, tablejoin.Outer, joiner, opts)
}

// tableJoin adds a table-table join with Kafka Streams' names (KTableImpl.doJoin): the merge
// node (the result), then this side's and the other side's join processors, each looking up
// the other table.
func tableJoin[K, V, VO, VR any](t *Table[K, V], other *Table[K, VO], kind tablejoin.Kind, joiner func(K, V, bool, VO, bool) VR, opts []TableOption) *Table[K, VR] {
	cfg := tableOptions(opts)
	b := t.b
	merge := b.nameOr(cfg.name, "KTABLE-MERGE-")
	vs := serde.Serde[VR](nil)
	if o, ok := cfg.serdes.(SerdesOption[K, VR]); ok && o.value != nil {
		vs = o.value
	}
	out := &Table[K, VR]{b: b, node: merge, keySerde: t.keySerde, valueSerde: vs}
	if other == nil || other.b != b {
		b.errs = append(b.errs, fmt.Errorf("rill: join %s: the other table is nil or comes from another builder", merge))
		return out
	}
	copartition(b, t.node, other.node)
	// A left side's deletes must know the old row to tell whether a result existed (Kafka
	// Streams enables old values on the outer sides).
	if kind >= tablejoin.Left && t.sendOld != nil {
		t.sendOld()
	}
	if kind == tablejoin.Outer && other.sendOld != nil {
		other.sendOld()
	}
	joinThis := b.nameOr(suffixed(cfg.name, "-join-this"), "KTABLE-JOINTHIS-")
	joinOther := b.nameOr(suffixed(cfg.name, "-join-other"), "KTABLE-JOINOTHER-")
	thisGetter, err1 := t.valueGetter()
	otherGetter, err2 := other.valueGetter()
	if err := errorsJoin(err1, err2); err != nil {
		b.errs = append(b.errs, fmt.Errorf("rill: join %s: %w", merge, err))
		return out
	}
	tj := tablejoin.TableJoin[K, V, VO, VR]{Kind: kind, Joiner: joiner}
	st := &upsertState{}
	b.check(b.topo.AddProcessor(joinThis, func() processor.Processor[K, change[V], K, change[VR]] {
		return &tableJoinOp[K, V, VO, VR]{st: st, get: otherGetter, changed: tj.LeftChanged, keyNil: nullable.Can[K]()}
	}, t.node))
	b.check(b.topo.AddProcessor(joinOther, func() processor.Processor[K, change[VO], K, change[VR]] {
		return &tableJoinOp[K, VO, V, VR]{st: st, get: thisGetter, changed: tj.RightChanged, keyNil: nullable.Can[K]()}
	}, other.node))
	b.check(b.topo.AddProcessor(merge, func() processor.Processor[K, change[VR], K, change[VR]] {
		return &tableJoinMergeOp[K, VR]{derivedTableOp[K, VR]{st: st}}
	}, joinThis, joinOther))
	for _, s := range otherGetter.Stores {
		b.check(b.topo.ConnectStore(s, joinThis))
	}
	for _, s := range thisGetter.Stores {
		b.check(b.topo.ConnectStore(s, joinOther))
	}
	if !b.check(cfg.versionedNeedsName(merge)) {
		return out
	}
	if cfg.materialized != nil && cfg.materialized.name != "" && out.materialize(cfg.materialized.name, cfg) {
		st.store = cfg.materialized.name
		out.queryable = true
	}
	out.sendOld = func() {
		st.sendOld = true
		for _, f := range []func(){t.sendOld, other.sendOld} {
			if f != nil {
				f() // old joined values are computed from both sides' old values
			}
		}
	}
	out.getter = func() (joins.GetterSupplier[K, VR], error) {
		if out.store != "" {
			return out.ownStoreGetter(), nil
		}
		return tablejoin.JoinedGetter(tj, thisGetter, otherGetter), nil
	}
	return out
}

func errorsJoin(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

// tableJoinOp is one side of a table-table join (KTABLE-JOINTHIS / KTABLE-JOINOTHER): it
// looks up the other table's row for each change of this side's and forwards the joined
// row's change. VT is this side's value type, VX the other's.
type tableJoinOp[K, VT, VX, VR any] struct {
	ctx     processor.Context[K, change[VR]]
	st      *upsertState
	get     joins.GetterSupplier[K, VX]
	lookup  joins.ValueGetter[K, VX]
	changed func(K, tablejoin.Change[VT], int64, state.ValueAndTimestamp[VX], bool, bool) (tablejoin.Change[VR], int64, bool)
	keyNil  bool
}

func (p *tableJoinOp[K, VT, VX, VR]) Init(ctx processor.Context[K, change[VR]]) (err error) {
	p.ctx = ctx
	p.lookup, err = p.get.Open(ctx)
	return err
}

func (p *tableJoinOp[K, VT, VX, VR]) Process(r processor.Record[K, change[VT]]) error {
	if nullable.IsNil(&r.Key, p.keyNil) {
		p.ctx.RecordDropped("table-table join: null key")
		return nil
	}
	if r.Value.NotLatest {
		// An out-of-order update of a versioned table does not change the joined rows
		// (Kafka Streams' KTableKTable*Join with versioned semantics, KIP-914).
		return nil
	}
	row, ok, err := p.lookup(r.Key)
	if err != nil {
		return err
	}
	out, ts, emit := p.changed(r.Key, r.Value, r.Timestamp, row, ok, p.st.sendOld)
	if !emit {
		return nil
	}
	return p.ctx.Forward(processor.Record[K, change[VR]]{Key: r.Key, Value: out, Timestamp: ts, Headers: r.Headers})
}

func (p *tableJoinOp[K, VT, VX, VR]) Close() error { return nil }

// tableJoinMergeOp is KTABLE-MERGE: both sides' results in one table, kept in the result's
// store when it has one (Kafka Streams' KTableKTableJoinMerger).
type tableJoinMergeOp[K, V any] struct{ derivedTableOp[K, V] }

func (p *tableJoinMergeOp[K, V]) Process(r processor.Record[K, change[V]]) error { return p.emit(r) }
