// Package assign is rill's task assignor: the pure, deterministic decision of which consumer
// runs which task as active and which processes keep standby copies, modelled on Kafka
// Streams' HighAvailabilityTaskAssignor (KIP-441). The franz-go group balancer in
// internal/kafka calls it on the group leader; it does no I/O, reads no clock and uses no
// randomness, so every rule is table-tested here.
//
// The model: a client is one application instance (process id) with one or more consumers
// (threads). Tasks are assigned to clients, then spread over each client's consumers.
//
//   - Balance: a client's active count stays within its share of all tasks, proportional to its
//     consumers, rounded down or up.
//   - Stickiness: a task stays where it ran while balance allows; when tasks must move,
//     stateless ones move first, then stateful ones whose destination is caught up.
//   - Failover: an orphaned stateful task goes to the client with the smallest changelog lag for
//     it, normally its standby.
//   - Warm-ups (KIP-441): a stateful task that would move to a client lagging more than
//     AcceptableRecoveryLag, while another client is more caught up, stays on a caught-up client;
//     the destination gets a warm-up standby (MaxWarmupReplicas per rebalance in all) and
//     Output.ProbingRebalanceNeeded asks for a follow-up rebalance, at which the task moves
//     once its warm-up has caught up. Stateless tasks move at once, so a new instance never
//     idles while there are stateless tasks to spare.
//   - Standbys: NumStandbyReplicas copies of each stateful task on distinct clients other than
//     its active's (fewer, with a note, when there are not enough clients), kept where they were,
//     spread evenly.
//
// The package also encodes the bytes exchanged in the group protocol: Subscription (member
// metadata user data) and AssignmentInfo (assignment user data), versioned, append-only and
// safe to decode from untrusted bytes.
//
// # Usage
//
// In the balancer, on the leader:
//
//	clients := map[string]*assign.Client{} // by process id
//	for _, m := range members {
//		sub, err := assign.DecodeSubscription(m.UserData)
//		if err != nil { return err }
//		c := clients[sub.ProcessID] // create on first sight, then:
//		c.Consumers = append(c.Consumers, m.MemberID)
//		c.PrevActive = append(c.PrevActive, sub.PrevActive...)
//		c.PrevStandby = append(c.PrevStandby, sub.PrevStandby...)
//		c.TaskLags = assign.LagsFromOffsetSums(sub.TaskOffsetSums, endOffsetSums) // merged per process
//		c.HostPort = sub.HostPort
//	}
//	in := assign.Input{
//		Clients: clientList, Tasks: tasks, Stateful: stateful,
//		NumStandbyReplicas: 1, // AcceptableRecoveryLag, MaxWarmupReplicas: 0 = defaults
//	}
//	out, err := assign.Assign(in)
//	if err != nil { return err } // wraps ErrInvalidInput
//	for _, n := range out.Notes { log.Info(n) }
//	hostActive, hostStandby := assign.HostTasks(in, out)
//	for member, ca := range out.Consumers {
//		userData := assign.EncodeAssignment(assign.AssignmentInfo{
//			Active: ca.Active, Standby: ca.Standby,
//			HostTasks: hostActive, HostStandbys: hostStandby,
//			ProbingRebalance: out.ProbingRebalanceNeeded,
//		})
//		// member gets the partitions of ca.Active, and userData
//	}
//
// On each member, the runtime decodes its AssignmentInfo to learn its standbys and, when
// ProbingRebalance is set, triggers a rebalance after probing.rebalance.interval.ms.
package assign
