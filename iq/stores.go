package iq

import (
	"context"

	"github.com/rillstreams/rill"
)

type kvStore[K, V any] struct {
	s     *rill.ReadOnlyKeyValueStore[K, V]
	parse func(string) (K, error)
}

// KeyValue serves a key-value store; parse turns a URL key into K (StringKey, Int64Key or
// your own).
func KeyValue[K, V any](s *rill.ReadOnlyKeyValueStore[K, V], parse func(string) (K, error)) Store {
	return &kvStore[K, V]{s: s, parse: parse}
}

func (k *kvStore[K, V]) name() string { return k.s.Name() }

func (k *kvStore[K, V]) metadata(key string) (rill.KeyQueryMetadata, error) {
	kk, err := k.parse(key)
	if err != nil {
		return rill.KeyQueryMetadata{}, badKey(err)
	}
	return k.s.Metadata(kk)
}

func (k *kvStore[K, V]) get(ctx context.Context, key string, stale bool) (any, bool, error) {
	kk, err := k.parse(key)
	if err != nil {
		return nil, false, badKey(err)
	}
	var opts []rill.QueryOption
	if stale {
		opts = append(opts, rill.EnableStaleStores())
	}
	row, ok, err := k.s.Get(ctx, kk, opts...)
	return row, ok, err
}

func (k *kvStore[K, V]) scan(ctx context.Context, kind, key string, a queryArgs) (any, error) {
	opts := a.options()
	switch kind {
	case "all":
		return k.s.All(ctx, opts...)
	case "prefix":
		p, err := k.parse(key)
		if err != nil {
			return nil, badKey(err)
		}
		return k.s.PrefixScan(ctx, p, opts...)
	case "range":
		var from, to *K
		if a.hasFrom {
			f, err := k.parse(a.from)
			if err != nil {
				return nil, badKey(err)
			}
			from = &f
		}
		if a.hasTo {
			t, err := k.parse(a.to)
			if err != nil {
				return nil, badKey(err)
			}
			to = &t
		}
		return k.s.Range(ctx, from, to, opts...)
	}
	return nil, wrongKind(kind)
}

func (a queryArgs) options() []rill.QueryOption {
	var opts []rill.QueryOption
	if a.stale {
		opts = append(opts, rill.EnableStaleStores())
	}
	if a.limit > 0 {
		opts = append(opts, rill.WithLimit(a.limit))
	}
	if a.partition >= 0 {
		opts = append(opts, rill.WithPartition(a.partition))
	}
	return opts
}

type windowStore[K, V any] struct {
	s     *rill.ReadOnlyWindowStore[K, V]
	parse func(string) (K, error)
}

// Window serves a window store.
func Window[K, V any](s *rill.ReadOnlyWindowStore[K, V], parse func(string) (K, error)) Store {
	return &windowStore[K, V]{s: s, parse: parse}
}

func (w *windowStore[K, V]) name() string { return w.s.Name() }

func (w *windowStore[K, V]) metadata(key string) (rill.KeyQueryMetadata, error) {
	kk, err := w.parse(key)
	if err != nil {
		return rill.KeyQueryMetadata{}, badKey(err)
	}
	return w.s.Metadata(kk)
}

func (w *windowStore[K, V]) get(context.Context, string, bool) (any, bool, error) {
	return nil, false, wrongKind("keys")
}

func (w *windowStore[K, V]) scan(ctx context.Context, kind, key string, a queryArgs) (any, error) {
	switch kind {
	case "windows":
		kk, err := w.parse(key)
		if err != nil {
			return nil, badKey(err)
		}
		return w.s.FetchRange(ctx, kk, a.fromT, a.toT)
	case "all":
		return w.s.All(ctx, a.options()...)
	}
	return nil, wrongKind(kind)
}

type sessionStore[K, V any] struct {
	s     *rill.ReadOnlySessionStore[K, V]
	parse func(string) (K, error)
}

// Session serves a session store.
func Session[K, V any](s *rill.ReadOnlySessionStore[K, V], parse func(string) (K, error)) Store {
	return &sessionStore[K, V]{s: s, parse: parse}
}

func (w *sessionStore[K, V]) name() string { return w.s.Name() }

func (w *sessionStore[K, V]) metadata(key string) (rill.KeyQueryMetadata, error) {
	kk, err := w.parse(key)
	if err != nil {
		return rill.KeyQueryMetadata{}, badKey(err)
	}
	return w.s.Metadata(kk)
}

func (w *sessionStore[K, V]) get(context.Context, string, bool) (any, bool, error) {
	return nil, false, wrongKind("keys")
}

func (w *sessionStore[K, V]) scan(ctx context.Context, kind, key string, a queryArgs) (any, error) {
	if kind != "sessions" {
		return nil, wrongKind(kind)
	}
	kk, err := w.parse(key)
	if err != nil {
		return nil, badKey(err)
	}
	return w.s.Fetch(ctx, kk)
}
