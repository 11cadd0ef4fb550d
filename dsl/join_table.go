package dsl

import (
	"fmt"

	"github.com/rillstreams/rill/joins"
)

// JoinTable joins each record of the stream with the row of table t under the same key, when
// the record arrives (Kafka Streams' KStream.join(KTable)): a record whose key has no row
// gives nothing, and table updates give nothing either, they only change what later records
// see. Results have the record's key, timestamp and headers.
//
// The table is read through its store (a source table is materialized for it) or, for a
// filtered or mapped table without a store, through its parent's. The stream and the table
// must be co-partitioned: a stream whose key changed upstream is repartitioned first
// (through "<name>-repartition" when Named, else a topic named after its node, with
// WithJoinSerdes's serdes), and the input topics form a co-partition group the runtime
// checks. Records with a nil key or value are dropped and counted.
func (s *Stream[K, V]) JoinTable[VT, VR any](t *Table[K, VT], joiner func(K, V, VT) VR, opts ...StreamTableJoinOption) *Stream[K, VR] {
	return streamTableJoin(s, t, false, func(k K, v V, vt VT, _ bool) VR { return joiner(k, v, vt) }, opts)
}

// LeftJoinTable is JoinTable that also gives records without a row a result,
// joiner(k, v, zero, false).
func (s *Stream[K, V]) LeftJoinTable[VT, VR any](t *Table[K, VT], joiner func(k K, v V, vt VT, found bool) VR, opts ...StreamTableJoinOption) *Stream[K, VR] {
	return streamTableJoin(s, t, true, joiner, opts)
}

func streamTableJoin[K, V, VT, VR any](s *Stream[K, V], t *Table[K, VT], left bool, joiner func(K, V, VT, bool) VR, opts []StreamTableJoinOption) *Stream[K, VR] {
	b := s.b
	cfg := streamTableJoinOptions(opts)
	prefix := "KSTREAM-JOIN-"
	if left {
		prefix = "KSTREAM-LEFTJOIN-"
	}
	if t == nil || t.b != b {
		b.errs = append(b.errs, fmt.Errorf("rill: join of %s: the table is nil or comes from another builder", s.node))
		return derive[K, VR](b, b.nameOr(cfg.name, prefix), s.keySerde, nil, false)
	}
	parent, ks := s.node, s.keySerde
	if s.repartitionRequired {
		var err error
		var vs = s.valueSerde
		if ks == nil {
			ks = t.keySerde
		}
		ks, vs, _, err = joinSerdes(s.node, cfg.serdes, ks, vs, t.valueSerde)
		if b.check(err) {
			parent = repartitionForJoin(s, joinRepartitionName(cfg.name, "", s.node), ks, vs)
		}
	}
	copartition(b, parent, t.node)
	name := b.nameOr(cfg.name, prefix)
	getter, err := t.valueGetter()
	if err != nil {
		b.errs = append(b.errs, fmt.Errorf("rill: join %s: %w", name, err))
		return derive[K, VR](b, name, ks, nil, false)
	}
	l := &joins.Lookup[K, V, K, VT, VR]{Table: getter, KeyOf: func(k K, _ V) K { return k }, Joiner: joiner, Left: left}
	if cfg.grace != nil {
		if !t.versioned || getter.OpenAsOf == nil {
			b.errs = append(b.errs, fmt.Errorf("%w: join %s: a grace period needs a versioned table (dsl.Materialized(name).WithVersioned)", ErrVersionedUnsupported, name))
			return derive[K, VR](b, name, ks, nil, false)
		}
		if *cfg.grace < 0 {
			b.errs = append(b.errs, fmt.Errorf("rill: join %s: negative grace period %v", name, *cfg.grace))
			return derive[K, VR](b, name, ks, nil, false)
		}
		if *cfg.grace > t.historyRetention {
			// Kafka Streams: "History retention must be at least grace period." Buffered
			// records older than the history could not be joined as of their time.
			b.errs = append(b.errs, fmt.Errorf("rill: join %s: grace period %v exceeds the table's history retention %v",
				name, *cfg.grace, t.historyRetention))
			return derive[K, VR](b, name, ks, nil, false)
		}
		bks, bvs, _, err := joinSerdes(name, cfg.serdes, ks, s.valueSerde, t.valueSerde)
		if !b.check(err) {
			return derive[K, VR](b, name, ks, nil, false)
		}
		l.Buffer, l.Grace, l.KeySerde, l.ValueSerde = name+"-Buffer", cfg.grace.Milliseconds(), bks, bvs
	}
	if b.check(b.topo.AddProcessor(name, l.Supplier(), parent)) {
		for _, st := range getter.Stores {
			b.check(b.topo.ConnectStore(st, name))
		}
		if l.Buffer != "" {
			b.check(b.topo.AddStore(joins.BufferStore(l.Buffer), name))
		}
	}
	return derive[K, VR](b, name, ks, nil, false)
}

// JoinGlobal joins each record of the stream with the row of global table g under the key
// keyOf computes from the record (Kafka Streams' KStream.join(GlobalKTable)): no
// co-partitioning is needed, as every instance holds all of g, and no repartition either.
// A record whose key maps to no row gives nothing; table updates give nothing. Results have
// the record's key, timestamp and headers. Records with a nil value or mapped key are dropped
// and counted.
func (s *Stream[K, V]) JoinGlobal[KG, VG, VR any](g *GlobalTable[KG, VG], keyOf func(K, V) KG, joiner func(K, V, VG) VR, opts ...Option) *Stream[K, VR] {
	return globalJoin(s, g, keyOf, false, func(k K, v V, vg VG, _ bool) VR { return joiner(k, v, vg) }, opts)
}

// LeftJoinGlobal is JoinGlobal that also gives records without a row (or with a nil mapped
// key) a result, joiner(k, v, zero, false).
func (s *Stream[K, V]) LeftJoinGlobal[KG, VG, VR any](g *GlobalTable[KG, VG], keyOf func(K, V) KG, joiner func(k K, v V, vg VG, found bool) VR, opts ...Option) *Stream[K, VR] {
	return globalJoin(s, g, keyOf, true, joiner, opts)
}

func globalJoin[K, V, KG, VG, VR any](s *Stream[K, V], g *GlobalTable[KG, VG], keyOf func(K, V) KG, left bool,
	joiner func(K, V, VG, bool) VR, opts []Option) *Stream[K, VR] {
	b := s.b
	// Kafka Streams names inner and left global joins alike, KSTREAM-LEFTJOIN-.
	name := b.nameOr(nameOf(opts), "KSTREAM-LEFTJOIN-")
	if g == nil || g.store == "" {
		b.errs = append(b.errs, fmt.Errorf("rill: join %s: the global table is nil or was not built", name))
		return derive[K, VR](b, name, s.keySerde, nil, s.repartitionRequired)
	}
	// The global store is not connected: every processor may read global stores, and a
	// connection would tie the stream's sub-topology to the global one.
	l := &joins.Lookup[K, V, KG, VG, VR]{Table: joins.StoreGetter[KG, VG](g.store), KeyOf: keyOf, Joiner: joiner, Left: left}
	b.check(b.topo.AddProcessor(name, l.Supplier(), s.node))
	return derive[K, VR](b, name, s.keySerde, nil, s.repartitionRequired)
}
