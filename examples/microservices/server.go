package main

import (
	"context"
	"crypto/rand"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

//go:embed web
var webFiles embed.FS

// orderLookup finds an order in the orders service's store, on whichever instance holds it.
// errRetry (wrapped) means the store cannot answer now (its task is moving or restoring).
type orderLookup interface {
	Order(ctx context.Context, id string) (o Order, found bool, err error)
}

// stockLookup lists the inventory service's stock and reservations per product.
type stockLookup interface {
	Stocks(ctx context.Context) ([]Stock, error)
}

// errRetry marks a lookup that may answer if asked again.
var errRetry = errors.New("microservices: store not available now, retry")

// maxWait bounds a long-poll.
const maxWait = time.Minute

// newOrder is the body of POST /v1/orders.
type newOrder struct {
	CustomerID string  `json:"customerId"`
	Product    string  `json:"product"`
	Quantity   int64   `json:"quantity"`
	Price      float64 `json:"price"`
}

// ordersServer is the orders service's REST front: commands go to the orders topic (the C of
// CQRS), queries are answered from the orders store (the Q).
type ordersServer struct {
	producer *kgo.Client
	orders   orderLookup
	stocks   stockLookup // nil: GET /v1/inventory answers 404
}

// routes registers the orders service's handlers and its web page on mux.
func (s *ordersServer) routes(mux *http.ServeMux) {
	mux.HandleFunc("POST /v1/orders", s.post)
	mux.HandleFunc("GET /v1/orders/{id}", s.get)
	if s.stocks != nil {
		mux.HandleFunc("GET /v1/inventory", s.inventory)
	}
	web, _ := fs.Sub(webFiles, "web")
	mux.Handle("GET /", http.FileServerFS(web))
}

func (s *ordersServer) post(w http.ResponseWriter, r *http.Request) {
	var req newOrder
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		httpError(w, http.StatusBadRequest, "bad order: %v", err)
		return
	}
	// The service does not judge the order: that is the validating services' job. It refuses
	// only what cannot be an order at all.
	if strings.TrimSpace(req.CustomerID) == "" {
		httpError(w, http.StatusBadRequest, "bad order: customerId is required")
		return
	}
	o := Order{ID: newOrderID(), CustomerID: req.CustomerID, State: StateCreated, Product: req.Product,
		Quantity: req.Quantity, Price: req.Price}
	v, err := json.Marshal(o)
	if err != nil {
		httpError(w, http.StatusInternalServerError, "%v", err)
		return
	}
	if err := s.producer.ProduceSync(r.Context(), &kgo.Record{Topic: TopicOrders, Key: []byte(o.ID), Value: v}).FirstErr(); err != nil {
		httpError(w, http.StatusServiceUnavailable, "order not recorded: %v", err)
		return
	}
	w.Header().Set("Location", "/v1/orders/"+o.ID)
	writeJSON(w, http.StatusCreated, o)
}

// get answers GET /v1/orders/{id}. With ?wait=<duration> it long-polls: it answers once the
// order is no longer CREATED (validated or failed), or when the wait is over with what it has
// (404 if the order is not in the store yet).
func (s *ordersServer) get(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	var wait time.Duration
	if q := r.URL.Query().Get("wait"); q != "" {
		d, err := time.ParseDuration(q)
		if err != nil || d < 0 {
			httpError(w, http.StatusBadRequest, "bad wait %q: want a duration such as 10s", q)
			return
		}
		wait = min(d, maxWait)
	}
	ctx, cancel := context.WithTimeout(r.Context(), wait)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		o, found, err := s.orders.Order(r.Context(), id)
		switch {
		case err != nil && !errors.Is(err, errRetry):
			httpError(w, http.StatusInternalServerError, "%v", err)
			return
		case err == nil && found && (wait == 0 || o.State != StateCreated):
			writeJSON(w, http.StatusOK, o)
			return
		}
		if ctx.Err() == nil { // still waiting
			select {
			case <-tick.C:
				continue
			case <-ctx.Done():
			}
		}
		switch {
		case r.Context().Err() != nil:
			return // the client left
		case err != nil:
			httpError(w, http.StatusServiceUnavailable, "%v", err)
		case found:
			writeJSON(w, http.StatusOK, o)
		default:
			httpError(w, http.StatusNotFound, "order %s not found", id)
		}
		return
	}
}

func (s *ordersServer) inventory(w http.ResponseWriter, r *http.Request) {
	st, err := s.stocks.Stocks(r.Context())
	if errors.Is(err, errRetry) {
		httpError(w, http.StatusServiceUnavailable, "%v", err)
		return
	} else if err != nil {
		httpError(w, http.StatusInternalServerError, "%v", err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}

func newOrderID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func httpError(w http.ResponseWriter, code int, format string, args ...any) {
	writeJSON(w, code, map[string]string{"error": fmt.Sprintf(format, args...)})
}
