package iq

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/rillstreams/rill"
)

// Errors of the Client, matched with errors.Is.
var (
	// ErrNotFound: the key has no value (404 from its owner).
	ErrNotFound = errors.New("rill: iq: not found")
	// ErrNoInstance: no instance answered before the context ended.
	ErrNoInstance = errors.New("rill: iq: no instance answered")
)

// Client routes queries to the instance holding a key. It is safe for concurrent use.
type Client struct {
	http  *http.Client
	seeds []string
	// backoff is the first wait between retries of a migrating store; it doubles up to a
	// second.
	backoff time.Duration

	// mu protects owners.
	mu sync.Mutex
	// owners remembers each (store, key)'s owner, learnt from answers and 421s; bounded by
	// maxOwners (cleared when full: a cache, not state).
	owners map[string]string
}

const maxOwners = 1 << 16

// ClientOption configures a Client.
type ClientOption func(*Client)

// WithHTTPClient makes the Client use hc (default: one with a 10 s timeout).
func WithHTTPClient(hc *http.Client) ClientOption { return func(c *Client) { c.http = hc } }

// WithBackoff sets the first wait between retries (default 20 ms; doubling to 1 s).
func WithBackoff(d time.Duration) ClientOption { return func(c *Client) { c.backoff = d } }

// NewClient returns a Client that starts from the instances at seeds (host:port).
func NewClient(seeds []string, opts ...ClientOption) *Client {
	c := &Client{http: &http.Client{Timeout: 10 * time.Second}, seeds: append([]string(nil), seeds...),
		backoff: 20 * time.Millisecond, owners: map[string]string{}}
	for _, o := range opts {
		o(c)
	}
	return c
}

// Get fetches key's value from store into out (a *rill.KeyValue[K, V] or any JSON target for
// one), from the instance that holds it: the remembered owner, else any seed, following 421s.
// While the store migrates (503, connection refused, an owner gone) it retries, refreshing
// where the key lives, until ctx ends. It returns the host that answered.
func (c *Client) Get(ctx context.Context, store, key string, out any) (string, error) {
	return c.routed(ctx, store, key, "/v1/stores/"+url.PathEscape(store)+"/keys/"+url.PathEscape(key), out)
}

// Windows fetches key's windows starting in [from, to] (ms) from a window store into out (a
// *[]rill.WindowedRow[K, V]), routed as Get.
func (c *Client) Windows(ctx context.Context, store, key string, from, to int64, out any) (string, error) {
	return c.routed(ctx, store, key, fmt.Sprintf("/v1/stores/%s/windows/%s?from=%d&to=%d",
		url.PathEscape(store), url.PathEscape(key), from, to), out)
}

// Sessions fetches key's sessions from a session store into out, routed as Get.
func (c *Client) Sessions(ctx context.Context, store, key string, out any) (string, error) {
	return c.routed(ctx, store, key, "/v1/stores/"+url.PathEscape(store)+"/sessions/"+url.PathEscape(key), out)
}

// Metadata returns every instance's metadata, from the first seed that answers.
func (c *Client) Metadata(ctx context.Context) ([]rill.StreamsMetadata, error) {
	var out []rill.StreamsMetadata
	var errs []error
	for _, h := range c.seeds {
		st, body, err := c.do(ctx, h, "/v1/metadata")
		if err == nil && st == http.StatusOK {
			return out, json.Unmarshal(body, &out)
		}
		errs = append(errs, fmt.Errorf("%s: %d %v", h, st, err))
	}
	return nil, errors.Join(append([]error{ErrNoInstance}, errs...)...)
}

// StoreAll gathers every instance's rows of a key-value store (each instance answers for its
// own partitions): host → raw JSON array of rill.KeyValue rows.
func (c *Client) StoreAll(ctx context.Context, store string) (map[string]json.RawMessage, error) {
	md, err := c.Metadata(ctx)
	if err != nil {
		return nil, err
	}
	out := map[string]json.RawMessage{}
	for _, m := range md {
		st, body, err := c.do(ctx, m.Host, "/v1/stores/"+url.PathEscape(store)+"/all")
		if err != nil {
			return nil, err
		}
		if st != http.StatusOK {
			return nil, httpError(m.Host, st, body)
		}
		out[m.Host] = body
	}
	return out, nil
}

func (c *Client) routed(ctx context.Context, store, key, path string, out any) (string, error) {
	ck := store + "\x00" + key
	wait := c.backoff
	seed := 0
	var last error
	for {
		c.mu.Lock()
		host := c.owners[ck]
		c.mu.Unlock()
		if host == "" && len(c.seeds) > 0 {
			host = c.seeds[seed%len(c.seeds)]
			seed++
		}
		if host == "" {
			return "", ErrNoInstance
		}
		st, body, err := c.do(ctx, host, path)
		switch {
		case err != nil:
			// The owner may be gone (failover): forget it, ask a seed next.
			c.forget(ck)
			last = err
		case st == http.StatusOK:
			c.remember(ck, host)
			return host, json.Unmarshal(body, out)
		case st == http.StatusNotFound:
			var eb errorBody
			_ = json.Unmarshal(body, &eb)
			c.remember(ck, host)
			if eb.Retriable {
				return host, httpError(host, st, body)
			}
			return host, fmt.Errorf("%w: %s", ErrNotFound, eb.Error)
		case st == http.StatusMisdirectedRequest:
			var eb errorBody
			if json.Unmarshal(body, &eb) == nil && eb.Active != "" && eb.Active != host {
				c.remember(ck, eb.Active)
				continue // straight to the owner, no wait
			}
			c.forget(ck)
			last = httpError(host, st, body)
		case st == http.StatusServiceUnavailable:
			// Migrating or not running: the owner may change; ask from scratch after a wait.
			c.forget(ck)
			last = httpError(host, st, body)
		default:
			return host, httpError(host, st, body)
		}
		select {
		case <-ctx.Done():
			return "", errors.Join(ErrNoInstance, ctx.Err(), last)
		case <-time.After(wait):
		}
		wait = min(2*wait, time.Second)
	}
}

func (c *Client) remember(k, host string) {
	c.mu.Lock()
	if len(c.owners) >= maxOwners {
		clear(c.owners)
	}
	c.owners[k] = host
	c.mu.Unlock()
}

func (c *Client) forget(k string) {
	c.mu.Lock()
	delete(c.owners, k)
	c.mu.Unlock()
}

func (c *Client) do(ctx context.Context, host, path string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+host+path, nil)
	if err != nil {
		return 0, nil, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	return resp.StatusCode, body, err
}

// HTTPError is a non-success answer of an instance.
type HTTPError struct {
	Host      string
	Status    int
	Message   string
	Retriable bool
}

func (e *HTTPError) Error() string {
	return fmt.Sprintf("rill: iq: %s answered %d: %s", e.Host, e.Status, e.Message)
}

func httpError(host string, st int, body []byte) error {
	var eb errorBody
	if json.Unmarshal(body, &eb) != nil {
		eb.Error = string(body)
	}
	return &HTTPError{Host: host, Status: st, Message: eb.Error, Retriable: eb.Retriable}
}
