package main

import (
	"github.com/rillstreams/rill/dsl"
	"github.com/rillstreams/rill/serde"
	"github.com/rillstreams/rill/topology"
)

// StoreOrders is the orders service's view of the orders topic: order id -> latest Order.
// GET /v1/orders/{id} reads it through interactive queries (the Q of CQRS).
const StoreOrders = "orders-store"

// ordersTopology is the orders service's view: the orders topic as a table.
func ordersTopology() (*topology.Topology, error) {
	b := dsl.NewBuilder()
	b.Table(TopicOrders, serde.String(), serde.JSON[Order](), dsl.Materialized(StoreOrders))
	return b.Build()
}
