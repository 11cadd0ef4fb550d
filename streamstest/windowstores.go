package streamstest

import (
	"bytes"
	"math"

	"github.com/rillstreams/rill/state"
)

// WindowView reads a window store across every task that has it, as
// TopologyTestDriver.getWindowStore. Stores of windowed aggregations hold values with
// timestamps (Kafka Streams' timestamped window stores); they read as plain values, and
// FetchWithTimestamp gives the timestamp too.
type WindowView[K, V any] struct {
	d     *Driver
	name  string
	plain []*state.WindowStore[K, V]
	table []*state.WindowStore[K, state.ValueAndTimestamp[V]]
}

// WindowStore returns a view of the window store name holding K, V (or timestamped V). It
// fails the test when no task has such a store.
func WindowStore[K, V any](d *Driver, name string) *WindowView[K, V] {
	d.t.Helper()
	v := &WindowView[K, V]{d: d, name: name}
	for _, s := range d.Stores(name) {
		switch s := s.(type) {
		case *state.WindowStore[K, V]:
			v.plain = append(v.plain, s)
		case *state.WindowStore[K, state.ValueAndTimestamp[V]]:
			v.table = append(v.table, s)
		default:
			d.t.Fatalf("streamstest: store %s is a %T, not a window store of these types", name, s)
		}
	}
	if len(v.plain)+len(v.table) == 0 {
		d.t.Fatalf("streamstest: no store %s", name)
	}
	return v
}

// Fetch returns k's value for the window starting at start.
func (v *WindowView[K, V]) Fetch(k K, start int64) (V, bool) {
	v.d.t.Helper()
	for _, s := range v.plain {
		val, ok, err := s.Fetch(k, start)
		check(v.d, v.name, err)
		if ok {
			return val, true
		}
	}
	vt, ok := v.FetchWithTimestamp(k, start)
	return vt.Value, ok
}

// FetchWithTimestamp returns k's value and timestamp for the window starting at start, from a
// timestamped store.
func (v *WindowView[K, V]) FetchWithTimestamp(k K, start int64) (state.ValueAndTimestamp[V], bool) {
	v.d.t.Helper()
	for _, s := range v.table {
		val, ok, err := s.Fetch(k, start)
		check(v.d, v.name, err)
		if ok {
			return val, true
		}
	}
	return state.ValueAndTimestamp[V]{}, false
}

// WindowedKeyValue is one window of a key in a WindowView: its start, value and (for
// timestamped stores) timestamp.
type WindowedKeyValue[K, V any] struct {
	Key         K
	WindowStart int64
	Value       V
	Timestamp   int64
}

// All returns every window kept, task by task, each by start time then key.
func (v *WindowView[K, V]) All() []WindowedKeyValue[K, V] {
	v.d.t.Helper()
	var out []WindowedKeyValue[K, V]
	for _, s := range v.plain {
		all, err := s.All()
		check(v.d, v.name, err)
		for _, w := range all {
			out = append(out, WindowedKeyValue[K, V]{Key: w.Key, WindowStart: w.WindowStart, Value: w.Value})
		}
	}
	for _, s := range v.table {
		all, err := s.All()
		check(v.d, v.name, err)
		for _, w := range all {
			out = append(out, WindowedKeyValue[K, V]{Key: w.Key, WindowStart: w.WindowStart, Value: w.Value.Value,
				Timestamp: w.Value.Timestamp})
		}
	}
	return out
}

// SessionView reads a session store across every task that has it, as
// TopologyTestDriver.getSessionStore.
type SessionView[K, V any] struct {
	d      *Driver
	name   string
	stores []*state.SessionStore[K, V]
}

// SessionStore returns a view of the session store name holding K, V. It fails the test when
// no task has such a store.
func SessionStore[K, V any](d *Driver, name string) *SessionView[K, V] {
	d.t.Helper()
	return &SessionView[K, V]{d: d, name: name, stores: typedStores[*state.SessionStore[K, V]](d, name, "session")}
}

// Fetch returns every session of k, by end time then start time.
func (v *SessionView[K, V]) Fetch(k K) []state.Session[K, V] {
	v.d.t.Helper()
	var out []state.Session[K, V]
	for _, s := range v.stores {
		got, err := s.Fetch(k)
		check(v.d, v.name, err)
		out = append(out, got...)
	}
	return out
}

// FetchSession returns the value of k's session [start, end].
func (v *SessionView[K, V]) FetchSession(k K, start, end int64) (V, bool) {
	v.d.t.Helper()
	for _, s := range v.Fetch(k) {
		if s.Start == start && s.End == end {
			return s.Value, true
		}
	}
	var zero V
	return zero, false
}

// All returns every session kept, task by task, each by key, then end and start time.
func (v *SessionView[K, V]) All() []state.Session[K, V] {
	v.d.t.Helper()
	var out []state.Session[K, V]
	for _, s := range v.stores {
		// The byte store lists keys; the typed store reads each key's sessions.
		it, err := s.Bytes().FindSessionsRange(nil, nil, math.MinInt64, math.MaxInt64)
		check(v.d, v.name, err)
		var keys []K
		var last []byte
		for first := true; it.Next(); first = false {
			if !first && bytes.Equal(last, it.Key()) {
				continue
			}
			last = append(last[:0], it.Key()...)
			k, err := s.KeySerde().Deserialize(v.name, it.Key())
			check(v.d, v.name, err)
			keys = append(keys, k)
		}
		check(v.d, v.name, it.Err())
		check(v.d, v.name, it.Close())
		for _, k := range keys {
			got, err := s.Fetch(k)
			check(v.d, v.name, err)
			out = append(out, got...)
		}
	}
	return out
}

func check(d *Driver, name string, err error) {
	if err != nil {
		d.t.Helper()
		d.t.Fatalf("streamstest: store %s: %v", name, err)
	}
}
