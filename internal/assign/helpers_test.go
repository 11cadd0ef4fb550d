package assign

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
)

// tasksOf returns subs × parts tasks; the first stateful sub-topologies are stateful.
func tasksOf(subs, parts, statefulSubs int) ([]TaskID, map[TaskID]bool) {
	var ts []TaskID
	stateful := map[TaskID]bool{}
	for s := range subs {
		for p := range parts {
			t := TaskID{s, int32(p)}
			ts = append(ts, t)
			if s < statefulSubs {
				stateful[t] = true
			}
		}
	}
	return ts, stateful
}

// clientsOf returns n fresh clients "p0".."p<n-1>", each with the given number of consumers.
func clientsOf(n, consumers int) []Client {
	cs := make([]Client, n)
	for i := range cs {
		cs[i] = newClient(fmt.Sprintf("p%d", i), consumers)
	}
	return cs
}

func newClient(id string, consumers int) Client {
	c := Client{ProcessID: id, HostPort: id + ":8080"}
	for j := range consumers {
		c.Consumers = append(c.Consumers, fmt.Sprintf("%s-c%d", id, j))
	}
	return c
}

// nextRound builds the input of the following rebalance from out: every client reports what it
// ran and kept, each caught up (lag 0), and nothing else. Clients keep their consumers.
func nextRound(in Input, out Output) Input {
	next := in
	next.Clients = nil
	for _, c := range in.Clients {
		p := out.Processes[c.ProcessID]
		nc := c
		nc.PrevActive = slices.Clone(p.Active)
		nc.PrevStandby = slices.Clone(p.Standby)
		nc.TaskLags = map[TaskID]int64{}
		for _, t := range p.Active {
			if in.Stateful[t] {
				nc.TaskLags[t] = 0
			}
		}
		for _, t := range p.Standby {
			nc.TaskLags[t] = 0
		}
		nc.PrevByConsumer = map[string]ConsumerAssignment{}
		for _, m := range c.Consumers {
			nc.PrevByConsumer[m] = out.Consumers[m]
		}
		next.Clients = append(next.Clients, nc)
	}
	return next
}

func mustAssign(t *testing.T, in Input) Output {
	t.Helper()
	out, err := Assign(in)
	if err != nil {
		t.Fatalf("Assign: %v", err)
	}
	return out
}

