package engine

// Timestamp synchronization (Kafka Streams' max.task.idle.ms, KIP-353 and KIP-695).
//
// A task with several input partitions picks the buffered record with the smallest timestamp
// (Process). That choice is only right when every partition has something buffered: an empty
// partition may still have older records on the broker, and processing without them would
// put a join or a window ahead of them. So, before each record, the owner asks Readiness: the
// task processes when every input partition has records buffered; when one is empty it waits
// while that partition has records on the broker that the consumer has not fetched yet (or
// while nobody knows), and, for a partition known to be caught up, for at most MaxTaskIdle
// before processing anyway ("enforced processing", which may process out of order).

// Readiness is what a task may do with its buffered records now.
type Readiness int

const (
	// NotReady: nothing buffered, or the task waits for an empty input partition.
	NotReady Readiness = iota
	// Ready: every input partition has records buffered (or the task has one input, or
	// idling is disabled): the next record is the right one in timestamp order.
	Ready
	// Enforced: some input partitions are empty and caught up, and the task waited
	// MaxTaskIdle for them: it processes what it has, possibly out of timestamp order.
	Enforced
)

func (r Readiness) String() string {
	return [...]string{"NotReady", "Ready", "Enforced"}[r]
}

// LagFunc tells how many records of a partition are on the broker past the consumer's
// position; known is false when the consumer has not heard yet (no fetch response, no end
// offset). The owner of a task provides it; the task never asks the broker itself.
type LagFunc func(topic string, partition int32) (lag int64, known bool)

// partitionStatus is what readiness needs to know about one input partition.
type partitionStatus struct {
	tp       topicPartition
	buffered int
	lag      int64
	lagKnown bool
}

// idleTracker is the readiness decision of one task: Kafka Streams' PartitionGroup
// readyToProcess as a pure function of the partitions' state and the wall clock, plus the
// deadlines of the partitions it waits for.
type idleTracker struct {
	// maxIdle is MaxTaskIdle in milliseconds; negative disables waiting.
	maxIdle int64
	// deadlines holds, for each empty caught-up partition, when the task stops waiting for
	// it. A partition leaves it when it gets records or turns out to have lag.
	deadlines map[topicPartition]int64
}

// decide returns the task's readiness at wall-clock time now (milliseconds) and, when it
// waits for caught-up partitions, the earliest time it will stop waiting (0 otherwise: it
// waits for records, not for a time). Like Kafka Streams, a partition whose lag is unknown or
// positive makes the task wait however long MaxTaskIdle is; only caught-up partitions are
// given up on.
func (s *idleTracker) decide(now int64, parts []partitionStatus) (Readiness, int64) {
	if s.maxIdle < 0 {
		return Ready, 0
	}
	queued, enforced := false, false
	var next int64
	for _, p := range parts {
		switch {
		case p.buffered > 0:
			delete(s.deadlines, p.tp)
			queued = true
		case !p.lagKnown || p.lag > 0:
			// Records are (or may be) on the broker: wait for the fetch, with no deadline.
			delete(s.deadlines, p.tp)
			return NotReady, 0
		default:
			d, ok := s.deadlines[p.tp]
			if !ok {
				d = now + s.maxIdle
				if s.deadlines == nil {
					s.deadlines = make(map[topicPartition]int64)
				}
				s.deadlines[p.tp] = d
			}
			if now < d {
				// Keep going: another partition may still have lag, which waits for
				// records rather than until a deadline.
				if next == 0 || d < next {
					next = d
				}
				continue
			}
			enforced = true
		}
	}
	switch {
	case next != 0:
		return NotReady, next
	case !queued:
		return NotReady, 0
	case enforced:
		return Enforced, 0
	default:
		return Ready, 0
	}
}

// Readiness tells whether the task may process its next record now (wall clock now, in
// milliseconds), given the lags of its input partitions. The owner calls it before each
// Process: taking a record may empty a partition. With NotReady, wakeAt is when the answer
// may change without new records or lags (0: only records or lag news change it). A task
// with one input partition never waits.
func (t *Task) Readiness(now int64, lag LagFunc) (r Readiness, wakeAt int64) {
	t.readyAt = max(t.readyAt, now)
	if t.buffered == 0 {
		return NotReady, 0
	}
	if len(t.inputs) <= 1 || t.idle.maxIdle < 0 {
		return Ready, 0
	}
	all := true
	for _, tp := range t.inputs {
		if q := t.queueIndex[tp]; q == nil || q.len() == 0 {
			all = false
			break
		}
	}
	if all {
		clear(t.idle.deadlines)
		return Ready, 0
	}
	t.statuses = t.statuses[:0]
	for _, tp := range t.inputs {
		st := partitionStatus{tp: tp}
		if q := t.queueIndex[tp]; q != nil {
			st.buffered = q.len()
		}
		if st.buffered == 0 {
			st.lag, st.lagKnown = lag(tp.topic, tp.partition)
		}
		t.statuses = append(t.statuses, st)
	}
	r, wakeAt = t.idle.decide(now, t.statuses)
	if r == Enforced {
		t.enforced++
	}
	return r, wakeAt
}

// EnforcedProcessing counts the times Readiness let the task process although an input
// partition was empty (Kafka Streams' enforced-processing metric).
func (t *Task) EnforcedProcessing() int64 { return t.enforced }

// BufferedIn is the number of records queued for one partition.
func (t *Task) BufferedIn(topic string, partition int32) int {
	if q := t.queueIndex[topicPartition{topic, partition}]; q != nil {
		return q.len()
	}
	return 0
}

// Positions calls fn for each partition the task has processed records of since it was
// created or reset, with the offset after the last one: what the owner commits.
func (t *Task) Positions(fn func(topic string, partition int32, next int64)) {
	for _, q := range t.queues {
		if q.next >= 0 {
			fn(q.tp.topic, q.tp.partition, q.next)
		}
	}
}

// ResetQueues drops every buffered record and forgets the positions, for an owner whose
// consumer rewinds to the committed offsets (after a rebalance or an aborted transaction):
// the records come again from there. Stream time stays: it only reflects processed records.
func (t *Task) ResetQueues() (dropped int) {
	dropped = t.buffered
	for _, q := range t.queues {
		q.clear()
	}
	t.buffered = 0
	clear(t.idle.deadlines)
	return dropped
}
