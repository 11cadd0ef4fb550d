package dsl

import (
	"fmt"
	"time"

	"github.com/rillstreams/rill/internal/nullable"
	"github.com/rillstreams/rill/joins"
	"github.com/rillstreams/rill/processor"
	"github.com/rillstreams/rill/serde"
	"github.com/rillstreams/rill/state"
)

// Table is a changelog stream read as a table (Kafka Streams' KTable): the latest value per
// key, updated record by record; a tombstone deletes the key. Operations on a table yield
// tables (Filter, MapValues, aggregations) or, with ToStream, the stream of its updates.
//
// A table keeps a state store when it must: when Materialized names one, when it is an
// aggregation, or when an operation downstream needs its previous values (GroupBy, joins). Its
// store then holds each row's value and timestamp, as Kafka Streams' timestamped stores.
type Table[K, V any] struct {
	b          *Builder
	node       string
	keySerde   serde.Serde[K]
	valueSerde serde.Serde[V]
	// store is the name of the store holding the table's rows ("" while there is none);
	// queryable says it was named with Materialized.
	store     string
	queryable bool
	// sendOld asks the node producing this table (and what it reads) to forward previous
	// values too; it may materialize a source table.
	sendOld func()
	// windows is set on windowed tables (keys are windows.Windowed) and the tables derived
	// from them with the same keys, for Suppress.
	windows *windowing
	// getter says how joins read the table's rows (join_getter.go); nil: from its store.
	getter func() (joins.GetterSupplier[K, V], error)
	// upsert: a source or ToTable table, which may be versioned. versioned: its store is a
	// versioned store (WithVersioned), or it is derived from such a table (as Kafka
	// Streams' versioned semantics are inherited downstream).
	upsert, versioned bool
	historyRetention  time.Duration // of a versioned table
	// storeVersioned: store is a versioned store (WithVersioned on this table).
	storeVersioned bool
}

// NodeName is the name of the node the table's updates come out of.
func (t *Table[K, V]) NodeName() string { return t.node }

// StoreName is the name of the store that materializes the table, or "" when it has none.
func (t *Table[K, V]) StoreName() string { return t.store }

// upsertState is shared between a table-producing processor and the DSL, which may ask for a
// store and for old values after the processor node was added; processors read it at Init,
// after Build, when it no longer changes.
type upsertState struct {
	store   string // connected store, "" when none
	sendOld bool
}

// Table reads topic as a table. Materialized names its store; otherwise a store name is
// generated ("<topic>-STATE-STORE-<counter>", as Kafka Streams) and the store is only kept if
// something downstream needs it.
func (b *Builder) Table[K, V any](topic string, keySerde serde.Serde[K], valueSerde serde.Serde[V], opts ...TableOption) *Table[K, V] {
	cfg := tableOptions(opts)
	cfg.tableSource = true
	storeName, queryable := b.storeName(cfg, topic+"-")
	sourceName, procName := b.nameOr(suffixed(cfg.name, "-source"), "KSTREAM-SOURCE-"), b.nameOr(cfg.name, "KTABLE-SOURCE-")
	ks, vs, ok := b.sourceSerdes(sourceName, keySerde, valueSerde)
	t := &Table[K, V]{b: b, node: procName, keySerde: ks, valueSerde: vs}
	if !ok {
		return t
	}
	st := &upsertState{}
	if b.check(b.topo.AddSource(sourceName, ks, maybeDeserializer[V]{vs}, topic)) {
		b.sourceOptions(sourceName, sourceConfig{reset: cfg.reset})
		addTableProcessor(b, procName, upsertSupplier[K](st, func(m maybe[V]) (V, bool) { return m.v, m.ok }), sourceName)
	}
	t.attachUpsert(st, storeName, queryable, cfg)
	return t
}

// ToTable reads the stream as a table's changelog: each record upserts its key, and a nil value
// (for pointer, slice, map or interface value types) deletes it. A key-changing operation
// upstream makes it go through a repartition topic first.
func (s *Stream[K, V]) ToTable(opts ...TableOption) *Table[K, V] {
	cfg := tableOptions(opts)
	b := s.b
	name := b.nameOr(cfg.name, "KSTREAM-TOTABLE-")
	storeName, queryable := b.storeName(cfg, "KSTREAM-TOTABLE-")
	t := &Table[K, V]{b: b, node: name, keySerde: s.keySerde, valueSerde: s.valueSerde}
	parent := s.node
	if s.repartitionRequired {
		ks, vs, err := resolveSerdes(name, cfg.serdes, s.keySerde, s.valueSerde)
		if !b.check(err) {
			return t
		}
		parent = repartitionThrough(s, name, 0, ks, vs, passThroughSupplier[K, V]())
		t.keySerde, t.valueSerde = ks, vs
	}
	st := &upsertState{}
	canBeNil := nullable.Can[V]()
	addTableProcessor(b, name, upsertSupplier[K](st, func(v V) (V, bool) { return v, !nullable.IsNil(&v, canBeNil) }), parent)
	t.attachUpsert(st, storeName, queryable, cfg)
	return t
}

