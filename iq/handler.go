package iq

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/rillstreams/rill"
)

// Store is one store a Handler serves: a typed query handle with its key parser.
type Store interface {
	name() string
	// get answers a key lookup (value nil, false when absent).
	get(ctx context.Context, key string, stale bool) (any, bool, error)
	// scan answers a scan route ("all", "range", "prefix", "windows", "sessions").
	scan(ctx context.Context, kind, key string, q queryArgs) (any, error)
	// metadata answers where key lives.
	metadata(key string) (rill.KeyQueryMetadata, error)
}

// queryArgs are a scan's URL parameters.
type queryArgs struct {
	from, to   string // range bounds ("" open); window times
	hasFrom    bool
	hasTo      bool
	limit      int
	partition  int32
	stale      bool
	fromT, toT int64
}

// StringKey parses string keys (the identity).
func StringKey(s string) (string, error) { return s, nil }

// Int64Key parses decimal int64 keys.
func Int64Key(s string) (int64, error) { return strconv.ParseInt(s, 10, 64) }

// ErrBadKey wraps key-parsing errors (400).
var ErrBadKey = errors.New("rill: iq: bad key")

// Handler serves a running App's stores (see the package doc for the routes).
type Handler struct {
	app    *rill.App
	stores map[string]Store
	mux    *http.ServeMux
}

// NewHandler serves stores of app.
func NewHandler(app *rill.App, stores ...Store) *Handler {
	h := &Handler{app: app, stores: map[string]Store{}, mux: http.NewServeMux()}
	for _, s := range stores {
		h.stores[s.name()] = s
	}
	h.mux.HandleFunc("GET /v1/metadata", h.allMetadata)
	h.mux.HandleFunc("GET /v1/stores/{store}/metadata/{key}", h.keyMetadata)
	h.mux.HandleFunc("GET /v1/stores/{store}/keys/{key}", h.get)
	h.mux.HandleFunc("GET /v1/stores/{store}/all", h.scanRoute("all"))
	h.mux.HandleFunc("GET /v1/stores/{store}/range", h.scanRoute("range"))
	h.mux.HandleFunc("GET /v1/stores/{store}/prefix/{key}", h.scanRoute("prefix"))
	h.mux.HandleFunc("GET /v1/stores/{store}/windows/{key}", h.scanRoute("windows"))
	h.mux.HandleFunc("GET /v1/stores/{store}/sessions/{key}", h.scanRoute("sessions"))
	return h
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

// errorBody is every error's JSON.
type errorBody struct {
	Error     string `json:"error"`
	Retriable bool   `json:"retriable"`
	// Active is the key's owner, on 421 (and on 503 when known).
	Active string `json:"active,omitempty"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeErr(w http.ResponseWriter, err error) {
	status := http.StatusInternalServerError
	switch {
	case rill.IsRetriable(err):
		status = http.StatusServiceUnavailable
	case errors.Is(err, rill.ErrUnknownStore):
		status = http.StatusNotFound
	case errors.Is(err, ErrBadKey):
		status = http.StatusBadRequest
	}
	writeJSON(w, status, errorBody{Error: err.Error(), Retriable: rill.IsRetriable(err)})
}

func (h *Handler) store(w http.ResponseWriter, r *http.Request) Store {
	s, ok := h.stores[r.PathValue("store")]
	if !ok {
		writeErr(w, errors.Join(rill.ErrUnknownStore, errors.New("not served: "+r.PathValue("store"))))
		return nil
	}
	return s
}

func (h *Handler) allMetadata(w http.ResponseWriter, _ *http.Request) {
	md := h.app.AllMetadata()
	if md == nil {
		md = []rill.StreamsMetadata{}
	}
	writeJSON(w, http.StatusOK, md)
}

func (h *Handler) keyMetadata(w http.ResponseWriter, r *http.Request) {
	s := h.store(w, r)
	if s == nil {
		return
	}
	md, err := s.metadata(r.PathValue("key"))
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, md)
}

// get answers a key held here; a key held elsewhere gets 421 with its owner, so the client
// goes there (no proxying: one hop, and the client learns the owner).
func (h *Handler) get(w http.ResponseWriter, r *http.Request) {
	s := h.store(w, r)
	if s == nil {
		return
	}
	key := r.PathValue("key")
	stale := r.URL.Query().Get("stale") == "true"
	v, ok, err := s.get(r.Context(), key, stale)
	if err == nil && !ok {
		writeJSON(w, http.StatusNotFound, errorBody{Error: "rill: iq: no value for key " + strconv.Quote(key)})
		return
	}
	if err == nil {
		writeJSON(w, http.StatusOK, v)
		return
	}
	if errors.Is(err, rill.ErrStoreMigrating) {
		if md, merr := s.metadata(key); merr == nil && md.Active != "" && md.Active != h.app.Host() {
			writeJSON(w, http.StatusMisdirectedRequest, errorBody{Error: "rill: iq: key held by " + md.Active,
				Retriable: true, Active: md.Active})
			return
		}
	}
	writeErr(w, err)
}

func (h *Handler) scanRoute(kind string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s := h.store(w, r)
		if s == nil {
			return
		}
		q := r.URL.Query()
		a := queryArgs{partition: -1, stale: q.Get("stale") == "true"}
		a.from, a.hasFrom = q.Get("from"), q.Has("from")
		a.to, a.hasTo = q.Get("to"), q.Has("to")
		var perr []error
		if q.Has("limit") {
			n, err := strconv.Atoi(q.Get("limit"))
			a.limit, perr = n, append(perr, err)
		}
		if q.Has("partition") {
			n, err := strconv.ParseInt(q.Get("partition"), 10, 32)
			a.partition, perr = int32(n), append(perr, err)
		}
		if kind == "windows" {
			a.fromT, a.toT = 0, 1<<62
			if a.hasFrom {
				n, err := strconv.ParseInt(a.from, 10, 64)
				a.fromT, perr = n, append(perr, err)
			}
			if a.hasTo {
				n, err := strconv.ParseInt(a.to, 10, 64)
				a.toT, perr = n, append(perr, err)
			}
		}
		if err := errors.Join(perr...); err != nil {
			writeJSON(w, http.StatusBadRequest, errorBody{Error: "rill: iq: bad parameter: " + err.Error()})
			return
		}
		out, err := s.scan(r.Context(), kind, r.PathValue("key"), a)
		if err != nil {
			writeErr(w, err)
			return
		}
		writeJSON(w, http.StatusOK, out)
	}
}

func badKey(err error) error {
	if err == nil {
		return nil
	}
	return errors.Join(ErrBadKey, err)
}

var errWrongKind = errors.New("rill: iq: route does not apply to this store's kind")

func wrongKind(kind string) error {
	return errors.Join(ErrBadKey, errWrongKind, errors.New(strings.ToLower(kind)))
}
