package assign

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// TestMatrix: 1/2/3/5 clients × 0/1/2 standbys × 8 and 12 tasks (some stateless), fresh and
// then re-run with the previous assignment as history.
func TestMatrix(t *testing.T) {
	shapes := []struct {
		name                 string
		subs, parts, statefl int
	}{
		{"8tasks", 2, 4, 1},  // 4 stateful, 4 stateless
		{"12tasks", 3, 4, 2}, // 8 stateful, 4 stateless
	}
	for _, sh := range shapes {
		for _, nc := range []int{1, 2, 3, 5} {
			for _, ns := range []int{0, 1, 2} {
				t.Run(fmt.Sprintf("%s/%dclients/%dstandbys", sh.name, nc, ns), func(t *testing.T) {
					tasks, stateful := tasksOf(sh.subs, sh.parts, sh.statefl)
					in := Input{Clients: clientsOf(nc, 1), Tasks: tasks, Stateful: stateful, NumStandbyReplicas: ns}
					out := mustAssign(t, in)
					checkInvariants(t, in, out)
					if out.ProbingRebalanceNeeded || len(out.Warmups) > 0 {
						t.Errorf("fresh assignment wants warm-ups: %v", out.Warmups)
					}
					if d := spreadOf(standbyCounts(out)); ns > 0 && nc > ns && d > 1 {
						t.Errorf("standby counts %v spread by %d", standbyCounts(out), d)
					}
					// Stateful actives are spread too, not only the totals.
					sf := map[string]int{}
					for p, ca := range out.Processes {
						for _, tk := range ca.Active {
							if stateful[tk] {
								sf[p]++
							}
						}
					}
					for _, c := range in.Clients {
						sf[c.ProcessID] += 0
					}
					if d := spreadOf(sf); d > 1 {
						t.Errorf("stateful actives %v spread by %d", sf, d)
					}
					again := mustAssign(t, in)
					if !reflect.DeepEqual(out, again) {
						t.Fatalf("not deterministic:\n%+v\n%+v", out, again)
					}

					// Stickiness: with the assignment as history, nothing moves.
					next := nextRound(in, out)
					out2 := mustAssign(t, next)
					checkInvariants(t, next, out2)
					if !reflect.DeepEqual(out.Consumers, out2.Consumers) || out2.ProbingRebalanceNeeded {
						t.Errorf("second round changed the assignment:\n%+v\n%+v", out.Consumers, out2.Consumers)
					}
				})
			}
		}
	}
}

func TestEmptyAndSingle(t *testing.T) {
	in := Input{Clients: clientsOf(2, 2)}
	out := mustAssign(t, in)
	checkInvariants(t, in, out)
	if len(out.Consumers) != 4 {
		t.Fatalf("consumers %v", out.Consumers)
	}
	in = Input{Clients: clientsOf(1, 1), Tasks: []TaskID{{0, 0}}, Stateful: map[TaskID]bool{{0, 0}: true}, NumStandbyReplicas: 1}
	out = mustAssign(t, in)
	checkInvariants(t, in, out)
	if got := out.Consumers["p0-c0"]; !slices.Equal(got.Active, []TaskID{{0, 0}}) || len(got.Standby) != 0 {
		t.Fatalf("got %+v", got)
	}
	if len(out.Notes) != 1 || !strings.Contains(out.Notes[0], "only 1 instance") {
		t.Fatalf("notes %q", out.Notes)
	}
}

func TestInvalidInput(t *testing.T) {
	ok := Input{Clients: clientsOf(2, 1), Tasks: []TaskID{{0, 0}}}
	cases := map[string]func(*Input){
		"no clients":       func(in *Input) { in.Clients = nil },
		"empty process id": func(in *Input) { in.Clients[0].ProcessID = "" },
		"dup process":      func(in *Input) { in.Clients[1].ProcessID = "p0" },
		"no consumers":     func(in *Input) { in.Clients[0].Consumers = nil },
		"dup consumer":     func(in *Input) { in.Clients[1].Consumers = in.Clients[0].Consumers },
		"empty consumer":   func(in *Input) { in.Clients[1].Consumers = []string{""} },
		"dup task":         func(in *Input) { in.Tasks = append(in.Tasks, TaskID{0, 0}) },
		"negative task":    func(in *Input) { in.Tasks = append(in.Tasks, TaskID{0, -1}) },
		"negative lag":     func(in *Input) { in.AcceptableRecoveryLag = -1 },
		"negative warmups": func(in *Input) { in.MaxWarmupReplicas = -1 },
		"negative standby": func(in *Input) { in.NumStandbyReplicas = -1 },
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			in := ok
			in.Clients = clientsOf(2, 1)
			in.Tasks = slices.Clone(ok.Tasks)
			mutate(&in)
			_, err := Assign(in)
			if !errors.Is(err, ErrInvalidInput) || !strings.HasPrefix(err.Error(), "rill: ") {
				t.Fatalf("err = %v", err)
			}
		})
	}
}

// TestInputNotModified: Assign copies what it sorts.
func TestInputNotModified(t *testing.T) {
	tasks, stateful := tasksOf(2, 3, 1)
	slices.Reverse(tasks)
	cs := clientsOf(3, 2)
	slices.Reverse(cs)
	cs[0].Consumers = []string{"z", "a"}
	in := Input{Clients: cs, Tasks: tasks, Stateful: stateful, NumStandbyReplicas: 1}
	before := fmt.Sprintf("%+v", in)
	_ = mustAssign(t, in)
	if after := fmt.Sprintf("%+v", in); after != before {
		t.Fatalf("input modified:\n%s\n%s", before, after)
	}
}

