package main

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/rillstreams/rill/kafkatest"
)

// generated is what generate produced, to compare with what the service did.
type generated struct {
	Customers, Orders, Payments int
	// Expected is the number of emails the generated data should produce: orders of known
	// customers with a payment within a minute.
	Expected int
}

// generate makes n random orders with their customers and payments: most orders are paid
// within the minute; some payments come late (90 s after the order) or never; a few orders
// name a customer that does not exist. Timestamps are recent and increase, so nothing is
// outside retention and stream time moves forward.
func generate(n int, seed uint64) ([]kafkatest.Record, generated) {
	rng := rand.New(rand.NewPCG(seed, seed^0x5eed))
	var g generated
	var recs []kafkatest.Record
	add := func(topic, key string, v any, ts time.Time) {
		b, _ := json.Marshal(v)
		recs = append(recs, kafkatest.Record{Topic: topic, Key: []byte(key), Value: b, Timestamp: ts})
	}
	base := time.Now().Add(-2 * time.Hour)
	first := []string{"Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken"}
	last := []string{"Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen", "Thompson"}
	nCustomers := max(10, n/10)
	for i := 0; i < nCustomers; i++ {
		id := fmt.Sprintf("c%d", i)
		f, l := first[rng.IntN(len(first))], last[rng.IntN(len(last))]
		add("customers", id, Customer{ID: id, FirstName: f, LastName: l, Email: fmt.Sprintf("%s.%s%d@example.com", f, l, i),
			Address: fmt.Sprintf("%d Stream Street", 1+rng.IntN(99)), Level: levelTopics[rng.IntN(len(levelTopics))]}, base)
		g.Customers++
	}
	products := []string{"JUMPERS", "UNDERPANTS", "STOCKINGS"}
	for i := 0; i < n; i++ {
		ts := base.Add(time.Duration(i) * 200 * time.Millisecond)
		id := fmt.Sprintf("o%d", i)
		customer := fmt.Sprintf("c%d", rng.IntN(nCustomers))
		known := true
		if rng.IntN(50) == 0 {
			customer, known = fmt.Sprintf("unknown%d", i), false
		}
		o := Order{ID: id, CustomerID: customer, State: "CREATED", Product: products[rng.IntN(len(products))],
			Quantity: 1 + rng.IntN(5), Price: float64(5+rng.IntN(95)) + 0.99}
		add("orders", id, o, ts)
		g.Orders++
		switch r := rng.IntN(20); {
		case r == 0: // never paid
		case r == 1: // paid too late: outside the one-minute join window
			add("payments", "p"+id, Payment{ID: "p" + id, OrderID: id, Ccy: "EUR", Amount: o.Price * float64(o.Quantity)}, ts.Add(90*time.Second))
			g.Payments++
		default:
			add("payments", "p"+id, Payment{ID: "p" + id, OrderID: id, Ccy: "EUR", Amount: o.Price * float64(o.Quantity)},
				ts.Add(time.Duration(1+rng.IntN(50))*time.Second))
			g.Payments++
			if known {
				g.Expected++
			}
		}
	}
	return recs, g
}
