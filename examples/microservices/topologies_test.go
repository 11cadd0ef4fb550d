package main

import (
	"testing"
	"time"

	"github.com/rillstreams/rill/serde"
	"github.com/rillstreams/rill/streamstest"
	"github.com/rillstreams/rill/topology"
)

// The services' topologies, one by one, in the test driver; microservices_test.go runs them
// together on a broker.

func build(t *testing.T, f func() (*topology.Topology, error)) *topology.Topology {
	t.Helper()
	topo, err := f()
	if err != nil {
		t.Fatal(err)
	}
	return topo
}

func verdicts(out *streamstest.OutputTopic[string, OrderValidation]) map[string]string {
	got := map[string]string{}
	for _, kv := range out.ReadKeyValues() {
		if kv.Key != kv.Value.OrderID {
			panic("validation keyed by " + kv.Key + ", not its order " + kv.Value.OrderID)
		}
		got[kv.Key] += kv.Value.Result
	}
	return got
}

func TestInventoryReservesAndReleases(t *testing.T) {
	d := streamstest.New(t, build(t, inventoryTopology))
	stock := streamstest.Input(d, TopicInventory, serde.String(), serde.JSON[int64]())
	orders := streamstest.Input(d, TopicOrders, serde.String(), serde.JSON[Order]())
	out := streamstest.Output(d, TopicValidations, serde.String(), serde.JSON[OrderValidation]())
	at := time.UnixMilli(1_000_000)
	stock.PipeAt("JUMPERS", 5, at)
	order := func(id, product string, qty int64, state string) {
		orders.PipeAt(id, Order{ID: id, CustomerID: "c1", State: state, Product: product, Quantity: qty, Price: 1}, at)
	}
	order("o1", "JUMPERS", 3, StateCreated)    // 3 of 5 reserved
	order("o2", "JUMPERS", 3, StateCreated)    // only 2 left
	order("o3", "UNDERPANTS", 1, StateCreated) // no such stock
	order("o1", "JUMPERS", 3, StateFailed)     // gives its 3 back
	order("o4", "JUMPERS", 5, StateCreated)    // all 5
	order("o4", "JUMPERS", 5, StateValidated)  // sold: stays reserved
	order("o5", "JUMPERS", 1, StateCreated)
	want := map[string]string{"o1": Pass, "o2": Fail, "o3": Fail, "o4": Pass, "o5": Fail}
	got := verdicts(out)
	for id, w := range want {
		if got[id] != w {
			t.Errorf("order %s: verdicts %q, want %q", id, got[id], w)
		}
	}
	if len(got) != len(want) {
		t.Errorf("verdicts %v, want %v", got, want)
	}
	if n, _ := streamstest.KeyValueStore[string, int64](d, StoreReserved).Get("JUMPERS"); n != 5 {
		t.Errorf("JUMPERS reserved %d, want 5", n)
	}
	if all := streamstest.KeyValueStore[string, Reservation](d, StoreReservations).All(); len(all) != 0 {
		t.Errorf("reservations left %v, want none (o1 failed, o4 validated)", all)
	}
}

func TestFraudLimitPerCustomerWindow(t *testing.T) {
	d := streamstest.New(t, build(t, fraudTopology))
	orders := streamstest.Input(d, TopicOrders, serde.String(), serde.JSON[Order]())
	out := streamstest.Output(d, TopicValidations, serde.String(), serde.JSON[OrderValidation]())
	t0 := time.UnixMilli(0).Add(10 * FraudWindow)
	order := func(id, customer string, value float64, ts time.Time) {
		orders.PipeAt(id, Order{ID: id, CustomerID: customer, State: StateCreated, Product: "JUMPERS", Quantity: 1, Price: value}, ts)
	}
	order("o1", "c1", 1500, t0)
	order("o2", "c2", 1900, t0.Add(time.Minute))                                                                                 // another customer
	order("o3", "c1", 500, t0.Add(2*time.Minute))                                                                                // exactly the limit: passes
	order("o4", "c1", 0.5, t0.Add(3*time.Minute))                                                                                // above it
	order("o5", "c1", 1999, t0.Add(FraudWindow))                                                                                 // the next window
	orders.PipeAt("o6", Order{ID: "o6", CustomerID: "c1", State: StateValidated, Price: 5000, Quantity: 1}, t0.Add(FraudWindow)) // not a new order
	want := map[string]string{"o1": Pass, "o2": Pass, "o3": Pass, "o4": Fail, "o5": Pass}
	got := verdicts(out)
	if len(got) != len(want) {
		t.Errorf("verdicts %v, want %v", got, want)
	}
	for id, w := range want {
		if got[id] != w {
			t.Errorf("order %s: verdicts %q, want %q", id, got[id], w)
		}
	}
}

