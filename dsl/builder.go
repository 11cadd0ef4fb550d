package dsl

import (
	"errors"
	"fmt"
	"regexp"

	"github.com/rillstreams/rill/serde"
	"github.com/rillstreams/rill/state"
	"github.com/rillstreams/rill/topology"
)

// ErrMissingSerde is matched (errors.Is) by Build errors about a serde the builder could not
// find: pass one with WithSerdes, or use a type with a stock serde.
var ErrMissingSerde = errors.New("rill: missing serde")

// ErrSerdeType is matched by Build errors about WithSerdes serdes whose types are not the
// stream's key and value types.
var ErrSerdeType = errors.New("rill: serde type mismatch")

// Builder collects streams and operations and compiles them into a topology (Kafka Streams'
// StreamsBuilder). DSL methods never fail on the spot, so chains stay fluent: wiring errors are
// collected and Build returns all of them at once.
type Builder struct {
	topo *topology.Topology
	// index is the counter shared by every generated name, as in Kafka Streams, so that the
	// same program always yields the same names (and internal topic names).
	index int
	errs  []error
	built bool
	// joinRepartitions maps the repartition topics of join inputs to their sources, so that
	// a re-keyed stream joined twice is repartitioned once (join_stream.go).
	joinRepartitions map[string]string
}

// NewBuilder returns an empty builder.
func NewBuilder() *Builder { return &Builder{topo: topology.New()} }

// Build compiles what was built into a sealed topology, or returns every wiring error joined.
func (b *Builder) Build() (*topology.Topology, error) {
	if b.built {
		return nil, errors.New("rill: Build called twice on one builder")
	}
	b.built = true
	if err := errors.Join(b.errs...); err != nil {
		return nil, err
	}
	if err := b.topo.Seal(); err != nil {
		return nil, err
	}
	return b.topo, nil
}

// Stream reads topic as a stream of K, V records.
func (b *Builder) Stream[K, V any](topic string, keySerde serde.Serde[K], valueSerde serde.Serde[V], opts ...SourceOption) *Stream[K, V] {
	return b.Streams([]string{topic}, keySerde, valueSerde, opts...)
}

// Streams reads several topics as one stream; records of all of them go through one source.
func (b *Builder) Streams[K, V any](topics []string, keySerde serde.Serde[K], valueSerde serde.Serde[V], opts ...SourceOption) *Stream[K, V] {
	var cfg sourceConfig
	for _, o := range opts {
		o.applySource(&cfg)
	}
	name := b.nameOr(cfg.name, "KSTREAM-SOURCE-")
	ks, vs, ok := b.sourceSerdes(name, keySerde, valueSerde)
	if ok && b.check(b.topo.AddSource(name, ks, vs, topics...)) {
		b.sourceOptions(name, cfg)
	}
	return &Stream[K, V]{b: b, node: name, keySerde: ks, valueSerde: vs}
}

// StreamPattern reads every topic whose name matches pattern. The test driver also reads
// topics first piped to later; an App resolves the pattern against the cluster's topics when it
// starts (at least one must match, and all must have the same partition count), so a matching
// topic created while it runs is read after a restart.
func (b *Builder) StreamPattern[K, V any](pattern *regexp.Regexp, keySerde serde.Serde[K], valueSerde serde.Serde[V], opts ...SourceOption) *Stream[K, V] {
	var cfg sourceConfig
	for _, o := range opts {
		o.applySource(&cfg)
	}
	name := b.nameOr(cfg.name, "KSTREAM-SOURCE-")
	ks, vs, ok := b.sourceSerdes(name, keySerde, valueSerde)
	if ok && b.check(b.topo.AddPatternSource(name, ks, vs, pattern)) {
		b.sourceOptions(name, cfg)
	}
	return &Stream[K, V]{b: b, node: name, keySerde: ks, valueSerde: vs}
}

// sourceOptions applies a source's timestamp extractor and offset reset policy.
func (b *Builder) sourceOptions(name string, cfg sourceConfig) {
	if cfg.extractor != nil {
		b.check(b.topo.SetTimestampExtractor(name, cfg.extractor))
	}
	if cfg.reset != nil {
		b.check(b.topo.SetOffsetReset(name, *cfg.reset))
	}
}

// AddStateStore adds a store that processors plugged in with Stream.Process can use, by
// naming it in WithStores (Kafka Streams' StreamsBuilder.addStateStore).
func (b *Builder) AddStateStore(sb state.StoreBuilder) {
	b.check(b.topo.AddStore(sb))
}

func (b *Builder) sourceSerdes[K, V any](name string, ks serde.Serde[K], vs serde.Serde[V]) (serde.Serde[K], serde.Serde[V], bool) {
	if ks == nil {
		ks, _ = serde.Default[K]()
	}
	if vs == nil {
		vs, _ = serde.Default[V]()
	}
	if ks == nil || vs == nil {
		b.errs = append(b.errs, fmt.Errorf("%w: source %s needs a key serde for %s and a value serde for %s",
			ErrMissingSerde, name, serde.TypeName[K](), serde.TypeName[V]()))
		return ks, vs, false
	}
	return ks, vs, true
}

// newName generates a Kafka Streams style node name: prefix and a 10-digit counter.
func (b *Builder) newName(prefix string) string {
	name := fmt.Sprintf("%s%010d", prefix, b.index)
	b.index++
	return name
}

// nameOr returns the user's name when given, else a generated one.
func (b *Builder) nameOr(name, prefix string) string {
	if name != "" {
		return name
	}
	return b.newName(prefix)
}

// check records a wiring error for Build. An unknown parent after an earlier error is that
// error's consequence (the failed operation added no node), so it is not reported again.
func (b *Builder) check(err error) bool {
	if err == nil {
		return true
	}
	if !errors.Is(err, topology.ErrUnknownNode) || len(b.errs) == 0 {
		b.errs = append(b.errs, err)
	}
	return false
}

// sameSerde returns s as a serde of U when T and U are the same type (an operation that keeps
// a type keeps its serde), else nil.
func sameSerde[T, U any](s serde.Serde[T]) serde.Serde[U] {
	if u, ok := any(s).(serde.Serde[U]); ok {
		return u
	}
	return nil
}
