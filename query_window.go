package rill

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/rillstreams/rill/internal/runtime"
	"github.com/rillstreams/rill/serde"
	"github.com/rillstreams/rill/state"
)

// WindowedRow is one window of a window store: the key, the window's start (milliseconds),
// the value and, for timestamped stores (the DSL's windowed aggregations), its timestamp
// (-1 otherwise).
type WindowedRow[K, V any] struct {
	Key         K      `json:"key"`
	WindowStart int64  `json:"windowStart"`
	Value       V      `json:"value"`
	Timestamp   int64  `json:"timestamp"`
	From        Source `json:"from"`
}

// ReadOnlyWindowStore queries a window store of a running App (Kafka Streams'
// ReadOnlyWindowStore); concurrency as ReadOnlyKeyValueStore.
type ReadOnlyWindowStore[K, V any] struct {
	storeHandle[K, V]
}

// WindowStore returns a query handle for the window store name of app; vs is the plain
// value's serde (timestamps of timestamped stores go to WindowedRow.Timestamp).
//
//	counts := rill.WindowStore(app, "clicks-per-minute", serde.String(), serde.Int64())
//	rows, err := counts.FetchRange(ctx, "alice", from.UnixMilli(), to.UnixMilli())
func WindowStore[K, V any](app *App, name string, ks serde.Serde[K], vs serde.Serde[V], opts ...QueryOption) *ReadOnlyWindowStore[K, V] {
	return &ReadOnlyWindowStore[K, V]{newStoreHandle(app, name, ks, vs, opts)}
}

// Metadata tells where key lives (QueryMetadataForKey).
func (s *ReadOnlyWindowStore[K, V]) Metadata(key K) (KeyQueryMetadata, error) {
	return QueryMetadataForKey(s.app, s.name, key, s.ks)
}

func windowBytes(t runtime.QueryTarget, name string) (state.WindowBytesStore, error) {
	if b, ok := t.Store.(interface{ Bytes() state.WindowBytesStore }); ok {
		return b.Bytes(), nil
	}
	if b, ok := t.Store.(state.WindowBytesStore); ok {
		return b, nil
	}
	return nil, fmt.Errorf("rill: store %s is a %T, not a window store", name, t.Store)
}

// Fetch returns key's window starting at windowStart, false when there is none.
func (s *ReadOnlyWindowStore[K, V]) Fetch(ctx context.Context, key K, windowStart int64) (WindowedRow[K, V], bool, error) {
	rows, err := s.keyQuery(ctx, key, func(b state.WindowBytesStore, kb []byte, add func(start int64, v []byte)) error {
		v, err := b.Fetch(kb, windowStart)
		if v != nil {
			add(windowStart, v)
		}
		return err
	})
	if err != nil || len(rows) == 0 {
		return WindowedRow[K, V]{}, false, err
	}
	return rows[0], true, nil
}

// FetchRange returns key's windows starting in [from, to], by start time (Kafka Streams'
// fetch(key, timeFrom, timeTo)).
func (s *ReadOnlyWindowStore[K, V]) FetchRange(ctx context.Context, key K, from, to int64) ([]WindowedRow[K, V], error) {
	return s.keyQuery(ctx, key, func(b state.WindowBytesStore, kb []byte, add func(start int64, v []byte)) error {
		it, err := b.FetchRange(kb, from, to)
		if err != nil {
			return err
		}
		for it.Next() {
			add(it.WindowStart(), it.Value())
		}
		return errors.Join(it.Err(), it.Close())
	})
}

func (s *ReadOnlyWindowStore[K, V]) keyQuery(ctx context.Context, key K, read func(state.WindowBytesStore, []byte, func(int64, []byte)) error) ([]WindowedRow[K, V], error) {
	kb, part, err := keyPartition(s.app, s.name, key, s.ks)
	if err != nil {
		return nil, err
	}
	var rows []rawRow
	err = s.app.rt.QueryStore(ctx, s.name, part, s.opts.stale, func(t runtime.QueryTarget) error {
		b, err := windowBytes(t, s.name)
		if err != nil {
			return err
		}
		return read(b, kb, func(start int64, v []byte) {
			rows = append(rows, rawRow{key: kb, value: slices.Clone(v), start: start, from: sourceOf(t)})
		})
	})
	if err != nil {
		return nil, err
	}
	return s.decodeAll(rows)
}

// FetchAll returns every window starting in [from, to] of the local partitions, by start time
// then key.
func (s *ReadOnlyWindowStore[K, V]) FetchAll(ctx context.Context, from, to int64, opts ...QueryOption) ([]WindowedRow[K, V], error) {
	return s.scan(ctx, opts, func(b state.WindowBytesStore) (state.WindowKeyIterator, error) { return b.FetchAll(from, to) })
}

// All returns every window kept in the local partitions, by start time then key.
func (s *ReadOnlyWindowStore[K, V]) All(ctx context.Context, opts ...QueryOption) ([]WindowedRow[K, V], error) {
	return s.scan(ctx, opts, func(b state.WindowBytesStore) (state.WindowKeyIterator, error) { return b.All() })
}

