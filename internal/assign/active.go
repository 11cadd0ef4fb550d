package assign

import (
	"cmp"
	"fmt"
	"slices"
)

// assignActive places every task's active copy: first the balanced, sticky placement balance
// asks for, then the KIP-441 correction that keeps stateful tasks on caught-up clients while
// their destination warms up.
func (a *assignor) assignActive() {
	n := len(a.tasks)
	for _, c := range a.clients {
		c.lo = n * c.capacity / a.totalCap
		c.hi = (n*c.capacity + a.totalCap - 1) / a.totalCap
	}

	// 1. Sticky: a task stays with its previous owner.
	var orphans []TaskID
	for _, t := range a.tasks {
		placed := false
		for _, c := range a.clients {
			if c.prevActive[t] {
				a.place(c, t)
				placed = true
				break
			}
		}
		if !placed {
			orphans = append(orphans, t)
		}
	}

	// 2. Orphans. A stateful one goes to the most caught-up client (failover to its standby),
	// ties to the less loaded; the balancing below may move something else off that client.
	// Stateless ones go to the least loaded client with room.
	for _, t := range orphans {
		if !a.stateful[t] {
			continue
		}
		var best *client
		for _, c := range a.clients {
			if best == nil || cmpOrphan(t, c, best) < 0 {
				best = c
			}
		}
		a.place(best, t)
	}
	for _, t := range orphans {
		if a.stateful[t] {
			continue
		}
		var best *client
		for _, c := range a.clients {
			if len(c.active) < c.hi && (best == nil || loadCmp(len(c.active), c.capacity, len(best.active), best.capacity) < 0) {
				best = c
			}
		}
		if best == nil { // unreachable: the quotas add up to at least the task count
			best = a.clients[0]
		}
		a.place(best, t)
	}

	// 3. Clients above their range (most loaded first) give their cheapest tasks to clients
	// below the top of theirs.
	for {
		var src *client
		for _, c := range a.clients {
			if len(c.active) > c.hi && (src == nil || loadCmp(len(c.active), c.capacity, len(src.active), src.capacity) > 0) {
				src = c
			}
		}
		if src == nil {
			break
		}
		var best move
		for _, dst := range a.clients {
			if len(dst.active) < dst.hi {
				if m, ok := a.bestMove(src, dst); ok && (!best.ok || m.cmp(best, a) < 0) {
					best = m
				}
			}
		}
		if !best.ok { // unreachable: the quotas add up to at least the task count
			break
		}
		a.moveOrChain(best, src, true, func(c *client) bool { return len(c.active) < c.hi })
	}

	// 4. Clients below their range (least loaded first) take the cheapest tasks from clients
	// above the bottom of theirs.
	for {
		var dst *client
		for _, c := range a.clients {
			if len(c.active) < c.lo && (dst == nil || a.cmpLoad(c, dst) < 0) {
				dst = c
			}
		}
		if dst == nil {
			break
		}
		var best move
		for _, src := range a.clients {
			if len(src.active) <= src.lo || src == dst {
				continue
			}
			// Same cost: take from the more loaded source.
			if m, ok := a.bestMove(src, dst); ok && (!best.ok || m.cmpFrom(best, a) < 0) {
				best = m
			}
		}
		if !best.ok { // unreachable: someone is above its bottom while dst is below its own
			break
		}
		a.moveOrChain(best, dst, false, func(c *client) bool { return len(c.active) > c.lo })
	}

	a.holdForWarmups()
}

// cmpOrphan orders candidate clients for an orphaned stateful task: smallest lag, then least
// loaded, then process id.
func cmpOrphan(t TaskID, x, y *client) int {
	if c := cmp.Compare(x.lag(t), y.lag(t)); c != 0 {
		return c
	}
	if c := loadCmp(len(x.active), x.capacity, len(y.active), y.capacity); c != 0 {
		return c
	}
	return cmp.Compare(x.idx, y.idx)
}

// cmpLoad orders clients by active tasks per consumer, then process id.
func (a *assignor) cmpLoad(x, y *client) int {
	if c := loadCmp(len(x.active), x.capacity, len(y.active), y.capacity); c != 0 {
		return c
	}
	return cmp.Compare(x.idx, y.idx)
}

func (a *assignor) place(c *client, t TaskID) {
	c.active[t] = true
	a.owner[t] = c
}

// move is a candidate transfer of one active task.
type move struct {
	task     TaskID
	ok       bool // false for the zero move: no candidate yet
	src, dst *client
	cost     int   // 0 stateless, 1 stateful and needs no warm-up, 2 needs a warm-up
	lag      int64 // the destination's lag (0 for stateless)
}

func (a *assignor) newMove(t TaskID, src, dst *client) move {
	m := move{task: t, ok: true, src: src, dst: dst}
	if a.stateful[t] {
		m.lag = dst.lag(t)
		m.cost = 2
		if a.caughtUp(dst, t) || m.lag <= a.minLag[t] {
			m.cost = 1
		}
	}
	return m
}

