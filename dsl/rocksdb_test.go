package dsl_test

import (
	"testing"

	"github.com/rillstreams/rill/state"
	"github.com/rillstreams/rill/state/rocksdb"
)

func rocksdbBackend(t *testing.T) state.Backend {
	b, err := rocksdb.NewBackend(rocksdb.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	return b
}
