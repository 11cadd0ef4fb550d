package engine

import (
	"testing"
)

// TestIdleTrackerDecide is the readiness rule (Kafka Streams' PartitionGroup.readyToProcess)
// step by step: each case runs its steps on one tracker, so deadlines carry over.
func TestIdleTrackerDecide(t *testing.T) {
	a, b := topicPartition{"a", 0}, topicPartition{"b", 0}
	type part struct {
		buffered int
		lag      int64 // -1: unknown
	}
	type step struct {
		now        int64
		a, b       part
		want       Readiness
		wantWakeAt int64
	}
	full, caughtUp, lagging, unknown := part{buffered: 3}, part{}, part{lag: 5}, part{lag: -1}
	for _, tc := range []struct {
		name    string
		maxIdle int64
		steps   []step
	}{
		{"all partitions buffered", 0, []step{{now: 10, a: full, b: full, want: Ready}}},
		{"nothing buffered", 100, []step{{now: 10, a: caughtUp, b: caughtUp, want: NotReady, wantWakeAt: 110}}},
		{"disabled never waits", -1, []step{
			{now: 10, a: full, b: lagging, want: Ready},
			{now: 10, a: full, b: unknown, want: Ready},
		}},
		{"0: caught-up partition is not waited for", 0, []step{{now: 10, a: full, b: caughtUp, want: Enforced}}},
		{"0: lagging partition is waited for", 0, []step{
			{now: 10, a: full, b: lagging, want: NotReady},
			{now: 100000, a: full, b: lagging, want: NotReady},
			{now: 100001, a: full, b: full, want: Ready},
		}},
		{"0: unknown lag is waited for", 0, []step{{now: 10, a: full, b: unknown, want: NotReady}}},
		{"idle: waits for a caught-up partition until the deadline", 100, []step{
			{now: 10, a: full, b: caughtUp, want: NotReady, wantWakeAt: 110},
			{now: 60, a: full, b: caughtUp, want: NotReady, wantWakeAt: 110}, // deadline kept
			{now: 110, a: full, b: caughtUp, want: Enforced},
			{now: 500, a: full, b: caughtUp, want: Enforced}, // still past it
		}},
		{"idle: records reset the deadline", 100, []step{
			{now: 10, a: full, b: caughtUp, want: NotReady, wantWakeAt: 110},
			{now: 50, a: full, b: full, want: Ready},
			{now: 120, a: full, b: caughtUp, want: NotReady, wantWakeAt: 220},
		}},
		{"idle: lag resets the deadline and waits without one", 100, []step{
			{now: 10, a: full, b: caughtUp, want: NotReady, wantWakeAt: 110},
			{now: 50, a: full, b: lagging, want: NotReady},
			{now: 200, a: full, b: lagging, want: NotReady},
			{now: 210, a: full, b: caughtUp, want: NotReady, wantWakeAt: 310},
		}},
		{"idle: a lagging partition wins over a caught-up one's deadline", 100, []step{
			{now: 10, a: caughtUp, b: lagging, want: NotReady},
		}},
		{"idle: both empty and caught up, past the deadline, nothing to process", 100, []step{
			{now: 10, a: caughtUp, b: caughtUp, want: NotReady, wantWakeAt: 110},
			{now: 110, a: caughtUp, b: caughtUp, want: NotReady},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := &idleTracker{maxIdle: tc.maxIdle}
			for i, s := range tc.steps {
				parts := []partitionStatus{
					{tp: a, buffered: s.a.buffered, lag: max(s.a.lag, 0), lagKnown: s.a.lag >= 0},
					{tp: b, buffered: s.b.buffered, lag: max(s.b.lag, 0), lagKnown: s.b.lag >= 0},
				}
				got, wake := tr.decide(s.now, parts)
				if got != s.want || wake != s.wantWakeAt {
					t.Errorf("step %d (now %d): got %v wake %d, want %v wake %d", i, s.now, got, wake, s.want, s.wantWakeAt)
				}
			}
		})
	}
}

