// Package dsl is rill's typed, fluent stream-processing DSL (Kafka Streams' StreamsBuilder and
// KStream). Programs are written as chains of operations on typed streams and compiled by
// Builder.Build into a topology.Topology, which the test driver (streamstest) or the Kafka
// runtime runs.
//
// # Usage
//
//	b := dsl.NewBuilder()
//	orders := b.Stream("orders", serde.String(), serde.JSON[Order]())
//	big := orders.Filter(func(id string, o Order) bool { return o.Total > 100 })
//	big.MapValues(func(id string, o Order) string { return o.CustomerID }).
//		To("big-order-customers")
//	topo, err := b.Build() // every wiring error at once
//
// Operations are generic methods (Go 1.27), so each step is typed by the previous one:
// MapValues on a *Stream[string, Order] with a func returning string yields a
// *Stream[string, string]. Types are concrete structs, because interfaces cannot carry generic
// methods. Where a fluent chain would instantiate an ever-growing type (windowed keys of
// windowed keys, an instantiation cycle Go rejects), the one entry operation is a package
// function instead: WindowedBy and SessionWindowedBy (see package windows), and for cogroups
// CogroupWindowedBy and CogroupSessionWindowedBy.
//
// Options are typed by what takes them: Named everywhere, WithSerdes where records meet a
// topic, WithPartitioner on To and Repartition (Kafka Streams' StreamPartitioner), WithStores
// on Process, Branched on branches. Serdes are inherited along a chain while
// the types stay the same, fall back to the stock serde of builtin types (string, []byte,
// int32, int64, float64), and otherwise must be given; Build reports any that is missing.
//
// Node names follow Kafka Streams (KSTREAM-FILTER-0000000001, ...), one counter per builder, so
// Describe output and internal topic names match a Java application's. Name the nodes of a
// long-lived application with Named: generated names shift when the program changes.
//
// Key-changing operations (Map, SelectKey, FlatMap, Process) mark a stream as needing a
// repartition: a grouping (GroupByKey, GroupBy) or a stream-stream or stream-table join
// downstream then routes records through a repartition topic first, so that each key is
// processed by the task of its partition (RepartitionRequired tells). Repartition does it
// explicitly.
//
// # The record cache
//
// Tables, aggregations and windowed aggregations keep their stores in the record cache by
// default (rill.Config.CacheMaxBytes, Kafka Streams' statestore.cache.max.bytes): each key
// (each key and window, each session) is written, logged and forwarded once per commit with
// its latest value. Opt out per store where every update must go downstream:
//
//	dsl.WindowedBy(clicks.GroupByKey(), windows.Tumbling(time.Minute)).
//		Count(dsl.Materialized("clicks-per-minute").WithCachingDisabled())
//
// Sources of tables take an offset reset policy as streams do:
//
//	b.Table("prices", serde.String(), serde.Float64(), dsl.WithOffsetReset(processor.OffsetResetLatest()))
//
// # Versioned tables
//
// A table materialized as versioned keeps its history (KIP-889, KIP-914), and stream-table
// joins read it as of each stream record's time, optionally after a grace period (KIP-923):
//
//	rates := b.Table("rates", serde.String(), serde.JSON[Rate](),
//		dsl.Materialized("rates").WithVersioned(time.Hour))
//	b.Stream("orders", serde.String(), serde.JSON[Order]()).
//		JoinTable(rates, func(_ string, o Order, r Rate) Order { o.Rate = r; return o },
//			dsl.WithGracePeriod(time.Minute)). // table updates up to a minute late still count
//		To("priced-orders")
//
// Derived tables (Filter, MapValues, table-table joins) and aggregations without windows can
// be materialized as versioned too, as in Kafka Streams: each change is stored at its
// timestamp, and one older than the store's latest version goes into the history, reaches
// ToStream marked as not the latest, and is ignored by table-table joins and GroupBy:
//
//	open := b.Table("orders", serde.String(), serde.JSON[Order]()).
//		Filter(func(_ string, o Order) bool { return o.Open },
//			dsl.Materialized("open-orders").WithVersioned(time.Hour))
//
// rill.VersionedKeyValueStore queries the store while the app runs (Get, GetAsOf), and
// streamstest.VersionedStore in tests.
package dsl
