package memory_test

import (
	"testing"

	"github.com/rillstreams/rill/state"
	"github.com/rillstreams/rill/state/memory"
	"github.com/rillstreams/rill/state/statetest"
)

func TestConformance(t *testing.T) {
	statetest.RunAll(t, func(testing.TB) state.Backend { return memory.Backend() })
}
