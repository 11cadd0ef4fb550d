package assign

import (
	"slices"
	"testing"
)

// TestConsumersWeighted: a process with 3 consumers takes 3 times the share of one with 1, and
// splits it evenly over its consumers.
func TestConsumersWeighted(t *testing.T) {
	tasks, stateful := tasksOf(2, 8, 1) // 16 tasks, 8 stateful
	in := Input{Clients: []Client{newClient("a", 3), newClient("b", 1)}, Tasks: tasks, Stateful: stateful, NumStandbyReplicas: 1}
	out := mustAssign(t, in)
	checkInvariants(t, in, out)
	if na, nb := len(out.Processes["a"].Active), len(out.Processes["b"].Active); na != 12 || nb != 4 {
		t.Fatalf("actives a=%d b=%d, want 12 and 4", na, nb)
	}
	for _, m := range in.Clients[0].Consumers {
		if n := len(out.Consumers[m].Active); n != 4 {
			t.Errorf("%s runs %d tasks, want 4", m, n)
		}
	}
}

// TestConsumersSplitEvenly covers uneven divisions: 2..5 consumers, 0..11 tasks on one process.
func TestConsumersSplitEvenly(t *testing.T) {
	for k := 2; k <= 5; k++ {
		for n := 0; n < 12; n++ {
			tasks, stateful := tasksOf(1, n, 1)
			in := Input{Clients: []Client{newClient("a", k)}, Tasks: tasks, Stateful: stateful}
			checkInvariants(t, in, mustAssign(t, in))
		}
	}
}

// TestConsumersSticky: with per-consumer history, each consumer keeps its tasks, even when that
// is not the order a fresh spread would choose.
func TestConsumersSticky(t *testing.T) {
	tasks, stateful := tasksOf(2, 4, 1)
	in := Input{Clients: []Client{newClient("a", 2), newClient("b", 2)}, Tasks: tasks, Stateful: stateful, NumStandbyReplicas: 1}
	out := mustAssign(t, in)
	next := nextRound(in, out)
	// Swap a's consumers' histories.
	a := &next.Clients[0]
	c0, c1 := a.Consumers[0], a.Consumers[1]
	a.PrevByConsumer[c0], a.PrevByConsumer[c1] = a.PrevByConsumer[c1], a.PrevByConsumer[c0]
	out2 := mustAssign(t, next)
	checkInvariants(t, next, out2)
	if !equalCA(out2.Consumers[c0], out.Consumers[c1]) || !equalCA(out2.Consumers[c1], out.Consumers[c0]) {
		t.Fatalf("histories not followed:\nbefore %v %v\nafter  %v %v",
			out.Consumers[c0], out.Consumers[c1], out2.Consumers[c0], out2.Consumers[c1])
	}
	if !equalCA(out2.Processes["a"], out.Processes["a"]) {
		t.Fatalf("process assignment changed")
	}
}

// TestConsumersStickyWithinBalance: a consumer that had more than its share keeps only its
// share; the rest goes to the consumer with fewer.
func TestConsumersStickyWithinBalance(t *testing.T) {
	tasks, _ := tasksOf(1, 6, 0)
	c := newClient("a", 3)
	c.PrevByConsumer = map[string]ConsumerAssignment{c.Consumers[0]: {Active: tasks}}
	in := Input{Clients: []Client{c}, Tasks: tasks}
	out := mustAssign(t, in)
	checkInvariants(t, in, out)
	if got := out.Consumers[c.Consumers[0]].Active; !slices.Equal(got, tasks[:2]) {
		t.Fatalf("consumer 0 keeps %v, want %v", got, tasks[:2])
	}
}

func equalCA(x, y ConsumerAssignment) bool {
	return slices.Equal(x.Active, y.Active) && slices.Equal(x.Standby, y.Standby)
}
