package dsl

import (
	"fmt"
	"slices"
	"strings"

	"github.com/rillstreams/rill/joins"
	"github.com/rillstreams/rill/serde"
	"github.com/rillstreams/rill/state"
	"github.com/rillstreams/rill/windows"
)

// Join joins the stream with other: each pair of records with equal keys whose timestamps
// are within w (a record of other at most w.Before() earlier and w.After() later than a
// record of this stream) gives one result, joiner's value with the key and the larger of the
// two timestamps (Kafka Streams' KStream.join with JoinWindows).
//
// Both streams' records are buffered in window stores for before + after + grace; a record
// arriving after its window and grace period have passed (by stream time) is dropped and
// counted. Records with a nil key or value are dropped. Both streams must be partitioned
// alike: a stream whose key changed upstream is repartitioned first (through
// "<name>-left-repartition" / "<name>-right-repartition" when Named, else through a topic
// named after its node), and the input topics form a co-partition group the runtime checks.
//
// Named names the join's nodes; Materialized names its stores ("<name>-this-join-store",
// "<name>-other-join-store", ...; generated names otherwise) and chooses backend and logging;
// WithJoinSerdes gives the serdes the stores and repartition topics need.
func (s *Stream[K, V]) Join[VO, VR any](other *Stream[K, VO], joiner func(K, V, VO) VR, w windows.JoinWindows, opts ...StreamJoinOption) *Stream[K, VR] {
	return streamJoin(s, other, w, opts, joiner, nil, nil)
}

// LeftJoin is Join that also gives each record of this stream that no record of other
// matched a result of its own, joiner(k, v, zero, false). That result is emitted once the
// record's window has closed (its timestamp plus after plus grace has passed, by stream
// time), when no match can come any more: as Kafka Streams since KIP-633, never a "no match"
// result followed by a match.
func (s *Stream[K, V]) LeftJoin[VO, VR any](other *Stream[K, VO], joiner func(k K, v V, vo VO, found bool) VR, w windows.JoinWindows, opts ...StreamJoinOption) *Stream[K, VR] {
	var zero VO
	return streamJoin(s, other, w, opts,
		func(k K, v V, vo VO) VR { return joiner(k, v, vo, true) },
		func(k K, v V) VR { return joiner(k, v, zero, false) },
		nil)
}

// OuterJoin is LeftJoin that also gives each unmatched record of other a result,
// joiner(k, zero, false, vo, true), once its window has closed.
func (s *Stream[K, V]) OuterJoin[VO, VR any](other *Stream[K, VO], joiner func(k K, v V, hasV bool, vo VO, hasVO bool) VR, w windows.JoinWindows, opts ...StreamJoinOption) *Stream[K, VR] {
	var zv V
	var zvo VO
	return streamJoin(s, other, w, opts,
		func(k K, v V, vo VO) VR { return joiner(k, v, true, vo, true) },
		func(k K, v V) VR { return joiner(k, v, true, zvo, false) },
		func(k K, vo VO) VR { return joiner(k, zv, false, vo, true) })
}

