package topology

import (
	"slices"

	"github.com/rillstreams/rill/internal/engine"
)

// UpstreamTopics returns the topics read by the sources upstream of node, following parent
// edges (so up to the nearest repartition topics: a repartition's sink and source are not
// connected), internal topics unprefixed, pattern sources left out, sorted and without
// duplicates. The DSL records co-partition groups with them (Kafka Streams'
// ensureCopartitionWith works on the same sets of source nodes).
func (t *Topology) UpstreamTopics(node string) []string {
	var topics []string
	seen := make(map[string]bool)
	stack := []string{node}
	for len(stack) > 0 {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if seen[n] {
			continue
		}
		seen[n] = true
		if spec, ok := t.byName[n]; ok && spec.Kind == engine.SourceNode {
			topics = append(topics, spec.Topics...)
		}
		stack = append(stack, t.parents[n]...)
	}
	slices.Sort(topics)
	return slices.Compact(topics)
}
