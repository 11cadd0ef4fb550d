package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/rillstreams/rill"
	"github.com/rillstreams/rill/iq"
	"github.com/rillstreams/rill/serde"
)

// Interactive queries: each App that is queried (orders, inventory) serves its stores with an
// iq.Handler on its ApplicationServer address; the orders service's REST handlers ask through
// iq.Clients, which route a key to the instance holding it and retry while stores migrate.

// lookupTimeout bounds one routed lookup; the long-poll asks again after it.
const lookupTimeout = 2 * time.Second

// ordersHandler serves the orders service's store.
func ordersHandler(app *rill.App) *iq.Handler {
	return iq.NewHandler(app, iq.KeyValue(rill.KeyValueStore(app, StoreOrders, serde.String(), serde.JSON[Order]()), iq.StringKey))
}

// inventoryHandler serves the inventory service's stock and reservations.
func inventoryHandler(app *rill.App) *iq.Handler {
	return iq.NewHandler(app,
		iq.KeyValue(rill.KeyValueStore(app, StoreStock, serde.String(), serde.JSON[int64]()), iq.StringKey),
		iq.KeyValue(rill.KeyValueStore(app, StoreReserved, serde.String(), serde.Int64()), iq.StringKey))
}

// routedOrders finds orders in the orders service's store, on whichever instance holds them.
type routedOrders struct{ c *iq.Client }

func (r routedOrders) Order(ctx context.Context, id string) (Order, bool, error) {
	ctx, cancel := context.WithTimeout(ctx, lookupTimeout)
	defer cancel()
	var row rill.KeyValue[string, Order]
	_, err := r.c.Get(ctx, StoreOrders, id, &row)
	var he *iq.HTTPError
	switch {
	case err == nil:
		return row.Value, true, nil
	case errors.Is(err, iq.ErrNotFound):
		return Order{}, false, nil
	case errors.As(err, &he) && he.Retriable, errors.Is(err, iq.ErrNoInstance), ctx.Err() != nil:
		return Order{}, false, fmt.Errorf("%w: %v", errRetry, err)
	}
	return Order{}, false, err
}

// routedStocks gathers the inventory service's stock and reservations from all its instances.
type routedStocks struct{ c *iq.Client }

func (r routedStocks) Stocks(ctx context.Context) ([]Stock, error) {
	ctx, cancel := context.WithTimeout(ctx, lookupTimeout)
	defer cancel()
	inStock, err := storeAll[int64](ctx, r.c, StoreStock)
	if err != nil {
		return nil, err
	}
	reserved, err := storeAll[int64](ctx, r.c, StoreReserved)
	if err != nil {
		return nil, err
	}
	var out []Stock
	for p, n := range inStock {
		out = append(out, Stock{Product: p, InStock: n, Reserved: reserved[p]})
	}
	for p, n := range reserved {
		if _, ok := inStock[p]; !ok {
			out = append(out, Stock{Product: p, Reserved: n})
		}
	}
	slices.SortFunc(out, func(a, b Stock) int { return strings.Compare(a.Product, b.Product) })
	return out, nil
}

// storeAll reads every row of a string-keyed store from every instance of its App.
func storeAll[V any](ctx context.Context, c *iq.Client, store string) (map[string]V, error) {
	hosts, err := c.StoreAll(ctx, store)
	if err != nil {
		var he *iq.HTTPError
		if (errors.As(err, &he) && he.Retriable) || ctx.Err() != nil {
			return nil, fmt.Errorf("%w: %v", errRetry, err)
		}
		return nil, err
	}
	out := map[string]V{}
	for host, raw := range hosts {
		var rows []rill.KeyValue[string, V]
		if err := json.Unmarshal(raw, &rows); err != nil {
			return nil, fmt.Errorf("store %s at %s: %w", store, host, err)
		}
		for _, r := range rows {
			out[r.Key] = r.Value
		}
	}
	return out, nil
}
