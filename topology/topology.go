package topology

import (
	"errors"
	"fmt"
	"regexp"
	"slices"

	"github.com/rillstreams/rill/internal/engine"
	"github.com/rillstreams/rill/internal/topoaccess"
	"github.com/rillstreams/rill/processor"
	"github.com/rillstreams/rill/serde"
	"github.com/rillstreams/rill/state"
)

// Errors of topology building, matched with errors.Is.
var (
	ErrDuplicateName   = errors.New("rill: duplicate node name")
	ErrUnknownNode     = errors.New("rill: unknown node")
	ErrDuplicateTopic  = errors.New("rill: topic already has a source")
	ErrTypeMismatch    = errors.New("rill: record types do not match")
	ErrInvalidTopology = errors.New("rill: invalid topology")
	ErrSealed          = errors.New("rill: topology is already built")
)

// Topology is an untyped graph of source, processor and sink nodes with the state stores its
// processors use (Kafka Streams' Topology). The dsl package compiles into one; it can also be
// built by hand with the Add methods, which check types where the graph is wired.
//
// A Topology is not safe for concurrent building. Once Seal (or dsl.Builder.Build) has run, it
// is immutable and may be shared by any number of running apps and test drivers.
type Topology struct {
	nodes    []*engine.NodeSpec
	byName   map[string]*engine.NodeSpec
	parents  map[string][]string
	children map[string][]string
	// stores in the order they were added, and the processors connected to each.
	stores     []state.StoreBuilder
	storeUsers map[string][]string
	// sourceTopics maps a topic to the source reading it: a topic has at most one source.
	sourceTopics map[string]string
	// internal topics (repartition topics) by unprefixed name.
	internal map[string]InternalTopic
	// copartition lists groups of topics that must have equal partition counts (joined or
	// merged-then-aggregated inputs), for the runtime to check at start.
	copartition [][]string
	// global names the nodes of global stores' sub-topologies.
	global map[string]bool
	sealed bool
	subs   []*engine.Subtopology
}

// InternalTopic is a topic the application creates and owns, named "<application id>-<Name>".
type InternalTopic struct {
	Name string
	// Partitions is the partition count to create it with; 0 means "as its upstream source".
	Partitions int
}

// New returns an empty topology.
func New() *Topology {
	return &Topology{
		byName:       make(map[string]*engine.NodeSpec),
		parents:      make(map[string][]string),
		children:     make(map[string][]string),
		storeUsers:   make(map[string][]string),
		sourceTopics: make(map[string]string),
		internal:     make(map[string]InternalTopic),
		global:       make(map[string]bool),
	}
}

// AddGlobalStore adds a global store: a source reading every partition of topic into a
// processor that maintains the store, which every task can read (Kafka Streams'
// Topology.addGlobalStore). The source and processor form a sub-topology of their own, which
// makes no tasks.
func (t *Topology) AddGlobalStore[K, V any](sb state.StoreBuilder, sourceName, topic string,
	kd serde.Deserializer[K], vd serde.Deserializer[V], processorName string,
	supplier processor.Supplier[K, V, struct{}, struct{}]) error {
	if err := t.AddSource(sourceName, kd, vd, topic); err != nil {
		return err
	}
	if err := t.AddProcessor(processorName, supplier, sourceName); err != nil {
		return err
	}
	t.global[sourceName], t.global[processorName] = true, true
	return t.AddStore(sb, processorName)
}

