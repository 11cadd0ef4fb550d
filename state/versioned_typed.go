package state

import (
	"errors"
	"fmt"
	"time"

	"github.com/rillstreams/rill/processor"
	"github.com/rillstreams/rill/serde"
)

// ErrVersionedGlobal is returned when a versioned store is built as a global store.
var ErrVersionedGlobal = errors.New("rill: versioned stores cannot be global stores")

// VersionedRecord is one version of a key (Kafka Streams' VersionedRecord): its value, the
// timestamp from which it is valid, and the timestamp (exclusive) until which it is, NoValidTo
// for the latest version.
type VersionedRecord[V any] struct {
	Value     V
	Timestamp int64
	ValidTo   int64
}

// VersionedKeyValueStore is a typed view of a VersionedBytesStore (Kafka Streams'
// VersionedKeyValueStore): keys and values go through serdes at its boundary.
type VersionedKeyValueStore[K, V any] struct {
	bytes *VersionedBytesStore
	ks    serde.Serde[K]
	vs    serde.Serde[V]
	raw   KeyValueBytesStore // beneath the versioning, for transactions
}

// NewVersionedKeyValueStore wraps a versioned byte store with serdes.
func NewVersionedKeyValueStore[K, V any](bytes *VersionedBytesStore, ks serde.Serde[K], vs serde.Serde[V]) *VersionedKeyValueStore[K, V] {
	return &VersionedKeyValueStore[K, V]{bytes: bytes, ks: ks, vs: vs, raw: bytes.kv}
}

// Name, Flush and Close make the view a processor.Store.
func (s *VersionedKeyValueStore[K, V]) Name() string { return s.bytes.Name() }
func (s *VersionedKeyValueStore[K, V]) Flush() error { return s.bytes.Flush() }
func (s *VersionedKeyValueStore[K, V]) Close() error { return s.bytes.Close() }

// Bytes returns the byte store underneath.
func (s *VersionedKeyValueStore[K, V]) Bytes() *VersionedBytesStore { return s.bytes }

// Restore applies one changelog record without logging it again.
func (s *VersionedKeyValueStore[K, V]) Restore(key, value []byte) error {
	return s.bytes.Restore(key, value)
}

func (s *VersionedKeyValueStore[K, V]) transactional() Transactional { return transactionalOf(s.raw) }

func (s *VersionedKeyValueStore[K, V]) key(k K) ([]byte, error) {
	b, err := s.ks.Serialize(s.bytes.Name(), k)
	if err != nil {
		return nil, &serde.Error{Topic: s.bytes.Name(), Partition: -1, Offset: -1, Key: true, Serialize: true, Err: err}
	}
	return b, nil
}

func (s *VersionedKeyValueStore[K, V]) record(b VersionedBytes) (VersionedRecord[V], error) {
	v, err := s.vs.Deserialize(s.bytes.Name(), b.Value)
	if err != nil {
		return VersionedRecord[V]{}, &serde.Error{Topic: s.bytes.Name(), Partition: -1, Offset: -1, Err: err}
	}
	return VersionedRecord[V]{Value: v, Timestamp: b.Timestamp, ValidTo: b.ValidTo}, nil
}

// Put writes v as k's version from ts; a value serializing to nil (a nil pointer with JSON)
// writes a tombstone. validTo is NoValidTo when the version is k's latest, else the timestamp
// of the version after it. stored is false when ts is older than observed stream time minus
// history retention: nothing was written (see VersionedBytesStore.Put).
func (s *VersionedKeyValueStore[K, V]) Put(k K, v V, ts int64) (validTo int64, stored bool, err error) {
	kb, err := s.key(k)
	if err != nil {
		return 0, false, err
	}
	vb, err := s.vs.Serialize(s.bytes.Name(), v)
	if err != nil {
		return 0, false, &serde.Error{Topic: s.bytes.Name(), Partition: -1, Offset: -1, Serialize: true, Err: err}
	}
	return s.bytes.Put(kb, vb, ts)
}

// PutTombstone writes a tombstone as k's version from ts (Kafka Streams' put(key, null, ts)),
// with Put's results.
func (s *VersionedKeyValueStore[K, V]) PutTombstone(k K, ts int64) (validTo int64, stored bool, err error) {
	kb, err := s.key(k)
	if err != nil {
		return 0, false, err
	}
	return s.bytes.Put(kb, nil, ts)
}

