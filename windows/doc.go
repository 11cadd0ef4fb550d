// Package windows defines the windows of Kafka Streams' DSL: which windows a record falls in,
// how long a window stays open for late records (the grace period), and how windowed keys are
// written to topics. It holds definitions and pure arithmetic only; the windowed aggregations
// are in package dsl and the joins in package joins.
//
// # Usage
//
//	// Count clicks per user in tumbling 5-minute windows, accepting records up to 30 s late,
//	// and write one final count per window.
//	clicks := b.Stream("clicks", serde.String(), serde.JSON[Click]())
//	counts := dsl.WindowedBy(clicks.GroupByKey(),
//		windows.Tumbling(5*time.Minute, windows.Grace(30*time.Second))).
//		EmitFinal().
//		Count()
//	counts.ToStream().To("clicks-per-5min") // keys written with TimeWindowedSerde
//
//	// Join orders with payments made within a minute after the order.
//	orders.Join(payments, joiner, windows.JoinWithin(time.Minute, windows.Before(0)))
//
// # Kinds of windows
//
//   - Tumbling(size): fixed, non-overlapping windows [n*size, (n+1)*size).
//   - Hopping(size, advance): fixed windows starting every advance; they overlap, so a record
//     counts in several.
//   - Sliding(maxDifference): windows that slide with the records, for aggregation (Kafka
//     Streams' SlidingWindows): each distinct set of records at most maxDifference apart.
//   - Session(inactivityGap): per-key sessions of activity, merged when a record bridges two.
//   - JoinWithin(d): how far apart two records may be to join (Kafka Streams' JoinWindows).
//
// # Time, grace and closing
//
// Times are int64 milliseconds, Kafka's timestamp unit; constructors take time.Duration.
// Windows follow stream time, the largest record timestamp a task has seen, never the wall
// clock. A window closes when stream time passes its end plus the grace period (the exact
// comparison of each kind is its Closed method, as in Kafka Streams); a record arriving for
// a closed window is dropped and counted as a dropped record, never aggregated silently late.
// Without Grace the grace period is zero, as Kafka Streams' ofSizeWithNoGrace.
//
// # Choosing the grace period
//
// Stream time moves with the largest timestamp a task has seen, so a record is late when a
// record with a later timestamp was processed before it in the same task. Zero grace is right
// only when every task sees its records in timestamp order, which is rarer than it looks:
//
//   - a repartition topic (GroupBy, SelectKey before an aggregation or join) merges records
//     from every upstream partition, each ahead or behind the others by what its producer and
//     fetches happened to do: records arrive out of order by the upstream skew;
//   - a task reading several partitions (joins, merged streams) orders them by timestamp only
//     while each has records queued (Config.MaxTaskIdle);
//   - producers batching, retrying or running on clocks apart reorder records by their own
//     delays.
//
// Set the grace to the largest delay to accept: how far behind the newest record another may
// arrive and still count. It costs latency and state, not correctness: a window's final
// result (EmitFinal, Suppress) waits for end plus grace, and its store keeps windows at least
// that long. Too small a grace loses data, visibly: every record dropped as late is counted
// per processor node (streamstest's Driver.DroppedByNode) and logged at WARN with its topic,
// partition, offset, timestamp and how far behind stream time it was (rate-limited), which
// tells by how much to raise the grace. A first setting is the skew between partitions seen
// in production (the lag between the fastest and slowest upstream partition in time), plus
// the producers' longest delivery time; Kafka Streams' own default before 3.0 was 24 hours.
//
// # Errors
//
// Constructors do not fail on the spot, so they can be written inline in a DSL chain: an
// invalid definition carries its error (Err, matching ErrInvalidWindow) and the DSL returns it
// from Builder.Build with every other wiring error.
//
// # Windowed keys on topics
//
// TimeWindowedSerde and SessionWindowedSerde write Windowed keys byte for byte as Kafka
// Streams' time- and session-windowed serdes do, so Java consumers can read rill's output and
// the other way round.
package windows
