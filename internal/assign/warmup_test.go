package assign

import (
	"fmt"
	"math"
	"reflect"
	"slices"
	"testing"
)

// TestWarmupFlow: a 4th instance without state joins 3 that run 12 stateful tasks. It gets
// warm-ups, not actives; once a warm-up has caught up, its task moves at the next (probing)
// rebalance; when all have moved the assignment is balanced and no probing is needed.
func TestWarmupFlow(t *testing.T) {
	for _, standbys := range []int{0, 1} {
		t.Run(fmt.Sprintf("%dstandbys", standbys), func(t *testing.T) {
			tasks, stateful := tasksOf(2, 6, 2)
			in := Input{Clients: clientsOf(3, 1), Tasks: tasks, Stateful: stateful, NumStandbyReplicas: standbys}
			out := mustAssign(t, in)

			in = nextRound(in, out)
			in.Clients = append(in.Clients, newClient("p3", 1))
			prev := out
			out = mustAssign(t, in)
			checkInvariants(t, in, out)
			if len(out.Processes["p3"].Active) != 0 {
				t.Fatalf("new instance got actives without state: %v", out.Processes["p3"].Active)
			}
			if n := activeMoves(prev, out); n != 0 {
				t.Fatalf("%d active tasks moved before warming up", n)
			}
			if !out.ProbingRebalanceNeeded || len(out.Warmups["p3"]) != DefaultMaxWarmupReplicas {
				t.Fatalf("want %d warm-ups on p3 and a probing rebalance, got %v, %v",
					DefaultMaxWarmupReplicas, out.Warmups, out.ProbingRebalanceNeeded)
			}
			firstWarmups := out.Warmups["p3"]

			// A warm-up not yet within acceptable.recovery.lag keeps waiting, on the same tasks.
			slow := nextRound(in, out)
			for _, w := range firstWarmups {
				slow.Clients[3].TaskLags[w] = 50_000
			}
			outSlow := mustAssign(t, slow)
			checkInvariants(t, slow, outSlow)
			if len(outSlow.Processes["p3"].Active) != 0 || !slices.Equal(outSlow.Warmups["p3"], firstWarmups) {
				t.Fatalf("slow warm-up: actives %v warm-ups %v, want none and %v",
					outSlow.Processes["p3"].Active, outSlow.Warmups["p3"], firstWarmups)
			}

			// Caught up: the warmed tasks move; more warm-ups follow until balance is reached.
			for round := 2; ; round++ {
				if round > 6 {
					t.Fatalf("no convergence after %d rounds", round)
				}
				in = nextRound(in, out)
				prev, out = out, mustAssign(t, in)
				checkInvariants(t, in, out)
				for _, tk := range out.Processes["p3"].Active {
					if l, ok := in.Clients[3].TaskLags[tk]; !ok || l > DefaultAcceptableRecoveryLag {
						t.Errorf("round %d: p3 runs %v without caught-up state", round, tk)
					}
				}
				if round == 2 {
					for _, w := range firstWarmups {
						if !slices.Contains(out.Processes["p3"].Active, w) {
							t.Errorf("warmed-up %v did not move to p3: %v", w, out.Processes["p3"])
						}
					}
				}
				if !out.ProbingRebalanceNeeded {
					break
				}
			}
			checkBalanced(t, in, out)
			if len(out.Processes["p3"].Active) != 3 {
				t.Fatalf("p3 runs %v", out.Processes["p3"].Active)
			}
			// And it is stable.
			next := nextRound(in, out)
			if again := mustAssign(t, next); !reflect.DeepEqual(again.Consumers, out.Consumers) || again.ProbingRebalanceNeeded {
				t.Fatalf("not stable after warm-up")
			}
		})
	}
}