func TestOrderDetails(t *testing.T) {
	d := streamstest.New(t, build(t, detailsTopology))
	orders := streamstest.Input(d, TopicOrders, serde.String(), serde.JSON[Order]())
	out := streamstest.Output(d, TopicValidations, serde.String(), serde.JSON[OrderValidation]())
	ok := Order{ID: "o1", CustomerID: "c1", State: StateCreated, Product: "JUMPERS", Quantity: 2, Price: 3}
	orders.Pipe("o1", ok)
	bad := ok
	bad.ID, bad.Quantity = "o2", 0
	orders.Pipe("o2", bad)
	bad.ID, bad.Quantity, bad.Product = "o3", 1, "SOCKS"
	orders.Pipe("o3", bad)
	ok.ID, ok.State = "o4", StateFailed // not a new order: no verdict
	orders.Pipe("o4", ok)
	got := verdicts(out)
	want := map[string]string{"o1": Pass, "o2": Fail, "o3": Fail}
	if len(got) != len(want) || got["o1"] != Pass || got["o2"] != Fail || got["o3"] != Fail {
		t.Errorf("verdicts %v, want %v", got, want)
	}
}

func TestValidatorDecidesOnce(t *testing.T) {
	d := streamstest.New(t, build(t, validatorTopology))
	orders := streamstest.Input(d, TopicOrders, serde.String(), serde.JSON[Order]())
	vals := streamstest.Input(d, TopicValidations, serde.String(), serde.JSON[OrderValidation]())
	out := streamstest.Output(d, TopicOrders, serde.String(), serde.JSON[Order]())
	t0 := time.UnixMilli(1_000_000)
	order := func(id string, ts time.Time) {
		orders.PipeAt(id, Order{ID: id, CustomerID: "c1", State: StateCreated, Product: "JUMPERS", Quantity: 1, Price: 1}, ts)
	}
	verdict := func(id, check, result string, ts time.Time) {
		vals.PipeAt(id, OrderValidation{OrderID: id, CheckType: check, Result: result}, ts)
	}
	order("o1", t0)
	verdict("o1", InventoryCheck, Pass, t0)
	verdict("o1", FraudCheck, Pass, t0)
	verdict("o1", FraudCheck, Pass, t0) // the same check twice does not count twice
	if !out.IsEmpty() {
		t.Fatalf("o1 decided on two checks: %v", out.ReadKeyValues())
	}
	verdict("o1", OrderDetailsCheck, Pass, t0)
	verdict("o2", InventoryCheck, Fail, t0) // before its order
	order("o2", t0)
	verdict("o2", FraudCheck, Fail, t0)
	verdict("o2", OrderDetailsCheck, Pass, t0)
	order("o3", t0)
	verdict("o3", InventoryCheck, Pass, t0)
	got := map[string][]string{}
	for _, kv := range out.ReadKeyValues() {
		got[kv.Key] = append(got[kv.Key], kv.Value.State)
	}
	if len(got) != 2 || len(got["o1"]) != 1 || got["o1"][0] != StateValidated || len(got["o2"]) != 1 || got["o2"][0] != StateFailed {
		t.Fatalf("decisions %v, want o1 VALIDATED and o2 FAILED, once each", got)
	}
	// o3 never gets its other verdicts: when its window closes it is dropped and counted.
	before := expiredOrders.Load()
	order("o9", t0.Add(ValidationWindow+2*time.Minute))
	if n := expiredOrders.Load() - before; n != 1 {
		t.Errorf("expired undecided orders %d, want 1 (o3)", n)
	}
	left := streamstest.KeyValueStore[string, validationState](d, StoreValidations).All()
	if len(left) != 1 || left[0].Key != "o9" {
		t.Errorf("store holds %v, want only o9", left)
	}
	verdict("o1", FraudCheck, Fail, t0.Add(ValidationWindow+2*time.Minute))
	if !out.IsEmpty() {
		// A verdict after the window closed finds no order: nothing is decided.
		t.Errorf("a late verdict decided %v", out.ReadKeyValues())
	}
}
