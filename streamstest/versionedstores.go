package streamstest

import (
	"time"

	"github.com/rillstreams/rill/state"
)

// VersionedView reads a versioned key-value store (dsl.Materialized(name).WithVersioned)
// across every task (partition) that has it, as TopologyTestDriver.getVersionedKeyValueStore:
// a key's latest version, or the version valid at a time.
type VersionedView[K, V any] struct {
	d      *Driver
	name   string
	stores []*state.VersionedKeyValueStore[K, V]
}

// VersionedStore returns a view of the versioned store name holding K, V. It fails the test
// when no task has such a store.
func VersionedStore[K, V any](d *Driver, name string) *VersionedView[K, V] {
	d.t.Helper()
	return &VersionedView[K, V]{d: d, name: name, stores: typedStores[*state.VersionedKeyValueStore[K, V]](d, name, "versioned")}
}

// Get returns k's latest version from whichever partition holds it; false when the key has
// none or its latest version is a tombstone.
func (v *VersionedView[K, V]) Get(k K) (state.VersionedRecord[V], bool) {
	v.d.t.Helper()
	return v.find(func(s *state.VersionedKeyValueStore[K, V]) (state.VersionedRecord[V], bool, error) { return s.Get(k) })
}

// GetAsOf returns the version of k valid at asOf (the latest one with a timestamp not after
// it); false when there is none, it is a tombstone, or asOf is past the history retention.
func (v *VersionedView[K, V]) GetAsOf(k K, asOf time.Time) (state.VersionedRecord[V], bool) {
	v.d.t.Helper()
	return v.find(func(s *state.VersionedKeyValueStore[K, V]) (state.VersionedRecord[V], bool, error) {
		return s.GetAsOf(k, asOf.UnixMilli())
	})
}

func (v *VersionedView[K, V]) find(get func(*state.VersionedKeyValueStore[K, V]) (state.VersionedRecord[V], bool, error)) (state.VersionedRecord[V], bool) {
	v.d.t.Helper()
	for _, s := range v.stores {
		r, ok, err := get(s)
		if err != nil {
			v.d.t.Fatalf("streamstest: store %s: %v", v.name, err)
		}
		if ok {
			return r, true
		}
	}
	return state.VersionedRecord[V]{}, false
}
