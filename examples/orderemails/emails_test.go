package main

import (
	"sync"
	"testing"
	"time"

	"github.com/rillstreams/rill/serde"
	"github.com/rillstreams/rill/state/memory"
	"github.com/rillstreams/rill/streamstest"
)

type recordingEmailer struct {
	mu   sync.Mutex
	sent []Email
}

func (r *recordingEmailer) Send(e Email) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sent = append(r.sent, e)
}

// The email service on hand-made records with explicit timestamps, through the test driver
// (3 partitions, so payments really are repartitioned by order id).
func TestEmails(t *testing.T) {
	em := &recordingEmailer{}
	noop := func() {}
	topo, err := buildTopology(em, Counters{Order: noop, Payment: noop})
	if err != nil {
		t.Fatal(err)
	}
	d := streamstest.New(t, topo, streamstest.WithPartitions(3), streamstest.WithBackend(memory.Backend()))
	customers := streamstest.Input(d, "customers", serde.String(), serde.JSON[Customer]())
	orders := streamstest.Input(d, "orders", serde.String(), serde.JSON[Order]())
	payments := streamstest.Input(d, "payments", serde.String(), serde.JSON[Payment]())
	emails := streamstest.Output(d, "emails", serde.String(), serde.JSON[Email]())

	t0 := time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	customers.PipeAt("c1", Customer{ID: "c1", FirstName: "Ada", LastName: "Lovelace", Email: "ada@example.com", Level: "gold"}, at(0))
	order := func(id, customer string, s int) {
		orders.PipeAt(id, Order{ID: id, CustomerID: customer, State: "CREATED", Product: "JUMPERS", Quantity: 2, Price: 10}, at(s))
	}
	pay := func(id, orderID string, amount float64, s int) {
		payments.PipeAt(id, Payment{ID: id, OrderID: orderID, Ccy: "EUR", Amount: amount}, at(s))
	}
	order("o1", "c1", 10) // paid 30 s later: one email
	pay("p1", "o1", 20, 40)
	order("o2", "c1", 20) // paid 90 s later: outside the minute, no email
	pay("p2", "o2", 20, 110)
	order("o3", "nobody", 30) // unknown customer: no email
	pay("p3", "o3", 20, 35)
	order("o4", "c1", 40) // two payments within the window: one email per order-payment pair
	pay("p4a", "o4", 5, 50)
	pay("p4b", "o4", 15, 70)

	got := emails.ReadAll()
	type row struct {
		key    string
		amount float64
		ts     time.Time
	}
	want := []row{{"o1", 20, at(40)}, {"o4", 5, at(50)}, {"o4", 15, at(70)}}
	if len(got) != len(want) {
		t.Fatalf("emails %+v, want %d", got, len(want))
	}
	for i, w := range want {
		g := got[i]
		if g.Key != w.key || g.Value.Amount != w.amount || !g.Time.Equal(w.ts) || g.Value.Email != "ada@example.com" ||
			g.Value.CustomerName != "Ada Lovelace" || g.Value.OrderID != w.key || g.Value.Quantity != 2 || g.Value.Ccy != "EUR" {
			t.Errorf("email %d = %+v at %v, want order %s amount %v at %v", i, g.Value, g.Time, w.key, w.amount, w.ts)
		}
	}
	if len(em.sent) != 3 {
		t.Errorf("emailer sent %d, want 3", len(em.sent))
	}
	// Orders joined with their customer go to the customer's level topic.
	gold := streamstest.Output(d, "gold", serde.String(), serde.JSON[OrderCustomer]()).ReadAll()
	if len(gold) != 3 || gold[0].Value.Customer.Level != "gold" {
		t.Errorf("gold topic %+v, want orders o1, o2, o4", gold)
	}
}

func TestGenerateCountsExpectedEmails(t *testing.T) {
	recs, g := generate(500, 7)
	if g.Orders != 500 || g.Customers != 50 || len(recs) != g.Customers+g.Orders+g.Payments {
		t.Fatalf("generated %+v and %d records", g, len(recs))
	}
	if g.Expected == 0 || g.Expected >= g.Payments {
		t.Errorf("expected emails %d of %d payments: want some late or unknown ones", g.Expected, g.Payments)
	}
}
