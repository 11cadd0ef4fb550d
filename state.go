package rill

import (
	"fmt"

	"github.com/rillstreams/rill/internal/runtime"
)

// State is an App's lifecycle state (Kafka Streams' KafkaStreams.State). An App starts in
// Created; Run moves it to Rebalancing while the group assigns tasks and the tasks restore
// their stores, to Running while every task processes, and back to Rebalancing at each
// rebalance. Stopping goes through PendingShutdown to NotRunning; an error that stops the App
// ends in Error.
// StateListener is told of every change; App.State reads the current one.
type State int

// App states, in Kafka Streams' order. String returns Kafka Streams' names: CREATED,
// REBALANCING, RUNNING, PENDING_SHUTDOWN, NOT_RUNNING and ERROR.
const (
	// Created: New returned the App; Run has not been called.
	Created State = iota
	// Rebalancing: the App joins its group, takes its assignment and restores the stores of
	// its new tasks.
	Rebalancing
	// Running: every assigned task is restored and processes records.
	Running
	// PendingShutdown: the App stops (its context ended or Close was called): tasks commit
	// and close, then the stores.
	PendingShutdown
	// NotRunning: the App stopped cleanly.
	NotRunning
	// Error: the App stopped on an error it could not handle; Run returned it.
	Error
)

var stateNames = [...]string{"CREATED", "REBALANCING", "RUNNING", "PENDING_SHUTDOWN", "NOT_RUNNING", "ERROR"}

// String returns the state's name in Kafka Streams' spelling, e.g. "RUNNING".
func (s State) String() string {
	if s < 0 || int(s) >= len(stateNames) {
		return fmt.Sprintf("State(%d)", int(s))
	}
	return stateNames[s]
}

// stateOf converts the runtime's state at the package boundary.
func stateOf(s runtime.State) State {
	switch s {
	case runtime.Created:
		return Created
	case runtime.Rebalancing:
		return Rebalancing
	case runtime.Running:
		return Running
	case runtime.PendingShutdown:
		return PendingShutdown
	case runtime.NotRunning:
		return NotRunning
	case runtime.Error:
		return Error
	}
	panic(fmt.Sprintf("rill: unknown runtime state %d", int(s)))
}
