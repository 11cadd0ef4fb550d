package assign

import (
	"cmp"
	"fmt"
	"slices"
)

// client is the assignor's working state for one process.
type client struct {
	id        string
	idx       int // position in process id order: the tie-breaker everywhere
	capacity  int // number of consumers
	consumers []string
	hostPort  string
	prevBy    map[string]ConsumerAssignment

	prevActive  map[TaskID]bool // tasks it is the sticky owner of (one owner per task)
	prevClaimed map[TaskID]bool // every task it reported as previously active
	prevStandby map[TaskID]bool
	lags        map[TaskID]int64

	active  map[TaskID]bool
	standby map[TaskID]bool // hot standbys, NumStandbyReplicas per stateful task
	warmup  map[TaskID]bool // warm-ups, on top of the standbys
	lo, hi  int             // the balanced range of its active count
}

// lag is the client's changelog lag for t; noState when it has no state for t.
func (c *client) lag(t TaskID) int64 {
	if l, ok := c.lags[t]; ok {
		return l
	}
	return noState
}

// holds reports whether the client has any copy of t.
func (c *client) holds(t TaskID) bool { return c.active[t] || c.standby[t] || c.warmup[t] }

// loadCmp compares the per-consumer loads an/acap and bn/bcap without division.
func loadCmp(an, acap, bn, bcap int) int { return cmp.Compare(an*bcap, bn*acap) }

// assignor holds one run of Assign. Nothing in it survives the call.
type assignor struct {
	clients    []*client // in process id order
	tasks      []TaskID  // sorted
	stateful   map[TaskID]bool
	owner      map[TaskID]*client // current active owner
	minLag     map[TaskID]int64   // smallest lag over all clients, stateful tasks only
	caughtUpN  map[TaskID]int     // number of caught-up clients, stateful tasks only
	acceptable int64
	maxWarmups int
	replicas   int
	totalCap   int
	probing    bool
	notes      []string
}

// Assign computes the assignment of in.Tasks to the consumers of in.Clients, in the manner of
// Kafka Streams' HighAvailabilityTaskAssignor (KIP-441). It is pure and deterministic: the same
// input gives the same output, ties being broken by process id, member id and task id order.
//
// Active tasks stay where they ran as long as every client's active count stays within its
// balanced range (the task count times its share of all consumers, rounded down or up). When
// tasks must move, stateless tasks move first, then stateful tasks whose destination is caught
// up. An orphaned stateful task goes to the client with the smallest lag for it (its standby).
// A stateful task that balance would move to a client that is not caught up stays on a
// caught-up client instead, and the destination gets a warm-up standby (at most
// MaxWarmupReplicas in all); ProbingRebalanceNeeded asks for a follow-up rebalance, at which
// the task moves if the warm-up has caught up. Each stateful task then gets NumStandbyReplicas
// standbys on other clients, sticky and spread evenly.
func Assign(in Input) (Output, error) {
	a, err := newAssignor(in)
	if err != nil {
		return Output{}, err
	}
	a.assignActive()
	a.assignStandbys()
	return a.output(), nil
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidInput}, args...)...)
}

