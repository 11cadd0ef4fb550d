package dsl

import (
	"fmt"
	"regexp"

	"github.com/rillstreams/rill/processor"
	"github.com/rillstreams/rill/serde"
	"github.com/rillstreams/rill/topology"
)

// Stream is an unbounded stream of K, V records (Kafka Streams' KStream). Operations return new
// streams; a stream can feed any number of operations, each getting every record.
//
// The functions given to operations run on every task that processes the stream, concurrently
// across tasks: they must not share mutable state without synchronization.
type Stream[K, V any] struct {
	b    *Builder
	node string // the node this stream's records come out of
	// serdes known for this stream's types, nil when unknown (after a type change); used when
	// records are written to a topic.
	keySerde   serde.Serde[K]
	valueSerde serde.Serde[V]
	// repartitionRequired is set by key-changing operations: a grouping or join downstream must
	// repartition by the new key first.
	repartitionRequired bool
}

// NodeName is the name of the node the stream's records come out of.
func (s *Stream[K, V]) NodeName() string { return s.node }

// RepartitionRequired tells whether a key-changing operation upstream means a grouping or join
// on this stream has to go through a repartition topic.
func (s *Stream[K, V]) RepartitionRequired() bool { return s.repartitionRequired }

// derive returns a stream of the node's output: the same builder, the given serdes and flag.
func derive[K, V any](b *Builder, node string, ks serde.Serde[K], vs serde.Serde[V], repartition bool) *Stream[K, V] {
	return &Stream[K, V]{b: b, node: node, keySerde: ks, valueSerde: vs, repartitionRequired: repartition}
}

// addProcessor adds a processor node under the stream and returns its name.
func addProcessor[K, V, KR, VR any](s *Stream[K, V], name string, sup processor.Supplier[K, V, KR, VR], parents ...string) string {
	if len(parents) == 0 {
		parents = []string{s.node}
	}
	s.b.check(s.b.topo.AddProcessor(name, sup, parents...))
	return name
}

// Filter keeps the records for which pred is true.
func (s *Stream[K, V]) Filter(pred func(K, V) bool, opts ...Option) *Stream[K, V] {
	name := addProcessor(s, s.b.nameOr(nameOf(opts), "KSTREAM-FILTER-"), filterSupplier(pred, false))
	return derive(s.b, name, s.keySerde, s.valueSerde, s.repartitionRequired)
}

// FilterNot drops the records for which pred is true.
func (s *Stream[K, V]) FilterNot(pred func(K, V) bool, opts ...Option) *Stream[K, V] {
	name := addProcessor(s, s.b.nameOr(nameOf(opts), "KSTREAM-FILTER-"), filterSupplier(pred, true))
	return derive(s.b, name, s.keySerde, s.valueSerde, s.repartitionRequired)
}

// Map turns each record into one with a new key and value. The key changes, so a grouping or
// join downstream repartitions first.
func (s *Stream[K, V]) Map[KR, VR any](f func(K, V) (KR, VR), opts ...Option) *Stream[KR, VR] {
	name := addProcessor(s, s.b.nameOr(nameOf(opts), "KSTREAM-MAP-"), mapSupplier(f))
	return derive(s.b, name, sameSerde[K, KR](s.keySerde), sameSerde[V, VR](s.valueSerde), true)
}

// MapValues turns each record's value into a new one; key, timestamp and headers stay.
func (s *Stream[K, V]) MapValues[VR any](f func(K, V) VR, opts ...Option) *Stream[K, VR] {
	name := addProcessor(s, s.b.nameOr(nameOf(opts), "KSTREAM-MAPVALUES-"), mapValuesSupplier(f))
	return derive(s.b, name, s.keySerde, sameSerde[V, VR](s.valueSerde), s.repartitionRequired)
}

// SelectKey gives each record a new key computed from it. A grouping or join downstream
// repartitions first.
func (s *Stream[K, V]) SelectKey[KR any](f func(K, V) KR, opts ...Option) *Stream[KR, V] {
	name := addProcessor(s, s.b.nameOr(nameOf(opts), "KSTREAM-KEY-SELECT-"), selectKeySupplier(f))
	return derive(s.b, name, sameSerde[K, KR](s.keySerde), s.valueSerde, true)
}

// KeyValue is one output record of FlatMap.
type KeyValue[K, V any] struct {
	Key   K
	Value V
}

// KV makes a KeyValue.
func KV[K, V any](k K, v V) KeyValue[K, V] { return KeyValue[K, V]{Key: k, Value: v} }