// AddSource adds a source node reading topics with the given deserializers.
func (t *Topology) AddSource[K, V any](name string, kd serde.Deserializer[K], vd serde.Deserializer[V], topics ...string) error {
	if len(topics) == 0 {
		return fmt.Errorf("%w: source %s has no topics", ErrInvalidTopology, name)
	}
	if kd == nil || vd == nil {
		return fmt.Errorf("%w: source %s needs key and value deserializers", ErrInvalidTopology, name)
	}
	for i, topic := range topics {
		if other, ok := t.sourceTopics[topic]; ok {
			return fmt.Errorf("%w: %q is read by %s, cannot add %s", ErrDuplicateTopic, topic, other, name)
		}
		if slices.Contains(topics[:i], topic) {
			return fmt.Errorf("%w: %q is listed twice for %s", ErrDuplicateTopic, topic, name)
		}
	}
	if err := t.addNode(engine.NewSource(name, slices.Clone(topics), nil, false, kd, vd)); err != nil {
		return err
	}
	for _, topic := range topics {
		t.sourceTopics[topic] = name
	}
	return nil
}

// AddPatternSource adds a source node reading every topic whose name matches pattern.
func (t *Topology) AddPatternSource[K, V any](name string, kd serde.Deserializer[K], vd serde.Deserializer[V], pattern *regexp.Regexp) error {
	if pattern == nil || kd == nil || vd == nil {
		return fmt.Errorf("%w: pattern source %s needs a pattern and deserializers", ErrInvalidTopology, name)
	}
	return t.addNode(engine.NewSource(name, nil, pattern, false, kd, vd))
}

// AddProcessor adds a processor node fed by parents. supplier is called once per task.
func (t *Topology) AddProcessor[KIn, VIn, KOut, VOut any](name string, supplier processor.Supplier[KIn, VIn, KOut, VOut], parents ...string) error {
	if supplier == nil {
		return fmt.Errorf("%w: processor %s has no supplier", ErrInvalidTopology, name)
	}
	return t.addNode(engine.NewProcessor(name, supplier, nil), parents...)
}

// AddSink adds a sink node writing its parents' records to topic.
func (t *Topology) AddSink[K, V any](name, topic string, ks serde.Serializer[K], vs serde.Serializer[V], parents ...string) error {
	if topic == "" || ks == nil || vs == nil {
		return fmt.Errorf("%w: sink %s needs a topic and serializers", ErrInvalidTopology, name)
	}
	return t.addNode(engine.NewSink(name, topic, false, ks, vs), parents...)
}

// AddDynamicSink adds a sink node that picks each record's topic with extract; extractorName
// stands for the extractor in Describe output.
func (t *Topology) AddDynamicSink[K, V any](name, extractorName string, extract func(K, V, processor.RecordMetadata) string,
	ks serde.Serializer[K], vs serde.Serializer[V], parents ...string) error {
	if extract == nil || ks == nil || vs == nil {
		return fmt.Errorf("%w: sink %s needs a topic-name extractor and serializers", ErrInvalidTopology, name)
	}
	return t.addNode(engine.NewDynamicSink(name, extractorName, extract, ks, vs), parents...)
}

// AddInternalTopic declares a repartition topic the application owns. Sources and sinks that
// name it read and write "<application id>-<name>"; Describe prints it without the prefix.
func (t *Topology) AddInternalTopic(topic InternalTopic) error {
	if t.sealed {
		return ErrSealed
	}
	if topic.Name == "" || topic.Partitions < 0 {
		return fmt.Errorf("%w: internal topic %+v", ErrInvalidTopology, topic)
	}
	if _, ok := t.internal[topic.Name]; ok {
		return fmt.Errorf("%w: internal topic %q is already used; name repartitions apart", ErrDuplicateName, topic.Name)
	}
	t.internal[topic.Name] = topic
	return nil
}

// AddStore attaches a state store and connects it to the named processors.
func (t *Topology) AddStore(sb state.StoreBuilder, processors ...string) error {
	if t.sealed {
		return ErrSealed
	}
	if sb == nil || sb.Name() == "" {
		return fmt.Errorf("%w: store builder without a name", ErrInvalidTopology)
	}
	for _, s := range t.stores {
		if s.Name() == sb.Name() {
			return fmt.Errorf("%w: store %q added twice", ErrDuplicateName, sb.Name())
		}
	}
	t.stores = append(t.stores, sb)
	return t.ConnectStore(sb.Name(), processors...)
}

