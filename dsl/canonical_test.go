package dsl_test

import (
	"fmt"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/rillstreams/rill/dsl"
	"github.com/rillstreams/rill/serde"
	"github.com/rillstreams/rill/streamstest"
	"github.com/rillstreams/rill/windows"
)

// The canonical program of ../shared/DESIGN.md (the email service of Confluent's
// microservices demo): orders joined with their payments within a minute, then with the
// customer from a global table, one email per order that was paid in time.

type canonOrder struct {
	ID         string  `json:"id"`
	CustomerID string  `json:"customerId"`
	Amount     float64 `json:"amount"`
}

type canonPayment struct {
	ID      string  `json:"id"`
	OrderID string  `json:"orderId"`
	Amount  float64 `json:"amount"`
}

type canonCustomer struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Email string `json:"email"`
}

type canonEmail struct {
	Order    canonOrder    `json:"order"`
	Payment  canonPayment  `json:"payment"`
	Customer canonCustomer `json:"customer"`
}

// emailService builds the program; sent collects what the Peek "sends".
func emailService(sent *[]canonEmail) *dsl.Builder {
	b := dsl.NewBuilder()
	orders := b.Stream("orders", serde.String(), serde.JSON[canonOrder]())
	payments := b.Stream("payments", serde.String(), serde.JSON[canonPayment]()).
		SelectKey(func(_ string, p canonPayment) string { return p.OrderID }) // repartitioned by order id
	customers := b.GlobalTable("customers", serde.String(), serde.JSON[canonCustomer]())

	orders.
		Join(payments, func(_ string, o canonOrder, p canonPayment) canonEmail { return canonEmail{Order: o, Payment: p} },
			windows.JoinWithin(time.Minute),
			dsl.WithJoinSerdes(serde.String(), serde.JSON[canonOrder](), serde.JSON[canonPayment]())).
		JoinGlobal(customers, func(_ string, e canonEmail) string { return e.Order.CustomerID },
			func(_ string, e canonEmail, c canonCustomer) canonEmail { e.Customer = c; return e }).
		Peek(func(_ string, e canonEmail) { *sent = append(*sent, e) }).
		To("emails", dsl.WithSerdes(serde.String(), serde.JSON[canonEmail]()))
	return b
}

func TestCanonicalEmailService(t *testing.T) {
	for _, partitions := range []int{1, 3} {
		t.Run(fmt.Sprintf("partitions=%d", partitions), func(t *testing.T) { canonicalEmailService(t, partitions) })
	}
}

func canonicalEmailService(t *testing.T, partitions int) {
	backends(t, func(t *testing.T, opts ...streamstest.Option) {
		var sent []canonEmail
		topo := mustBuild(t, emailService(&sent))
		d := streamstest.New(t, topo, append(opts, streamstest.WithPartitions(partitions))...)
		customers := streamstest.Input(d, "customers", serde.String(), serde.JSON[canonCustomer]())
		orders := streamstest.Input(d, "orders", serde.String(), serde.JSON[canonOrder]())
		payments := streamstest.Input(d, "payments", serde.String(), serde.JSON[canonPayment]())
		emails := streamstest.Output(d, "emails", serde.String(), serde.JSON[canonEmail]())
		s := func(sec int) time.Time { return time.UnixMilli(int64(sec) * 1000) }

		customers.PipeAt("c1", canonCustomer{ID: "c1", Name: "Ada", Email: "ada@example.com"}, s(0))
		customers.PipeAt("c2", canonCustomer{ID: "c2", Name: "Bob", Email: "bob@example.com"}, s(0))

		orders.PipeAt("o1", canonOrder{ID: "o1", CustomerID: "c1", Amount: 10}, s(0))
		payments.PipeAt("p1", canonPayment{ID: "p1", OrderID: "o1", Amount: 10}, s(30)) // paid within the minute
		orders.PipeAt("o2", canonOrder{ID: "o2", CustomerID: "c2", Amount: 20}, s(10))
		orders.PipeAt("o3", canonOrder{ID: "o3", CustomerID: "c9", Amount: 30}, s(20)) // unknown customer
		payments.PipeAt("p3", canonPayment{ID: "p3", OrderID: "o3", Amount: 30}, s(25))
		payments.PipeAt("p4", canonPayment{ID: "p4", OrderID: "o4", Amount: 40}, s(40)) // paid before the order was seen
		orders.PipeAt("o4", canonOrder{ID: "o4", CustomerID: "c2", Amount: 40}, s(90))
		payments.PipeAt("p5", canonPayment{ID: "p5", OrderID: "o5", Amount: 50}, s(95))  // no such order
		payments.PipeAt("p2", canonPayment{ID: "p2", OrderID: "o2", Amount: 20}, s(140)) // o2 paid too late

		got := map[string]canonEmail{}
		stamps := map[string]int64{}
		var keys []string
		for _, r := range emails.ReadAll() {
			keys = append(keys, r.Key)
			got[r.Key], stamps[r.Key] = r.Value, r.Time.UnixMilli()
		}
		sort.Strings(keys)
		if !slices.Equal(keys, []string{"o1", "o4"}) {
			t.Fatalf("emails for %v, want exactly one each for o1 and o4", keys)
		}
		want := map[string]canonEmail{
			"o1": {Order: canonOrder{"o1", "c1", 10}, Payment: canonPayment{"p1", "o1", 10}, Customer: canonCustomer{"c1", "Ada", "ada@example.com"}},
			"o4": {Order: canonOrder{"o4", "c2", 40}, Payment: canonPayment{"p4", "o4", 40}, Customer: canonCustomer{"c2", "Bob", "bob@example.com"}},
		}
		for k, w := range want {
			if got[k] != w {
				t.Errorf("email %s = %+v, want %+v", k, got[k], w)
			}
		}
		// A join result is stamped with the later of order and payment.
		if stamps["o1"] != 30000 || stamps["o4"] != 90000 {
			t.Errorf("email timestamps %v, want o1@30000 o4@90000", stamps)
		}
		if len(sent) != 2 {
			t.Errorf("Peek sent %d emails, want 2", len(sent))
		}
	})
}

// The re-keyed payments are repartitioned by order id, and the join's inputs — orders and
// the repartition topic — form a co-partition group; the global table is in none.
func TestCanonicalEmailServiceTopology(t *testing.T) {
	var sent []canonEmail
	topo := mustBuild(t, emailService(&sent))
	groups := topo.CopartitionGroups()
	if len(groups) != 1 || len(groups[0]) != 2 || groups[0][0] != "KSTREAM-KEY-SELECT-0000000002-repartition" || groups[0][1] != "orders" {
		t.Errorf("co-partition groups %v, want [[KSTREAM-KEY-SELECT-0000000002-repartition orders]]", groups)
	}
	if _, ok := topo.InternalTopics()["KSTREAM-KEY-SELECT-0000000002-repartition"]; !ok {
		t.Errorf("internal topics %v lack the payments repartition", topo.InternalTopics())
	}
}