// streamJoin adds a stream-stream join with Kafka Streams' node and store names
// (KStreamImpl.doJoin and KStreamImplJoin.join). leftOnly is set for left and outer joins,
// rightOnly for outer joins.
func streamJoin[K, V, VO, VR any](s *Stream[K, V], other *Stream[K, VO], w windows.JoinWindows, opts []StreamJoinOption,
	joiner func(K, V, VO) VR, leftOnly func(K, V) VR, rightOnly func(K, VO) VR) *Stream[K, VR] {
	b := s.b
	cfg := streamJoinOptions(opts)
	leftOuter, rightOuter := leftOnly != nil, rightOnly != nil
	failed := func(err error) *Stream[K, VR] {
		b.errs = append(b.errs, err)
		return derive[K, VR](b, b.nameOr(suffixed(cfg.name, "-merge"), "KSTREAM-MERGE-"), nil, nil, false)
	}
	if other == nil || other.b != b {
		return failed(fmt.Errorf("rill: join of %s: the other stream is nil or comes from another builder", s.node))
	}
	if err := w.Err(); err != nil {
		return failed(fmt.Errorf("rill: join of %s with %s: %w", s.node, other.node, err))
	}
	ks := s.keySerde
	if ks == nil {
		ks = other.keySerde
	}
	ks, vs, vos, err := joinSerdes(s.node, cfg.serdes, ks, s.valueSerde, other.valueSerde)
	if err != nil {
		return failed(err)
	}

	thisParent, otherParent := s.node, other.node
	if s.repartitionRequired {
		thisParent = repartitionForJoin(s, joinRepartitionName(cfg.name, "-left", s.node), ks, vs)
	}
	if other.repartitionRequired {
		otherParent = repartitionForJoin(other, joinRepartitionName(cfg.name, "-right", other.node), ks, vos)
	}
	copartition(b, thisParent, otherParent)

	thisWindowed := b.nameOr(suffixed(cfg.name, "-this-windowed"), "KSTREAM-WINDOWED-")
	otherWindowed := b.nameOr(suffixed(cfg.name, "-other-windowed"), "KSTREAM-WINDOWED-")
	thisPrefix, thisSuffix := "KSTREAM-JOINTHIS-", "-this-join"
	if rightOuter {
		thisPrefix, thisSuffix = "KSTREAM-OUTERTHIS-", "-outer-this-join"
	}
	otherPrefix, otherSuffix := "KSTREAM-JOINOTHER-", "-other-join"
	if leftOuter {
		otherPrefix, otherSuffix = "KSTREAM-OUTEROTHER-", "-outer-other-join"
	}
	// Kafka Streams always generates these two names, Named or not: store names come from them.
	thisGenerated, otherGenerated := b.newName(thisPrefix), b.newName(otherPrefix)
	joinThis, joinOther := thisGenerated, otherGenerated
	if cfg.name != "" {
		joinThis, joinOther = cfg.name+thisSuffix, cfg.name+otherSuffix
	}
	merge := b.nameOr(suffixed(cfg.name, "-merge"), "KSTREAM-MERGE-")

	storeBase := ""
	if cfg.materialized != nil {
		storeBase = cfg.materialized.name
	}
	thisStore, otherStore := thisGenerated+"-store", otherGenerated+"-store"
	if storeBase != "" {
		thisStore, otherStore = storeBase+thisSuffix+"-store", storeBase+otherSuffix+"-store"
	}
	outerStore := ""
	if leftOuter {
		switch {
		case storeBase != "" && rightOuter:
			outerStore = storeBase + "-outer-shared-join-store"
		case storeBase != "":
			outerStore = storeBase + "-left-shared-join-store"
		default:
			outerStore = "KSTREAM-OUTERSHARED-" + strings.TrimPrefix(thisGenerated, thisPrefix) + "-store"
		}
	}

	j := &joins.StreamStream[K, V, VO, VR]{
		Window: joins.Window{Before: w.Before(), After: w.After(), Grace: w.Grace()},
		Store:  thisStore, OtherStore: otherStore, OuterStore: outerStore,
		KeySerde: ks, ValueSerde: vs, OtherValueSerde: vos,
		Joiner: joiner, LeftOnly: leftOnly, RightOnly: rightOnly,
	}
	if err := j.Validate(); err != nil {
		return failed(err)
	}
	b.check(b.topo.AddProcessor(thisWindowed, j.ThisWindowed(), thisParent))
	b.check(b.topo.AddProcessor(otherWindowed, j.OtherWindowed(), otherParent))
	b.check(b.topo.AddProcessor(joinThis, j.ThisJoin(), thisWindowed))
	b.check(b.topo.AddProcessor(joinOther, j.OtherJoin(), otherWindowed))
	b.check(b.topo.AddProcessor(merge, passThroughSupplier[K, VR](), joinThis, joinOther))

	backend, logging := joinStoreOptions(cfg.materialized)
	thisSB, otherSB := j.WindowStoreBuilders()
	b.check(b.topo.AddStore(thisSB.WithBackend(backend).WithLogging(logging), thisWindowed, joinOther))
	b.check(b.topo.AddStore(otherSB.WithBackend(backend).WithLogging(logging), otherWindowed, joinThis))
	if outerStore != "" {
		osb := joins.NewOuterStoreBuilder(outerStore)
		osb.WithBackend(backend).WithLogging(logging)
		b.check(b.topo.AddStore(osb, joinThis, joinOther))
	}
	return derive[K, VR](b, merge, ks, nil, false) // as Kafka Streams: the result has no value serde
}

// joinRepartitionName is the prefix of a join input's repartition topic: "<name><suffix>"
// when the join is Named, else the name of the input's node (Kafka Streams'
// repartitionForJoin), which, being generated, gives generated node names too.
func joinRepartitionName(name, suffix, node string) string {
	if name != "" {
		return name + suffix
	}
	return node
}

// repartitionForJoin sends a join input whose key changed through the repartition topic
// "<name>-repartition" and returns the node reading it back. A stream joined more than once
// is repartitioned once: the topic's source is reused (Kafka Streams reuses the repartition
// node too, and still burns the names it would have generated).
func repartitionForJoin[K, V any](s *Stream[K, V], name string, ks serde.Serde[K], vs serde.Serde[V]) string {
	b := s.b
	topic := name + "-repartition"
	if source, ok := b.joinRepartitions[topic]; ok {
		b.newName("KSTREAM-SINK-")
		b.newName("KSTREAM-FILTER-")
		b.newName("KSTREAM-SOURCE-")
		return source
	}
	source := repartitionThrough(s, name, 0, ks, vs, passThroughSupplier[K, V]())
	if b.joinRepartitions == nil {
		b.joinRepartitions = make(map[string]string)
	}
	b.joinRepartitions[topic] = source
	return source
}

// joinStoreOptions reads the backend and logging of a join's stores from Materialized.
func joinStoreOptions(m *MaterializedOption) (state.Backend, bool) {
	if m == nil {
		return nil, true
	}
	return m.backend, !m.noLogging
}

// copartition records that the topics feeding the given nodes must be co-partitioned.
func copartition(b *Builder, nodes ...string) {
	var topics []string
	for _, n := range nodes {
		topics = append(topics, b.topo.UpstreamTopics(n)...)
	}
	slices.Sort(topics)
	topics = slices.Compact(topics)
	if len(topics) > 1 {
		b.check(b.topo.AddCopartitionGroup(topics...))
	}
}
