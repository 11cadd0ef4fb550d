package assign

import "cmp"

// spreadOverConsumers splits a process's assignment over its consumers: actives evenly (counts
// differ by at most one), then standbys evenly, extra standbys going to consumers with fewer
// actives. A consumer keeps what it had before (Client.PrevByConsumer) as far as evenness
// allows; the rest is dealt in task order to the consumer with the fewest, then by member id.
func spreadOverConsumers(c *client, p ConsumerAssignment) map[string]ConsumerAssignment {
	prevActive := func(i int) [][]TaskID {
		pc := c.prevBy[c.consumers[i]]
		return [][]TaskID{pc.Active, pc.Standby}
	}
	prevStandby := func(i int) [][]TaskID {
		pc := c.prevBy[c.consumers[i]]
		return [][]TaskID{pc.Standby, pc.Active}
	}
	k := len(c.consumers)
	active := spread(p.Active, k, prevActive, make([]int, k))
	counts := make([]int, k)
	for i, ts := range active {
		counts[i] = len(ts)
	}
	standby := spread(p.Standby, k, prevStandby, counts)
	out := make(map[string]ConsumerAssignment, k)
	for i, m := range c.consumers {
		out[m] = ConsumerAssignment{Active: sortedTasks(active[i]), Standby: sortedTasks(standby[i])}
	}
	return out
}

// spread deals sorted tasks to k consumers so that counts are n/k rounded down or up. prev(i)
// lists, in preference order, the tasks consumer i had; other[i] is load it already carries,
// the tie-breaker between equal counts.
func spread(tasks []TaskID, k int, prev func(i int) [][]TaskID, other []int) [][]TaskID {
	out := make([][]TaskID, k)
	if len(tasks) == 0 {
		return out
	}
	floor, extra := len(tasks)/k, len(tasks)%k
	left := make(map[TaskID]bool, len(tasks))
	for _, t := range tasks {
		left[t] = true
	}
	for i := range k {
		for _, ts := range prev(i) {
			for _, t := range sortedTasks(ts) {
				if !left[t] {
					continue
				}
				switch n := len(out[i]); {
				case n < floor:
				case n == floor && extra > 0:
					extra--
				default:
					continue
				}
				out[i] = append(out[i], t)
				delete(left, t)
			}
		}
	}
	for _, t := range tasks {
		if !left[t] {
			continue
		}
		best := 0
		for i := 1; i < k; i++ {
			if c := cmp.Compare(len(out[i]), len(out[best])); c < 0 || c == 0 && other[i] < other[best] {
				best = i
			}
		}
		out[best] = append(out[best], t)
	}
	return out
}
