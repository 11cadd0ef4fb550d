package topology

import (
	"strings"

	"github.com/rillstreams/rill/internal/engine"
)

// OracleGraph dumps a sealed topology in the input format of testdata/DescribeOracle.java:
// nodes in the order they were added, parents in the order given, sub-topologies split by "--".
func (t *Topology) OracleGraph() string {
	var sb strings.Builder
	for i, sub := range t.subs {
		if i > 0 {
			sb.WriteString("--\n")
		}
		for _, n := range sub.Nodes {
			parents := strings.Join(t.parents[n.Name], ",")
			switch n.Kind {
			case engine.SourceNode:
				sb.WriteString("Source " + n.Name + " " + strings.Join(n.Topics, ",") + "\n")
			case engine.ProcessorNode:
				sb.WriteString("Processor " + n.Name + " " + parents)
				if len(n.Stores) > 0 {
					sb.WriteString(" " + strings.Join(n.Stores, ","))
				}
				sb.WriteString("\n")
			default:
				sb.WriteString("Sink " + n.Name + " " + parents + " " + n.Topic + "\n")
			}
		}
	}
	return sb.String()
}
func JavaHashSetOrder(names []string) []string { return javaHashSetOrder(names) }
