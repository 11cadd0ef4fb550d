// Package oracle is rill's differential oracle against Kafka Streams: the same topology,
// described by a family and its parameters (Case), is built with rill's DSL and run through
// streamstest, and built with Kafka Streams' DSL and run through its TopologyTestDriver by the
// Java side (oracle/java, one JVM per run, cases as JSON lines on its stdin). Every record
// written to the output topic is compared: key, value (null distinct from any value),
// timestamp and order. A mismatch is shrunk to a small input and printed side by side.
//
// Inputs are generated from a seed (Generate): small key sets, null keys and values, bursts of
// equal timestamps, out-of-order and late records, jumps that close windows. Families:
// stream-stream joins (inner/left/outer, symmetric and asymmetric windows, grace), windowed
// aggregations (tumbling, hopping, sliding, session; count, reduce, aggregate; emit-final and
// suppress), table groupBy with adder and subtractor, table sources read back as streams,
// stream-table, table-table (with filters) and foreign-key joins.
//
// Both sides run without a record cache unless the case asks for one (families cached and
// cwinagg): the Java side then sets statestore.cache.max.bytes=0 and disables caching on its
// stores, except emit-final aggregations, which Kafka Streams 4.1.1 only emits through a
// cached RocksDB store. With the cache on, both sides flush after every record (the drivers
// commit then), and window and session stores keep Kafka Streams' default caching. Its
// wall-clock throttles of emit-final and left/outer join results are set to 0.
//
// AllowList holds the differences kept on purpose, each with its reason (docs/DECISIONS.md).
//
// # Usage
//
//	make oracle SEED=7 N=2000 FAMILIES=ssjoin,winagg   # build the jar if stale, run, report
//	make test-oracle                                  # CI: seed 1, 500 cases per family
//
// Without Java or the jar, TestOracle (build tag oracle) skips, naming `make oracle`; with
// CI=true it fails instead. By hand:
//
//	ORACLE_SEED=1 ORACLE_N=300 go test -tags oracle -run TestOracle -v ./internal/oracle/
package oracle
