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
	// Global marks a global store's sub-topology (a source and its processor), which Kafka
	// Streams prints without a blank line after it.
	Global bool
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
	// Replay Kafka Streams' describeSubtopology: visit nodes in the order of a Java HashMap of
	// their names, connect each to its predecessors and grow sizes as edges appear. Edge sets
	// are ordered as they are at insertion time, the node list by final size.
	names := make([]string, 0, len(sub.Nodes))
	for _, n := range sub.Nodes {
		names = append(names, n.Name)
	}
	byName := make(map[string]*descNode, len(names))
	for _, name := range names {
		byName[name] = &descNode{name: name, size: 1}
	}
	for _, name := range javaHashOrder(names, javaDefaultCapacity(len(names))) {
		n := byName[name]
		for _, pname := range t.parents[name] {
			p := byName[pname]
			n.preds.add(p)
			p.succs.add(n)
			updateSize(p, n.size)
		}
	}
	all := make([]*descNode, 0, len(names))
	for _, name := range names {
		all = append(all, byName[name])
	}
	slices.SortFunc(all, compareDescNodes)

	sd := SubtopologyDescription{ID: sub.ID, Global: sub.Global}
	for _, dn := range all {
		n := t.byName[dn.name]
		nd := NodeDescription{Name: dn.name, Predecessors: dn.preds.names(), Successors: dn.succs.names()}
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
	if s.Global {
		fmt.Fprintf(&sb, "Sub-topology: %d for global store (will not generate tasks)\n", s.ID)
		for _, n := range s.Nodes {
			sb.WriteString("    " + n.String() + "\n")
		}
		return sb.String()
	}
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
