package dsl

import (
	"fmt"

	"github.com/rillstreams/rill/internal/nullable"
	"github.com/rillstreams/rill/processor"
	"github.com/rillstreams/rill/state"
)

// tableStore looks up the timestamped store a table processor was connected to.
func tableStore[K, V, KO, VO any](ctx processor.Context[KO, VO], name string) (*state.TimestampedKeyValueStore[K, V], error) {
	s, err := ctx.StateStore(name)
	if err != nil {
		return nil, err
	}
	ts, ok := s.(*state.TimestampedKeyValueStore[K, V])
	if !ok {
		return nil, fmt.Errorf("rill: store %s is a %T, not a table store of these types", name, s)
	}
	return ts, nil
}

// upsertOp turns records into table updates (KTABLE-SOURCE and KSTREAM-TOTABLE): each record
// replaces its key's row, an absent value deletes it. A record with a null key has no row to
// change: it is dropped and counted, as Kafka Streams' KTableSource drops it.
type upsertOp[K, VIn, V any] struct {
	ctx    processor.Context[K, change[V]]
	st     *upsertState
	store  *state.TimestampedKeyValueStore[K, V]
	unwrap func(VIn) (V, bool)
	// cached: the store forwards the updates when its record cache flushes them.
	cached    bool
	keyMayNil bool
	// versioned is the table's store when it is versioned (then store is nil).
	versioned *state.VersionedKeyValueStore[K, V]
}

func upsertSupplier[K, VIn, V any](st *upsertState, unwrap func(VIn) (V, bool)) processor.Supplier[K, VIn, K, change[V]] {
	keyMayNil := nullable.Can[K]()
	return func() processor.Processor[K, VIn, K, change[V]] {
		return &upsertOp[K, VIn, V]{st: st, unwrap: unwrap, keyMayNil: keyMayNil}
	}
}

func (p *upsertOp[K, VIn, V]) Init(ctx processor.Context[K, change[V]]) (err error) {
	p.ctx = ctx
	if p.st.store != "" {
		if s, err := ctx.StateStore(p.st.store); err == nil {
			if vs, ok := s.(*state.VersionedKeyValueStore[K, V]); ok {
				p.versioned = vs
				return nil
			}
		}
		if p.store, err = tableStore[K, V](ctx, p.st.store); err != nil {
			return err
		}
		p.cached = p.store.SetFlushListener(p.st.sendOld, forwardFlushed(ctx))
	}
	return nil
}

func (p *upsertOp[K, VIn, V]) Process(r processor.Record[K, VIn]) error {
	if nullable.IsNil(&r.Key, p.keyMayNil) {
		// A table has no row for a null key (Kafka Streams' KTableSource skips it).
		p.ctx.RecordDropped("table: null key")
		return nil
	}
	v, ok := p.unwrap(r.Value)
	ch := change[V]{New: v, HasNew: ok}
	if p.versioned != nil {
		return p.processVersioned(r, ch)
	}
	if p.cached {
		// The cache forwards the key's latest update, with the old value, when it flushes.
		if ok {
			return p.store.Put(r.Key, state.ValueAndTimestamp[V]{Value: v, Timestamp: r.Timestamp})
		}
		return p.store.Delete(r.Key)
	}
	if p.store != nil {
		if p.st.sendOld {
			// The old row is read only when something downstream asked for old values: a
			// store read per update is a large share of a table's cost on RocksDB.
			old, had, err := p.store.Get(r.Key)
			if err != nil {
				return err
			}
			ch.Old, ch.HasOld = old.Value, had
		}
		var err error
		if ok {
			err = p.store.Put(r.Key, state.ValueAndTimestamp[V]{Value: v, Timestamp: r.Timestamp})
		} else {
			err = p.store.Delete(r.Key)
		}
		if err != nil {
			return err
		}
	}
	return p.ctx.Forward(processor.Record[K, change[V]]{Key: r.Key, Value: ch, Timestamp: r.Timestamp, Headers: r.Headers})
}

func (p *upsertOp[K, VIn, V]) Close() error { return nil }