// attachUpsert wires a source or ToTable processor's state: a store now when Materialized
// named one, later if old values are asked for.
func (t *Table[K, V]) attachUpsert(st *upsertState, storeName string, queryable bool, cfg tableConfig) {
	t.upsert = true
	if !t.b.check(cfg.versionedNeedsName(t.node)) {
		return
	}
	materialize := func() {
		if st.store != "" {
			return
		}
		if t.materialize(storeName, cfg) {
			st.store = storeName
		}
	}
	if queryable {
		materialize()
		t.queryable = true
	}
	t.sendOld = func() {
		materialize()
		st.sendOld = true
	}
	t.getter = storeGetterOf(t, materialize)
}

// materialize adds a store for the table's rows, connected to its node: a timestamped store, or a
// versioned one when Materialized asks for it.
func (t *Table[K, V]) materialize(storeName string, cfg tableConfig) bool {
	ks, vs, err := resolveSerdes(t.node, cfg.serdes, t.keySerde, t.valueSerde)
	if !t.b.check(err) || !t.b.check(cfg.versionedNeedsName(t.node)) {
		return false
	}
	backend, logging := cfg.storeOptions()
	var sb state.StoreBuilder = state.NewTimestampedKeyValueStoreBuilder(storeName, ks, vs).WithLogging(logging).
		WithBackend(backend).WithCaching(cfg.caching())
	// The table's output is versioned exactly when its own store is; a table kept in a
	// timestamped store is not versioned even when derived from a versioned one (Kafka
	// Streams' GraphNode.setOutputVersioned for materialized tables).
	t.versioned, t.historyRetention, t.storeVersioned = false, 0, false
	if m := cfg.materialized; m != nil && m.versioned {
		if m.historyRetention < 0 {
			return t.b.check(fmt.Errorf("%w: %s: history retention %v", state.ErrHistoryRetention, storeName, m.historyRetention))
		}
		sb = state.NewVersionedKeyValueStoreBuilder(storeName, ks, vs, m.historyRetention).WithLogging(logging).
			WithBackend(backend)
		t.versioned, t.historyRetention, t.storeVersioned = true, m.historyRetention, true
	}
	if !t.b.check(t.b.topo.AddStore(sb, t.node)) {
		return false
	}
	t.store = storeName
	return true
}

// GlobalTable is a table whose every partition is read by every instance (Kafka Streams'
// GlobalKTable): it needs no co-partitioning, so streams join it by any key they can compute.
// Its store is always kept and is not logged: it is rebuilt from its topic.
type GlobalTable[K, V any] struct {
	store      string
	keySerde   serde.Serde[K]
	valueSerde serde.Serde[V]
}

// StoreName is the name of the global store holding the table.
func (g *GlobalTable[K, V]) StoreName() string { return g.store }

// GlobalTable reads topic as a global table.
func (b *Builder) GlobalTable[K, V any](topic string, keySerde serde.Serde[K], valueSerde serde.Serde[V], opts ...TableOption) *GlobalTable[K, V] {
	cfg := tableOptions(opts)
	if cfg.reset != nil {
		b.errs = append(b.errs, fmt.Errorf("%w: global table of %s: a global table always reads its topic from the earliest offset (as Kafka Streams, which ignores the policy)",
			ErrOffsetResetPlacement, topic))
		cfg.reset = nil
	}
	storeName, _ := b.storeName(cfg, topic+"-")
	sourceName, procName := b.nameOr(suffixed(cfg.name, "-source"), "KSTREAM-SOURCE-"), b.nameOr(cfg.name, "KTABLE-SOURCE-")
	g := &GlobalTable[K, V]{store: storeName}
	ks, vs, ok := b.sourceSerdes(sourceName, keySerde, valueSerde)
	if !ok {
		return g
	}
	g.keySerde, g.valueSerde = ks, vs
	b.check(cfg.notVersioned(storeName))
	backend, _ := cfg.storeOptions()
	sb := state.NewTimestampedKeyValueStoreBuilder(storeName, ks, vs).WithLogging(false).WithBackend(backend)
	st := &upsertState{store: storeName}
	sup := func() processor.Processor[K, maybe[V], struct{}, struct{}] {
		return &globalUpsertOp[K, V]{st: st}
	}
	b.check(b.topo.AddGlobalStore(sb, sourceName, topic, ks, maybeDeserializer[V]{vs}, procName, sup))
	return g
}

