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