// newAssignor validates in, applies defaults and builds the working state.
func newAssignor(in Input) (*assignor, error) {
	a := &assignor{
		acceptable: in.AcceptableRecoveryLag,
		maxWarmups: in.MaxWarmupReplicas,
		replicas:   in.NumStandbyReplicas,
		stateful:   map[TaskID]bool{},
		owner:      map[TaskID]*client{},
		minLag:     map[TaskID]int64{},
		caughtUpN:  map[TaskID]int{},
	}
	switch {
	case a.acceptable < 0:
		return nil, invalid("negative AcceptableRecoveryLag %d", a.acceptable)
	case a.maxWarmups < 0:
		return nil, invalid("negative MaxWarmupReplicas %d", a.maxWarmups)
	case a.replicas < 0:
		return nil, invalid("negative NumStandbyReplicas %d", a.replicas)
	case len(in.Clients) == 0:
		return nil, invalid("no clients")
	}
	if a.acceptable == 0 {
		a.acceptable = DefaultAcceptableRecoveryLag
	}
	if a.maxWarmups == 0 {
		a.maxWarmups = DefaultMaxWarmupReplicas
	}

	known := make(map[TaskID]bool, len(in.Tasks))
	for _, t := range in.Tasks {
		if !t.valid() {
			return nil, invalid("negative task id %v", t)
		}
		if known[t] {
			return nil, invalid("task %v listed twice", t)
		}
		known[t] = true
	}
	a.tasks = sortedTasks(in.Tasks)
	for t, ok := range in.Stateful {
		if ok && known[t] {
			a.stateful[t] = true
		}
	}

	seenProc := map[string]bool{}
	seenCons := map[string]bool{}
	for _, ic := range in.Clients {
		if ic.ProcessID == "" {
			return nil, invalid("client with empty process id")
		}
		if seenProc[ic.ProcessID] {
			return nil, invalid("process id %q listed twice", ic.ProcessID)
		}
		seenProc[ic.ProcessID] = true
		if len(ic.Consumers) == 0 {
			return nil, invalid("client %q has no consumers", ic.ProcessID)
		}
		for _, m := range ic.Consumers {
			if m == "" {
				return nil, invalid("client %q has an empty consumer id", ic.ProcessID)
			}
			if seenCons[m] {
				return nil, invalid("consumer %q listed twice", m)
			}
			seenCons[m] = true
		}
		c := &client{
			id:          ic.ProcessID,
			capacity:    len(ic.Consumers),
			consumers:   slices.Sorted(slices.Values(ic.Consumers)),
			hostPort:    ic.HostPort,
			prevBy:      ic.PrevByConsumer,
			prevActive:  map[TaskID]bool{},
			prevClaimed: map[TaskID]bool{},
			prevStandby: map[TaskID]bool{},
			lags:        map[TaskID]int64{},
			active:      map[TaskID]bool{},
			standby:     map[TaskID]bool{},
			warmup:      map[TaskID]bool{},
		}
		for t, l := range ic.TaskLags {
			if known[t] {
				c.lags[t] = max(l, 0)
			}
		}
		for _, t := range ic.PrevActive {
			if known[t] {
				c.prevClaimed[t] = true
				if _, ok := c.lags[t]; !ok {
					c.lags[t] = 0 // it ran the task: caught up unless it says otherwise
				}
			}
		}
		for _, t := range ic.PrevStandby {
			if known[t] && !c.prevClaimed[t] {
				c.prevStandby[t] = true
			}
		}
		a.clients = append(a.clients, c)
		a.totalCap += c.capacity
	}
	slices.SortFunc(a.clients, func(x, y *client) int { return cmp.Compare(x.id, y.id) })
	for i, c := range a.clients {
		c.idx = i
	}

	// One sticky owner per task: when several clients claim it (a zombie), the most caught up.
	for _, t := range a.tasks {
		var best *client
		for _, c := range a.clients {
			if c.prevClaimed[t] && (best == nil || c.lag(t) < best.lag(t)) {
				best = c
			}
		}
		if best != nil {
			best.prevActive[t] = true
		}
		if a.stateful[t] {
			minLag, n := noState, 0
			for _, c := range a.clients {
				minLag = min(minLag, c.lag(t))
				if a.caughtUp(c, t) {
					n++
				}
			}
			a.minLag[t], a.caughtUpN[t] = minLag, n
		}
	}
	return a, nil
}

// caughtUp reports whether c may take t as active without a warm-up.
func (a *assignor) caughtUp(c *client, t TaskID) bool { return c.lag(t) <= a.acceptable }

// output builds the Output from the working state.
func (a *assignor) output() Output {
	out := Output{
		Consumers:              map[string]ConsumerAssignment{},
		Processes:              map[string]ConsumerAssignment{},
		ProbingRebalanceNeeded: a.probing,
		Notes:                  a.notes,
	}
	for _, c := range a.clients {
		standbys := make(map[TaskID]bool, len(c.standby)+len(c.warmup))
		for t := range c.standby {
			standbys[t] = true
		}
		for t := range c.warmup {
			standbys[t] = true
		}
		out.Processes[c.id] = ConsumerAssignment{Active: setToSorted(c.active), Standby: setToSorted(standbys)}
		if len(c.warmup) > 0 {
			if out.Warmups == nil {
				out.Warmups = map[string][]TaskID{}
			}
			out.Warmups[c.id] = setToSorted(c.warmup)
		}
		for m, ca := range spreadOverConsumers(c, out.Processes[c.id]) {
			out.Consumers[m] = ca
		}
	}
	return out
}

// HostTasks maps each client's HostPort to the tasks its process runs as active and as standby
// (warm-ups included): the partitions-by-host metadata of interactive queries, for
// AssignmentInfo. Clients without a HostPort are left out.
func HostTasks(in Input, out Output) (active, standby map[string][]TaskID) {
	active, standby = map[string][]TaskID{}, map[string][]TaskID{}
	for _, c := range in.Clients {
		if c.HostPort == "" {
			continue
		}
		p := out.Processes[c.ProcessID]
		if len(p.Active) > 0 {
			active[c.HostPort] = sortedTasks(append(active[c.HostPort], p.Active...))
		}
		if len(p.Standby) > 0 {
			standby[c.HostPort] = sortedTasks(append(standby[c.HostPort], p.Standby...))
		}
	}
	return active, standby
}
