package main

import (
	"time"

	"github.com/rillstreams/rill/dsl"
	"github.com/rillstreams/rill/processor"
	"github.com/rillstreams/rill/serde"
	"github.com/rillstreams/rill/topology"
	"github.com/rillstreams/rill/windows"
)

// Emailer sends the email of a paid order. It is called from the stream threads, so it must be
// safe for concurrent use.
type Emailer interface {
	Send(e Email)
}

// Counters are called as records flow, for the progress line and the summary.
type Counters struct {
	Order, Payment func()
}

// buildTopology is the email service: orders joined with their payments within one minute
// (payments re-keyed by order id, so they go through a repartition topic), then with the
// customers global table; each result is an email. Orders joined with their customer also go
// to the topic named by the customer's level.
func buildTopology(emailer Emailer, counters Counters) (*topology.Topology, error) {
	b := dsl.NewBuilder()
	orders := b.Stream("orders", serde.String(), serde.JSON[Order](), dsl.Named("orders")).
		Peek(func(string, Order) { counters.Order() }, dsl.Named("count-orders"))
	payments := b.Stream("payments", serde.String(), serde.JSON[Payment](), dsl.Named("payments")).
		Peek(func(string, Payment) { counters.Payment() }, dsl.Named("count-payments")).
		SelectKey(func(_ string, p Payment) string { return p.OrderID }, dsl.Named("payments-by-order"))
	customers := b.GlobalTable("customers", serde.String(), serde.JSON[Customer](), dsl.Materialized("customers-store"))

	paid := orders.Join(payments,
		func(_ string, o Order, p Payment) OrderPayment { return OrderPayment{Order: o, Payment: p} },
		// One minute of record time between an order and its payment. The grace period admits
		// records that arrive out of order across the two inputs — payments reach the join
		// through a repartition topic, after orders read directly — without widening the window.
		windows.JoinWithin(time.Minute, windows.Grace(24*time.Hour)),
		dsl.Named("orders-payments"), dsl.WithJoinSerdes(serde.String(), serde.JSON[Order](), serde.JSON[Payment]()))

	paid.JoinGlobal(customers,
		func(_ string, op OrderPayment) string { return op.Order.CustomerID },
		func(id string, op OrderPayment, c Customer) Email {
			return Email{OrderID: id, CustomerID: c.ID, Email: c.Email, CustomerName: c.FirstName + " " + c.LastName,
				Product: op.Order.Product, Quantity: op.Order.Quantity, Amount: op.Payment.Amount, Ccy: op.Payment.Ccy}
		}, dsl.Named("with-customer")).
		Peek(func(_ string, e Email) { emailer.Send(e) }, dsl.Named("send-email")).
		To("emails", dsl.WithSerdes(serde.String(), serde.JSON[Email]()), dsl.Named("emails"))

	orders.JoinGlobal(customers,
		func(_ string, o Order) string { return o.CustomerID },
		func(_ string, o Order, c Customer) OrderCustomer { return OrderCustomer{Order: o, Customer: c} },
		dsl.Named("order-customer")).
		ToTopicFunc(func(_ string, oc OrderCustomer, _ processor.RecordMetadata) string { return oc.Customer.Level },
			dsl.WithSerdes(serde.String(), serde.JSON[OrderCustomer]()), dsl.Named("by-level"))
	return b.Build()
}
