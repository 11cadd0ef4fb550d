package assign

import (
	"cmp"
	"fmt"
	"slices"
)

// assignStandbys gives each stateful task NumStandbyReplicas standbys, each on a different
// client than its active, its warm-ups and each other: first where a copy was before, then on
// the clients with room and the smallest lag, then evened out. Last, as KIP-441 does for
// standbys, a standby placed on a client that is not caught up, while another client that could
// hold it is, goes back to that client, and the intended one gets a warm-up if the budget allows.
func (a *assignor) assignStandbys() {
	if a.replicas == 0 {
		return
	}
	var tasks []TaskID
	need := map[TaskID]int{}
	total := 0
	for _, t := range a.tasks {
		if !a.stateful[t] {
			continue
		}
		tasks = append(tasks, t)
		free := 0
		for _, c := range a.clients {
			if !c.holds(t) {
				free++
			}
		}
		need[t] = min(a.replicas, free)
		total += need[t]
	}
	if len(tasks) > 0 && len(a.clients)-1 < a.replicas {
		a.notes = append(a.notes, fmt.Sprintf(
			"only %d instance(s): %d standby replica(s) requested, each stateful task gets at most %d",
			len(a.clients), a.replicas, len(a.clients)-1))
	}
	hi := func(c *client) int { return (total*c.capacity + a.totalCap - 1) / a.totalCap }

	// 1. Sticky: keep the copies that were there, most caught up first.
	for _, t := range tasks {
		var cands []*client
		for _, c := range a.clients {
			if !c.holds(t) && (c.prevStandby[t] || c.prevClaimed[t]) {
				cands = append(cands, c)
			}
		}
		slices.SortFunc(cands, func(x, y *client) int {
			if c := cmp.Compare(x.lag(t), y.lag(t)); c != 0 {
				return c
			}
			if x.prevStandby[t] != y.prevStandby[t] {
				if x.prevStandby[t] {
					return -1
				}
				return 1
			}
			return cmp.Compare(x.idx, y.idx)
		})
		for _, c := range cands[:min(len(cands), need[t])] {
			c.standby[t] = true
			need[t]--
		}
	}

	// 2. The rest: a client with room under its even share, then the smallest lag, then the
	// least loaded.
	for _, t := range tasks {
		for ; need[t] > 0; need[t]-- {
			var best *client
			var bestRoom bool
			for _, c := range a.clients {
				if c.holds(t) {
					continue
				}
				room := len(c.standby) < hi(c)
				if best == nil || cmpStandbyFill(t, c, room, best, bestRoom) < 0 {
					best, bestRoom = c, room
				}
			}
			best.standby[t] = true
		}
	}

	a.balanceStandbys()
	a.warmStandbys()
}

func cmpStandbyFill(t TaskID, x *client, xRoom bool, y *client, yRoom bool) int {
	if xRoom != yRoom {
		if xRoom {
			return -1
		}
		return 1
	}
	if c := cmp.Compare(x.lag(t), y.lag(t)); c != 0 {
		return c
	}
	if c := loadCmp(len(x.standby), x.capacity, len(y.standby), y.capacity); c != 0 {
		return c
	}
	return cmp.Compare(x.idx, y.idx)
}

// balanceStandbys moves standbys from the most to the least loaded clients (per consumer) while
// a move makes the two more even, preferring destinations caught up on the task. Every move
// lowers the sum over clients of standbys²/consumers, so it ends.
func (a *assignor) balanceStandbys() {
	for {
		type cand struct {
			t        TaskID
			src, dst *client
		}
		var best cand
		found := false
		better := func(x cand) bool {
			if !found {
				return true
			}
			xc, bc := a.caughtUp(x.dst, x.t), a.caughtUp(best.dst, best.t)
			if xc != bc {
				return xc
			}
			if c := cmp.Compare(x.dst.lag(x.t), best.dst.lag(best.t)); c != 0 {
				return c < 0
			}
			if c := loadCmp(len(x.src.standby), x.src.capacity, len(best.src.standby), best.src.capacity); c != 0 {
				return c > 0
			}
			if c := loadCmp(len(x.dst.standby), x.dst.capacity, len(best.dst.standby), best.dst.capacity); c != 0 {
				return c < 0
			}
			if x.src != best.src {
				return x.src.idx < best.src.idx
			}
			if x.dst != best.dst {
				return x.dst.idx < best.dst.idx
			}
			return x.t.Compare(best.t) < 0
		}
		for _, src := range a.clients {
			for _, dst := range a.clients {
				// Worth it when the source stays at least as loaded as the destination becomes.
				if src == dst || loadCmp(len(src.standby)-1, src.capacity, len(dst.standby)+1, dst.capacity) < 0 {
					continue
				}
				for t := range src.standby {
					if x := (cand{t, src, dst}); !dst.holds(t) && better(x) {
						best, found = x, true
					}
				}
			}
		}
		if !found {
			return
		}
		delete(best.src.standby, best.t)
		best.dst.standby[best.t] = true
	}
}

// warmStandbys applies KIP-441 to standbys with the warm-up budget left over from the actives.
func (a *assignor) warmStandbys() {
	budget := a.maxWarmups
	for _, c := range a.clients {
		budget -= len(c.warmup)
	}
	tasks := slices.Clone(a.tasks)
	slices.SortStableFunc(tasks, func(x, y TaskID) int { return cmp.Compare(a.caughtUpN[x], a.caughtUpN[y]) })
	// Decide which standbys need a caught-up stand-in before moving any.
	type pending struct {
		t   TaskID
		dst *client
	}
	var ps []pending
	for _, t := range tasks {
		if !a.stateful[t] {
			continue
		}
		for _, dst := range a.clients {
			if dst.standby[t] && !a.caughtUp(dst, t) {
				ps = append(ps, pending{t, dst})
			}
		}
	}
	moves, warmups := 0, 0
	for _, p := range ps {
		var src *client
		for _, c := range a.clients {
			if c.holds(p.t) || c.lag(p.t) >= p.dst.lag(p.t) {
				continue
			}
			if src == nil || a.cmpStandbySource(p.t, c, src) < 0 {
				src = c
			}
		}
		if src == nil {
			continue
		}
		src.standby[p.t] = true
		delete(p.dst.standby, p.t)
		moves++
		if budget > 0 {
			p.dst.warmup[p.t] = true
			budget--
			warmups++
		}
	}
	if moves > 0 {
		a.probing = true
		a.notes = append(a.notes, fmt.Sprintf(
			"%d standby(s) stay on caught-up instances until their new owner catches up; %d warm-up replica(s) assigned, probing rebalance needed",
			moves, warmups))
	}
}

// cmpStandbySource orders the clients that may keep a standby while its intended client warms
// up: caught up first, then smallest lag, then fewest standbys per consumer, then process id.
func (a *assignor) cmpStandbySource(t TaskID, x, y *client) int {
	xc, yc := a.caughtUp(x, t), a.caughtUp(y, t)
	if xc != yc {
		if xc {
			return -1
		}
		return 1
	}
	if !xc {
		if c := cmp.Compare(x.lag(t), y.lag(t)); c != 0 {
			return c
		}
	}
	if c := loadCmp(len(x.standby), x.capacity, len(y.standby), y.capacity); c != 0 {
		return c
	}
	return cmp.Compare(x.idx, y.idx)
}