// TestStatelessMoveAtOnce: a new instance takes stateless tasks immediately, no warm-up.
func TestStatelessMoveAtOnce(t *testing.T) {
	tasks, stateful := tasksOf(2, 6, 1) // 6 stateful, 6 stateless
	in := Input{Clients: clientsOf(3, 1), Tasks: tasks, Stateful: stateful, NumStandbyReplicas: 1}
	out := mustAssign(t, in)
	in = nextRound(in, out)
	in.Clients = append(in.Clients, newClient("p3", 1))
	out2 := mustAssign(t, in)
	checkInvariants(t, in, out2)
	got := out2.Processes["p3"].Active
	if len(got) != 3 || slices.ContainsFunc(got, func(t TaskID) bool { return stateful[t] }) {
		t.Fatalf("p3 runs %v, want 3 stateless tasks", got)
	}
	if activesHeld(out2) {
		t.Fatalf("actives held: %q", out2.Notes)
	}
	checkBalanced(t, in, out2)
	if n := activeMoves(out, out2); n != 3 {
		t.Fatalf("%d moves, want 3", n)
	}
}

// TestNoIdleInstance: all tasks stateful and a warm-up budget of 1: the new instance still
// ends up with its share.
func TestNoIdleInstance(t *testing.T) {
	tasks, stateful := tasksOf(1, 9, 1)
	in := Input{Clients: clientsOf(2, 1), Tasks: tasks, Stateful: stateful, MaxWarmupReplicas: 1}
	out := mustAssign(t, in)
	in = nextRound(in, out)
	in.Clients = append(in.Clients, newClient("p9", 1))
	for round := 0; ; round++ {
		out = mustAssign(t, in)
		checkInvariants(t, in, out)
		if n := len(out.Warmups["p9"]); n > 1 {
			t.Fatalf("%d warm-ups with a budget of 1", n)
		}
		if !out.ProbingRebalanceNeeded {
			break
		}
		if round > 5 {
			t.Fatal("new instance never got its share")
		}
		in = nextRound(in, out)
	}
	if got := len(out.Processes["p9"].Active); got != 3 {
		t.Fatalf("p9 runs %d tasks", got)
	}
}

// TestSmallChangelogNeedsNoWarmup: with lags from LagsFromOffsetSums, a new instance is
// caught up on tasks whose changelogs are within acceptable.recovery.lag, and takes them at once.
func TestSmallChangelogNeedsNoWarmup(t *testing.T) {
	tasks, stateful := tasksOf(1, 6, 1)
	end := map[TaskID]int64{}
	for i, tk := range tasks {
		end[tk] = int64(i * 100) // tiny changelogs
	}
	in := Input{Clients: clientsOf(2, 1), Tasks: tasks, Stateful: stateful}
	out := mustAssign(t, in)
	in = nextRound(in, out)
	for i := range in.Clients {
		sums := map[TaskID]int64{}
		for _, tk := range in.Clients[i].PrevActive {
			sums[tk] = OffsetSumLatest
		}
		in.Clients[i].TaskLags = LagsFromOffsetSums(sums, end)
	}
	nc := newClient("p2", 1)
	nc.TaskLags = LagsFromOffsetSums(nil, end)
	in.Clients = append(in.Clients, nc)
	out2 := mustAssign(t, in)
	checkInvariants(t, in, out2)
	if out2.ProbingRebalanceNeeded || len(out2.Processes["p2"].Active) != 2 {
		t.Fatalf("p2 runs %v, warm-ups %v", out2.Processes["p2"].Active, out2.Warmups)
	}
}

// TestUnboundedRecoveryLag: acceptable.recovery.lag = MaxInt64 turns warm-ups off.
func TestUnboundedRecoveryLag(t *testing.T) {
	tasks, stateful := tasksOf(1, 6, 1)
	in := Input{Clients: clientsOf(2, 1), Tasks: tasks, Stateful: stateful, AcceptableRecoveryLag: math.MaxInt64}
	out := mustAssign(t, in)
	in = nextRound(in, out)
	in.Clients = append(in.Clients, newClient("p2", 1))
	out2 := mustAssign(t, in)
	checkInvariants(t, in, out2)
	if out2.ProbingRebalanceNeeded || len(out2.Processes["p2"].Active) != 2 {
		t.Fatalf("p2 runs %v, warm-ups %v", out2.Processes["p2"].Active, out2.Warmups)
	}
}
