package main

import (
	"time"

	"github.com/rillstreams/rill/dsl"
	"github.com/rillstreams/rill/serde"
	"github.com/rillstreams/rill/topology"
	"github.com/rillstreams/rill/windows"
)

// Fraud rule: a customer may order at most FraudLimit worth within one FraudWindow (tumbling
// windows of record time); the order that takes the customer's total above it fails the check,
// and so does every later one in the window.
const (
	FraudLimit  = 2000.0
	FraudWindow = time.Hour
)

// StoreFraudTotals is the fraud service's window store of per-customer totals.
const StoreFraudTotals = "fraud-totals"

// orderValue is the fraud aggregation: the customer's total in the window so far, and the order
// that made it.
type orderValue struct {
	Order Order   `json:"order"`
	Total float64 `json:"total"`
}

// fraudTopology is the fraud service: CREATED orders grouped by customer (a repartition topic)
// and summed in tumbling windows; each update names the order that caused it, which passes
// while the total stays within the limit. The store's cache is off: every order must come out
// of the aggregation, not only each window's latest total.
func fraudTopology() (*topology.Topology, error) {
	b := dsl.NewBuilder()
	created := b.Stream(TopicOrders, serde.String(), serde.JSON[Order](), dsl.Named("orders")).
		Filter(func(_ string, o Order) bool { return o.State == StateCreated }, dsl.Named("created"))
	byCustomer := created.GroupBy(func(_ string, o Order) string { return o.CustomerID },
		dsl.Named("orders-by-customer"), dsl.WithSerdes(serde.String(), serde.JSON[Order]()))
	totals := dsl.WindowedBy(byCustomer, windows.Tumbling(FraudWindow)).
		Aggregate(func() orderValue { return orderValue{} },
			func(_ string, o Order, agg orderValue) orderValue {
				return orderValue{Order: o, Total: agg.Total + o.Value()}
			},
			dsl.Materialized(StoreFraudTotals).WithCachingDisabled(), dsl.WithSerdes(serde.String(), serde.JSON[orderValue]()),
			dsl.Named("customer-totals"))
	totals.ToStream(dsl.Named("totals")).
		Map(func(_ windows.Windowed[string], v orderValue) (string, OrderValidation) {
			result := Pass
			if v.Total > FraudLimit {
				result = Fail
			}
			return v.Order.ID, OrderValidation{OrderID: v.Order.ID, CheckType: FraudCheck, Result: result}
		}, dsl.Named("fraud-check")).
		To(TopicValidations, dsl.WithSerdes(serde.String(), serde.JSON[OrderValidation]()), dsl.Named("fraud-validations"))
	return b.Build()
}
