package main

import (
	"fmt"

	"github.com/rillstreams/rill/dsl"
	"github.com/rillstreams/rill/processor"
	"github.com/rillstreams/rill/serde"
	"github.com/rillstreams/rill/state"
	"github.com/rillstreams/rill/topology"
)

// Store names of the inventory service, queried by GET /v1/inventory.
const (
	StoreStock        = "warehouse-stock" // product -> units in stock (the warehouse-inventory table)
	StoreReserved     = "reserved-stocks" // product -> units reserved
	StoreReservations = "reservations"    // order id -> its reservation, until validated or failed
)

// Reservation is what the inventory service holds for an order that passed its check, so that
// a FAILED order can give its units back.
type Reservation struct {
	Product  string `json:"product"`
	Quantity int64  `json:"quantity"`
}

// orderStock is an order joined with the stock of its product (InStock 0, Known false for a
// product the warehouse does not have).
type orderStock struct {
	Order   Order
	InStock int64
	Known   bool
}

// inventoryTopology is the inventory service: orders re-keyed by product (through a
// repartition topic) meet the warehouse's stock table; a processor owning the product's
// reserved-stocks entry passes an order when the units not yet reserved cover it, reserves them,
// and fails it otherwise. A FAILED order gives its reservation back; a VALIDATED one keeps the
// units reserved and forgets the order. Under ExactlyOnceV2 the reservation, its changelog and
// the validation it produces commit together, so no unit is reserved twice or lost in a crash.
func inventoryTopology() (*topology.Topology, error) {
	b := dsl.NewBuilder()
	b.AddStateStore(state.NewKeyValueStoreBuilder(StoreReserved, serde.String(), serde.Int64()))
	b.AddStateStore(state.NewKeyValueStoreBuilder(StoreReservations, serde.String(), serde.JSON[Reservation]()))
	stock := b.Table(TopicInventory, serde.String(), serde.JSON[int64](), dsl.Materialized(StoreStock))
	b.Stream(TopicOrders, serde.String(), serde.JSON[Order](), dsl.Named("orders")).
		SelectKey(func(_ string, o Order) string { return o.Product }, dsl.Named("orders-by-product")).
		LeftJoinTable(stock, func(_ string, o Order, n int64, found bool) orderStock {
			return orderStock{Order: o, InStock: n, Known: found}
		}, dsl.Named("order-stock"), dsl.WithJoinSerdes(serde.String(), serde.JSON[Order](), serde.JSON[int64]())).
		Process(func() processor.Processor[string, orderStock, string, OrderValidation] { return &reserver{} },
			dsl.WithStores(StoreReserved, StoreReservations), dsl.Named("reserve-stock")).
		To(TopicValidations, dsl.WithSerdes(serde.String(), serde.JSON[OrderValidation]()), dsl.Named("inventory-validations"))
	return b.Build()
}

// reserver decides the inventory check of each CREATED order and releases the reservations of
// FAILED ones. Its task owns one product's stores (the stream is keyed by product).
type reserver struct {
	ctx          processor.Context[string, OrderValidation]
	reserved     *state.KeyValueStore[string, int64]
	reservations *state.KeyValueStore[string, Reservation]
}

func (p *reserver) Init(ctx processor.Context[string, OrderValidation]) error {
	p.ctx = ctx
	s, err := ctx.StateStore(StoreReserved)
	if err != nil {
		return err
	}
	p.reserved = s.(*state.KeyValueStore[string, int64])
	if s, err = ctx.StateStore(StoreReservations); err != nil {
		return err
	}
	p.reservations = s.(*state.KeyValueStore[string, Reservation])
	return nil
}

func (p *reserver) Process(r processor.Record[string, orderStock]) error {
	o := r.Value.Order
	switch o.State {
	case StateCreated:
		return p.check(r, o)
	case StateFailed:
		return p.release(o, true)
	case StateValidated:
		return p.release(o, false)
	}
	return nil
}

func (p *reserver) check(r processor.Record[string, orderStock], o Order) error {
	result := Fail
	if _, ok, err := p.reservations.Get(o.ID); err != nil {
		return err
	} else if ok {
		result = Pass // the same order again: its units are reserved already
	} else if r.Value.Known && o.Quantity > 0 {
		reserved, _, err := p.reserved.Get(o.Product)
		if err != nil {
			return err
		}
		if r.Value.InStock-reserved >= o.Quantity {
			if err := p.reserved.Put(o.Product, reserved+o.Quantity); err != nil {
				return err
			}
			if err := p.reservations.Put(o.ID, Reservation{Product: o.Product, Quantity: o.Quantity}); err != nil {
				return err
			}
			result = Pass
		}
	}
	return p.ctx.Forward(processor.Record[string, OrderValidation]{
		Key:       o.ID,
		Value:     OrderValidation{OrderID: o.ID, CheckType: InventoryCheck, Result: result},
		Timestamp: r.Timestamp,
		Headers:   r.Headers,
	})
}

// release forgets the order's reservation; giveBack returns its units to the stock (the order
// failed) rather than keeping them reserved (the order is validated: the units are sold).
func (p *reserver) release(o Order, giveBack bool) error {
	res, ok, err := p.reservations.Get(o.ID)
	if err != nil || !ok {
		return err
	}
	if giveBack {
		reserved, _, err := p.reserved.Get(res.Product)
		if err != nil {
			return err
		}
		if reserved < res.Quantity {
			return fmt.Errorf("inventory: %s has %d units reserved, fewer than order %s's %d", res.Product, reserved, o.ID, res.Quantity)
		}
		if err := p.reserved.Put(res.Product, reserved-res.Quantity); err != nil {
			return err
		}
	}
	return p.reservations.Delete(o.ID)
}

func (p *reserver) Close() error { return nil }
