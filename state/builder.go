package state

import (
	"errors"
	"fmt"

	"github.com/rillstreams/rill/processor"
	"github.com/rillstreams/rill/serde"
)

// ErrNoBackend is returned when a store has no backend of its own and its task was given none.
var ErrNoBackend = errors.New("rill: no state store backend")

// StoreOptions are what every store builder carries: its backend and whether it is logged to a
// changelog topic and cached.
type StoreOptions struct {
	// Backend overrides the task's default backend for this store (nil: the task's).
	Backend Backend
	// Logging writes every change to the compacted changelog topic
	// "<application id>-<store>-changelog", from which the runtime restores the store. On by
	// default, as in Kafka Streams.
	Logging bool
	// Caching keeps the store's writes in its thread's RecordCache until the cache flushes
	// them (at each commit, or when it is over budget): the store beneath, its changelog and,
	// for DSL tables, the processors downstream then get only the latest value of each key
	// written since the previous flush (Kafka Streams' record cache). Key-value, window and
	// session stores (not window stores that retain duplicates); off by default for stores built here, on by default for the DSL's tables and
	// aggregations (dsl.Materialized(...).WithCachingDisabled turns it off). A task given no
	// cache, or one of 0 bytes, builds the store uncached.
	Caching bool
}

// storeSpec is what every store builder has: a name and StoreOptions.
type storeSpec struct {
	name string
	opts StoreOptions
}

func newStoreSpec(name string) storeSpec {
	return storeSpec{name: name, opts: StoreOptions{Logging: true}}
}

// Name is the store name.
func (s *storeSpec) Name() string { return s.name }

// Options returns the store's options, for the runtime (changelog topics).
func (s *storeSpec) Options() StoreOptions { return s.opts }

// Logged tells whether the built store writes a changelog.
func (s *storeSpec) Logged() bool { return s.opts.Logging }

// backend is the store's own backend, else the task's default.
func (s *storeSpec) backend(ctx StoreContext) (Backend, error) {
	if s.opts.Backend != nil {
		return s.opts.Backend, nil
	}
	if ctx.Backend != nil {
		return ctx.Backend, nil
	}
	return nil, fmt.Errorf("%w for store %s", ErrNoBackend, s.name)
}

// sink is where a logged store's writes go, or nil when it is not logged or the task logs
// nothing (the test driver).
func (s *storeSpec) sink(ctx StoreContext) ChangelogSink {
	if ctx.Changelog != nil && s.opts.Logging {
		return ctx.Changelog
	}
	return nil
}

// KeyValueStoreBuilder builds a typed key-value store per task (Kafka Streams'
// Stores.keyValueStoreBuilder). Timestamped builders make KTable stores.
type KeyValueStoreBuilder[K, V any] struct {
	storeSpec
	ks          serde.Serde[K]
	vs          serde.Serde[V]
	timestamped bool
}

// NewKeyValueStoreBuilder returns a builder of *KeyValueStore[K, V] named name, logged by default.
func NewKeyValueStoreBuilder[K, V any](name string, ks serde.Serde[K], vs serde.Serde[V]) *KeyValueStoreBuilder[K, V] {
	return &KeyValueStoreBuilder[K, V]{storeSpec: newStoreSpec(name), ks: ks, vs: vs}
}

// NewTimestampedKeyValueStoreBuilder returns a builder of *TimestampedKeyValueStore[K, V].
func NewTimestampedKeyValueStoreBuilder[K, V any](name string, ks serde.Serde[K], vs serde.Serde[V]) *KeyValueStoreBuilder[K, V] {
	b := NewKeyValueStoreBuilder(name, ks, vs)
	b.timestamped = true
	return b
}

// Timestamped tells whether the store holds values with their timestamps
// (NewTimestampedKeyValueStoreBuilder): interactive queries strip and report them.
func (b *KeyValueStoreBuilder[K, V]) Timestamped() bool { return b.timestamped }

// WithLogging turns changelogging on or off.
func (b *KeyValueStoreBuilder[K, V]) WithLogging(on bool) *KeyValueStoreBuilder[K, V] {
	b.opts.Logging = on
	return b
}

// WithCaching turns caching on or off (see StoreOptions.Caching).
func (b *KeyValueStoreBuilder[K, V]) WithCaching(on bool) *KeyValueStoreBuilder[K, V] {
	b.opts.Caching = on
	return b
}

// WithBackend makes the store use backend instead of the task's default.
func (b *KeyValueStoreBuilder[K, V]) WithBackend(backend Backend) *KeyValueStoreBuilder[K, V] {
	b.opts.Backend = backend
	return b
}

// Build opens the store for one task.
func (b *KeyValueStoreBuilder[K, V]) Build(ctx StoreContext) (processor.Store, error) {
	backend, err := b.backend(ctx)
	if err != nil {
		return nil, err
	}
	raw, err := backend.KeyValue(b.name, ctx.Dir)
	if err != nil {
		return nil, err
	}
	bytes := raw
	if ctx.Shared {
		raw = &syncKeyValue{s: raw}
		bytes = raw
	}
	if sink := b.sink(ctx); sink != nil {
		bytes = &loggedKeyValue{KeyValueBytesStore: raw, sink: sink}
	}
	if c := ctx.Cache; c != nil && c.max > 0 && b.opts.Caching && !ctx.Shared {
		bytes = newCachingKeyValue(bytes, c, ctx.TaskID.String()+"-"+b.name, ctx.Records)
	}
	restore := func(key, value []byte) error { return raw.Put(key, value) }
	if b.timestamped {
		s := NewTimestampedKeyValueStore(bytes, b.ks, b.vs)
		s.restore, s.raw = restore, raw
		return s, nil
	}
	s := NewKeyValueStore(bytes, b.ks, b.vs)
	s.restore, s.raw = restore, raw
	return s, nil
}