func (s *ReadOnlyWindowStore[K, V]) scan(ctx context.Context, opts []QueryOption, open func(state.WindowBytesStore) (state.WindowKeyIterator, error)) ([]WindowedRow[K, V], error) {
	o := s.opts
	for _, f := range opts {
		f(&o)
	}
	var rows []rawRow
	err := s.app.rt.QueryStore(ctx, s.name, o.partition, o.stale, func(t runtime.QueryTarget) error {
		b, err := windowBytes(t, s.name)
		if err != nil {
			return err
		}
		it, err := open(b)
		if err != nil {
			return err
		}
		n := 0
		for (o.limit <= 0 || n < o.limit) && it.Next() {
			rows = append(rows, rawRow{key: slices.Clone(it.Key()), value: slices.Clone(it.Value()), start: it.WindowStart(), from: sourceOf(t)})
			n++
		}
		return errors.Join(it.Err(), it.Close())
	})
	if err != nil {
		return nil, err
	}
	slices.SortStableFunc(rows, func(a, b rawRow) int {
		return cmp.Or(cmp.Compare(a.start, b.start), bytes.Compare(a.key, b.key))
	})
	if o.limit > 0 && len(rows) > o.limit {
		rows = rows[:o.limit]
	}
	return s.decodeAll(rows)
}

func (s *ReadOnlyWindowStore[K, V]) decodeAll(rows []rawRow) ([]WindowedRow[K, V], error) {
	out := make([]WindowedRow[K, V], 0, len(rows))
	for _, r := range rows {
		w := WindowedRow[K, V]{WindowStart: r.start, From: r.from}
		var err error
		if w.Key, err = s.ks.Deserialize(s.name, r.key); err != nil {
			return nil, fmt.Errorf("rill: store %s: key: %w", s.name, err)
		}
		v := r.value
		if w.Timestamp, v, err = splitTimestamp(s.name, s.timestamped, v); err != nil {
			return nil, err
		}
		if w.Value, err = s.vs.Deserialize(s.name, v); err != nil {
			return nil, fmt.Errorf("rill: store %s: value: %w", s.name, err)
		}
		out = append(out, w)
	}
	return out, nil
}

// SessionRow is one session of a session store: key, start and end (inclusive,
// milliseconds) and value.
type SessionRow[K, V any] struct {
	Key   K      `json:"key"`
	Start int64  `json:"start"`
	End   int64  `json:"end"`
	Value V      `json:"value"`
	From  Source `json:"from"`
}

// ReadOnlySessionStore queries a session store of a running App (Kafka Streams'
// ReadOnlySessionStore); concurrency as ReadOnlyKeyValueStore.
type ReadOnlySessionStore[K, V any] struct {
	storeHandle[K, V]
}

// SessionStore returns a query handle for the session store name of app.
func SessionStore[K, V any](app *App, name string, ks serde.Serde[K], vs serde.Serde[V], opts ...QueryOption) *ReadOnlySessionStore[K, V] {
	return &ReadOnlySessionStore[K, V]{newStoreHandle(app, name, ks, vs, opts)}
}

// Metadata tells where key lives (QueryMetadataForKey).
func (s *ReadOnlySessionStore[K, V]) Metadata(key K) (KeyQueryMetadata, error) {
	return QueryMetadataForKey(s.app, s.name, key, s.ks)
}

// Fetch returns every session of key, by end then start time (Kafka Streams' fetch(key)).
func (s *ReadOnlySessionStore[K, V]) Fetch(ctx context.Context, key K) ([]SessionRow[K, V], error) {
	kb, part, err := keyPartition(s.app, s.name, key, s.ks)
	if err != nil {
		return nil, err
	}
	type raw struct {
		value      []byte
		start, end int64
		from       Source
	}
	var rows []raw
	err = s.app.rt.QueryStore(ctx, s.name, part, s.opts.stale, func(t runtime.QueryTarget) error {
		var b state.SessionBytesStore
		switch st := t.Store.(type) {
		case interface {
			Bytes() state.SessionBytesStore
		}:
			b = st.Bytes()
		case state.SessionBytesStore:
			b = st
		default:
			return fmt.Errorf("rill: store %s is a %T, not a session store", s.name, t.Store)
		}
		it, err := b.Fetch(kb)
		if err != nil {
			return err
		}
		for it.Next() {
			rows = append(rows, raw{value: slices.Clone(it.Value()), start: it.Start(), end: it.End(), from: sourceOf(t)})
		}
		return errors.Join(it.Err(), it.Close())
	})
	if err != nil {
		return nil, err
	}
	out := make([]SessionRow[K, V], 0, len(rows))
	for _, r := range rows {
		v, err := s.vs.Deserialize(s.name, r.value)
		if err != nil {
			return nil, fmt.Errorf("rill: store %s: value: %w", s.name, err)
		}
		out = append(out, SessionRow[K, V]{Key: key, Start: r.start, End: r.end, Value: v, From: r.from})
	}
	return out, nil
}

// splitTimestamp splits a timestamped store's value into its timestamp and the plain
// value's bytes; other stores' values pass with timestamp -1.
func splitTimestamp(store string, timestamped bool, v []byte) (int64, []byte, error) {
	if !timestamped {
		return -1, v, nil
	}
	if len(v) < 8 {
		return 0, nil, fmt.Errorf("rill: store %s: timestamped value of %d bytes", store, len(v))
	}
	ts := int64(uint64(v[0])<<56 | uint64(v[1])<<48 | uint64(v[2])<<40 | uint64(v[3])<<32 |
		uint64(v[4])<<24 | uint64(v[5])<<16 | uint64(v[6])<<8 | uint64(v[7]))
	return ts, v[8:], nil
}
