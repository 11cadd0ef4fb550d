// Package joins holds the join processors of rill's DSL, reusable by hand-built topologies:
// windowed stream-stream joins with their buffers (StreamStream, OuterStore), stream-table
// and stream-global table lookups (Lookup, with table value getters). Package dsl wires them
// with Kafka Streams' node, store and topic names; most programs use the DSL methods rather
// than this package. Table-table joins are the DSL's own (Table.Join, LeftJoin, OuterJoin,
// JoinOnForeignKey): their change type and the foreign-key join's subscription protocol,
// whose wire format and hashing are rill's own, are internal (internal/tablejoin,
// internal/fkjoin).
//
// # Usage
//
// Through the DSL (the canonical program: orders joined with their payments within a minute,
// then with the customer from a global table):
//
//	orders.
//		Join(payments, func(_ string, o Order, p Payment) Email { return Email{Order: o, Payment: p} },
//			windows.JoinWithin(time.Minute)).
//		JoinGlobal(customers, func(_ string, e Email) string { return e.Order.CustomerID },
//			func(_ string, e Email, c Customer) Email { e.Customer = c; return e })
//
// By hand, a left stream-stream join of two sources:
//
//	j := &joins.StreamStream[string, Order, Payment, Email]{
//		Window:     joins.Window{Before: 60_000, After: 60_000},
//		Store:      "orders-buffer", OtherStore: "payments-buffer", OuterStore: "unpaid",
//		KeySerde:   serde.String(), ValueSerde: serde.JSON[Order](), OtherValueSerde: serde.JSON[Payment](),
//		Joiner:     func(_ string, o Order, p Payment) Email { return Email{Order: o, Payment: p} },
//		LeftOnly:   func(_ string, o Order) Email { return Email{Order: o} }, // unpaid after a minute
//	}
//	topo.AddProcessor("orders-windowed", j.ThisWindowed(), "orders-source")
//	topo.AddProcessor("payments-windowed", j.OtherWindowed(), "payments-source")
//	topo.AddProcessor("orders-join", j.ThisJoin(), "orders-windowed")
//	topo.AddProcessor("payments-join", j.OtherJoin(), "payments-windowed")
//	ordersSB, paymentsSB := j.WindowStoreBuilders()
//	topo.AddStore(ordersSB, "orders-windowed", "payments-join")
//	topo.AddStore(paymentsSB, "payments-windowed", "orders-join")
//	topo.AddStore(joins.NewOuterStoreBuilder("unpaid"), "orders-join", "payments-join")
//
// # Semantics
//
// The joins follow Kafka Streams (the tables of "Joining" in its developer guide are this
// package's test cases, in dsl/testdata/joins), with nulls as rill has them: a nil key or
// value of a nullable type is Kafka's null, a table row is absent or present, and joiners of
// left and outer joins are told with a bool whether a side was found.
//
//   - Stream-stream: records of the same key within the window join, each pair once, stamped
//     with the later timestamp, as long as the other side's buffer still holds the older one
//     (before + after + grace of its stream time). Left and outer joins emit an unmatched
//     record's result when its window (plus grace) has closed in stream time (KIP-633), from
//     the shared OuterStore, or at once for a record whose window closed before it arrived.
//     As in Kafka Streams, nothing is dropped as late and an unmatched result is not retracted.
//   - Stream-table and stream-global table: a lookup when the stream record arrives; table
//     updates emit nothing.
//   - Table-table: either side's change recomputes the key's joined row; the result is a
//     table (changes with old values when asked), deletes propagate.
//   - Foreign key: subscriptions travel to the right table's partitions and responses back;
//     a response for an outdated left value is recognised by the value's Murmur3 hash and
//     dropped.
//
// Processors hold no locks and read no clocks: time is the task's stream time, and the state
// both join processors of a task share lives in the task's OuterStore instance.
package joins