// processVersioned puts an update into a versioned table (Kafka Streams' KTableSource with a
// versioned store, KIP-914): the old value is the key's latest version before the put; an
// update older than the latest goes into history and is forwarded marked NotLatest; one
// older than observed stream time minus history retention is not stored, and is dropped and
// counted instead of forwarded.
func (p *upsertOp[K, VIn, V]) processVersioned(r processor.Record[K, VIn], ch change[V]) error {
	if p.st.sendOld {
		old, had, err := p.versioned.Get(r.Key)
		if err != nil {
			return err
		}
		ch.Old, ch.HasOld = old.Value, had
	}
	var validTo int64
	var stored bool
	var err error
	if ch.HasNew {
		validTo, stored, err = p.versioned.Put(r.Key, ch.New, r.Timestamp)
	} else {
		validTo, stored, err = p.versioned.PutTombstone(r.Key, r.Timestamp)
	}
	if err != nil {
		return err
	}
	if !stored {
		p.ctx.RecordDropped("versioned table: update older than history retention")
		return nil
	}
	ch.NotLatest = validTo != state.NoValidTo
	return p.ctx.Forward(processor.Record[K, change[V]]{Key: r.Key, Value: ch, Timestamp: r.Timestamp, Headers: r.Headers})
}

// globalUpsertOp keeps a global table's store; it forwards nothing.
type globalUpsertOp[K, V any] struct {
	st    *upsertState
	store *state.TimestampedKeyValueStore[K, V]
}

func (p *globalUpsertOp[K, V]) Init(ctx processor.Context[struct{}, struct{}]) (err error) {
	p.store, err = tableStore[K, V](ctx, p.st.store)
	return err
}

func (p *globalUpsertOp[K, V]) Process(r processor.Record[K, maybe[V]]) error {
	if !r.Value.ok {
		return p.store.Delete(r.Key)
	}
	return p.store.Put(r.Key, state.ValueAndTimestamp[V]{Value: r.Value.v, Timestamp: r.Timestamp})
}

func (p *globalUpsertOp[K, V]) Close() error { return nil }

// derivedTableOp is the part of table operators that may keep a store of their results and
// forwards changes.
type derivedTableOp[K, V any] struct {
	ctx   processor.Context[K, change[V]]
	st    *upsertState
	store *state.TimestampedKeyValueStore[K, V]
	// cached: the store forwards the changes when its record cache flushes them.
	cached bool
	// versioned is the table's store when it is versioned (then store is nil), as Kafka
	// Streams' KeyValueStoreWrapper holds either kind.
	versioned *state.VersionedKeyValueStore[K, V]
}

func (p *derivedTableOp[K, V]) Init(ctx processor.Context[K, change[V]]) (err error) {
	p.ctx = ctx
	if p.st.store != "" {
		if s, err := ctx.StateStore(p.st.store); err == nil {
			if vs, ok := s.(*state.VersionedKeyValueStore[K, V]); ok {
				p.versioned = vs
				return nil
			}
		}
		if p.store, err = tableStore[K, V](ctx, p.st.store); err != nil {
			return err
		}
		p.cached = p.store.SetFlushListener(p.st.sendOld, forwardFlushed(ctx))
	}
	return nil
}

// forwardFlushed forwards what a table's cached store flushes (Kafka Streams'
// TimestampedCacheFlushListener): the key's latest value, stamped with its timestamp (a
// delete with the timestamp of the write), and the value before the flush when old values
// were asked for.
func forwardFlushed[K, V any](ctx processor.Context[K, change[V]]) func(state.CachedRecord[K, state.ValueAndTimestamp[V]]) error {
	return func(f state.CachedRecord[K, state.ValueAndTimestamp[V]]) error {
		ts := f.Context.Timestamp
		if f.HasNew {
			ts = f.New.Timestamp
		}
		return ctx.Forward(processor.Record[K, change[V]]{Key: f.Key, Timestamp: ts, Headers: f.Context.Headers,
			Value: change[V]{New: f.New.Value, HasNew: f.HasNew, Old: f.Old.Value, HasOld: f.HasOld}})
	}
}

func (p *derivedTableOp[K, V]) Close() error { return nil }

// emit stores the new value when materialized and forwards the change, dropping old values
// nobody asked for.
func (p *derivedTableOp[K, V]) emit(r processor.Record[K, change[V]]) error {
	if !p.st.sendOld {
		r.Value.HasOld = false
		var zero V
		r.Value.Old = zero
	}
	if p.versioned != nil {
		return p.emitVersioned(r)
	}
	if p.store != nil {
		var err error
		if r.Value.HasNew {
			err = p.store.Put(r.Key, state.ValueAndTimestamp[V]{Value: r.Value.New, Timestamp: r.Timestamp})
		} else {
			err = p.store.Delete(r.Key)
		}
		if err != nil || p.cached {
			return err
		}
		// A timestamped store keeps one row per key, so what was put is the latest (Kafka
		// Streams' KeyValueStoreWrapper answers PUT_RETURN_CODE_IS_LATEST for it), even when
		// the change came out of order from a versioned table upstream.
		r.Value.NotLatest = false
	}
	return p.ctx.Forward(r)
}

