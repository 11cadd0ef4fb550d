package topology

import (
	"fmt"
	"slices"
	"strings"

	"github.com/rillstreams/rill/internal/engine"
)

// Description is a topology's structure (Kafka Streams' TopologyDescription). String renders it
// in Kafka Streams' exact text format, so descriptions can be compared with a Java application's.
type Description struct {
	Subtopologies []SubtopologyDescription
}

// SubtopologyDescription is one sub-topology: its nodes in Kafka Streams' order (larger
// downstream graphs first, then by name).
type SubtopologyDescription struct {
	ID    int
	Nodes []NodeDescription
}

// NodeDescription is one node. Topics and Pattern are set on sources, Topic or TopicFunc on
// sinks, Stores on processors.
type NodeDescription struct {
	Name         string
	Kind         string // "Source", "Processor" or "Sink"
	Topics       []string
	Pattern      string
	Topic        string
	TopicFunc    string
	Stores       []string
	Predecessors []string
	Successors   []string
}

// Describe returns the structure of a sealed topology; internal topics appear without the
// application id, as in Kafka Streams.
func (t *Topology) Describe() *Description {
	d := &Description{}
	for _, sub := range t.subs {
		d.Subtopologies = append(d.Subtopologies, t.describeSub(sub))
	}
	return d
}

func (t *Topology) describeSub(sub *engine.Subtopology) SubtopologyDescription {
	// size is the number of nodes downstream of a node, itself included, counted once per
	// path: Kafka Streams orders nodes and edges by it (bigger first), then by name.
	size := make(map[string]int, len(sub.Nodes))
	var sizeOf func(string) int
	sizeOf = func(n string) int {
		if s, ok := size[n]; ok {
			return s
		}
		s := 1
		for _, c := range t.children[n] {
			s += sizeOf(c)
		}
		size[n] = s
		return s
	}
	order := func(names []string) []string {
		out := slices.Clone(names)
		slices.SortStableFunc(out, func(a, b string) int {
			if sa, sb := sizeOf(a), sizeOf(b); sa != sb {
				return sb - sa
			}
			return strings.Compare(a, b)
		})
		return out
	}
	sd := SubtopologyDescription{ID: sub.ID}
	var names []string
	for _, n := range sub.Nodes {
		names = append(names, n.Name)
	}
	for _, name := range order(names) {
		n := t.byName[name]
		nd := NodeDescription{Name: name, Predecessors: order(t.parents[name]), Successors: order(t.children[name])}
		switch n.Kind {
		case engine.SourceNode:
			nd.Kind = "Source"
			nd.Topics = javaHashSetOrder(n.Topics)
			if n.Pattern != nil {
				nd.Pattern = n.Pattern.String()
			}
		case engine.ProcessorNode:
			nd.Kind = "Processor"
			nd.Stores = javaHashSetOrder(n.Stores)
		case engine.SinkNode:
			nd.Kind = "Sink"
			nd.Topic, nd.TopicFunc = n.Topic, n.TopicFuncName
		}
		sd.Nodes = append(sd.Nodes, nd)
	}
	return sd
}

// String renders the description as Kafka Streams' TopologyDescription.toString does, byte for
// byte: the odd indentation of the first sub-topology header included.
func (d *Description) String() string {
	var sb strings.Builder
	sb.WriteString("Topologies:\n ")
	for _, s := range d.Subtopologies {
		sb.WriteString("  ")
		sb.WriteString(s.String())
	}
	return sb.String()
}

// String renders one sub-topology in Kafka Streams' format.
func (s SubtopologyDescription) String() string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "Sub-topology: %d\n", s.ID)
	for _, n := range s.Nodes {
		sb.WriteString("    ")
		sb.WriteString(n.String())
		sb.WriteByte('\n')
	}
	sb.WriteByte('\n')
	return sb.String()
}

// String renders one node in Kafka Streams' format.
func (n NodeDescription) String() string {
	switch n.Kind {
	case "Source":
		topics := "[" + strings.Join(n.Topics, ", ") + "]"
		if n.Pattern != "" {
			topics = n.Pattern
		}
		return "Source: " + n.Name + " (topics: " + topics + ")\n      --> " + nodeNames(n.Successors)
	case "Processor":
		return "Processor: " + n.Name + " (stores: [" + strings.Join(n.Stores, ", ") + "])\n      --> " +
			nodeNames(n.Successors) + "\n      <-- " + nodeNames(n.Predecessors)
	default:
		if n.TopicFunc != "" {
			return "Sink: " + n.Name + " (extractor class: " + n.TopicFunc + ")\n      <-- " + nodeNames(n.Predecessors)
		}
		return "Sink: " + n.Name + " (topic: " + n.Topic + ")\n      <-- " + nodeNames(n.Predecessors)
	}
}

func nodeNames(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

// javaHashSetOrder returns names in the order Java's HashSet copy constructor iterates them,
// which is how Kafka Streams prints the topic and store sets of a node: by bucket of Java's
// String.hashCode (spread as HashMap.hash does) in a table of the capacity the constructor
// picks, ties in insertion order.
func javaHashSetOrder(names []string) []string {
	if len(names) < 2 {
		return names
	}
	capacity := 16
	for want := int(float32(len(names))/0.75) + 1; capacity < want; {
		capacity *= 2
	}
	bucket := func(s string) int {
		var h int32
		for _, r := range s { // Java hashes UTF-16 code units
			if r >= 0x10000 {
				r -= 0x10000
				h = 31*h + int32(0xD800+(r>>10))
				h = 31*h + int32(0xDC00+(r&0x3FF))
				continue
			}
			h = 31*h + int32(r)
		}
		u := uint32(h)
		return int((u ^ (u >> 16)) & uint32(capacity-1))
	}
	out := slices.Clone(names)
	slices.SortStableFunc(out, func(a, b string) int { return bucket(a) - bucket(b) })
	return out
}
