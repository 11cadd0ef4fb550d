package dsl

import (
	"fmt"

	"github.com/rillstreams/rill/joins"
	"github.com/rillstreams/rill/state"
)

// Joins read a table's current rows through a value getter (Kafka Streams'
// KTableValueGetterSupplier): a table kept in a store reads its store; a source table is
// materialized for it; a filtered or mapped table without a store of its own reads its
// parent's rows and applies its function, so joining it costs no extra store.

// valueGetter returns how to read the table's rows, or an error when the table cannot be read
// (it has no store and no way to compute its rows).
func (t *Table[K, V]) valueGetter() (joins.GetterSupplier[K, V], error) {
	if t.getter != nil {
		return t.getter()
	}
	if t.store != "" {
		return joins.StoreGetter[K, V](t.store), nil
	}
	return joins.GetterSupplier[K, V]{}, fmt.Errorf("rill: table %s cannot be joined: it has no store; name one with dsl.Materialized", t.node)
}

// storeGetterOf returns a getter of the store materialize keeps, materializing it first.
func storeGetterOf[K, V any](t *Table[K, V], materialize func()) func() (joins.GetterSupplier[K, V], error) {
	return func() (joins.GetterSupplier[K, V], error) {
		materialize()
		if t.store == "" {
			return joins.GetterSupplier[K, V]{}, fmt.Errorf("rill: table %s cannot be joined: its store could not be made", t.node)
		}
		return t.ownStoreGetter(), nil
	}
}

// ownStoreGetter reads the table's own store: as of a time too when it is versioned.
func (t *Table[K, V]) ownStoreGetter() joins.GetterSupplier[K, V] {
	if t.storeVersioned {
		return joins.VersionedStoreGetter[K, V](t.store)
	}
	return joins.StoreGetter[K, V](t.store)
}

// derivedGetter reads a derived table's rows from its own store when it has one, else from
// its parent's rows through f (ok false: the row is not in the derived table).
func derivedGetter[K, V, VR any](parent *Table[K, V], out *Table[K, VR], f func(K, state.ValueAndTimestamp[V]) (state.ValueAndTimestamp[VR], bool)) func() (joins.GetterSupplier[K, VR], error) {
	return func() (joins.GetterSupplier[K, VR], error) {
		if out.store != "" {
			return out.ownStoreGetter(), nil
		}
		pg, err := parent.valueGetter()
		if err != nil {
			return joins.GetterSupplier[K, VR]{}, err
		}
		var asOf func(ctx joins.StoreSource) (joins.AsOfGetter[K, VR], error)
		if pg.OpenAsOf != nil {
			// A table derived from a versioned one is read as of a time through it too.
			asOf = func(ctx joins.StoreSource) (joins.AsOfGetter[K, VR], error) {
				get, err := pg.OpenAsOf(ctx)
				if err != nil {
					return nil, err
				}
				return func(k K, ts int64) (state.ValueAndTimestamp[VR], bool, error) {
					row, ok, err := get(k, ts)
					if err != nil || !ok {
						return state.ValueAndTimestamp[VR]{}, false, err
					}
					out, ok := f(k, row)
					return out, ok, nil
				}, nil
			}
		}
		return joins.GetterSupplier[K, VR]{
			Stores:   pg.Stores,
			OpenAsOf: asOf,
			Open: func(ctx joins.StoreSource) (joins.ValueGetter[K, VR], error) {
				get, err := pg.Open(ctx)
				if err != nil {
					return nil, err
				}
				return func(k K) (state.ValueAndTimestamp[VR], bool, error) {
					row, ok, err := get(k)
					if err != nil || !ok {
						return state.ValueAndTimestamp[VR]{}, false, err
					}
					out, ok := f(k, row)
					return out, ok, nil
				}, nil
			},
		}, nil
	}
}

// filterGetter is the getter of a filtered table (Kafka Streams' KTableFilter value getter).
func filterGetter[K, V any](parent, out *Table[K, V], pred func(K, V) bool, not bool) func() (joins.GetterSupplier[K, V], error) {
	return derivedGetter(parent, out, func(k K, row state.ValueAndTimestamp[V]) (state.ValueAndTimestamp[V], bool) {
		return row, pred(k, row.Value) != not
	})
}

// mapValuesGetter is the getter of a mapped table.
func mapValuesGetter[K, V, VR any](parent *Table[K, V], out *Table[K, VR], f func(K, V) VR) func() (joins.GetterSupplier[K, VR], error) {
	return derivedGetter(parent, out, func(k K, row state.ValueAndTimestamp[V]) (state.ValueAndTimestamp[VR], bool) {
		return state.ValueAndTimestamp[VR]{Value: f(k, row.Value), Timestamp: row.Timestamp}, true
	})
}