// FlatMap turns each record into zero or more records with new keys and values, all with the
// input's timestamp and headers. A grouping or join downstream repartitions first.
func (s *Stream[K, V]) FlatMap[KR, VR any](f func(K, V) []KeyValue[KR, VR], opts ...Option) *Stream[KR, VR] {
	name := addProcessor(s, s.b.nameOr(nameOf(opts), "KSTREAM-FLATMAP-"), flatMapSupplier(f))
	return derive(s.b, name, sameSerde[K, KR](s.keySerde), sameSerde[V, VR](s.valueSerde), true)
}

// FlatMapValues turns each record's value into zero or more values, each a record with the
// input's key, timestamp and headers.
func (s *Stream[K, V]) FlatMapValues[VR any](f func(K, V) []VR, opts ...Option) *Stream[K, VR] {
	name := addProcessor(s, s.b.nameOr(nameOf(opts), "KSTREAM-FLATMAPVALUES-"), flatMapValuesSupplier(f))
	return derive(s.b, name, s.keySerde, sameSerde[V, VR](s.valueSerde), s.repartitionRequired)
}

// Peek calls f for each record and passes the record on unchanged.
func (s *Stream[K, V]) Peek(f func(K, V), opts ...Option) *Stream[K, V] {
	name := addProcessor(s, s.b.nameOr(nameOf(opts), "KSTREAM-PEEK-"), peekSupplier(f, true))
	return derive(s.b, name, s.keySerde, s.valueSerde, s.repartitionRequired)
}

// ForEach calls f for each record; the stream ends here.
func (s *Stream[K, V]) ForEach(f func(K, V), opts ...Option) {
	addProcessor(s, s.b.nameOr(nameOf(opts), "KSTREAM-FOREACH-"), peekSupplier(f, false))
}

// Merge merges this stream and other into one; records keep their order within each input,
// with no order between them.
func (s *Stream[K, V]) Merge(other *Stream[K, V], opts ...Option) *Stream[K, V] {
	name := s.b.nameOr(nameOf(opts), "KSTREAM-MERGE-")
	if other.b != s.b {
		s.b.errs = append(s.b.errs, fmt.Errorf("rill: merge %s: streams come from different builders", name))
		return s
	}
	addProcessor(s, name, passThroughSupplier[K, V](), s.node, other.node)
	return derive[K, V](s.b, name, nil, nil, s.repartitionRequired || other.repartitionRequired) // as Kafka Streams: neither input's serdes fit both
}

// To writes the stream to topic. Serdes come from WithSerdes, else the stream's, else the
// stock serde of the type; Build fails when none is found.
func (s *Stream[K, V]) To(topic string, opts ...SinkOption) {
	var cfg sinkConfig
	for _, o := range opts {
		o.applySink(&cfg)
	}
	name := s.b.nameOr(cfg.name, "KSTREAM-SINK-")
	ks, vs, err := resolveSerdes(name, cfg.serdes, s.keySerde, s.valueSerde)
	if !s.b.check(err) {
		return
	}
	part, err := resolvePartitioner[K, V](name, cfg.partitioner)
	if !s.b.check(err) {
		return
	}
	if part != nil {
		s.b.check(s.b.topo.AddSinkWithPartitioner(name, topic, ks, vs, part, s.node))
		return
	}
	s.b.check(s.b.topo.AddSink(name, topic, ks, vs, s.node))
}

// ToTopicFunc writes each record to the topic extract picks for it (Kafka Streams'
// TopicNameExtractor). The topics must exist.
func (s *Stream[K, V]) ToTopicFunc(extract func(K, V, processor.RecordMetadata) string, opts ...SinkOption) {
	var cfg sinkConfig
	for _, o := range opts {
		o.applySink(&cfg)
	}
	name := s.b.nameOr(cfg.name, "KSTREAM-SINK-")
	ks, vs, err := resolveSerdes(name, cfg.serdes, s.keySerde, s.valueSerde)
	if !s.b.check(err) {
		return
	}
	part, err := resolvePartitioner[K, V](name, cfg.partitioner)
	if !s.b.check(err) {
		return
	}
	if part != nil {
		s.b.check(s.b.topo.AddDynamicSinkWithPartitioner(name, fmt.Sprintf("%T", extract), extract, ks, vs, part, s.node))
		return
	}
	s.b.check(s.b.topo.AddDynamicSink(name, fmt.Sprintf("%T", extract), extract, ks, vs, s.node))
}

// generatedName matches the names the builder generates, as Kafka Streams' check for them.
var generatedName = regexp.MustCompile(`^KSTREAM.*-[0-9]{10}$`)

