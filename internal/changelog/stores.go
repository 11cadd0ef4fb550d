package changelog

import (
	"errors"
	"fmt"
	"math"
	"os"

	"github.com/rillstreams/rill/processor"
	"github.com/rillstreams/rill/state"
)

// Persistent tells whether a store built by package state keeps its data on disk. Only
// persistent stores are checkpointed: an in-memory store starts empty, so its next restore
// must start at the beginning of its changelog whatever a checkpoint says.
func Persistent(s processor.Store) bool {
	switch v := s.(type) {
	case interface {
		Bytes() state.KeyValueBytesStore
	}:
		return v.Bytes().Persistent()
	case interface{ Bytes() state.WindowBytesStore }:
		return v.Bytes().Persistent()
	case interface {
		Bytes() state.SessionBytesStore
	}:
		return v.Bytes().Persistent()
	case interface{ Persistent() bool }:
		return v.Persistent()
	}
	return true
}

// Empty tells whether a store built by package state holds no entry; known is false
// for stores it cannot look into (a user's own store kind), which are trusted as before.
// An empty store whose checkpoint is positive is restored from the start: right if its files
// were lost, merely slower if every key had been deleted.
func Empty(s processor.Store) (empty, known bool, err error) {
	type iter interface {
		Next() bool
		Err() error
		Close() error
	}
	first := func(it iter, err error) (bool, bool, error) {
		if err != nil {
			return false, false, err
		}
		has := it.Next()
		return !has, true, errors.Join(it.Err(), it.Close())
	}
	switch v := s.(type) {
	case interface {
		Bytes() state.KeyValueBytesStore
	}:
		it, err := v.Bytes().All()
		return first(it, err)
	case interface{ Bytes() state.WindowBytesStore }:
		it, err := v.Bytes().All()
		return first(it, err)
	case interface {
		Bytes() state.SessionBytesStore
	}:
		it, err := v.Bytes().FindSessionsRange(nil, nil, math.MinInt64, math.MaxInt64)
		return first(it, err)
	}
	return false, false, nil
}

// WipeDir empties a task directory (stores, checkpoint) and leaves it in place, owner-only.
func WipeDir(dir string) error {
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	return os.MkdirAll(dir, DirMode)
}

// DirMode and FileMode are the permissions of everything rill creates under the state
// directory: owner-only, as Kafka Streams (state can hold anything the records held).
const (
	DirMode  os.FileMode = 0o700
	FileMode os.FileMode = 0o600
)

func errNotRestorable(store string) error {
	return fmt.Errorf("rill: store %s cannot be restored", store)
}
