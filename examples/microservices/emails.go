package main

import (
	"time"

	"github.com/rillstreams/rill/dsl"
	"github.com/rillstreams/rill/serde"
	"github.com/rillstreams/rill/topology"
	"github.com/rillstreams/rill/windows"
)

// orderPayment is a validated order joined with one of its payments.
type orderPayment struct {
	Order   Order
	Payment Payment
}

// emailsTopology is the email service, the join of examples/orderemails on this application's
// records: VALIDATED orders joined with their payments (re-keyed by order id) within one
// minute, then with the customers global table; send is called for each email, which also goes
// to the emails topic.
func emailsTopology(send func(Email)) (*topology.Topology, error) {
	b := dsl.NewBuilder()
	validated := b.Stream(TopicOrders, serde.String(), serde.JSON[Order](), dsl.Named("orders")).
		Filter(func(_ string, o Order) bool { return o.State == StateValidated }, dsl.Named("validated"))
	payments := b.Stream(TopicPayments, serde.String(), serde.JSON[Payment](), dsl.Named("payments")).
		SelectKey(func(_ string, p Payment) string { return p.OrderID }, dsl.Named("payments-by-order"))
	customers := b.GlobalTable(TopicCustomers, serde.String(), serde.JSON[Customer](), dsl.Materialized("customers-store"))
	validated.Join(payments,
		func(_ string, o Order, p Payment) orderPayment { return orderPayment{Order: o, Payment: p} },
		// Grace admits payments that reach the join through their repartition topic after
		// later orders were read directly, as in examples/orderemails.
		windows.JoinWithin(time.Minute, windows.Grace(time.Hour)),
		dsl.Named("orders-payments"), dsl.WithJoinSerdes(serde.String(), serde.JSON[Order](), serde.JSON[Payment]())).
		JoinGlobal(customers,
			func(_ string, op orderPayment) string { return op.Order.CustomerID },
			func(id string, op orderPayment, c Customer) Email {
				return Email{OrderID: id, CustomerID: c.ID, Email: c.Email, CustomerName: c.FirstName + " " + c.LastName,
					Product: op.Order.Product, Quantity: op.Order.Quantity, Amount: op.Payment.Amount, Ccy: op.Payment.Ccy}
			}, dsl.Named("with-customer")).
		Peek(func(_ string, e Email) { send(e) }, dsl.Named("send-email")).
		To(TopicEmails, dsl.WithSerdes(serde.String(), serde.JSON[Email]()), dsl.Named("emails"))
	return b.Build()
}
