// Package streamstest runs a rill topology without a broker, for tests (Kafka Streams'
// TopologyTestDriver). Records are piped into input topics and processed synchronously, on the
// test's goroutine, by the same task engine the Kafka runtime uses; what the topology writes is
// read back from output topics. Nothing sleeps and no clock is read: record timestamps drive
// stream time, and AdvanceWallClock drives wall-clock punctuations.
//
// # Usage
//
//	func TestBigOrders(t *testing.T) {
//		topo := buildTopology() // a *topology.Topology from dsl.Builder.Build
//		d := streamstest.New(t, topo)
//		in := streamstest.Input(d, "orders", serde.String(), serde.JSON[Order]())
//		out := streamstest.Output(d, "big-order-customers", serde.String(), serde.String())
//
//		in.PipeAt("o1", Order{CustomerID: "c1", Total: 250}, time.UnixMilli(1000))
//		in.PipeAt("o2", Order{CustomerID: "c2", Total: 5}, time.UnixMilli(2000))
//
//		got := out.ReadRecord()
//		if got.Key != "o1" || got.Value != "c1" || got.Time != time.UnixMilli(1000) {
//			t.Fatalf("got %+v", got)
//		}
//		if !out.IsEmpty() {
//			t.Fatal("small order passed the filter")
//		}
//	}
//
// The driver commits after every record, as TopologyTestDriver does, so the record cache of
// tables and aggregations (rill.Config.CacheMaxBytes) flushes after every record and changes
// nothing visible. WithManualCommit makes it commit only on Commit (and Close), to test what a
// topology emits with its caches: one update per key per commit.
//
//	d := streamstest.New(t, topo, streamstest.WithManualCommit())
//	in.Pipe("a", "x")
//	in.Pipe("a", "y")
//	d.Commit() // the count of "a" is forwarded once, as 2
//
// Records dropped on purpose (late for their window, without a key) are counted per processor
// node: DroppedByNode.
//
// Stores are read across partitions by name: KeyValueStore, the window and session views, and
// VersionedStore for versioned tables (dsl.Materialized(name).WithVersioned), as of a time:
//
//	v, ok := streamstest.VersionedStore[string, string](d, "prices").GetAsOf("eur", time.UnixMilli(1500))
//
// Every topic has one partition, so each sub-topology runs as one task (ids "N_0"). Records
// written to a topic the topology also reads, repartition topics included, are processed at
// once, as they would be through a broker. Internal topics are named "<application id>-<name>"
// with application id "test" unless WithApplicationID says otherwise.
package streamstest
