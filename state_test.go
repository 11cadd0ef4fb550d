package rill

import (
	"testing"
	"time"

	"github.com/rillstreams/rill/internal/runtime"
	"github.com/rillstreams/rill/processor"
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

// The runtime's restore events reach the user's listener field for field; no listener means
// none for the runtime.
func TestRestoreListenerConverts(t *testing.T) {
	if restoreListener(nil) != nil {
		t.Fatal("nil listener converted to a non-nil one")
	}
	var got RestoreEvent
	restoreListener(func(e RestoreEvent) { got = e })(runtime.RestoreEvent{
		Task: processor.TaskID{Subtopology: 2, Partition: 5}, Records: 42, Duration: 3 * time.Second, FromStandby: true})
	want := RestoreEvent{Task: processor.TaskID{Subtopology: 2, Partition: 5}, Records: 42, Duration: 3 * time.Second,
		FromStandby: true}
	if got != want {
		t.Fatalf("got %+v, want %+v", got, want)
	}
}
