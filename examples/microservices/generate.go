package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// generate stocks the warehouse, writes customers, then places orders at o.Generate per second
// through POST /v1/orders, pays for each, and follows each to its verdict with a long-poll GET,
// printing a summary every ten seconds. Some orders are made to fail: a zero quantity (order
// details), a huge price (fraud); more units than the stock holds fail the inventory check as
// the stock runs down, until the generator restocks the products that run low.
func generate(ctx context.Context, o options, base string) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(o.Bootstrap...), kgo.ProducerLinger(0))
	if err != nil {
		return err
	}
	defer cl.Close()
	produce := func(topic, key string, v any) error {
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		return cl.ProduceSync(ctx, &kgo.Record{Topic: topic, Key: []byte(key), Value: b}).FirstErr()
	}
	stock := make(map[string]int64, len(products))
	for _, p := range products {
		stock[p] = o.Stock
		if err := produce(TopicInventory, p, stock[p]); err != nil {
			return err
		}
	}
	const nCustomers = 100 // at 2 orders/s, a customer reaches the fraud limit (2000 an hour) after about ten minutes
	first := []string{"Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken"}
	last := []string{"Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen", "Thompson"}
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	for i := range nCustomers {
		id := fmt.Sprintf("c%d", i)
		f, l := first[i%len(first)], last[(i/len(first)+i)%len(last)]
		c := Customer{ID: id, FirstName: f, LastName: l, Email: fmt.Sprintf("%s.%s%d@example.com", f, l, i),
			Address: fmt.Sprintf("%d Stream Street", 1+i), Level: "gold"}
		if err := produce(TopicCustomers, id, c); err != nil {
			return err
		}
	}
	fmt.Printf("generator: %d units of each of %v in stock, %d customers; placing %.1f orders/s at %s\n",
		o.Stock, products, nCustomers, o.Generate, base)

	var placed, validated, failed, undecided atomic.Int64
	var latMu sync.Mutex
	var latencies []time.Duration // POST to verdict, of decided orders
	var wg sync.WaitGroup
	defer wg.Wait()
	follow := make(chan struct{}, 64) // bounds the long-polls in flight
	place := time.NewTicker(time.Duration(float64(time.Second) / o.Generate))
	defer place.Stop()
	report := time.NewTicker(10 * time.Second)
	defer report.Stop()
	restock := time.NewTicker(5 * time.Second)
	defer restock.Stop()
	for {
		select {
		case <-ctx.Done():
			wg.Wait()
			slices.Sort(latencies)
			var p50, p99 time.Duration
			if n := len(latencies); n > 0 {
				p50, p99 = latencies[n/2], latencies[n*99/100]
			}
			fmt.Printf("generator: done: placed %d, validated %d, failed %d, undecided %d; order to verdict p50 %s, p99 %s\n",
				placed.Load(), validated.Load(), failed.Load(), undecided.Load(), p50.Round(time.Millisecond), p99.Round(time.Millisecond))
			return nil
		case <-report.C:
			fmt.Printf("generator: placed %d, validated %d, failed %d, undecided %d\n",
				placed.Load(), validated.Load(), failed.Load(), undecided.Load())
		case <-restock.C:
			// Top up the products that run low (as the inventory service reports them), so
			// that the stock keeps moving and orders keep passing.
			st, err := getStocks(ctx, base)
			if err != nil {
				continue // the inventory service is not answering now: next time
			}
			for _, s := range st {
				if _, ok := stock[s.Product]; !ok || s.InStock-s.Reserved > o.Stock/4 {
					continue
				}
				stock[s.Product] += o.Stock
				if err := produce(TopicInventory, s.Product, stock[s.Product]); err != nil {
					return err
				}
			}
		case <-place.C:
			req := newOrder{CustomerID: fmt.Sprintf("c%d", rng.IntN(nCustomers)), Product: products[rng.IntN(len(products))],
				Quantity: 1 + rng.Int64N(5), Price: float64(5+rng.IntN(95)) + 0.99}
			switch rng.IntN(25) {
			case 0:
				req.Quantity = 0
			case 1:
				req.Price = 3000
			}
			posted := time.Now()
			ord, err := postOrder(ctx, base, req)
			if err != nil {
				return err
			}
			placed.Add(1)
			if err := produce(TopicPayments, "p"+ord.ID, Payment{ID: "p" + ord.ID, OrderID: ord.ID, Ccy: "EUR", Amount: ord.Value()}); err != nil {
				return err
			}
			select {
			case follow <- struct{}{}:
			case <-ctx.Done():
				return nil
			}
			wg.Go(func() {
				defer func() { <-follow }()
				got, err := getOrder(ctx, base, ord.ID, 30*time.Second)
				if err == nil && got.State != StateCreated {
					latMu.Lock()
					latencies = append(latencies, time.Since(posted))
					latMu.Unlock()
				}
				switch {
				case err != nil:
					undecided.Add(1)
				case got.State == StateValidated:
					validated.Add(1)
				case got.State == StateFailed:
					failed.Add(1)
				default:
					undecided.Add(1)
				}
			})
		}
	}
}

// postOrder places an order through the orders service.
func postOrder(ctx context.Context, base string, req newOrder) (Order, error) {
	b, err := json.Marshal(req)
	if err != nil {
		return Order{}, err
	}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/v1/orders", bytes.NewReader(b))
	if err != nil {
		return Order{}, err
	}
	hreq.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(hreq)
	if err != nil {
		return Order{}, err
	}
	defer resp.Body.Close()
	var o Order
	if resp.StatusCode != http.StatusCreated {
		return Order{}, fmt.Errorf("POST /v1/orders: %s", resp.Status)
	}
	return o, json.NewDecoder(resp.Body).Decode(&o)
}

// getOrder reads an order back, long-polling up to wait for its verdict.
func getOrder(ctx context.Context, base, id string, wait time.Duration) (Order, error) {
	hreq, err := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("%s/v1/orders/%s?wait=%s", base, id, wait), nil)
	if err != nil {
		return Order{}, err
	}
	resp, err := http.DefaultClient.Do(hreq)
	if err != nil {
		return Order{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return Order{}, fmt.Errorf("GET /v1/orders/%s: %s", id, resp.Status)
	}
	var o Order
	return o, json.NewDecoder(resp.Body).Decode(&o)
}

// getStocks reads GET /v1/inventory.
func getStocks(ctx context.Context, base string) ([]Stock, error) {
	hreq, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/v1/inventory", nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(hreq)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /v1/inventory: %s", resp.Status)
	}
	var st []Stock
	return st, json.NewDecoder(resp.Body).Decode(&st)
}
