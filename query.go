package rill

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/rillstreams/rill/internal/runtime"
	"github.com/rillstreams/rill/serde"
	"github.com/rillstreams/rill/state"
)

// Interactive-query errors, matched with errors.Is. Kafka Streams' InvalidStateStoreException
// subtypes, as sentinels.
var (
	// ErrStoreMigrating: the store's task is moving (a rebalance is under way) or the asked
	// partition is not hosted here. Retriable: refresh metadata and ask its owner.
	ErrStoreMigrating = runtime.ErrStoreMigrating
	// ErrNotRunning: the app is not RUNNING or REBALANCING (not started, stopping, failed).
	ErrNotRunning = runtime.ErrNotRunning
	// ErrUnknownStore: the topology has no (non-global) store of that name.
	ErrUnknownStore = runtime.ErrUnknownStore
)

// IsRetriable tells whether a query error may go away by asking again, here or at the key's
// new owner: a migrating store, or an app that is (re)starting.
func IsRetriable(err error) bool {
	return errors.Is(err, ErrStoreMigrating) || errors.Is(err, ErrNotRunning)
}

// QueryOption narrows a store query (Kafka Streams' StoreQueryParameters).
type QueryOption func(*queryOptions)

type queryOptions struct {
	partition int32 // -1: every local partition
	stale     bool
	limit     int
}

// WithPartition queries only partition p of the store (Kafka Streams' withPartition). Key
// lookups pick their partition themselves; this narrows scans.
func WithPartition(p int32) QueryOption { return func(o *queryOptions) { o.partition = p } }

// EnableStaleStores lets queries read standby replicas too (Kafka Streams'
// enableStaleStores): answers may lag the active task; Source says where each came from.
func EnableStaleStores() QueryOption { return func(o *queryOptions) { o.stale = true } }

// WithLimit caps the rows a scan returns (Range, PrefixScan, All, FetchAll...). Scans copy
// their rows while holding the owning stream thread (see KeyValueStore), so big stores
// should be scanned in pages: a limit, then a Range from the last key returned.
func WithLimit(n int) QueryOption { return func(o *queryOptions) { o.limit = n } }

func newQueryOptions(opts []QueryOption) queryOptions {
	o := queryOptions{partition: -1}
	for _, f := range opts {
		f(&o)
	}
	return o
}

// Source tells where an answer came from: the store's partition, and whether it was a
// standby replica (EnableStaleStores) with the changelog position it had applied (the sum
// of its changelog offsets; 0 for active tasks, which are current).
type Source struct {
	Partition int32 `json:"partition"`
	Standby   bool  `json:"standby,omitempty"`
	Position  int64 `json:"position,omitempty"`
}

func sourceOf(t runtime.QueryTarget) Source {
	return Source{Partition: t.Partition, Standby: t.Standby, Position: t.Position}
}

// KeyValue is one row of a key-value store. Timestamp is the row's timestamp for
// timestamped stores (DSL tables and aggregations), -1 otherwise.
type KeyValue[K, V any] struct {
	Key       K      `json:"key"`
	Value     V      `json:"value"`
	Timestamp int64  `json:"timestamp"`
	From      Source `json:"from"`
}

// rawRow is a row copied out of a store under the thread's lock, decoded after.
type rawRow struct {
	key, value []byte
	start, end int64 // windows and sessions
	from       Source
}

// ReadOnlyKeyValueStore queries a key-value store of a running App (Kafka Streams'
// ReadOnlyKeyValueStore from KafkaStreams.store): local partitions only. Use the metadata
// (QueryMetadataForKey) or package iq to reach the others.
type ReadOnlyKeyValueStore[K, V any] struct {
	storeHandle[K, V]
}

// storeHandle is what every query handle holds: the app, the store, its serdes and options.
type storeHandle[K, V any] struct {
	app         *App
	name        string
	ks          serde.Serde[K]
	vs          serde.Serde[V]
	opts        queryOptions
	timestamped bool // the store keeps timestamps beside the values (stripped into the rows)
}

func newStoreHandle[K, V any](app *App, name string, ks serde.Serde[K], vs serde.Serde[V], opts []QueryOption) storeHandle[K, V] {
	return storeHandle[K, V]{app: app, name: name, ks: ks, vs: vs, opts: newQueryOptions(opts), timestamped: app.rt.StoreTimestamped(name)}
}

