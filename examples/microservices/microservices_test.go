package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/rillstreams/rill/kafkatest"
)

// startServices runs the named services in process against b, as the microservices binary does,
// and returns the base URL of their HTTP server. They stop when the test ends.
func startServices(t *testing.T, b *kafkatest.Broker, stateDir string, names ...string) string {
	t.Helper()
	base, _ := startStoppable(t, b, stateDir, names...)
	return base
}

// startStoppable is startServices with a stop function (idempotent) that shuts them down
// cleanly and reports their error.
func startStoppable(t *testing.T, b *kafkatest.Broker, stateDir string, names ...string) (string, func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	addr := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, options{Bootstrap: b.Addrs(), Partitions: 3, HTTPAddr: "127.0.0.1:0", StateDir: stateDir,
			Services: names, Quiet: true, ready: func(a string) { addr <- a }})
	}()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("services %v: %v", names, err)
			}
		})
	}
	t.Cleanup(stop)
	select {
	case a := <-addr:
		return "http://" + a, stop
	case err := <-done:
		t.Fatalf("services %v did not start: %v", names, err)
	case <-time.After(time.Minute):
		t.Fatalf("services %v did not start within a minute", names)
	}
	return "", stop
}

// stocks reads GET /v1/inventory.
func stocks(t *testing.T, base string) map[string]Stock {
	t.Helper()
	resp, err := http.Get(base + "/v1/inventory")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil
	}
	var list []Stock
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
		t.Fatal(err)
	}
	m := make(map[string]Stock, len(list))
	for _, s := range list {
		m[s.Product] = s
	}
	return m
}

// waitStock waits until the inventory service answers with want units of product in stock.
func waitStock(t *testing.T, base, product string, want int64) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		if s, ok := stocks(t, base)[product]; ok && s.InStock == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("inventory never showed %d %s in stock: %v", want, product, stocks(t, base))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitReserved waits until the inventory service has want units of product reserved.
func waitReserved(t *testing.T, base, product string, want int64) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		s := stocks(t, base)[product]
		if s.Reserved == want {
			return
		}
		if s.Reserved > s.InStock {
			t.Fatalf("%s oversold: %+v", product, s)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %+v, want %d reserved", product, s, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func produceJSON(t *testing.T, b *kafkatest.Broker, topic, key string, v any) {
	t.Helper()
	val, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Produce(context.Background(), kafkatest.Record{Topic: topic, Key: []byte(key), Value: val, Timestamp: time.Now()}); err != nil {
		t.Fatal(err)
	}
}

