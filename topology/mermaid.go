package topology

import (
	"fmt"
	"strings"
)

// DescribeMermaid renders the topology as a Mermaid flowchart: one box per sub-topology, topics
// as parallelograms, so a README or design doc can show the graph rill runs.
func (t *Topology) DescribeMermaid() string {
	var sb strings.Builder
	sb.WriteString("flowchart TD\n")
	ids := make(map[string]string)
	id := func(name string) string {
		if v, ok := ids[name]; ok {
			return v
		}
		v := fmt.Sprintf("n%d", len(ids))
		ids[name] = v
		return v
	}
	topics := make(map[string]string)
	var topicOrder []string // topics in order of first appearance, so output is stable
	topic := func(name string) string {
		if v, ok := topics[name]; ok {
			return v
		}
		v := fmt.Sprintf("t%d", len(topics))
		topics[name] = v
		topicOrder = append(topicOrder, name)
		return v
	}
	var edges []string
	for _, sub := range t.Describe().Subtopologies {
		fmt.Fprintf(&sb, "  subgraph s%d[\"Sub-topology %d\"]\n", sub.ID, sub.ID)
		for _, n := range sub.Nodes {
			label := n.Name
			if len(n.Stores) > 0 {
				label += "<br/>stores: " + strings.Join(n.Stores, ", ")
			}
			fmt.Fprintf(&sb, "    %s(\"%s\")\n", id(n.Name), mermaidEscape(label))
			for _, s := range n.Successors {
				edges = append(edges, fmt.Sprintf("  %s --> %s", id(n.Name), id(s)))
			}
			for _, tp := range n.Topics {
				edges = append(edges, fmt.Sprintf("  %s --> %s", topic(tp), id(n.Name)))
			}
			if n.Pattern != "" {
				edges = append(edges, fmt.Sprintf("  %s --> %s", topic(n.Pattern), id(n.Name)))
			}
			if n.Topic != "" {
				edges = append(edges, fmt.Sprintf("  %s --> %s", id(n.Name), topic(n.Topic)))
			}
			if n.TopicFunc != "" {
				edges = append(edges, fmt.Sprintf("  %s --> %s", id(n.Name), topic("topic chosen per record")))
			}
		}
		sb.WriteString("  end\n")
	}
	for i, name := range topicOrder {
		fmt.Fprintf(&sb, "  t%d[/\"%s\"/]\n", i, mermaidEscape(name))
	}
	for _, e := range edges {
		sb.WriteString(e + "\n")
	}
	return sb.String()
}

func mermaidEscape(s string) string { return strings.ReplaceAll(s, `"`, "#quot;") }
