package rill

import (
	"context"
	"fmt"

	"github.com/rillstreams/rill/internal/runtime"
	"github.com/rillstreams/rill/serde"
	"github.com/rillstreams/rill/state"
)

// VersionedRow is one version of a key read from a versioned store: its value, the timestamp
// from which it is valid and the one (exclusive) until which it is, state.NoValidTo for the
// latest version (Kafka Streams' VersionedRecord).
type VersionedRow[K, V any] struct {
	Key       K      `json:"key"`
	Value     V      `json:"value"`
	Timestamp int64  `json:"timestamp"`
	ValidTo   int64  `json:"validTo"`
	From      Source `json:"from"`
}

// ReadOnlyVersionedKeyValueStore queries a versioned store of a running App (Kafka Streams'
// VersionedKeyQuery on a VersionedKeyValueStore): local partitions only, as KeyValueStore.
type ReadOnlyVersionedKeyValueStore[K, V any] struct {
	storeHandle[K, V]
}

// VersionedKeyValueStore returns a query handle for the versioned store name of app (a table
// materialized with dsl.Materialized(name).WithVersioned, or a
// state.NewVersionedKeyValueStoreBuilder store), whose keys and values are read with ks and
// vs. Queries run as KeyValueStore's do (see there for concurrency and errors).
//
// # Usage
//
//	prices := rill.VersionedKeyValueStore(app, "prices", serde.String(), serde.JSON[Price]())
//	now, ok, err := prices.Get(ctx, "eur")                       // the latest version
//	then, ok, err := prices.GetAsOf(ctx, "eur", t.UnixMilli())   // the version valid at t
//	if ok { fmt.Println(then.Value, then.Timestamp, then.ValidTo) }
func VersionedKeyValueStore[K, V any](app *App, name string, ks serde.Serde[K], vs serde.Serde[V], opts ...QueryOption) *ReadOnlyVersionedKeyValueStore[K, V] {
	return &ReadOnlyVersionedKeyValueStore[K, V]{newStoreHandle(app, name, ks, vs, opts)}
}

// Get returns key's latest version, false when key has none (or its latest is a tombstone).
func (s *ReadOnlyVersionedKeyValueStore[K, V]) Get(ctx context.Context, key K, opts ...QueryOption) (VersionedRow[K, V], bool, error) {
	return s.get(ctx, key, func(b *state.VersionedBytesStore, kb []byte) (state.VersionedBytes, bool, error) {
		return b.Get(kb)
	}, opts)
}

// GetAsOf returns the version of key valid at asOf (milliseconds), false when there is none:
// no version at or before asOf, a tombstone then, or asOf past the store's history retention
// with a later latest version (see state.VersionedBytesStore.GetAsOf).
func (s *ReadOnlyVersionedKeyValueStore[K, V]) GetAsOf(ctx context.Context, key K, asOf int64, opts ...QueryOption) (VersionedRow[K, V], bool, error) {
	return s.get(ctx, key, func(b *state.VersionedBytesStore, kb []byte) (state.VersionedBytes, bool, error) {
		return b.GetAsOf(kb, asOf)
	}, opts)
}

func (s *ReadOnlyVersionedKeyValueStore[K, V]) get(ctx context.Context, key K,
	read func(*state.VersionedBytesStore, []byte) (state.VersionedBytes, bool, error), opts []QueryOption) (VersionedRow[K, V], bool, error) {
	o := s.opts
	for _, f := range opts {
		f(&o)
	}
	kb, part, err := keyPartition(s.app, s.name, key, s.ks)
	if err != nil {
		return VersionedRow[K, V]{}, false, err
	}
	var found bool
	var got state.VersionedBytes
	var from Source
	err = s.app.rt.QueryStore(ctx, s.name, part, o.stale, func(t runtime.QueryTarget) error {
		vb, ok := t.Store.(interface {
			Bytes() *state.VersionedBytesStore
		})
		if !ok {
			return fmt.Errorf("rill: store %s is a %T, not a versioned store", s.name, t.Store)
		}
		r, ok, err := read(vb.Bytes(), kb)
		if err != nil {
			return err
		}
		// The active copy wins over a standby's when both are here, as in KeyValueStore.Get.
		if ok && (!found || !t.Standby) {
			found, got, from = true, r, sourceOf(t)
		} else if !found {
			from = sourceOf(t)
		}
		return nil
	})
	if err != nil || !found {
		return VersionedRow[K, V]{}, false, err
	}
	row := VersionedRow[K, V]{Key: key, Timestamp: got.Timestamp, ValidTo: got.ValidTo, From: from}
	if row.Value, err = s.vs.Deserialize(s.name, got.Value); err != nil {
		return VersionedRow[K, V]{}, false, fmt.Errorf("rill: store %s: value: %w", s.name, err)
	}
	return row, true, nil
}