// cmp orders moves out of one source: cheapest, then the destination with the smallest lag,
// then the least loaded destination, then task id.
func (m move) cmp(o move, a *assignor) int {
	if c := cmp.Compare(m.cost, o.cost); c != 0 {
		return c
	}
	if c := cmp.Compare(m.lag, o.lag); c != 0 {
		return c
	}
	if c := a.cmpLoad(m.dst, o.dst); c != 0 {
		return c
	}
	return m.task.Compare(o.task)
}

// cmpFrom orders moves into one destination: cheapest, then the smallest lag, then the most
// loaded source, then task id.
func (m move) cmpFrom(o move, a *assignor) int {
	if c := cmp.Compare(m.cost, o.cost); c != 0 {
		return c
	}
	if c := cmp.Compare(m.lag, o.lag); c != 0 {
		return c
	}
	if c := a.cmpLoad(o.src, m.src); c != 0 {
		return c
	}
	return m.task.Compare(o.task)
}

// bestMove is the cheapest move of one of src's tasks to dst, by move.cmp.
func (a *assignor) bestMove(src, dst *client) (move, bool) {
	var best move
	for t := range src.active {
		if m := a.newMove(t, src, dst); !best.ok || m.cmp(best, a) < 0 {
			best = m
		}
	}
	return best, best.ok
}

// moveOrChain makes the move direct, unless it would need a warm-up and a chain of moves
// without one exists: src gives a task to a client that gives one of its own to the next, and
// so on, the last one being an end (forward from start, for a client that must give), or the
// first one being an end (backward from start, for a client that must take). Each client in
// the chain keeps its count. The shortest chain wins, ties going to process id order.
func (a *assignor) moveOrChain(direct move, start *client, forward bool, isEnd func(*client) bool) {
	if direct.cost <= 1 {
		a.move(direct)
		return
	}
	via := make([]move, len(a.clients)) // the hop that reached each client
	seen := make([]bool, len(a.clients))
	seen[start.idx] = true
	queue := []*client{start}
	for len(queue) > 0 {
		u := queue[0]
		queue = queue[1:]
		for _, v := range a.clients {
			if seen[v.idx] {
				continue
			}
			var m move
			var ok bool
			if forward {
				m, ok = a.bestMove(u, v)
			} else {
				m, ok = a.bestMove(v, u)
			}
			if !ok || m.cost > 1 {
				continue
			}
			seen[v.idx], via[v.idx] = true, m
			if !isEnd(v) {
				queue = append(queue, v)
				continue
			}
			for c := v; c != start; {
				m := via[c.idx]
				a.move(m)
				if forward {
					c = m.src
				} else {
					c = m.dst
				}
			}
			return
		}
	}
	a.move(direct)
}

func (a *assignor) move(m move) {
	delete(m.src.active, m.task)
	a.place(m.dst, m.task)
}

// holdForWarmups is KIP-441: a stateful task placed on a client that is not caught up, while
// another client is more caught up, runs on a caught-up client instead (its previous owner when
// possible), and its intended client gets a warm-up standby if the budget allows. Tasks with
// the fewest caught-up clients get warm-ups first.
func (a *assignor) holdForWarmups() {
	type movement struct {
		task TaskID
		dst  *client
	}
	var ms []movement
	for _, t := range a.tasks {
		if !a.stateful[t] {
			continue
		}
		d := a.owner[t]
		if !a.caughtUp(d, t) && a.minLag[t] < d.lag(t) {
			ms = append(ms, movement{t, d})
		}
	}
	if len(ms) == 0 {
		return
	}
	slices.SortFunc(ms, func(x, y movement) int {
		if c := cmp.Compare(a.caughtUpN[x.task], a.caughtUpN[y.task]); c != 0 {
			return c
		}
		return x.task.Compare(y.task)
	})
	budget := a.maxWarmups
	warmups := 0
	for _, m := range ms {
		var holder *client
		for _, c := range a.clients {
			if c != m.dst && (holder == nil || a.cmpHolder(m.task, c, holder) < 0) {
				holder = c
			}
		}
		delete(m.dst.active, m.task)
		a.place(holder, m.task)
		if budget > 0 {
			m.dst.warmup[m.task] = true
			budget--
			warmups++
		}
	}
	a.probing = true
	a.notes = append(a.notes, fmt.Sprintf(
		"%d stateful task(s) stay on caught-up instances until their new owner catches up; %d warm-up replica(s) assigned, probing rebalance needed",
		len(ms), warmups))
}

// cmpHolder orders the clients that may keep a task during a warm-up: its caught-up previous
// owner, then any caught-up client, then the smallest lag; then least loaded; then process id.
func (a *assignor) cmpHolder(t TaskID, x, y *client) int {
	rank := func(c *client) (int, int64) {
		switch {
		case !a.caughtUp(c, t):
			return 2, c.lag(t)
		case c.prevActive[t]:
			return 0, 0
		default:
			return 1, 0
		}
	}
	xr, xl := rank(x)
	yr, yl := rank(y)
	if c := cmp.Compare(xr, yr); c != 0 {
		return c
	}
	if c := cmp.Compare(xl, yl); c != 0 {
		return c
	}
	return a.cmpLoad(x, y)
}
