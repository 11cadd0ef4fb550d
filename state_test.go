package rill

import (
	"testing"

	"github.com/rillstreams/rill/internal/runtime"
)

// Every runtime state converts to the rill state of the same name, and the names are Kafka
// Streams' (monitoring compares them as strings, e.g. /healthz and /tasks).
func TestStateOfEveryRuntimeState(t *testing.T) {
	want := map[runtime.State]State{runtime.Created: Created, runtime.Rebalancing: Rebalancing,
		runtime.Running: Running, runtime.PendingShutdown: PendingShutdown, runtime.NotRunning: NotRunning,
		runtime.Error: Error}
	names := map[State]string{Created: "CREATED", Rebalancing: "REBALANCING", Running: "RUNNING",
		PendingShutdown: "PENDING_SHUTDOWN", NotRunning: "NOT_RUNNING", Error: "ERROR"}
	for rs, s := range want {
		if got := stateOf(rs); got != s {
			t.Errorf("stateOf(%v) = %v, want %v", rs, got, s)
		}
		if s.String() != names[s] || rs.String() != names[s] {
			t.Errorf("state %d: rill %q, runtime %q, want %q", s, s.String(), rs.String(), names[s])
		}
	}
	if got := State(17).String(); got != "State(17)" {
		t.Errorf("State(17).String() = %q", got)
	}
}
