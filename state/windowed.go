package state

import (
	"github.com/rillstreams/rill/processor"
	"github.com/rillstreams/rill/serde"
)

// WindowStore is a typed view of a WindowBytesStore.
type WindowStore[K, V any] struct {
	bytes WindowBytesStore
	raw   WindowBytesStore // beneath logging, for restoration
	ks    serde.Serde[K]
	vs    serde.Serde[V]
}

// Restore applies one changelog record (key with window start and sequence number).
func (s *WindowStore[K, V]) Restore(key, value []byte) error {
	k, start, err := parseWindowChangelogKey(key)
	if err != nil {
		return err
	}
	raw := s.raw
	if raw == nil {
		raw = s.bytes
	}
	return raw.Put(k, value, start)
}

// NewWindowStore wraps a window byte store with serdes.
func NewWindowStore[K, V any](bytes WindowBytesStore, ks serde.Serde[K], vs serde.Serde[V]) *WindowStore[K, V] {
	return &WindowStore[K, V]{bytes: bytes, ks: ks, vs: vs}
}

func (s *WindowStore[K, V]) Name() string             { return s.bytes.Name() }
func (s *WindowStore[K, V]) Flush() error             { return s.bytes.Flush() }
func (s *WindowStore[K, V]) Close() error             { return s.bytes.Close() }
func (s *WindowStore[K, V]) Bytes() WindowBytesStore  { return s.bytes }
func (s *WindowStore[K, V]) Retention() int64         { return s.bytes.Retention() }
func (s *WindowStore[K, V]) KeySerde() serde.Serde[K] { return s.ks }

func (s *WindowStore[K, V]) key(k K) ([]byte, error) {
	b, err := s.ks.Serialize(s.bytes.Name(), k)
	if err != nil {
		return nil, &serde.Error{Topic: s.bytes.Name(), Partition: -1, Offset: -1, Key: true, Serialize: true, Err: err}
	}
	return b, nil
}

// Put stores v for k's window starting at windowStart.
func (s *WindowStore[K, V]) Put(k K, v V, windowStart int64) error {
	kb, err := s.key(k)
	if err != nil {
		return err
	}
	vb, err := s.vs.Serialize(s.bytes.Name(), v)
	if err != nil {
		return &serde.Error{Topic: s.bytes.Name(), Partition: -1, Offset: -1, Serialize: true, Err: err}
	}
	return s.bytes.Put(kb, vb, windowStart)
}

// Delete removes k's window starting at windowStart.
func (s *WindowStore[K, V]) Delete(k K, windowStart int64) error {
	kb, err := s.key(k)
	if err != nil {
		return err
	}
	return s.bytes.Put(kb, nil, windowStart)
}

// Fetch returns k's value for the window starting at windowStart.
func (s *WindowStore[K, V]) Fetch(k K, windowStart int64) (v V, ok bool, err error) {
	kb, err := s.key(k)
	if err != nil {
		return v, false, err
	}
	b, err := s.bytes.Fetch(kb, windowStart)
	if err != nil || b == nil {
		return v, false, err
	}
	v, err = s.vs.Deserialize(s.bytes.Name(), b)
	return v, err == nil, err
}

// WindowedValue is one window of a key: its start and value.
type WindowedValue[V any] struct {
	WindowStart int64
	Value       V
}

// FetchRange returns k's windows starting in [from, to], by start time.
func (s *WindowStore[K, V]) FetchRange(k K, from, to int64) ([]WindowedValue[V], error) {
	kb, err := s.key(k)
	if err != nil {
		return nil, err
	}
	it, err := s.bytes.FetchRange(kb, from, to)
	if err != nil {
		return nil, err
	}
	defer it.Close()
	var out []WindowedValue[V]
	for it.Next() {
		v, err := s.vs.Deserialize(s.bytes.Name(), it.Value())
		if err != nil {
			return out, err
		}
		out = append(out, WindowedValue[V]{WindowStart: it.WindowStart(), Value: v})
	}
	return out, it.Err()
}

// WindowedKeyValue is one window of some key.
type WindowedKeyValue[K, V any] struct {
	Key         K
	WindowStart int64
	Value       V
}

// FetchAll returns every window starting in [from, to], by start time then key.
func (s *WindowStore[K, V]) FetchAll(from, to int64) ([]WindowedKeyValue[K, V], error) {
	it, err := s.bytes.FetchAll(from, to)
	if err != nil {
		return nil, err
	}
	return collectWindows(s, it)
}

// All returns every window kept.
func (s *WindowStore[K, V]) All() ([]WindowedKeyValue[K, V], error) {
	it, err := s.bytes.All()
	if err != nil {
		return nil, err
	}
	return collectWindows(s, it)
}

