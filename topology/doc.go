// Package topology is the untyped graph a rill program compiles into (Kafka Streams'
// Topology): source, processor and sink nodes, the state stores processors use and the
// internal topics the application owns. Sealing a topology splits it into sub-topologies —
// connected components, cut at repartition topics — and each sub-topology runs as one task per
// input partition, with task ids "<subtopology>_<partition>".
//
// # Usage
//
// Usually a topology comes from dsl.Builder.Build. It can be built by hand too; connections are
// type-checked as they are made:
//
//	t := topology.New()
//	_ = t.AddSource("src", serde.String(), serde.String(), "input")
//	_ = t.AddProcessor("upper", func() processor.Processor[string, string, string, string] {
//		return &upper{}
//	}, "src")
//	_ = t.AddSink("sink", "output", serde.String(), serde.String(), "upper")
//	if err := t.Seal(); err != nil { ... }
//	fmt.Print(t.Describe())
//
// Describe renders Kafka Streams' describe() text byte for byte — including the node and edge
// orders that Kafka Streams derives from Java collections, which this package replays — so a
// rill program's description can be diffed against a Java application's. DescribeMermaid draws
// the same graph as a Mermaid flowchart.
package topology