// ConnectStore gives the named processors access to an already added store.
func (t *Topology) ConnectStore(store string, processors ...string) error {
	if t.sealed {
		return ErrSealed
	}
	if !slices.ContainsFunc(t.stores, func(s state.StoreBuilder) bool { return s.Name() == store }) {
		return fmt.Errorf("%w: store %q", ErrUnknownNode, store)
	}
	for _, p := range processors {
		n, ok := t.byName[p]
		if !ok || n.Kind != engine.ProcessorNode {
			return fmt.Errorf("%w: processor %q for store %q", ErrUnknownNode, p, store)
		}
		if !slices.Contains(n.Stores, store) {
			n.Stores = append(n.Stores, store)
		}
		if !slices.Contains(t.storeUsers[store], p) {
			t.storeUsers[store] = append(t.storeUsers[store], p)
		}
	}
	return nil
}

// SetTimestampExtractor makes source use ex for its records' timestamps instead of the app's
// default (rill.Config.TimestampExtractor).
func (t *Topology) SetTimestampExtractor(source string, ex processor.TimestampExtractor) error {
	if t.sealed {
		return ErrSealed
	}
	n, ok := t.byName[source]
	if !ok || n.Kind != engine.SourceNode {
		return fmt.Errorf("%w: %q is not a source", ErrInvalidTopology, source)
	}
	n.TimestampExtractor = ex
	return nil
}

// SetOffsetReset makes source start reading, in partitions its application has no committed
// offset for, where r says (Kafka Streams' Consumed.withOffsetResetPolicy) instead of at the
// earliest record. Sources of repartition topics always start at the earliest.
func (t *Topology) SetOffsetReset(source string, r processor.OffsetReset) error {
	if t.sealed {
		return ErrSealed
	}
	if err := r.Validate(); err != nil {
		return fmt.Errorf("%w: source %q: %w", ErrInvalidTopology, source, err)
	}
	n, ok := t.byName[source]
	if !ok || n.Kind != engine.SourceNode || n.Internal {
		return fmt.Errorf("%w: %q is not a source of a user topic", ErrInvalidTopology, source)
	}
	n.OffsetReset = r
	return nil
}

func (t *Topology) addNode(spec *engine.NodeSpec, parents ...string) error {
	if t.sealed {
		return ErrSealed
	}
	if spec.Name == "" {
		return fmt.Errorf("%w: node without a name", ErrInvalidTopology)
	}
	if _, ok := t.byName[spec.Name]; ok {
		return fmt.Errorf("%w: %q", ErrDuplicateName, spec.Name)
	}
	if spec.Kind != engine.SourceNode && len(parents) == 0 {
		return fmt.Errorf("%w: %s has no parent", ErrInvalidTopology, spec.Name)
	}
	for i, p := range parents {
		pn, ok := t.byName[p]
		if !ok {
			return fmt.Errorf("%w: parent %q of %s", ErrUnknownNode, p, spec.Name)
		}
		if slices.Contains(parents[:i], p) {
			return fmt.Errorf("%w: parent %q of %s given twice", ErrInvalidTopology, p, spec.Name)
		}
		if err := pn.Accepts(spec); err != nil {
			return fmt.Errorf("%w: %w", ErrTypeMismatch, err)
		}
	}
	t.nodes = append(t.nodes, spec)
	t.byName[spec.Name] = spec
	for _, p := range parents {
		t.parents[spec.Name] = append(t.parents[spec.Name], p)
		t.children[p] = append(t.children[p], spec.Name)
	}
	return nil
}