// TestOrderIndependent: the order of clients, consumers and tasks in the input does not matter.
func TestOrderIndependent(t *testing.T) {
	tasks, stateful := tasksOf(3, 5, 2)
	in := Input{Clients: clientsOf(4, 2), Tasks: tasks, Stateful: stateful, NumStandbyReplicas: 1}
	out := mustAssign(t, in)
	in2 := in
	in2.Tasks = slices.Clone(tasks)
	slices.Reverse(in2.Tasks)
	in2.Clients = slices.Clone(in.Clients)
	slices.Reverse(in2.Clients)
	for i := range in2.Clients {
		in2.Clients[i].Consumers = slices.Clone(in2.Clients[i].Consumers)
		slices.Reverse(in2.Clients[i].Consumers)
	}
	if out2 := mustAssign(t, in2); !reflect.DeepEqual(out, out2) {
		t.Fatalf("order changed the output:\n%+v\n%+v", out, out2)
	}
}

// TestFailoverToMostCaughtUpStandby: the instance running X dies; X goes to the standby with
// the smallest lag.
func TestFailoverToMostCaughtUpStandby(t *testing.T) {
	tasks, stateful := tasksOf(2, 6, 2) // 12 stateful tasks
	in := Input{Clients: clientsOf(5, 1), Tasks: tasks, Stateful: stateful, NumStandbyReplicas: 2}
	out := mustAssign(t, in)
	next := nextRound(in, out)

	x := out.Processes["p2"].Active[0]
	var holders []string
	for p, ca := range out.Processes {
		if slices.Contains(ca.Standby, x) {
			holders = append(holders, p)
		}
	}
	slices.Sort(holders)
	if len(holders) != 2 {
		t.Fatalf("standbys of %v on %v", x, holders)
	}
	// The second holder (in id order) is more caught up: it must win over id order.
	var clients []Client
	for _, c := range next.Clients {
		if c.ProcessID == "p2" {
			continue
		}
		switch c.ProcessID {
		case holders[0]:
			c.TaskLags[x] = 900
		case holders[1]:
			c.TaskLags[x] = 40
		}
		clients = append(clients, c)
	}
	next.Clients = clients
	out2 := mustAssign(t, next)
	checkInvariants(t, next, out2)
	if !slices.Contains(out2.Processes[holders[1]].Active, x) {
		t.Fatalf("%v went elsewhere than %s: %+v", x, holders[1], out2.Processes)
	}
	// Every task p2 ran fails over to one of its standbys: no full restore.
	for _, tk := range out.Processes["p2"].Active {
		owner := ""
		for p, ca := range out2.Processes {
			if slices.Contains(ca.Active, tk) {
				owner = p
			}
		}
		if !slices.Contains(out.Processes[owner].Standby, tk) {
			t.Errorf("%v failed over to %s, which had no standby of it", tk, owner)
		}
	}
	// Balance holds at once: the balancing moves go to caught-up clients, through a chain if
	// need be (a standby may still be warming up: the replacement copies are cold).
	checkBalanced(t, next, out2)
	if activesHeld(out2) {
		t.Errorf("active tasks wait for warm-ups: %q", out2.Notes)
	}
}

// TestFailoverThreeClients: the brief's shape, 3 clients and 1 standby.
func TestFailoverThreeClients(t *testing.T) {
	tasks, stateful := tasksOf(3, 4, 2)
	in := Input{Clients: clientsOf(3, 1), Tasks: tasks, Stateful: stateful, NumStandbyReplicas: 1}
	out := mustAssign(t, in)
	next := nextRound(in, out)
	var x TaskID
	for _, tk := range out.Processes["p1"].Active {
		if stateful[tk] {
			x = tk
			break
		}
	}
	holder := ""
	for p, ca := range out.Processes {
		if slices.Contains(ca.Standby, x) {
			holder = p
		}
	}
	next.Clients = slices.DeleteFunc(next.Clients, func(c Client) bool { return c.ProcessID == "p1" })
	out2 := mustAssign(t, next)
	checkInvariants(t, next, out2)
	if !slices.Contains(out2.Processes[holder].Active, x) {
		t.Fatalf("%v should fail over to its standby on %s: %+v", x, holder, out2.Processes)
	}
}

// TestOrphanWithoutStandbyGoesToLeftoverState: with no standby, the client with leftover state
// on disk wins over an empty one.
func TestOrphanWithoutStandbyGoesToLeftoverState(t *testing.T) {
	x := TaskID{0, 0}
	in := Input{
		Clients:  clientsOf(3, 1),
		Tasks:    []TaskID{x, {0, 1}, {0, 2}},
		Stateful: map[TaskID]bool{x: true, {0, 1}: true, {0, 2}: true},
	}
	in.Clients[1].TaskLags = map[TaskID]int64{x: 123456} // far behind, but the best there is
	out := mustAssign(t, in)
	checkInvariants(t, in, out)
	if !slices.Contains(out.Processes["p1"].Active, x) {
		t.Fatalf("x not on p1: %+v", out.Processes)
	}
}

// activesHeld reports whether some active task was kept off the client balance wanted for it.
func activesHeld(out Output) bool {
	return slices.ContainsFunc(out.Notes, func(s string) bool { return strings.Contains(s, "stateful task(s) stay") })
}
