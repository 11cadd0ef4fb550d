package main

import (
	"slices"

	"github.com/rillstreams/rill/dsl"
	"github.com/rillstreams/rill/serde"
	"github.com/rillstreams/rill/topology"
)

// detailsOK is the order details check: the order itself is well formed.
func detailsOK(o Order) bool {
	return o.ID != "" && o.CustomerID != "" && o.Quantity > 0 && o.Price > 0 && slices.Contains(products, o.Product)
}

// detailsTopology is the order details service: a stateless check of each CREATED order.
func detailsTopology() (*topology.Topology, error) {
	b := dsl.NewBuilder()
	b.Stream(TopicOrders, serde.String(), serde.JSON[Order](), dsl.Named("orders")).
		Filter(func(_ string, o Order) bool { return o.State == StateCreated }, dsl.Named("created")).
		MapValues(func(id string, o Order) OrderValidation {
			result := Fail
			if detailsOK(o) {
				result = Pass
			}
			return OrderValidation{OrderID: id, CheckType: OrderDetailsCheck, Result: result}
		}, dsl.Named("details-check")).
		To(TopicValidations, dsl.WithSerdes(serde.String(), serde.JSON[OrderValidation]()), dsl.Named("details-validations"))
	return b.Build()
}