// Seal finishes the topology: it marks internal topics on their sources and sinks, checks that
// every store is used, splits the graph into sub-topologies and makes it immutable. Calling it
// again is a no-op.
func (t *Topology) Seal() error {
	if t.sealed {
		return nil
	}
	var errs []error
	if len(t.nodes) == 0 {
		errs = append(errs, fmt.Errorf("%w: no nodes", ErrInvalidTopology))
	}
	for _, sb := range t.stores {
		if len(t.storeUsers[sb.Name()]) == 0 {
			errs = append(errs, fmt.Errorf("%w: store %q is connected to no processor", ErrInvalidTopology, sb.Name()))
		}
	}
	for _, n := range t.nodes {
		switch n.Kind {
		case engine.SourceNode:
			if len(t.children[n.Name]) == 0 {
				errs = append(errs, fmt.Errorf("%w: source %s has no children", ErrInvalidTopology, n.Name))
			}
			for _, topic := range n.Topics {
				if _, ok := t.internal[topic]; ok {
					n.Internal = true
				}
			}
		case engine.SinkNode:
			if _, ok := t.internal[n.Topic]; ok {
				n.Internal = true
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	t.subs = t.split()
	t.sealed = true
	return nil
}

// subtopologies returns the sealed topology's sub-topologies in id order, for the task engine
// (through internal/topoaccess).
func (t *Topology) subtopologies() []*engine.Subtopology {
	if t == nil {
		return nil
	}
	return t.subs
}

func init() {
	topoaccess.Register(func(topo any) []*engine.Subtopology { return topo.(*Topology).subtopologies() })
}

// AddCopartitionGroup records that topics (internal ones unprefixed) are read together by one
// task and must have the same number of partitions; the runtime checks it at start, and creates
// internal topics of a group with the group's count.
func (t *Topology) AddCopartitionGroup(topics ...string) error {
	if t.sealed {
		return ErrSealed
	}
	if len(topics) > 1 {
		t.copartition = append(t.copartition, slices.Clone(topics))
	}
	return nil
}

// CopartitionGroups returns the recorded co-partitioning groups.
func (t *Topology) CopartitionGroups() [][]string { return t.copartition }

// InternalTopics returns the internal topics, by unprefixed name.
func (t *Topology) InternalTopics() map[string]InternalTopic { return t.internal }

// SourceTopics returns every topic a source of the topology reads by name (patterns excluded),
// internal topics unprefixed.
func (t *Topology) SourceTopics() []string {
	var out []string
	for _, n := range t.nodes {
		out = append(out, n.Topics...)
	}
	return out
}

// split groups nodes into sub-topologies: connected components over parent-child edges and
// shared stores, numbered by the position of their first node, as Kafka Streams does, so that
// upstream sub-topologies come first. A repartition topic cuts the graph because its sink and
// its source are not connected by an edge.
func (t *Topology) split() []*engine.Subtopology {
	uf := make(map[string]string, len(t.nodes))
	var find func(string) string
	find = func(x string) string {
		for uf[x] != x {
			uf[x] = uf[uf[x]]
			x = uf[x]
		}
		return x
	}
	union := func(a, b string) { uf[find(a)] = find(b) }
	for _, n := range t.nodes {
		uf[n.Name] = n.Name
	}
	for _, n := range t.nodes {
		for _, p := range t.parents[n.Name] {
			union(n.Name, p)
		}
	}
	for _, users := range t.storeUsers {
		for _, u := range users[1:] {
			union(users[0], u)
		}
	}
	var subs []*engine.Subtopology
	byRoot := make(map[string]*engine.Subtopology)
	storeSub := make(map[string]bool)
	for _, n := range t.nodes {
		root := find(n.Name)
		s := byRoot[root]
		if s == nil {
			s = &engine.Subtopology{ID: len(subs), Edges: make(map[string][]string), Global: t.global[n.Name]}
			byRoot[root] = s
			subs = append(subs, s)
		}
		s.Nodes = append(s.Nodes, n)
		if c := t.children[n.Name]; len(c) > 0 {
			s.Edges[n.Name] = c
		}
	}
	for _, sb := range t.stores {
		s := byRoot[find(t.storeUsers[sb.Name()][0])]
		if !storeSub[sb.Name()] {
			s.Stores = append(s.Stores, sb)
			storeSub[sb.Name()] = true
		}
	}
	return subs
}
