package dsl_test

import (
	"testing"

	"github.com/rillstreams/rill/state/memory"
	"github.com/rillstreams/rill/streamstest"
)

// backends runs f once per store backend, so stateful tests hold on each.
func backends(t *testing.T, f func(t *testing.T, opts ...streamstest.Option)) {
	t.Run("memory", func(t *testing.T) { f(t, streamstest.WithBackend(memory.Backend())) })
	t.Run("rocksdb", func(t *testing.T) { f(t, streamstest.WithBackend(rocksdbBackend(t))) })
}
