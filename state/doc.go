// Package state holds rill's state stores: the byte-store interfaces backends implement
// (state/memory, state/rocksdb), the typed views processors use, the builders that open a
// store per task, and the wrappers between them — logging to a changelog topic, and the
// record cache (Kafka Streams' statestore.cache.max.bytes).
//
// # Usage
//
//	// A logged, cached key-value store for a Processor, added to the topology once.
//	b.AddStateStore(state.NewKeyValueStoreBuilder("counts", serde.String(), serde.Int64()).
//		WithCaching(true))
//
//	// In the processor's Init: forward what the cache flushes (at each commit, or when the
//	// cache is full) instead of every update.
//	s, _ := ctx.StateStore("counts")
//	counts := s.(*state.KeyValueStore[string, int64])
//	cached := counts.SetFlushListener(false, func(r state.CachedRecord[string, int64]) error {
//		return ctx.Forward(processor.Record[string, int64]{Key: r.Key, Value: r.New,
//			Timestamp: r.Context.Timestamp, Headers: r.Context.Headers})
//	})
//	// cached is false when the app runs without a cache: then forward in Process.
//
//	// Window and session stores cache the same way (Kafka Streams' CachingWindowStore and
//	// CachingSessionStore): one entry per key and window (session), flushed in write order.
//	b.AddStateStore(state.NewWindowStoreBuilder("clicks", serde.String(), serde.Int64(),
//		state.WindowOptions{Retention: 3_600_000}).WithCaching(true))
//	// In Init:
//	clicks := s.(*state.WindowStore[string, int64])
//	cached = clicks.SetFlushListener(false, func(w state.CachedWindow[string, int64]) error {
//		return forward(w.Key, w.WindowStart, w.New, w.Context)
//	})
//
// # The record cache
//
// A RecordCache is one stream thread's budget for cached stores (rill.Config.CacheMaxBytes,
// default 10 MiB, shared evenly by the threads). A cached key-value store keeps writes there;
// reads see them at once; the store beneath, its changelog and its flush listener get each
// key's latest value when the cache flushes: before every commit, store by store in topology
// order, and when a write takes the cache over budget, for the store written (its least
// recently used entry leaves; if dirty, all of that store's dirty entries flush, the evicted
// one first, then in the order they were last written). Each entry keeps the record context
// of its write (timestamp, headers, topic, partition, offset), restored while it is flushed.
// The DSL caches tables, aggregations and windowed aggregations by default
// (dsl.Materialized(...).WithCachingDisabled opts out). Cached window and session stores
// merge the cache with the store beneath in fetches and range scans; as in Kafka Streams,
// retention applies to the store beneath, so what the cache still holds is returned after it
// expired there.
//
// # Versioned stores
//
// A VersionedKeyValueStore (Kafka Streams' VersionedKeyValueStore, KIP-889) keeps every
// version of each key written within its history retention, each valid from its timestamp
// to the next version's, and answers what a key's value was as of a time:
//
//	b.AddStateStore(state.NewVersionedKeyValueStoreBuilder("prices", serde.String(),
//		serde.Int64(), time.Hour))
//
//	// In the processor:
//	s, _ := ctx.StateStore("prices")
//	prices := s.(*state.VersionedKeyValueStore[string, int64])
//	validTo, stored, err := prices.Put("eur", 108, r.Timestamp) // stored false: too old
//	then, ok, err := prices.GetAsOf("eur", r.Timestamp-60_000)   // the version a minute ago
//
// Its changelog has one record per version (key and timestamp in the record key) and a null
// when a version expires; the layout is described in versioned_format.go. The DSL keeps
// versioned tables with dsl.Materialized(name).WithVersioned(historyRetention).
//
// # Metrics
//
// Meter puts a metered layer on a store built here (Kafka Streams' MeteredKeyValueStore,
// MeteredWindowStore and MeteredSessionStore): it counts and times each operation with
// atomics, and the runtime exports the counts at the debug metrics level.
//
//	m := state.Meter(store) // nil for stores it cannot meter
//	for _, op := range m.Snapshot().Ops {
//		fmt.Println(op.Op, op.Count, op.Sum) // "put 120 0.0031"
//	}
package state