// emitVersioned puts a change into the table's versioned store at the record's timestamp and
// forwards it marked NotLatest when an update with a later timestamp was already there (Kafka
// Streams' KTableFilter, KTableMapValues, KTableKTableJoinMerger and aggregations with a
// versioned store, KIP-914). A change the store refuses, older than observed stream time
// minus history retention, is dropped and counted instead of forwarded, as Kafka Streams
// forwards nothing when the put returns PUT_RETURN_CODE_NOT_PUT.
func (p *derivedTableOp[K, V]) emitVersioned(r processor.Record[K, change[V]]) error {
	var validTo int64
	var stored bool
	var err error
	if r.Value.HasNew {
		validTo, stored, err = p.versioned.Put(r.Key, r.Value.New, r.Timestamp)
	} else {
		validTo, stored, err = p.versioned.PutTombstone(r.Key, r.Timestamp)
	}
	if err != nil {
		return err
	}
	if !stored {
		p.ctx.RecordDropped("versioned table: update older than history retention")
		return nil
	}
	r.Value.NotLatest = validTo != state.NoValidTo
	return p.ctx.Forward(r)
}

// get reads the key's current row from the table's store: the latest version of a versioned
// one.
func (p *derivedTableOp[K, V]) get(k K) (state.ValueAndTimestamp[V], bool, error) {
	if p.versioned != nil {
		r, ok, err := p.versioned.Get(k)
		return state.ValueAndTimestamp[V]{Value: r.Value, Timestamp: r.Timestamp}, ok, err
	}
	return p.store.Get(k)
}

// tableFilterOp is KTABLE-FILTER: a row failing the predicate is forwarded as a delete (Kafka
// Streams' KTableFilter), unless old values are known and show it was not there either.
type tableFilterOp[K, V any] struct {
	derivedTableOp[K, V]
	pred func(K, V) bool
	not  bool
	// inVersioned: the filtered table is versioned or derived from one (Kafka Streams'
	// useVersionedSemantics).
	inVersioned bool
}

func (p *tableFilterOp[K, V]) Process(r processor.Record[K, change[V]]) error {
	ch := r.Value
	out := change[V]{NotLatest: ch.NotLatest}
	if ch.HasNew && p.pred(r.Key, ch.New) != p.not {
		out.New, out.HasNew = ch.New, true
	}
	if p.versioned != nil && p.st.sendOld {
		// The old row is the versioned store's latest, as Kafka Streams reads it from a
		// materialized filter's store.
		old, had, err := p.get(r.Key)
		if err != nil {
			return err
		}
		out.Old, out.HasOld = old.Value, had
	} else if p.st.sendOld && ch.HasOld && p.pred(r.Key, ch.Old) != p.not {
		out.Old, out.HasOld = ch.Old, true
	}
	if p.st.sendOld && !p.inVersioned && !out.HasNew && !out.HasOld {
		// Neither before nor after in the filtered table: nothing changed there. Kafka
		// Streams forwards such a change with versioned semantics, where the put of a
		// tombstone may matter.
		return nil
	}
	r.Value = out
	return p.emit(r)
}

// tableMapValuesOp is KTABLE-MAPVALUES.
type tableMapValuesOp[K, V, VR any] struct {
	derivedTableOp[K, VR]
	f func(K, V) VR
}

func (p *tableMapValuesOp[K, V, VR]) Process(r processor.Record[K, change[V]]) error {
	out := change[VR]{NotLatest: r.Value.NotLatest}
	if r.Value.HasNew {
		out.New, out.HasNew = p.f(r.Key, r.Value.New), true
	}
	if p.versioned != nil && p.st.sendOld {
		// The old row is the versioned store's latest, as Kafka Streams reads it from a
		// materialized mapValues' store.
		old, had, err := p.get(r.Key)
		if err != nil {
			return err
		}
		out.Old, out.HasOld = old.Value, had
	} else if p.st.sendOld && r.Value.HasOld {
		out.Old, out.HasOld = p.f(r.Key, r.Value.Old), true
	}
	return p.emit(processor.Record[K, change[VR]]{Key: r.Key, Value: out, Timestamp: r.Timestamp, Headers: r.Headers})
}

// toStreamOp is KTABLE-TOSTREAM: the new value of each change, the zero value for a delete.
type toStreamOp[K, V any] struct{ base[K, V] }

func (p *toStreamOp[K, V]) Process(r processor.Record[K, change[V]]) error {
	// A delete is a Null record: V's zero value, written to a topic as a tombstone.
	return p.ctx.Forward(processor.Record[K, V]{Key: r.Key, Value: r.Value.New, Timestamp: r.Timestamp, Headers: r.Headers, Null: !r.Value.HasNew})
}