// Name is the store's name.
func (h *storeHandle[K, V]) Name() string { return h.name }

// KeyValueStore returns a query handle for the key-value store name of app, whose keys and
// values are read with ks and vs (the serdes the store was materialized with). For a
// timestamped store (tables, aggregations) vs is the plain value's serde: the timestamp is
// stripped into KeyValue.Timestamp, as Kafka Streams' keyValueStore() type does.
//
// Concurrency: each query runs on the caller's goroutine and reads the task's store through
// its own read path (record cache, the transaction's uncommitted writes, then RocksDB: as
// fresh as processing, as in Kafka Streams) while holding the query lock of the stream thread
// that owns the task. The thread lets queries in between records and while a commit waits for
// the brokers, and waits for them meanwhile, so queries are short: a Get, or a scan whose rows
// are copied (WithLimit bounds them) and decoded after the lock is released. A thread in a
// rebalance is not waited for: the query fails with ErrStoreMigrating. Results never come
// from a closed or half-open store.
//
// # Usage
//
//	counts := rill.KeyValueStore(app, "counts", serde.String(), serde.Int64())
//	row, ok, err := counts.Get(ctx, "alice")
//	switch {
//	case rill.IsRetriable(err): // rebalancing, or "alice" lives on another instance
//		md, _ := rill.QueryMetadataForKey(app, "counts", "alice", serde.String())
//		_ = md.Active // host:port of the instance to ask
//	case err != nil:
//		return err
//	case ok:
//		fmt.Println(row.Value, row.Timestamp)
//	}
//	top, err := counts.All(ctx, rill.WithLimit(100))
func KeyValueStore[K, V any](app *App, name string, ks serde.Serde[K], vs serde.Serde[V], opts ...QueryOption) *ReadOnlyKeyValueStore[K, V] {
	return &ReadOnlyKeyValueStore[K, V]{newStoreHandle(app, name, ks, vs, opts)}
}

// App is the app the store belongs to.
func (s *ReadOnlyKeyValueStore[K, V]) App() *App { return s.app }

// KeySerde is the store's key serde.
func (s *ReadOnlyKeyValueStore[K, V]) KeySerde() serde.Serde[K] { return s.ks }

// Metadata tells where key lives (QueryMetadataForKey).
func (s *ReadOnlyKeyValueStore[K, V]) Metadata(key K) (KeyQueryMetadata, error) {
	return QueryMetadataForKey(s.app, s.name, key, s.ks)
}

func kvBytes(t runtime.QueryTarget, name string) (state.KeyValueBytesStore, error) {
	if b, ok := t.Store.(interface {
		Bytes() state.KeyValueBytesStore
	}); ok {
		return b.Bytes(), nil
	}
	if b, ok := t.Store.(state.KeyValueBytesStore); ok {
		return b, nil
	}
	return nil, fmt.Errorf("rill: store %s is a %T, not a key-value store", name, t.Store)
}

// Get returns key's row from the partition the key belongs to (the store's partitioner:
// Kafka's murmur2 of the serialized key), false when the key has no value.
func (s *ReadOnlyKeyValueStore[K, V]) Get(ctx context.Context, key K, opts ...QueryOption) (KeyValue[K, V], bool, error) {
	o := s.opts
	for _, f := range opts {
		f(&o)
	}
	kb, part, err := keyPartition(s.app, s.name, key, s.ks)
	if err != nil {
		return KeyValue[K, V]{}, false, err
	}
	var raw []byte
	var from Source
	err = s.app.rt.QueryStore(ctx, s.name, part, o.stale, func(t runtime.QueryTarget) error {
		b, err := kvBytes(t, s.name)
		if err != nil {
			return err
		}
		v, err := b.Get(kb)
		if err != nil {
			return err
		}
		if v != nil && (raw == nil || !t.Standby) {
			raw, from = slices.Clone(v), sourceOf(t)
		} else if raw == nil {
			from = sourceOf(t)
		}
		return nil
	})
	if err != nil || raw == nil {
		return KeyValue[K, V]{}, false, err
	}
	row, err := s.decode(rawRow{key: kb, value: raw, from: from})
	return row, err == nil, err
}