// TestTaskReadinessWaitsForEmptyPartition: a two-input task processes in timestamp order
// only while both partitions have records; it stops when one empties and that one has lag,
// and goes on out of order once the partition is caught up and MaxTaskIdle has passed.
func TestTaskReadinessWaitsForEmptyPartition(t *testing.T) {
	ev := &events{}
	task, _ := newTask(t, twoTopicGraph(ev), Config{MaxTaskIdle: 100})
	p := testTaskID.Partition
	lags := map[string]int64{"a": 0, "b": 2}
	lag := func(topic string, partition int32) (int64, bool) {
		if partition != p {
			t.Errorf("lag asked for %s[%d], not an input partition", topic, partition)
		}
		l, ok := lags[topic]
		return l, ok
	}
	drain := func(now int64) (n int, last Readiness, wake int64) {
		for {
			r, w := task.Readiness(now, lag)
			if r == NotReady {
				return n, r, w
			}
			if ok, err := task.Process(); err != nil || !ok {
				t.Fatalf("Process = %v, %v", ok, err)
			}
			n++
		}
	}
	add(t, task, raw("a", p, 0, 10, "a0", "x"), raw("a", p, 1, 30, "a1", "x"))
	if n, _, wake := drain(1000); n != 0 || wake != 0 {
		t.Fatalf("with b empty and lagging: processed %d, wake %d; want 0, 0", n, wake)
	}
	add(t, task, raw("b", p, 0, 20, "b0", "x"))
	lags["b"] = 0
	// a0 (10) and b0 (20) go in order; then b is empty and caught up: wait 100 ms.
	if n, _, wake := drain(1000); n != 2 || wake != 1100 {
		t.Fatalf("processed %d, wake %d; want 2, 1100", n, wake)
	}
	if n, _, _ := drain(1099); n != 0 {
		t.Fatalf("processed %d before the deadline", n)
	}
	if n, _, _ := drain(1100); n != 1 {
		t.Fatalf("processed %d at the deadline, want 1", n)
	}
	if got := task.EnforcedProcessing(); got != 1 {
		t.Errorf("EnforcedProcessing = %d, want 1", got)
	}
	wantEqual(t, "order", ev.list[1:], []string{
		"p a/2@0 ts=10 st=10 a0=x", "p b/2@0 ts=20 st=20 b0=x", "p a/2@1 ts=30 st=30 a1=x"})

	// Unknown lag waits, whatever MaxTaskIdle.
	delete(lags, "b")
	add(t, task, raw("a", p, 2, 40, "a2", "x"))
	if n, _, wake := drain(5000); n != 0 || wake != 0 {
		t.Fatalf("with b's lag unknown: processed %d, wake %d", n, wake)
	}
}

func TestTaskReadinessSingleInputNeverWaits(t *testing.T) {
	task, _ := newTask(t, newGraph().add(strSource("src", "in")), Config{MaxTaskIdle: 1000})
	add(t, task, raw("in", 0, 0, 10, "k", "v"))
	r, _ := task.Readiness(0, func(string, int32) (int64, bool) { return 0, false })
	if r != Ready {
		t.Fatalf("Readiness = %v, want Ready", r)
	}
}

func TestTaskPositionsAndResetQueues(t *testing.T) {
	task, _ := newTask(t, twoTopicGraph(&events{}), Config{})
	add(t, task, raw("a", 2, 5, 10, "a5", "x"), raw("a", 2, 6, 11, "a6", "x"), raw("b", 2, 9, 50, "b9", "x"))
	if ok, err := task.Process(); !ok || err != nil { // a5
		t.Fatalf("Process = %v, %v", ok, err)
	}
	positions := func() map[string]int64 {
		got := map[string]int64{}
		task.Positions(func(topic string, partition int32, next int64) {
			got[topic] = next
		})
		return got
	}
	wantEqual(t, "positions after one record", positions(), map[string]int64{"a": 6})
	if got := task.BufferedIn("a", 2); got != 1 {
		t.Errorf("BufferedIn(a) = %d, want 1", got)
	}
	if got := task.ResetQueues(); got != 2 {
		t.Errorf("ResetQueues dropped %d, want 2", got)
	}
	if task.Buffered() != 0 || task.BufferedIn("b", 2) != 0 || len(positions()) != 0 {
		t.Errorf("after reset: buffered %d, positions %v", task.Buffered(), positions())
	}
	if ok, _ := task.Process(); ok {
		t.Error("Process found a record after ResetQueues")
	}
	// The consumer rewinds: the same records come again and are processed once each.
	add(t, task, raw("a", 2, 6, 11, "a6", "x"), raw("b", 2, 9, 50, "b9", "x"))
	if n := processAll(t, task); n != 2 {
		t.Fatalf("processed %d after rewind, want 2", n)
	}
	wantEqual(t, "positions after rewind", positions(), map[string]int64{"a": 7, "b": 10})
}
