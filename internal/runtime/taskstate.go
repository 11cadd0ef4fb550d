package runtime

import "fmt"

// taskState is where an active task is in its life (Kafka Streams' Task.State). A task is
// created with its stores open, restores them from their changelogs, runs, is suspended while
// a rebalance decides whether the thread keeps it (eager: every partition is revoked first),
// and is closed, cleanly or dirty. Only a running task takes records. The states are explicit
// (not inferred from map membership) so that each step checks where the task is, and so that
// restoration can later move out of the rebalance callback into the loop.
type taskState int

const (
	taskCreated taskState = iota
	taskRestoring
	taskRunning
	taskSuspended
	taskClosed
)

func (s taskState) String() string {
	switch s {
	case taskCreated:
		return "CREATED"
	case taskRestoring:
		return "RESTORING"
	case taskRunning:
		return "RUNNING"
	case taskSuspended:
		return "SUSPENDED"
	case taskClosed:
		return "CLOSED"
	}
	return fmt.Sprintf("taskState(%d)", int(s))
}

// taskTransitions are the moves Kafka Streams allows a task (Task.State.isValidTransition),
// without its RESTORING -> SUSPENDED (restoration does not span a rebalance here yet).
var taskTransitions = map[taskState][]taskState{
	taskCreated:   {taskRestoring, taskClosed},
	taskRestoring: {taskRunning, taskClosed},
	taskRunning:   {taskSuspended, taskClosed},
	taskSuspended: {taskRunning, taskClosed},
}

// errTaskState is a task asked to move where its state does not allow: a bug in the thread.
var errTaskState = fmt.Errorf("rill: invalid task state transition")

// moveTo moves rt to state to, or fails with errTaskState.
func (rt *runningTask) moveTo(to taskState) error {
	for _, ok := range taskTransitions[rt.state] {
		if ok == to {
			rt.state = to
			return nil
		}
	}
	return fmt.Errorf("%w: task %s from %s to %s", errTaskState, rt.task.ID(), rt.state, to)
}
