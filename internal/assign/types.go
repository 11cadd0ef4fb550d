package assign

import "errors"

// Defaults applied by Assign to zero-valued settings, as Kafka Streams' defaults.
const (
	DefaultAcceptableRecoveryLag = 10000 // acceptable.recovery.lag
	DefaultMaxWarmupReplicas     = 2     // max.warmup.replicas
)

// ErrInvalidInput is wrapped by every error Assign returns: the input breaks a rule of Input.
var ErrInvalidInput = errors.New("rill: assign: invalid input")

// ErrMalformed is wrapped by every error the Decode functions return: the bytes are not an
// encoding this package wrote.
var ErrMalformed = errors.New("rill: assign: malformed data")

// Client is one application instance (a process). Several consumers (stream threads) may share
// it; tasks are placed on clients first, then spread over the client's consumers.
type Client struct {
	// ProcessID is stable per instance and unique in the group.
	ProcessID string
	// Consumers are the group member ids of this process's threads (at least one, unique in the
	// group). A client's share of the tasks is proportional to its number of consumers.
	Consumers []string
	// PrevActive are the tasks it ran as active before this rebalance.
	PrevActive []TaskID
	// PrevStandby are the tasks it kept standby state for (warm-ups included).
	PrevStandby []TaskID
	// TaskLags gives, for every task it has local state for (active, standby or leftover on
	// disk), the changelog lag: end offset sum − local offset sum; 0 = caught up. Absent = no
	// state (treated as infinitely behind). A task in PrevActive without an entry counts as
	// caught up (Kafka Streams reports running actives as "latest"). Negative lags count as 0.
	// LagsFromOffsetSums converts the offset sums of a Subscription.
	TaskLags map[TaskID]int64
	// HostPort is application.server, opaque here (see HostTasks).
	HostPort string
	// PrevByConsumer optionally gives, per consumer of this client, the tasks that consumer ran
	// (Active) and kept standby (Standby) before. It only keeps tasks on the same thread within
	// the process; nil is fine and yields an even, deterministic spread.
	PrevByConsumer map[string]ConsumerAssignment
}

// Input is everything Assign needs; it is not modified.
type Input struct {
	Clients []Client
	// Tasks are all tasks to assign (every sub-topology × partition), each once.
	Tasks []TaskID
	// Stateful marks the tasks with state stores: only these get standbys and warm-ups, and only
	// their placement depends on lags. Keys not in Tasks are ignored.
	Stateful map[TaskID]bool
	// NumStandbyReplicas is num.standby.replicas: standby copies per stateful task (default 0).
	NumStandbyReplicas int
	// AcceptableRecoveryLag is acceptable.recovery.lag: a client whose lag for a task is at most
	// this is caught up and may take the task as active at once. 0 means the default, 10000;
	// math.MaxInt64 makes every client caught up (no warm-ups).
	AcceptableRecoveryLag int64
	// MaxWarmupReplicas is max.warmup.replicas: warm-up standbys handed out per rebalance, in
	// total. 0 means the default, 2.
	MaxWarmupReplicas int
}

// ConsumerAssignment is what one consumer (or, in Output.Processes, one process) runs. Both lists
// are sorted.
type ConsumerAssignment struct {
	Active, Standby []TaskID
}

// Output is the assignment. Every list in it is sorted.
type Output struct {
	// Consumers has an entry for every consumer of every client, possibly empty.
	Consumers map[string]ConsumerAssignment
	// Processes is the same assignment per process id (the union over its consumers).
	Processes map[string]ConsumerAssignment
	// ProbingRebalanceNeeded reports that some stateful tasks were kept on a caught-up client
	// instead of moving where balance wants them (warm-ups were assigned, or will be when the
	// warm-up budget allows): the caller schedules a follow-up rebalance after
	// probing.rebalance.interval.ms (10 minutes by default).
	ProbingRebalanceNeeded bool
	// Warmups lists, per process id, the standby tasks that are warm-ups (a subset of the
	// process's standbys, on top of the NumStandbyReplicas copies). Processes without warm-ups
	// are absent.
	Warmups map[string][]TaskID
	// Notes are human-readable notices for the caller to log once, such as too few instances for
	// the requested standbys.
	Notes []string
}
