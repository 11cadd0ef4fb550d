package iq

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// fake is an instance answering key lookups with a scripted handler.
func fake(t *testing.T, h http.HandlerFunc) string {
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	return strings.TrimPrefix(s.URL, "http://")
}

func answer(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

type row struct {
	Key   string `json:"key"`
	Value int64  `json:"value"`
}

func TestClientFollowsMisdirectAndRemembersOwner(t *testing.T) {
	var ownerHits, seedHits atomic.Int64
	owner := fake(t, func(w http.ResponseWriter, r *http.Request) {
		ownerHits.Add(1)
		if r.URL.Path != "/v1/stores/counts/keys/a%2Fb" && r.URL.EscapedPath() != "/v1/stores/counts/keys/a%2Fb" {
			t.Errorf("owner asked %s", r.URL.EscapedPath())
		}
		answer(w, 200, row{Key: "a/b", Value: 7})
	})
	seed := fake(t, func(w http.ResponseWriter, r *http.Request) {
		seedHits.Add(1)
		answer(w, http.StatusMisdirectedRequest, errorBody{Error: "elsewhere", Retriable: true, Active: owner})
	})
	c := NewClient([]string{seed})
	for i := 0; i < 3; i++ {
		var got row
		host, err := c.Get(context.Background(), "counts", "a/b", &got)
		if err != nil || host != owner || got.Value != 7 {
			t.Fatalf("Get = %s %+v %v", host, got, err)
		}
	}
	if seedHits.Load() != 1 || ownerHits.Load() != 3 {
		t.Errorf("seed asked %d times, owner %d; want 1 and 3 (owner remembered)", seedHits.Load(), ownerHits.Load())
	}
}

func TestClientRetriesMigratingThenAnswers(t *testing.T) {
	var calls atomic.Int64
	host := fake(t, func(w http.ResponseWriter, _ *http.Request) {
		if calls.Add(1) <= 3 {
			answer(w, http.StatusServiceUnavailable, errorBody{Error: "migrating", Retriable: true})
			return
		}
		answer(w, 200, row{Key: "k", Value: 1})
	})
	// The first seed refuses connections: a stopped instance.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	ln.Close()
	c := NewClient([]string{dead, host}, WithBackoff(time.Millisecond))
	var got row
	h, err := c.Get(context.Background(), "counts", "k", &got)
	if err != nil || h != host || got.Value != 1 {
		t.Fatalf("Get = %s %+v %v", h, got, err)
	}
	if calls.Load() != 4 {
		t.Errorf("%d calls, want 4 (3 migrating, then the answer)", calls.Load())
	}
}

func TestClientNotFoundAndGivesUp(t *testing.T) {
	absent := fake(t, func(w http.ResponseWriter, _ *http.Request) {
		answer(w, http.StatusNotFound, errorBody{Error: "no value"})
	})
	var got row
	if _, err := NewClient([]string{absent}).Get(context.Background(), "counts", "k", &got); !errors.Is(err, ErrNotFound) {
		t.Errorf("absent: %v, want ErrNotFound", err)
	}
	busy := fake(t, func(w http.ResponseWriter, _ *http.Request) {
		answer(w, http.StatusServiceUnavailable, errorBody{Error: "migrating", Retriable: true})
	})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := NewClient([]string{busy}, WithBackoff(time.Millisecond)).Get(ctx, "counts", "k", &got)
	var he *HTTPError
	if !errors.Is(err, ErrNoInstance) || !errors.Is(err, context.DeadlineExceeded) || !errors.As(err, &he) || he.Status != 503 {
		t.Errorf("always migrating: %v, want ErrNoInstance with the deadline and the last 503", err)
	}
	bad := fake(t, func(w http.ResponseWriter, _ *http.Request) {
		answer(w, http.StatusBadRequest, errorBody{Error: "bad key"})
	})
	if _, err := NewClient([]string{bad}).Get(context.Background(), "counts", "k", &got); !errors.As(err, &he) || he.Status != 400 {
		t.Errorf("bad key: %v, want the 400 at once", err)
	}
}