func suffixed(name, suffix string) string {
	if name == "" {
		return ""
	}
	return name + suffix
}

func addTableProcessor[KIn, VIn, K, V any](b *Builder, name string, sup processor.Supplier[KIn, VIn, K, change[V]], parents ...string) {
	b.check(b.topo.AddProcessor(name, sup, parents...))
}

// derivedTable returns the table of a processor node that transforms t, with its own state.
func derivedTable[K, V, VR any](t *Table[K, V], name string, ks serde.Serde[K], vs serde.Serde[VR], st *upsertState,
	cfg tableConfig) *Table[K, VR] {
	out := &Table[K, VR]{b: t.b, node: name, keySerde: ks, valueSerde: vs, windows: t.windows, versioned: t.versioned,
		historyRetention: t.historyRetention}
	if !t.b.check(cfg.versionedNeedsName(name)) {
		return out
	}
	if cfg.materialized != nil && cfg.materialized.name != "" {
		if out.materialize(cfg.materialized.name, cfg) {
			st.store = cfg.materialized.name
			out.queryable = true
		}
	}
	out.sendOld = func() {
		st.sendOld = true
		if t.sendOld != nil {
			t.sendOld() // computing old results needs the parent's old values
		}
	}
	return out
}

// Filter keeps the rows for which pred is true. A row that does not (any more) pass becomes a
// delete downstream, as in Kafka Streams.
func (t *Table[K, V]) Filter(pred func(K, V) bool, opts ...TableOption) *Table[K, V] {
	return t.filter(pred, false, opts)
}

// FilterNot drops the rows for which pred is true.
func (t *Table[K, V]) FilterNot(pred func(K, V) bool, opts ...TableOption) *Table[K, V] {
	return t.filter(pred, true, opts)
}

func (t *Table[K, V]) filter(pred func(K, V) bool, not bool, opts []TableOption) *Table[K, V] {
	cfg := tableOptions(opts)
	name := t.b.nameOr(cfg.name, "KTABLE-FILTER-")
	st := &upsertState{}
	inVersioned := t.versioned
	addTableProcessor(t.b, name, func() processor.Processor[K, change[V], K, change[V]] {
		return &tableFilterOp[K, V]{derivedTableOp: derivedTableOp[K, V]{st: st}, pred: pred, not: not, inVersioned: inVersioned}
	}, t.node)
	out := derivedTable(t, name, t.keySerde, t.valueSerde, st, cfg)
	out.getter = filterGetter(t, out, pred, not)
	return out
}

// MapValues maps each row's value.
func (t *Table[K, V]) MapValues[VR any](f func(K, V) VR, opts ...TableOption) *Table[K, VR] {
	cfg := tableOptions(opts)
	name := t.b.nameOr(cfg.name, "KTABLE-MAPVALUES-")
	st := &upsertState{}
	addTableProcessor(t.b, name, func() processor.Processor[K, change[V], K, change[VR]] {
		return &tableMapValuesOp[K, V, VR]{st: st, f: f}
	}, t.node)
	vs := sameSerde[V, VR](t.valueSerde)
	if o, ok := cfg.serdes.(SerdesOption[K, VR]); ok && o.value != nil {
		vs = o.value
	}
	out := derivedTable(t, name, t.keySerde, vs, st, cfg)
	out.getter = mapValuesGetter(t, out, f)
	return out
}

// ToStream is the stream of the table's updates: one record per update, with the new value; a
// delete is a record with V's zero value marked processor.Record.Null, which a sink writes as
// a Kafka null (a tombstone) whatever V is, so a deleted count reaches a topic as null, not 0.
func (t *Table[K, V]) ToStream(opts ...Option) *Stream[K, V] {
	name := t.b.nameOr(nameOf(opts), "KTABLE-TOSTREAM-")
	t.b.check(t.b.topo.AddProcessor(name, func() processor.Processor[K, change[V], K, V] {
		return &toStreamOp[K, V]{}
	}, t.node))
	return derive(t.b, name, t.keySerde, t.valueSerde, false)
}
