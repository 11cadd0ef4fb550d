package streamstest

import (
	"github.com/rillstreams/rill/state"
)

// KeyValueView reads a key-value store across every task (partition) that has it: a test's way
// to assert state directly, as TopologyTestDriver.getKeyValueStore. Table stores (values with
// timestamps) read as plain values.
type KeyValueView[K, V any] struct {
	d     *Driver
	name  string
	plain []*state.KeyValueStore[K, V]
	table []*state.TimestampedKeyValueStore[K, V]
}

// KeyValueStore returns a view of the key-value store name holding K, V. It fails the test
// when no task has such a store.
func KeyValueStore[K, V any](d *Driver, name string) *KeyValueView[K, V] {
	d.t.Helper()
	v := &KeyValueView[K, V]{d: d, name: name}
	for _, s := range d.Stores(name) {
		switch s := s.(type) {
		case *state.KeyValueStore[K, V]:
			v.plain = append(v.plain, s)
		case *state.TimestampedKeyValueStore[K, V]:
			v.table = append(v.table, s)
		default:
			d.t.Fatalf("streamstest: store %s is a %T, not a key-value store of these types", name, s)
		}
	}
	if len(v.plain)+len(v.table) == 0 {
		d.t.Fatalf("streamstest: no store %s", name)
	}
	return v
}

// Get returns k's value from whichever partition holds it.
func (v *KeyValueView[K, V]) Get(k K) (V, bool) {
	v.d.t.Helper()
	for _, s := range v.plain {
		val, ok, err := s.Get(k)
		v.check(err)
		if ok {
			return val, true
		}
	}
	for _, s := range v.table {
		val, ok, err := s.Get(k)
		v.check(err)
		if ok {
			return val.Value, true
		}
	}
	var zero V
	return zero, false
}

// GetWithTimestamp returns k's row and timestamp from a table store.
func (v *KeyValueView[K, V]) GetWithTimestamp(k K) (state.ValueAndTimestamp[V], bool) {
	v.d.t.Helper()
	for _, s := range v.table {
		val, ok, err := s.Get(k)
		v.check(err)
		if ok {
			return val, true
		}
	}
	return state.ValueAndTimestamp[V]{}, false
}

// All returns every entry, partition by partition, each in key order.
func (v *KeyValueView[K, V]) All() []KeyValue[K, V] {
	v.d.t.Helper()
	var out []KeyValue[K, V]
	for _, s := range v.plain {
		out = appendAll(v, out, s, func(x V) V { return x })
	}
	for _, s := range v.table {
		out = appendAll(v, out, s, func(x state.ValueAndTimestamp[V]) V { return x.Value })
	}
	return out
}

// Map returns every entry as a map, for order-free assertions (K must be comparable).
func Map[K comparable, V any](v *KeyValueView[K, V]) map[K]V {
	v.d.t.Helper()
	m := make(map[K]V)
	for _, kv := range v.All() {
		m[kv.Key] = kv.Value
	}
	return m
}

func appendAll[K, V, S any](v *KeyValueView[K, V], out []KeyValue[K, V], s *state.KeyValueStore[K, S], val func(S) V) []KeyValue[K, V] {
	it, err := s.All()
	v.check(err)
	defer it.Close()
	for it.Next() {
		out = append(out, KeyValue[K, V]{Key: it.Key(), Value: val(it.Value())})
	}
	v.check(it.Err())
	return out
}

func (v *KeyValueView[K, V]) check(err error) {
	if err != nil {
		v.d.t.Helper()
		v.d.t.Fatalf("streamstest: store %s: %v", v.name, err)
	}
}

// typedStores returns every task's store name as an S, failing the test when one is of
// another type or when no task has the store (kind names S in the message).
func typedStores[S any](d *Driver, name, kind string) []S {
	d.t.Helper()
	var out []S
	for _, s := range d.Stores(name) {
		typed, ok := s.(S)
		if !ok {
			d.t.Fatalf("streamstest: store %s is a %T, not a %s store of these types", name, s, kind)
		}
		out = append(out, typed)
	}
	if len(out) == 0 {
		d.t.Fatalf("streamstest: no store %s", name)
	}
	return out
}