func collectWindows[K, V any](s *WindowStore[K, V], it WindowKeyIterator) ([]WindowedKeyValue[K, V], error) {
	defer it.Close()
	var out []WindowedKeyValue[K, V]
	for it.Next() {
		k, err := s.ks.Deserialize(s.bytes.Name(), it.Key())
		if err != nil {
			return out, err
		}
		v, err := s.vs.Deserialize(s.bytes.Name(), it.Value())
		if err != nil {
			return out, err
		}
		out = append(out, WindowedKeyValue[K, V]{Key: k, WindowStart: it.WindowStart(), Value: v})
	}
	return out, it.Err()
}

// SessionStore is a typed view of a SessionBytesStore.
type SessionStore[K, V any] struct {
	bytes SessionBytesStore
	raw   SessionBytesStore // beneath logging, for restoration
	ks    serde.Serde[K]
	vs    serde.Serde[V]
}

// Restore applies one changelog record (key with session end and start).
func (s *SessionStore[K, V]) Restore(key, value []byte) error {
	k, start, end, err := parseSessionChangelogKey(key)
	if err != nil {
		return err
	}
	raw := s.raw
	if raw == nil {
		raw = s.bytes
	}
	if value == nil {
		return raw.Remove(k, start, end)
	}
	return raw.Put(k, start, end, value)
}

// NewSessionStore wraps a session byte store with serdes.
func NewSessionStore[K, V any](bytes SessionBytesStore, ks serde.Serde[K], vs serde.Serde[V]) *SessionStore[K, V] {
	return &SessionStore[K, V]{bytes: bytes, ks: ks, vs: vs}
}

func (s *SessionStore[K, V]) Name() string             { return s.bytes.Name() }
func (s *SessionStore[K, V]) Flush() error             { return s.bytes.Flush() }
func (s *SessionStore[K, V]) Close() error             { return s.bytes.Close() }
func (s *SessionStore[K, V]) Bytes() SessionBytesStore { return s.bytes }
func (s *SessionStore[K, V]) Retention() int64         { return s.bytes.Retention() }
func (s *SessionStore[K, V]) KeySerde() serde.Serde[K] { return s.ks }

// Session is one session of a key: [Start, End] (inclusive, milliseconds) and its value.
type Session[K, V any] struct {
	Key        K
	Start, End int64
	Value      V
}

func (s *SessionStore[K, V]) key(k K) ([]byte, error) {
	b, err := s.ks.Serialize(s.bytes.Name(), k)
	if err != nil {
		return nil, &serde.Error{Topic: s.bytes.Name(), Partition: -1, Offset: -1, Key: true, Serialize: true, Err: err}
	}
	return b, nil
}

// Put stores v for k's session [start, end].
func (s *SessionStore[K, V]) Put(k K, start, end int64, v V) error {
	kb, err := s.key(k)
	if err != nil {
		return err
	}
	vb, err := s.vs.Serialize(s.bytes.Name(), v)
	if err != nil {
		return &serde.Error{Topic: s.bytes.Name(), Partition: -1, Offset: -1, Serialize: true, Err: err}
	}
	return s.bytes.Put(kb, start, end, vb)
}

// Remove deletes k's session [start, end].
func (s *SessionStore[K, V]) Remove(k K, start, end int64) error {
	kb, err := s.key(k)
	if err != nil {
		return err
	}
	return s.bytes.Remove(kb, start, end)
}

// FindSessions returns k's sessions ending at or after earliestEnd and starting at or before
// latestStart: those a record at a given time merges with.
func (s *SessionStore[K, V]) FindSessions(k K, earliestEnd, latestStart int64) ([]Session[K, V], error) {
	kb, err := s.key(k)
	if err != nil {
		return nil, err
	}
	it, err := s.bytes.FindSessions(kb, earliestEnd, latestStart)
	if err != nil {
		return nil, err
	}
	return collectSessions(s, it)
}

// Fetch returns every session of k.
func (s *SessionStore[K, V]) Fetch(k K) ([]Session[K, V], error) {
	kb, err := s.key(k)
	if err != nil {
		return nil, err
	}
	it, err := s.bytes.Fetch(kb)
	if err != nil {
		return nil, err
	}
	return collectSessions(s, it)
}

func collectSessions[K, V any](s *SessionStore[K, V], it SessionIterator) ([]Session[K, V], error) {
	defer it.Close()
	var out []Session[K, V]
	for it.Next() {
		k, err := s.ks.Deserialize(s.bytes.Name(), it.Key())
		if err != nil {
			return out, err
		}
		v, err := s.vs.Deserialize(s.bytes.Name(), it.Value())
		if err != nil {
			return out, err
		}
		out = append(out, Session[K, V]{Key: k, Start: it.Start(), End: it.End(), Value: v})
	}
	return out, it.Err()
}

// windowedSpec is what window and session store builders share beyond storeSpec.
type windowedSpec struct {
	storeSpec
	wo WindowOptions
}

// WindowOptions returns the retention and segmenting the store is built with; the runtime gives
// windowed changelogs a matching retention.
func (s *windowedSpec) WindowOptions() WindowOptions { return s.wo }