func (s *ReadOnlyKeyValueStore[K, V]) decode(r rawRow) (KeyValue[K, V], error) {
	out := KeyValue[K, V]{Timestamp: -1, From: r.from}
	var err error
	if out.Key, err = s.ks.Deserialize(s.name, r.key); err != nil {
		return out, fmt.Errorf("rill: store %s: key: %w", s.name, err)
	}
	var v []byte
	if out.Timestamp, v, err = splitTimestamp(s.name, s.timestamped, r.value); err != nil {
		return out, err
	}
	if out.Value, err = s.vs.Deserialize(s.name, v); err != nil {
		return out, fmt.Errorf("rill: store %s: value: %w", s.name, err)
	}
	return out, nil
}

// Range returns the rows with keys in [from, to] (nil: open), in serialized-key order across
// the local partitions.
func (s *ReadOnlyKeyValueStore[K, V]) Range(ctx context.Context, from, to *K, opts ...QueryOption) ([]KeyValue[K, V], error) {
	var fb, tb []byte
	var err error
	if from != nil {
		if fb, err = s.ks.Serialize(s.name, *from); err != nil {
			return nil, err
		}
	}
	if to != nil {
		if tb, err = s.ks.Serialize(s.name, *to); err != nil {
			return nil, err
		}
	}
	return s.scan(ctx, opts, func(b state.KeyValueBytesStore) (state.KeyValueIterator, error) { return b.Range(fb, tb) })
}

// PrefixScan returns the rows whose serialized keys start with prefix's serialized form
// (string keys: a string prefix).
func (s *ReadOnlyKeyValueStore[K, V]) PrefixScan(ctx context.Context, prefix K, opts ...QueryOption) ([]KeyValue[K, V], error) {
	pb, err := s.ks.Serialize(s.name, prefix)
	if err != nil {
		return nil, err
	}
	return s.scan(ctx, opts, func(b state.KeyValueBytesStore) (state.KeyValueIterator, error) { return b.PrefixScan(pb) })
}

// All returns every row of the local partitions.
func (s *ReadOnlyKeyValueStore[K, V]) All(ctx context.Context, opts ...QueryOption) ([]KeyValue[K, V], error) {
	return s.scan(ctx, opts, func(b state.KeyValueBytesStore) (state.KeyValueIterator, error) { return b.All() })
}

// ApproximateCount sums the stores' estimates over the local partitions.
func (s *ReadOnlyKeyValueStore[K, V]) ApproximateCount(ctx context.Context, opts ...QueryOption) (int64, error) {
	o := s.opts
	for _, f := range opts {
		f(&o)
	}
	var n int64
	err := s.app.rt.QueryStore(ctx, s.name, o.partition, o.stale, func(t runtime.QueryTarget) error {
		b, err := kvBytes(t, s.name)
		if err != nil {
			return err
		}
		c, err := b.ApproximateCount()
		n += c
		return err
	})
	return n, err
}

func (s *ReadOnlyKeyValueStore[K, V]) scan(ctx context.Context, opts []QueryOption, open func(state.KeyValueBytesStore) (state.KeyValueIterator, error)) ([]KeyValue[K, V], error) {
	o := s.opts
	for _, f := range opts {
		f(&o)
	}
	var rows []rawRow
	err := s.app.rt.QueryStore(ctx, s.name, o.partition, o.stale, func(t runtime.QueryTarget) error {
		b, err := kvBytes(t, s.name)
		if err != nil {
			return err
		}
		it, err := open(b)
		if err != nil {
			return err
		}
		n := 0
		for (o.limit <= 0 || n < o.limit) && it.Next() {
			rows = append(rows, rawRow{key: slices.Clone(it.Key()), value: slices.Clone(it.Value()), from: sourceOf(t)})
			n++
		}
		return errors.Join(it.Err(), it.Close())
	})
	if err != nil {
		return nil, err
	}
	// A key lives in one partition, but with stale stores an active and a standby copy
	// of the same partition cannot both be here (one task, one role): no duplicates.
	slices.SortStableFunc(rows, func(a, b rawRow) int { return bytes.Compare(a.key, b.key) })
	if o.limit > 0 && len(rows) > o.limit {
		rows = rows[:o.limit]
	}
	out := make([]KeyValue[K, V], 0, len(rows))
	for _, r := range rows {
		kv, err := s.decode(r)
		if err != nil {
			return nil, err
		}
		out = append(out, kv)
	}
	return out, nil
}
