package assign

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
)

// randomInput draws a messy but valid input: zombies claiming the same task, history naming
// tasks that no longer exist, leftover state, lags on both sides of the limit.
func randomInput(r *rand.Rand) Input {
	in := Input{
		NumStandbyReplicas: r.IntN(4),
		MaxWarmupReplicas:  r.IntN(4),
		Stateful:           map[TaskID]bool{},
	}
	if r.IntN(3) == 0 {
		in.AcceptableRecoveryLag = r.Int64N(2000)
	}
	subs := 1 + r.IntN(4)
	for s := range subs {
		parts := r.IntN(13)
		stateful := r.IntN(3) > 0
		for p := range parts {
			t := TaskID{s, int32(p)}
			in.Tasks = append(in.Tasks, t)
			if stateful {
				in.Stateful[t] = true
			}
		}
	}
	r.Shuffle(len(in.Tasks), func(i, j int) { in.Tasks[i], in.Tasks[j] = in.Tasks[j], in.Tasks[i] })
	any := func() TaskID { // a task, sometimes one that no longer exists
		if len(in.Tasks) == 0 || r.IntN(10) == 0 {
			return TaskID{r.IntN(6), int32(r.IntN(20))}
		}
		return in.Tasks[r.IntN(len(in.Tasks))]
	}
	nc := 1 + r.IntN(6)
	for i := range nc {
		c := newClient(fmt.Sprintf("p%02d", r.IntN(100)*100+i), 1+r.IntN(3))
		for range r.IntN(8) {
			c.PrevActive = append(c.PrevActive, any())
		}
		for range r.IntN(8) {
			c.PrevStandby = append(c.PrevStandby, any())
		}
		c.TaskLags = map[TaskID]int64{}
		for range r.IntN(10) {
			var lag int64
			switch r.IntN(4) {
			case 0:
			case 1:
				lag = r.Int64N(20000)
			case 2:
				lag = r.Int64N(1 << 40)
			case 3:
				lag = -r.Int64N(5)
			}
			c.TaskLags[any()] = lag
		}
		in.Clients = append(in.Clients, c)
	}
	return in
}

// TestPropertyRandom checks the invariants on random inputs, that the output does not depend
// on input order, and that feeding assignments back (every copy catching up at once) reaches
// a balanced assignment that needs no probing and then stays put.
func TestPropertyRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	n := 1500
	if testing.Short() {
		n = 200
	}
	for i := range n {
		in := randomInput(r)
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			out := mustAssign(t, in)
			checkInvariants(t, in, out)

			sh := in
			sh.Clients = slices.Clone(in.Clients)
			sh.Tasks = slices.Clone(in.Tasks)
			r.Shuffle(len(sh.Clients), func(i, j int) { sh.Clients[i], sh.Clients[j] = sh.Clients[j], sh.Clients[i] })
			r.Shuffle(len(sh.Tasks), func(i, j int) { sh.Tasks[i], sh.Tasks[j] = sh.Tasks[j], sh.Tasks[i] })
			if out2 := mustAssign(t, sh); !reflect.DeepEqual(out, out2) {
				t.Fatalf("input order changed the output")
			}

			cur, o := in, out
			for round := 0; o.ProbingRebalanceNeeded; round++ {
				if round > len(in.Tasks)*len(in.Clients)+2 {
					t.Fatalf("still probing after %d rounds: %q", round, o.Notes)
				}
				cur = nextRound(cur, o)
				o = mustAssign(t, cur)
				checkInvariants(t, cur, o)
			}
			next := nextRound(cur, o)
			again := mustAssign(t, next)
			if !reflect.DeepEqual(again.Consumers, o.Consumers) || again.ProbingRebalanceNeeded {
				t.Fatalf("a converged assignment moved:\n%+v\n%+v", o.Processes, again.Processes)
			}
		})
	}
}

// TestPropertyClientChurn: instances join and leave between rounds; every round satisfies the
// invariants, and an instance that stays keeps at least the tasks balance lets it keep.
func TestPropertyClientChurn(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for i := range 100 {
		tasks, stateful := tasksOf(1+r.IntN(3), 1+r.IntN(10), r.IntN(3))
		in := Input{Clients: clientsOf(1+r.IntN(4), 1+r.IntN(2)), Tasks: tasks, Stateful: stateful, NumStandbyReplicas: r.IntN(3)}
		out := mustAssign(t, in)
		next := 100
		for round := range 8 {
			in = nextRound(in, out)
			switch r.IntN(3) {
			case 0:
				in.Clients = append(in.Clients, newClient(fmt.Sprintf("q%d", next), 1+r.IntN(2)))
				next++
			case 1:
				if len(in.Clients) > 1 {
					k := r.IntN(len(in.Clients))
					in.Clients = slices.Delete(in.Clients, k, k+1)
				}
			}
			out = mustAssign(t, in)
			t.Run(fmt.Sprintf("%d/%d", i, round), func(t *testing.T) { checkInvariants(t, in, out) })
		}
	}
}