// cacheFor is the task's record cache when the store is to be cached in it, with the task's
// record context (nil when the store is uncached).
func (s *windowedSpec) cacheFor(ctx StoreContext) (*RecordCache, TaskContext) {
	c := ctx.Cache
	if c == nil || c.max <= 0 || !s.opts.Caching || ctx.Shared {
		return nil, nil
	}
	return c, ctx.Records
}

// WindowStoreBuilder builds a typed window store per task.
type WindowStoreBuilder[K, V any] struct {
	windowedSpec
	ks serde.Serde[K]
	vs serde.Serde[V]
}

// NewWindowStoreBuilder returns a builder of *WindowStore[K, V], logged by default.
func NewWindowStoreBuilder[K, V any](name string, ks serde.Serde[K], vs serde.Serde[V], wo WindowOptions) *WindowStoreBuilder[K, V] {
	return &WindowStoreBuilder[K, V]{windowedSpec: windowedSpec{storeSpec: newStoreSpec(name), wo: wo}, ks: ks, vs: vs}
}

// Timestamped tells whether the store's values carry their timestamps (built with a
// TimestampedSerde, as the DSL's windowed aggregations): interactive queries strip them.
func (b *WindowStoreBuilder[K, V]) Timestamped() bool {
	t, ok := any(b.vs).(interface{ Timestamped() bool })
	return ok && t.Timestamped()
}

func (b *WindowStoreBuilder[K, V]) WithLogging(on bool) *WindowStoreBuilder[K, V] {
	b.opts.Logging = on
	return b
}

// WithCaching turns caching on or off (see StoreOptions.Caching; Kafka Streams'
// CachingWindowStore). Stores that retain duplicates (join buffers) are never cached.
func (b *WindowStoreBuilder[K, V]) WithCaching(on bool) *WindowStoreBuilder[K, V] {
	b.opts.Caching = on
	return b
}

func (b *WindowStoreBuilder[K, V]) WithBackend(backend Backend) *WindowStoreBuilder[K, V] {
	b.opts.Backend = backend
	return b
}

// Build opens the store for one task.
func (b *WindowStoreBuilder[K, V]) Build(ctx StoreContext) (processor.Store, error) {
	backend, err := b.backend(ctx)
	if err != nil {
		return nil, err
	}
	raw, err := backend.Window(b.name, ctx.Dir, b.wo)
	if err != nil {
		return nil, err
	}
	s := NewWindowStore(raw, b.ks, b.vs)
	if sink := b.sink(ctx); sink != nil {
		s.bytes, s.raw = &loggedWindow{WindowBytesStore: raw, sink: sink}, raw
	}
	if c, task := b.cacheFor(ctx); c != nil && !b.wo.RetainDuplicates {
		s.bytes, s.raw = newCachingWindow(s.bytes, c, ctx.TaskID.String()+"-"+b.name, task), raw
	}
	return s, nil
}

// SessionStoreBuilder builds a typed session store per task.
type SessionStoreBuilder[K, V any] struct {
	windowedSpec
	ks serde.Serde[K]
	vs serde.Serde[V]
}

// NewSessionStoreBuilder returns a builder of *SessionStore[K, V], logged by default.
func NewSessionStoreBuilder[K, V any](name string, ks serde.Serde[K], vs serde.Serde[V], wo WindowOptions) *SessionStoreBuilder[K, V] {
	return &SessionStoreBuilder[K, V]{windowedSpec: windowedSpec{storeSpec: newStoreSpec(name), wo: wo}, ks: ks, vs: vs}
}

func (b *SessionStoreBuilder[K, V]) WithLogging(on bool) *SessionStoreBuilder[K, V] {
	b.opts.Logging = on
	return b
}

// WithCaching turns caching on or off (see StoreOptions.Caching; Kafka Streams'
// CachingSessionStore).
func (b *SessionStoreBuilder[K, V]) WithCaching(on bool) *SessionStoreBuilder[K, V] {
	b.opts.Caching = on
	return b
}

func (b *SessionStoreBuilder[K, V]) WithBackend(backend Backend) *SessionStoreBuilder[K, V] {
	b.opts.Backend = backend
	return b
}

// Build opens the store for one task.
func (b *SessionStoreBuilder[K, V]) Build(ctx StoreContext) (processor.Store, error) {
	backend, err := b.backend(ctx)
	if err != nil {
		return nil, err
	}
	raw, err := backend.Session(b.name, ctx.Dir, b.wo)
	if err != nil {
		return nil, err
	}
	s := NewSessionStore(raw, b.ks, b.vs)
	if sink := b.sink(ctx); sink != nil {
		s.bytes, s.raw = &loggedSession{SessionBytesStore: raw, sink: sink}, raw
	}
	if c, task := b.cacheFor(ctx); c != nil {
		s.bytes, s.raw = newCachingSession(s.bytes, c, ctx.TaskID.String()+"-"+b.name, task), raw
	}
	return s, nil
}