// TestServicesBlackBox runs every service and a second orders instance on the embedded broker
// and talks to them only through HTTP and topics: orders placed through either instance come
// back, from both, VALIDATED or FAILED as the rules say; concurrent orders for the last units
// of a product validate exactly as many as there are units (exactly-once reservations).
func TestServicesBlackBox(t *testing.T) {
	b := kafkatest.New(t, kafkatest.Config{DefaultPartitions: 3})
	dir := t.TempDir()
	base := startServices(t, b, filepath.Join(dir, "a"), "all")
	other, stopOther := startStoppable(t, b, filepath.Join(dir, "b"), "orders")
	bases := []string{base, other}

	produceJSON(t, b, TopicInventory, "JUMPERS", int64(10))
	produceJSON(t, b, TopicInventory, "UNDERPANTS", int64(1000))
	for i := range 60 {
		id := fmt.Sprintf("c%d", i)
		produceJSON(t, b, TopicCustomers, id, Customer{ID: id, FirstName: "Ada", LastName: "Lovelace", Email: id + "@example.com"})
	}
	waitStock(t, base, "JUMPERS", 10)
	waitStock(t, base, "UNDERPANTS", 1000)

	ctx := context.Background()
	var paid Order // the first order, paid: the email service mails its customer
	cases := []struct {
		name string
		req  newOrder
		want string
	}{
		{"good", newOrder{CustomerID: "c1", Product: "JUMPERS", Quantity: 2, Price: 10}, StateValidated},
		{"no quantity", newOrder{CustomerID: "c2", Product: "UNDERPANTS", Quantity: 0, Price: 10}, StateFailed},
		{"fraud", newOrder{CustomerID: "c3", Product: "UNDERPANTS", Quantity: 1, Price: 2500}, StateFailed},
		{"out of stock", newOrder{CustomerID: "c4", Product: "JUMPERS", Quantity: 11, Price: 1}, StateFailed},
		{"no such product", newOrder{CustomerID: "c5", Product: "SOCKS", Quantity: 1, Price: 1}, StateFailed},
		{"fraud in total", newOrder{CustomerID: "c3", Product: "UNDERPANTS", Quantity: 1, Price: 10}, StateFailed},
	}
	for i, c := range cases {
		o, err := postOrder(ctx, bases[i%2], c.req)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if i == 0 {
			paid = o
			produceJSON(t, b, TopicPayments, "p"+o.ID, Payment{ID: "p" + o.ID, OrderID: o.ID, Ccy: "EUR", Amount: o.Value()})
		}
		for _, at := range bases { // each instance answers for every order: routed to its owner
			got, err := getOrder(ctx, at, o.ID, 30*time.Second)
			if err != nil {
				t.Fatalf("%s: GET from %s: %v", c.name, at, err)
			}
			if got.State != c.want || got.ID != o.ID || got.Quantity != c.req.Quantity {
				t.Errorf("%s: GET from %s: %+v, want state %s", c.name, at, got, c.want)
			}
		}
		// The fraud total counts orders in the order they were placed: wait for each.
	}

	var decidedMu sync.Mutex
	decided := map[string]string{} // order id -> state, to read back after a failover
	// 40 orders for the 8 JUMPERS left, at once, from different customers (no fraud total).
	const n = 40
	states := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			req := newOrder{CustomerID: fmt.Sprintf("c%d", 10+i), Product: "JUMPERS", Quantity: 1, Price: 5}
			o, err := postOrder(ctx, bases[i%2], req)
			if err != nil {
				t.Error(err)
				return
			}
			got, err := getOrder(ctx, bases[(i+1)%2], o.ID, 30*time.Second)
			if err != nil {
				t.Error(err)
				return
			}
			states[i] = got.State
			decidedMu.Lock()
			decided[o.ID] = got.State
			decidedMu.Unlock()
		})
	}
	wg.Wait()
	count := map[string]int{}
	for _, s := range states {
		count[s]++
	}
	if count[StateValidated] != 8 || count[StateFailed] != n-8 {
		t.Errorf("concurrent orders for 8 units: %v, want 8 VALIDATED and %d FAILED", count, n-8)
	}
	// Failed orders give their units back after the verdict, asynchronously: wait for it.
	waitReserved(t, base, "JUMPERS", 10) // 2 + 8 validated: never more than the 10 in stock
	waitReserved(t, base, "UNDERPANTS", 0)
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	mails, err := b.Consume(cctx, TopicEmails, 1, true)
	if err != nil {
		t.Fatalf("emails: %v", err)
	}
	var e Email
	if err := json.Unmarshal(mails[0].Value, &e); err != nil || e.OrderID != paid.ID || e.Email != "c1@example.com" || e.Amount != 20 {
		t.Errorf("email %s (%v), want one for order %s to c1@example.com for 20", mails[0].Value, err, paid.ID)
	}
	// The second orders instance leaves: the first takes its partitions over (restoring them
	// from the changelog) and answers for every order again, after failing retriably meanwhile.
	stopOther()
	for id, state := range decided {
		got, err := getOrder(ctx, base, id, 30*time.Second)
		if err != nil || got.State != state {
			t.Errorf("after the failover, GET %s: %+v, %v; want %s", id, got, err, state)
		}
	}
	if n := expiredOrders.Load(); n != 0 {
		t.Errorf("%d orders expired undecided", n)
	}
}
