package dsl

import (
	"errors"
	"fmt"
	"time"

	"github.com/rillstreams/rill/processor"
	"github.com/rillstreams/rill/state"
	"github.com/rillstreams/rill/topology"
)

// ErrVersionedUnsupported is returned by Build for a versioned store (WithVersioned) where rill
// cannot keep one, and for operations on versioned tables Kafka Streams refuses (Suppress).
var ErrVersionedUnsupported = errors.New("rill: versioned store not supported here")

// MaterializedOption is what Materialized returns: it names (and so makes queryable) the store
// a table or an aggregation keeps, and may choose its backend and logging.
type MaterializedOption struct {
	name      string
	backend   state.Backend
	noLogging bool
	noCaching bool
	retention time.Duration // window and session stores only; 0: the windows' minimum
	// versioned keeps a versioned store with this history retention (WithVersioned).
	versioned        bool
	historyRetention time.Duration
}

// Materialized names the state store of a table or aggregation (Kafka Streams'
// Materialized.as). A named store is kept even where Kafka Streams would not need one, can be
// read in tests and queried while the app runs, and names the store's changelog topic
// "<application id>-<name>-changelog".
func Materialized(name string) MaterializedOption { return MaterializedOption{name: name} }

// WithBackend makes the store use backend (state/memory or state/rocksdb) instead of the app's
// default.
func (m MaterializedOption) WithBackend(b state.Backend) MaterializedOption {
	m.backend = b
	return m
}

// WithLoggingDisabled keeps the store without a changelog topic: it is rebuilt from scratch
// (from its source) after a restart.
func (m MaterializedOption) WithLoggingDisabled() MaterializedOption {
	m.noLogging = true
	return m
}

// WithCachingDisabled keeps the store out of the record cache (Kafka Streams'
// Materialized.withCachingDisabled): every update is written to the store and its changelog
// and forwarded downstream as it happens, instead of once per key per commit. Caching is on by
// default for tables and aggregations; rill.Config.CacheMaxBytes sets the cache's size (a
// negative size turns caching off for the whole app).
func (m MaterializedOption) WithCachingDisabled() MaterializedOption {
	m.noCaching = true
	return m
}

// WithCachingEnabled puts the store in the record cache, the default.
func (m MaterializedOption) WithCachingEnabled() MaterializedOption {
	m.noCaching = false
	return m
}

// WithRetention keeps the windows of a windowed aggregation's store for d of stream time
// (Kafka Streams' Materialized.withRetention), so that interactive queries can read windows
// after they closed. It must be at least the windows' size plus grace period (sessions: gap plus
// grace; sliding windows: twice the time difference plus grace), the default; Build fails
// otherwise. Key-value stores ignore it.
func (m MaterializedOption) WithRetention(d time.Duration) MaterializedOption {
	m.retention = d
	return m
}

// WithVersioned keeps the table in a versioned store with historyRetention of history (Kafka
// Streams' Materialized.as(Stores.persistentVersionedKeyValueStore(name, historyRetention)),
// KIP-889 and KIP-914): on the app's default backend, or WithBackend's, logged unless
// WithLoggingDisabled, never cached (as Kafka Streams, which does not cache versioned
// stores). The store must be named. Source tables (Builder.Table), Stream.ToTable, Filter,
// MapValues, table-table joins (foreign-key joins too) and aggregations without windows
// (Count, Reduce, Aggregate of grouped streams and tables, cogroups) can be versioned; Build
// fails with
// ErrVersionedUnsupported for windowed and session aggregations and global tables, whose
// stores are not key-value stores, as in Kafka Streams.
//
// A derived table or aggregation kept in a versioned store puts each change at its timestamp
// (an aggregate's timestamp never goes back, so its updates are always the latest); it is
// versioned downstream exactly when its own store is: one kept in a plain store is not, even
// when derived from a versioned table (Kafka Streams' rule).
//
// A versioned table keeps every version of a row written within historyRetention of observed
// stream time. An update older than its key's latest version (out of order) goes into the
// history: it is still forwarded (ToStream emits it), marked as not the latest, and table-table
// joins and table GroupBy ignore it; an update older than observed stream time minus
// historyRetention is dropped and counted. Stream-table joins read the table as of each
// stream record's timestamp (see WithGracePeriod).
func (m MaterializedOption) WithVersioned(historyRetention time.Duration) MaterializedOption {
	m.versioned, m.historyRetention = true, historyRetention
	return m
}

// TableOption configures tables and aggregations: Named, Materialized, WithSerdes.
type TableOption interface{ applyTable(*tableConfig) }

type tableConfig struct {
	name         string
	materialized *MaterializedOption
	serdes       any // a SerdesOption[K, V]
	// reset is WithOffsetReset's policy: Builder.Table's source only (see offset_reset.go).
	reset       *processor.OffsetReset
	tableSource bool
}

func (o NameOption) applyTable(c *tableConfig)         { c.name = o.name }
func (o MaterializedOption) applyTable(c *tableConfig) { c.materialized = &o }
func (o SerdesOption[K, V]) applyTable(c *tableConfig) { c.serdes = o }

// GroupedOption configures GroupBy and GroupByKey: Named (which names the repartition topic,
// as Kafka Streams' Grouped.as) and WithSerdes (the serdes of the repartition topic).
type GroupedOption interface{ applyGrouped(*groupedConfig) }

type groupedConfig struct {
	name   string
	serdes any
}

func (o NameOption) applyGrouped(c *groupedConfig)         { c.name = o.name }
func (o SerdesOption[K, V]) applyGrouped(c *groupedConfig) { c.serdes = o }

func tableOptions(opts []TableOption) tableConfig {
	var c tableConfig
	for _, o := range opts {
		o.applyTable(&c)
	}
	return c
}

// storeName returns the store name materialization asks for, or generates one with the
// builder's counter (prefix + "STATE-STORE-" + counter, as Kafka Streams' newStoreName).
func (b *Builder) storeName(c tableConfig, prefix string) (name string, queryable bool) {
	b.checkResetPlacement(c)
	if c.materialized != nil && c.materialized.name != "" {
		return c.materialized.name, true
	}
	return b.newName(prefix + "STATE-STORE-"), false
}

// notVersioned fails the stores that cannot be versioned: window and session stores (Kafka
// Streams' versioned stores are key-value stores only) and global tables.
func (c tableConfig) notVersioned(node string) error {
	if c.materialized != nil && c.materialized.versioned {
		return fmt.Errorf("%w: %s: only key-value tables (sources, ToTable, Filter, MapValues, table-table joins, "+
			"aggregations without windows) can be materialized as versioned", ErrVersionedUnsupported, node)
	}
	return nil
}

// versionedNeedsName fails WithVersioned without a store name: Kafka Streams' versioned store
// supplier always names its store, and a derived table without a name keeps no store at all.
func (c tableConfig) versionedNeedsName(node string) error {
	if m := c.materialized; m != nil && m.versioned && m.name == "" {
		return fmt.Errorf("%w: %s: a versioned table needs its store named: dsl.Materialized(name).WithVersioned", ErrVersionedUnsupported, node)
	}
	return nil
}

func (c tableConfig) storeOptions() (backend state.Backend, logging bool) {
	if c.materialized == nil {
		return nil, true
	}
	return c.materialized.backend, !c.materialized.noLogging
}

// caching tells whether the store is cached: by default, as Kafka Streams' Materialized.
func (c tableConfig) caching() bool {
	return c.materialized == nil || !c.materialized.noCaching
}

func topologyInternal(name string) topology.InternalTopic { return topology.InternalTopic{Name: name} }
