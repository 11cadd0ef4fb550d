package dsl

import (
	"fmt"
	"github.com/rillstreams/rill/processor"

	"github.com/rillstreams/rill/serde"
)

// Options are typed by the operations that take them: Named works everywhere, WithSerdes only
// where records are written to or read from a topic, WithStores only on Process. Passing an
// option to an operation that has no use for it does not compile.

// Option configures a stateless operation; Named is the only one.
type Option interface{ applyNamed(*string) }

// SourceOption configures a source (Builder.Stream and friends).
type SourceOption interface{ applySource(*sourceConfig) }

// SinkOption configures To and ToTopicFunc.
type SinkOption interface{ applySink(*sinkConfig) }

// RepartitionOption configures Repartition.
type RepartitionOption interface{ applyRepartition(*repartitionConfig) }

// ProcessOption configures Process.
type ProcessOption interface{ applyProcess(*processConfig) }

// BranchOption configures one branch of Split.
type BranchOption interface{ applyBranch(*string) }

// NameOption is what Named returns; every operation accepts it.
type NameOption struct{ name string }

// Named names the node an operation adds (Kafka Streams' Named.as). Names are what state
// stores, internal topics and metrics are called after; naming the nodes of a long-lived
// application keeps them stable when the topology changes.
func Named(name string) NameOption { return NameOption{name: name} }

func (o NameOption) applyNamed(n *string)                  { *n = o.name }
func (o NameOption) applySource(c *sourceConfig)           { c.name = o.name }
func (o NameOption) applySink(c *sinkConfig)               { c.name = o.name }
func (o NameOption) applyRepartition(c *repartitionConfig) { c.name = o.name }
func (o NameOption) applyProcess(c *processConfig)         { c.name = o.name }

// BranchedOption is what Branched returns.
type BranchedOption struct{ name string }

// Branched names a branch of Split: the branch's node (and its key in the returned map) is the
// split's name followed by this name (Kafka Streams' Branched.as).
func Branched(name string) BranchedOption { return BranchedOption{name: name} }

func (o BranchedOption) applyBranch(n *string) { *n = o.name }

// SerdesOption is what WithSerdes returns.
type SerdesOption[K, V any] struct {
	key   serde.Serde[K]
	value serde.Serde[V]
}

// WithSerdes sets the serdes records are written (and, for Repartition, read back) with. A nil
// serde keeps the one the stream already has. The types are checked against the stream's at
// Build.
func WithSerdes[K, V any](key serde.Serde[K], value serde.Serde[V]) SerdesOption[K, V] {
	return SerdesOption[K, V]{key: key, value: value}
}

func (o SerdesOption[K, V]) applySink(c *sinkConfig) { c.serdes = o }
func (o SerdesOption[K, V]) applyRepartition(c *repartitionConfig) {
	c.serdes = o
}

// PartitionsOption is what WithPartitions returns.
type PartitionsOption int

// WithPartitions sets the partition count of a repartition topic (default: as the upstream
// source topic).
func WithPartitions(n int) PartitionsOption { return PartitionsOption(n) }

func (o PartitionsOption) applyRepartition(c *repartitionConfig) { c.partitions = int(o) }

// StoresOption is what WithStores returns.
type StoresOption []string

// WithStores connects a Process node to stores added with Builder.AddStateStore.
func WithStores(names ...string) StoresOption { return StoresOption(names) }

func (o StoresOption) applyProcess(c *processConfig) { c.stores = append(c.stores, o...) }

type sourceConfig struct {
	name      string
	extractor processor.TimestampExtractor
	reset     *processor.OffsetReset
}

// TimestampOption is what WithTimestampExtractor returns.
type TimestampOption struct{ ex processor.TimestampExtractor }

// WithTimestampExtractor gives a source's records their timestamps with ex instead of the
// app's default (rill.Config.TimestampExtractor; Kafka Streams' Consumed.withTimestampExtractor).
//
//	b.Stream("events", serde.String(), serde.JSON[Event](),
//		dsl.WithTimestampExtractor(processor.UsePartitionTimeOnInvalidTimestamp))
func WithTimestampExtractor(ex processor.TimestampExtractor) TimestampOption {
	return TimestampOption{ex: ex}
}

func (o TimestampOption) applySource(c *sourceConfig) { c.extractor = o.ex }

// OffsetResetOption is what WithOffsetReset returns.
type OffsetResetOption struct{ r processor.OffsetReset }

// WithOffsetReset makes a source start, in partitions the application has no committed offset
// for, where r says instead of at the earliest record (Kafka Streams'
// Consumed.withOffsetResetPolicy):
//
//	b.Stream("clicks", serde.String(), serde.String(), dsl.WithOffsetReset(processor.OffsetResetLatest()))
//	b.Stream("audit", serde.String(), serde.String(), dsl.WithOffsetReset(processor.OffsetResetByDuration(24*time.Hour)))
func WithOffsetReset(r processor.OffsetReset) OffsetResetOption { return OffsetResetOption{r: r} }

func (o OffsetResetOption) applySource(c *sourceConfig) { c.reset = &o.r }

type sinkConfig struct {
	name        string
	serdes      any // a SerdesOption[K, V]
	partitioner any // a PartitionerOption[K, V]
}

type repartitionConfig struct {
	name        string
	serdes      any // a SerdesOption[K, V]
	partitions  int
	partitioner any // a PartitionerOption[K, V]
}

type processConfig struct {
	name   string
	stores []string
}

// nameOf returns the name set by opts, if any.
func nameOf(opts []Option) string {
	var n string
	for _, o := range opts {
		o.applyNamed(&n)
	}
	return n
}

// resolveSerdes picks the serdes for writing K, V records at node: the option's, else the
// stream's, else the stock serde of the type.
func resolveSerdes[K, V any](node string, opt any, ks serde.Serde[K], vs serde.Serde[V]) (serde.Serde[K], serde.Serde[V], error) {
	if opt != nil {
		o, ok := opt.(SerdesOption[K, V])
		if !ok {
			return nil, nil, fmt.Errorf("%w: %s: WithSerdes has types %T, the stream has key %s and value %s",
				ErrSerdeType, node, opt, serde.TypeName[K](), serde.TypeName[V]())
		}
		if o.key != nil {
			ks = o.key
		}
		if o.value != nil {
			vs = o.value
		}
	}
	if ks == nil {
		ks, _ = serde.Default[K]()
	}
	if vs == nil {
		vs, _ = serde.Default[V]()
	}
	if ks == nil {
		return nil, nil, fmt.Errorf("%w: %s: no key serde for %s; pass dsl.WithSerdes", ErrMissingSerde, node, serde.TypeName[K]())
	}
	if vs == nil {
		return nil, nil, fmt.Errorf("%w: %s: no value serde for %s; pass dsl.WithSerdes", ErrMissingSerde, node, serde.TypeName[V]())
	}
	return ks, vs, nil
}
