package runtime

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/rillstreams/rill/internal/engine"
	"github.com/rillstreams/rill/processor"
)

// Every move between task states is allowed exactly when Kafka Streams allows it (less
// RESTORING -> SUSPENDED, see taskTransitions); a closed task goes nowhere.
func TestTaskStateTransitions(t *testing.T) {
	all := []taskState{taskCreated, taskRestoring, taskRunning, taskSuspended, taskClosed}
	allowed := map[[2]taskState]bool{
		{taskCreated, taskRestoring}: true, {taskCreated, taskClosed}: true,
		{taskRestoring, taskRunning}: true, {taskRestoring, taskClosed}: true,
		{taskRunning, taskSuspended}: true, {taskRunning, taskClosed}: true,
		{taskSuspended, taskRunning}: true, {taskSuspended, taskClosed}: true,
	}
	task, err := engine.New(engine.Config{ID: processor.TaskID{}, Topology: &engine.Subtopology{}, Collector: &memCollector{}})
	if err != nil {
		t.Fatal(err)
	}
	for _, from := range all {
		for _, to := range all {
			rt := &runningTask{task: task, state: from}
			err := rt.moveTo(to)
			if want := allowed[[2]taskState{from, to}]; want != (err == nil) {
				t.Errorf("%s -> %s: err %v, allowed %v", from, to, err, want)
			}
			if err != nil && !errors.Is(err, errTaskState) {
				t.Errorf("%s -> %s: %v is not errTaskState", from, to, err)
			}
		}
	}
}

// A task suspended by a revocation processes nothing until the assignment resumes it: its
// queued records were dropped, and records fetched for it meanwhile are left to be read again.
func TestSuspendedTaskDoesNotProcess(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	p := newProtocolThread(t, ctx, countTopology(), false, 0)
	p.feed(t, ctx, "in", "v", 0, 2)
	p.th.lock()
	if err := p.th.suspendLocked(); err != nil {
		t.Fatal(err)
	}
	p.th.unlock()
	p.feed(t, ctx, "in", "v", 2, 3) // dropped: the task is suspended
	if c := p.count(t, "counts"); c != 2 {
		t.Fatalf("count %d while suspended, want 2", c)
	}
	p.th.lock()
	if err := p.task.moveTo(taskRunning); err != nil {
		t.Fatal(err)
	}
	p.th.unlock()
	p.feed(t, ctx, "in", "v", 2, 3) // fetched again once it runs
	if c := p.count(t, "counts"); c != 5 {
		t.Fatalf("count %d after resuming, want 5", c)
	}
}