// Delete writes a tombstone for k at ts and returns the version valid at ts, if any; stored
// is false when ts is past history retention and nothing was written.
func (s *VersionedKeyValueStore[K, V]) Delete(k K, ts int64) (prev VersionedRecord[V], found, stored bool, err error) {
	kb, err := s.key(k)
	if err != nil {
		return prev, false, false, err
	}
	b, found, stored, err := s.bytes.Delete(kb, ts)
	if err != nil || !found {
		return prev, false, stored, err
	}
	prev, err = s.record(b)
	return prev, err == nil, stored, err
}

// Get returns k's latest version; found is false when k has none (or was deleted last).
func (s *VersionedKeyValueStore[K, V]) Get(k K) (VersionedRecord[V], bool, error) {
	kb, err := s.key(k)
	if err != nil {
		return VersionedRecord[V]{}, false, err
	}
	b, ok, err := s.bytes.Get(kb)
	if err != nil || !ok {
		return VersionedRecord[V]{}, false, err
	}
	r, err := s.record(b)
	return r, err == nil, err
}

// GetAsOf returns the version of k valid at asOf (see VersionedBytesStore.GetAsOf).
func (s *VersionedKeyValueStore[K, V]) GetAsOf(k K, asOf int64) (VersionedRecord[V], bool, error) {
	kb, err := s.key(k)
	if err != nil {
		return VersionedRecord[V]{}, false, err
	}
	b, ok, err := s.bytes.GetAsOf(kb, asOf)
	if err != nil || !ok {
		return VersionedRecord[V]{}, false, err
	}
	r, err := s.record(b)
	return r, err == nil, err
}

// VersionedKeyValueStoreBuilder builds a *VersionedKeyValueStore[K, V] per task (Kafka
// Streams' Stores.versionedKeyValueStoreBuilder with persistentVersionedKeyValueStore): on
// the task's backend, or its own (WithBackend); logged by default. Versioned stores are never
// cached, as in Kafka Streams.
type VersionedKeyValueStoreBuilder[K, V any] struct {
	storeSpec
	ks        serde.Serde[K]
	vs        serde.Serde[V]
	retention time.Duration
}

// NewVersionedKeyValueStoreBuilder returns a builder of versioned stores named name that keep
// historyRetention of history (of observed stream time).
func NewVersionedKeyValueStoreBuilder[K, V any](name string, ks serde.Serde[K], vs serde.Serde[V], historyRetention time.Duration) *VersionedKeyValueStoreBuilder[K, V] {
	return &VersionedKeyValueStoreBuilder[K, V]{storeSpec: newStoreSpec(name), ks: ks, vs: vs, retention: historyRetention}
}

// HistoryRetention is the history the stores keep.
func (b *VersionedKeyValueStoreBuilder[K, V]) HistoryRetention() time.Duration { return b.retention }

// Versioned marks the store as versioned, for interactive queries and the DSL.
func (b *VersionedKeyValueStoreBuilder[K, V]) Versioned() bool { return true }

// WithLogging turns changelogging on or off.
func (b *VersionedKeyValueStoreBuilder[K, V]) WithLogging(on bool) *VersionedKeyValueStoreBuilder[K, V] {
	b.opts.Logging = on
	return b
}

// WithBackend makes the store use backend instead of the task's default.
func (b *VersionedKeyValueStoreBuilder[K, V]) WithBackend(backend Backend) *VersionedKeyValueStoreBuilder[K, V] {
	b.opts.Backend = backend
	return b
}

// Build opens the store for one task.
func (b *VersionedKeyValueStoreBuilder[K, V]) Build(ctx StoreContext) (processor.Store, error) {
	if ctx.Shared {
		return nil, fmt.Errorf("%w: %s", ErrVersionedGlobal, b.name)
	}
	backend, err := b.backend(ctx)
	if err != nil {
		return nil, err
	}
	raw, err := backend.KeyValue(b.name, ctx.Dir)
	if err != nil {
		return nil, err
	}
	vb, err := NewVersionedBytesStore(b.name, raw, b.retention.Milliseconds(), b.sink(ctx))
	if err != nil {
		_ = raw.Close()
		return nil, err
	}
	return NewVersionedKeyValueStore(vb, b.ks, b.vs), nil
}