// Repartition writes the stream through an internal topic "<application id>-<name>-repartition"
// and reads it back, so that records are partitioned by their current key (and, with
// WithPartitions, spread over a chosen number of partitions). It starts a new sub-topology.
func (s *Stream[K, V]) Repartition(opts ...RepartitionOption) *Stream[K, V] {
	var cfg repartitionConfig
	for _, o := range opts {
		o.applyRepartition(&cfg)
	}
	name := s.b.nameOr(cfg.name, "KSTREAM-REPARTITION-")
	ks, vs, err := resolveSerdes(name, cfg.serdes, s.keySerde, s.valueSerde)
	if !s.b.check(err) {
		return s
	}
	part, err := resolvePartitioner[K, V](name, cfg.partitioner)
	if !s.b.check(err) {
		return s
	}
	source := repartitionThroughWith(s, name, cfg.partitions, ks, vs, passThroughSupplier[K, V](), part)
	return derive(s.b, source, ks, vs, false)
}

// repartitionThrough adds Kafka Streams' repartition nodes under s: a filter (the given
// processor), a sink to the topic "<name>-repartition" and a source reading it back. It returns
// the source's name. Node names follow Kafka Streams: generated (burning three counter values
// in sink, filter, source order) when name is generated, else derived from the topic name.
func repartitionThrough[K, V any](s *Stream[K, V], name string, partitions int, ks serde.Serde[K], vs serde.Serde[V],
	filter processor.Supplier[K, V, K, V]) string {
	return repartitionThroughWith(s, name, partitions, ks, vs, filter, nil)
}

// repartitionThroughWith is repartitionThrough whose sink writes with part (nil: Kafka's
// default partitioner).
func repartitionThroughWith[K, V any](s *Stream[K, V], name string, partitions int, ks serde.Serde[K], vs serde.Serde[V],
	filter processor.Supplier[K, V, K, V], part topology.StreamPartitioner[K, V]) string {
	topic := name + "-repartition"
	sinkName, filterName, sourceName := s.b.newName("KSTREAM-SINK-"), s.b.newName("KSTREAM-FILTER-"), s.b.newName("KSTREAM-SOURCE-")
	if !generatedName.MatchString(name) {
		sinkName, filterName, sourceName = topic+"-sink", topic+"-filter", topic+"-source"
	}
	b := s.b
	b.check(b.topo.AddInternalTopic(topology.InternalTopic{Name: topic, Partitions: partitions}))
	addProcessor(s, filterName, filter)
	if part != nil {
		b.check(b.topo.AddSinkWithPartitioner(sinkName, topic, ks, vs, part, filterName))
	} else {
		b.check(b.topo.AddSink(sinkName, topic, ks, vs, filterName))
	}
	b.check(b.topo.AddSource(sourceName, ks, vs, topic))
	return sourceName
}

// ProcessValues plugs a processor.FixedKeyProcessor into the stream (Kafka Streams'
// KStream.processValues, KIP-820): like Process, but the processor can change values,
// timestamps and headers, never keys, so the stream stays partitioned as it was — a grouping
// or join downstream repartitions only if something upstream changed keys. Stores it uses are
// added with Builder.AddStateStore and named with WithStores. Named names the node (default
// "KSTREAM-PROCESSVALUES-<n>").
//
//	enriched := orders.ProcessValues(func() processor.FixedKeyProcessor[string, Order, Order] {
//		return &stamp{} // Process(r): return ctx.Forward(r.WithValue(stamped(r.Value)))
//	})
//	enriched.GroupByKey().Count() // no repartition topic
func (s *Stream[K, V]) ProcessValues[VR any](supplier processor.FixedKeySupplier[K, V, VR], opts ...ProcessOption) *Stream[K, VR] {
	var cfg processConfig
	for _, o := range opts {
		o.applyProcess(&cfg)
	}
	name := addProcessor(s, s.b.nameOr(cfg.name, "KSTREAM-PROCESSVALUES-"), processor.FixedKeyAdapter(supplier))
	for _, st := range cfg.stores {
		s.b.check(s.b.topo.ConnectStore(st, name))
	}
	return derive(s.b, name, s.keySerde, sameSerde[V, VR](s.valueSerde), s.repartitionRequired)
}

// Process plugs a processor.Processor into the stream (Kafka Streams' KStream.process). It may
// forward records with any key, so a grouping or join downstream repartitions first. Stores it
// uses are added with Builder.AddStateStore and named with WithStores.
func (s *Stream[K, V]) Process[KR, VR any](supplier processor.Supplier[K, V, KR, VR], opts ...ProcessOption) *Stream[KR, VR] {
	var cfg processConfig
	for _, o := range opts {
		o.applyProcess(&cfg)
	}
	name := addProcessor(s, s.b.nameOr(cfg.name, "KSTREAM-PROCESSOR-"), supplier)
	for _, st := range cfg.stores {
		s.b.check(s.b.topo.ConnectStore(st, name))
	}
	return derive(s.b, name, sameSerde[K, KR](s.keySerde), sameSerde[V, VR](s.valueSerde), true)
}