// checkInvariants verifies what every assignment must satisfy. With balanced set, it also
// requires balanced active counts (no warm-up pending) and standby counts within one of each
// other per consumer when the standby constraints allow it.
func checkInvariants(t *testing.T, in Input, out Output) {
	t.Helper()
	procOf := map[string]string{} // consumer → process
	caps := map[string]int{}
	totalCap := 0
	for _, c := range in.Clients {
		for _, m := range c.Consumers {
			procOf[m] = c.ProcessID
		}
		caps[c.ProcessID] = len(c.Consumers)
		totalCap += len(c.Consumers)
	}
	if len(out.Consumers) != len(procOf) {
		t.Fatalf("%d consumer entries, want %d", len(out.Consumers), len(procOf))
	}
	activeProc := map[TaskID]string{}
	copies := map[TaskID]map[string]int{} // task → process → copies
	procActive := map[string][]TaskID{}
	procStandby := map[string][]TaskID{}
	for m, ca := range out.Consumers {
		p, ok := procOf[m]
		if !ok {
			t.Fatalf("assignment for unknown consumer %q", m)
		}
		if !slices.IsSortedFunc(ca.Active, TaskID.Compare) || !slices.IsSortedFunc(ca.Standby, TaskID.Compare) {
			t.Errorf("consumer %s: lists not sorted: %v", m, ca)
		}
		for _, tk := range ca.Active {
			if q, dup := activeProc[tk]; dup {
				t.Errorf("task %v active twice (%s and %s)", tk, q, p)
			}
			activeProc[tk] = p
			procActive[p] = append(procActive[p], tk)
			if copies[tk] == nil {
				copies[tk] = map[string]int{}
			}
			copies[tk][p]++
		}
		for _, tk := range ca.Standby {
			if !in.Stateful[tk] {
				t.Errorf("stateless task %v has a standby on %s", tk, p)
			}
			procStandby[p] = append(procStandby[p], tk)
			if copies[tk] == nil {
				copies[tk] = map[string]int{}
			}
			copies[tk][p]++
		}
	}
	for _, tk := range in.Tasks {
		if _, ok := activeProc[tk]; !ok {
			t.Errorf("task %v has no active", tk)
		}
	}
	if len(activeProc) != len(in.Tasks) {
		t.Errorf("%d active tasks, want %d", len(activeProc), len(in.Tasks))
	}
	for tk, byProc := range copies {
		for p, n := range byProc {
			if n > 1 {
				t.Errorf("task %v: %d copies on process %s", tk, n, p)
			}
		}
	}
	// Processes agree with consumers.
	for _, c := range in.Clients {
		p := out.Processes[c.ProcessID]
		a, s := sortedTasks(procActive[c.ProcessID]), sortedTasks(procStandby[c.ProcessID])
		if !slices.Equal(p.Active, a) || !slices.Equal(p.Standby, s) {
			t.Errorf("process %s: Processes %v, consumers give %v / %v", c.ProcessID, p, a, s)
		}
		for _, w := range out.Warmups[c.ProcessID] {
			if !slices.Contains(p.Standby, w) {
				t.Errorf("process %s: warm-up %v is not a standby", c.ProcessID, w)
			}
		}
		// Even within the process.
		var na, ns []int
		for _, m := range c.Consumers {
			na = append(na, len(out.Consumers[m].Active))
			ns = append(ns, len(out.Consumers[m].Standby))
		}
		if slices.Max(na)-slices.Min(na) > 1 || slices.Max(ns)-slices.Min(ns) > 1 {
			t.Errorf("process %s: uneven consumers: actives %v standbys %v", c.ProcessID, na, ns)
		}
	}
	for p := range out.Warmups {
		if _, ok := caps[p]; !ok {
			t.Errorf("warm-ups for unknown process %s", p)
		}
	}
	// Standby copies: at least min(N, clients-1) per stateful task (warm-ups count), at most
	// N hot ones.
	want := min(in.NumStandbyReplicas, len(in.Clients)-1)
	for tk := range in.Stateful {
		if !slices.Contains(in.Tasks, tk) {
			continue
		}
		n, hot := len(copies[tk])-1, 0
		for p := range copies[tk] {
			if p != activeProc[tk] && !slices.Contains(out.Warmups[p], tk) {
				hot++
			}
		}
		if n < want || hot > in.NumStandbyReplicas {
			t.Errorf("task %v: %d standby copies (%d hot), want ≥ %d and ≤ %d hot", tk, n, hot, want, in.NumStandbyReplicas)
		}
	}
	if in.NumStandbyReplicas > len(in.Clients)-1 && len(in.Stateful) > 0 {
		if !slices.ContainsFunc(out.Notes, func(s string) bool { return strings.HasPrefix(s, "only ") }) {
			t.Errorf("no note about too few instances: %q", out.Notes)
		}
	}
	if len(out.Warmups) > 0 && !out.ProbingRebalanceNeeded {
		t.Errorf("warm-ups without a probing rebalance")
	}
	maxWarm := in.MaxWarmupReplicas
	if maxWarm == 0 {
		maxWarm = DefaultMaxWarmupReplicas
	}
	nw := 0
	for _, ws := range out.Warmups {
		nw += len(ws)
	}
	if nw > maxWarm {
		t.Errorf("%d warm-ups, max %d", nw, maxWarm)
	}
	if !out.ProbingRebalanceNeeded {
		checkBalanced(t, in, out)
	}
}

// checkBalanced requires each process's active count within its share, rounded down or up.
func checkBalanced(t *testing.T, in Input, out Output) {
	t.Helper()
	totalCap := 0
	for _, c := range in.Clients {
		totalCap += len(c.Consumers)
	}
	n := len(in.Tasks)
	for _, c := range in.Clients {
		got := len(out.Processes[c.ProcessID].Active)
		lo := n * len(c.Consumers) / totalCap
		hi := (n*len(c.Consumers) + totalCap - 1) / totalCap
		if got < lo || got > hi {
			t.Errorf("process %s: %d actives, want %d..%d", c.ProcessID, got, lo, hi)
		}
	}
}

// standbyCounts returns the standby counts per process, warm-ups excluded.
func standbyCounts(out Output) map[string]int {
	m := map[string]int{}
	for p, a := range out.Processes {
		m[p] = len(a.Standby) - len(out.Warmups[p])
	}
	return m
}

func spreadOf(m map[string]int) int {
	vs := slices.Collect(maps.Values(m))
	if len(vs) == 0 {
		return 0
	}
	return slices.Max(vs) - slices.Min(vs)
}

// moves counts tasks whose active process differs between two outputs.
func activeMoves(a, b Output) int {
	owner := map[TaskID]string{}
	for p, ca := range a.Processes {
		for _, t := range ca.Active {
			owner[t] = p
		}
	}
	n := 0
	for p, ca := range b.Processes {
		for _, t := range ca.Active {
			if owner[t] != p {
				n++
			}
		}
	}
	return n
}
