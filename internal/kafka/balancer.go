package kafka

import (
	"fmt"
	"slices"
	"sort"
	"sync"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/zap"

	"github.com/rillstreams/rill/internal/assign"
)

// TaskTopics says which topics feed each sub-topology: task <s>_<p> owns partition p of every
// topic of sub-topology s.
type TaskTopics map[int][]string

// BalancerConfig configures the task balancer.
type BalancerConfig struct {
	Tasks                 TaskTopics
	Stateful              map[int]bool // sub-topologies with stores
	NumStandbyReplicas    int
	AcceptableRecoveryLag int64
	MaxWarmupReplicas     int
	// Subscription returns what this member tells the group leader: its process, its tasks
	// and its local state. Called on franz-go's group goroutine.
	Subscription func() assign.Subscription
	// EndOffsetSums returns, per stateful task, the sum of its changelog partitions' end
	// offsets: with the sums members report, the lag of each member's state (KIP-441). Called
	// on the group leader's group goroutine; nil or a failure counts every state as current.
	EndOffsetSums func(tasks []assign.TaskID) (map[assign.TaskID]int64, error)
	Logger        *zap.Logger
}

// Balancer assigns tasks, not partitions (rill's group protocol "rill"): all partitions of a
// task go to one member, tasks stay where their state is, standbys go to other processes.
// Every member of an app must use it.
type Balancer struct {
	cfg BalancerConfig

	// mu protects last and led: the assignment this member received and whether it computed
	// it (was the group leader), set on the group goroutine and read by the stream thread.
	mu   sync.Mutex
	last assign.AssignmentInfo
	led  bool

	// notes are the assignor's notes last logged. Only Balance touches them, on the group
	// goroutine: the same notice is logged once, not at every rebalance.
	notes []string
}

var _ kgo.GroupBalancer = (*Balancer)(nil)

// NewBalancer returns a balancer.
func NewBalancer(cfg BalancerConfig) *Balancer {
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	return &Balancer{cfg: cfg}
}

// Assignment returns the tasks of the member's latest assignment.
func (b *Balancer) Assignment() assign.AssignmentInfo {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.last
}

// Leader reports whether this member was the group leader of its latest generation (it ran
// Balance). The leader is the member whose rejoin is sure to start a rebalance: the one to
// trigger probing rebalances.
func (b *Balancer) Leader() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.led
}

func (b *Balancer) ProtocolName() string { return "rill" }
func (b *Balancer) IsCooperative() bool  { return false }

func (b *Balancer) JoinGroupMetadata(topics []string, _ map[string][]int32, generation int32) []byte {
	meta := kmsg.NewConsumerMemberMetadata()
	meta.Topics = topics
	meta.Generation = generation
	meta.UserData = assign.EncodeSubscription(b.cfg.Subscription())
	b.mu.Lock()
	b.led = false // a new generation: Balance tells again
	b.mu.Unlock()
	return meta.AppendTo(nil)
}

func (b *Balancer) ParseSyncAssignment(assignment []byte) (map[string][]int32, error) {
	var ka kmsg.ConsumerMemberAssignment
	if err := ka.ReadFrom(assignment); err != nil {
		return nil, fmt.Errorf("rill: parse assignment: %w", err)
	}
	info, err := assign.DecodeAssignment(ka.UserData)
	if err != nil {
		return nil, err
	}
	b.mu.Lock()
	b.last = info
	b.mu.Unlock()
	m := make(map[string][]int32, len(ka.Topics))
	for _, t := range ka.Topics {
		m[t.Topic] = t.Partitions
	}
	return m, nil
}

func (b *Balancer) MemberBalancer(members []kmsg.JoinGroupResponseMember) (kgo.GroupMemberBalancer, map[string]struct{}, error) {
	cb, err := kgo.NewConsumerBalancer(b, members)
	if err != nil {
		return nil, nil, err
	}
	return cb, cb.MemberTopics(), nil
}

// Balance runs on the group leader: it turns topics into tasks, asks the assignor, and turns
// tasks back into partitions per member, with each member's tasks in the assignment's user data.
func (b *Balancer) Balance(cb *kgo.ConsumerBalancer, topics map[string]int32) kgo.IntoSyncAssignment {
	b.mu.Lock()
	b.led = true
	b.mu.Unlock()
	in := assign.Input{
		NumStandbyReplicas:    b.cfg.NumStandbyReplicas,
		AcceptableRecoveryLag: b.cfg.AcceptableRecoveryLag,
		MaxWarmupReplicas:     b.cfg.MaxWarmupReplicas,
		Stateful:              make(map[assign.TaskID]bool),
	}
	// Tasks, by sub-topology and partition.
	taskParts := make(map[assign.TaskID]map[string]int32)
	subs := make([]int, 0, len(b.cfg.Tasks))
	for s := range b.cfg.Tasks {
		subs = append(subs, s)
	}
	sort.Ints(subs)
	for _, s := range subs {
		var n int32
		for _, t := range b.cfg.Tasks[s] {
			n = max(n, topics[t])
		}
		for p := int32(0); p < n; p++ {
			id := assign.TaskID{Subtopology: s, Partition: p}
			in.Tasks = append(in.Tasks, id)
			in.Stateful[id] = b.cfg.Stateful[s]
			taskParts[id] = make(map[string]int32)
			for _, t := range b.cfg.Tasks[s] {
				if p < topics[t] {
					taskParts[id][t] = p
				}
			}
		}
	}
	// Clients, by process, with the lag of their state per task.
	byProcess := make(map[string]*assign.Client)
	sums := make(map[string]map[assign.TaskID]int64)
	var order []string
	var decodeErr error
	var members, shutdownBy []string
	cb.EachMember(func(m *kmsg.JoinGroupResponseMember, meta *kmsg.ConsumerMemberMetadata) {
		members = append(members, m.MemberID)
		sub, err := assign.DecodeSubscription(meta.UserData)
		if err != nil {
			decodeErr = fmt.Errorf("rill: member %s: %w", m.MemberID, err)
			return
		}
		if sub.ShutdownRequested {
			shutdownBy = append(shutdownBy, sub.ProcessID)
		}
		c := byProcess[sub.ProcessID]
		if c == nil {
			c = &assign.Client{ProcessID: sub.ProcessID, HostPort: sub.HostPort,
				PrevByConsumer: map[string]assign.ConsumerAssignment{}}
			byProcess[sub.ProcessID] = c
			sums[sub.ProcessID] = map[assign.TaskID]int64{}
			order = append(order, sub.ProcessID)
		}
		c.Consumers = append(c.Consumers, m.MemberID)
		c.PrevActive = append(c.PrevActive, sub.PrevActive...)
		c.PrevStandby = append(c.PrevStandby, sub.PrevStandby...)
		c.PrevByConsumer[m.MemberID] = assign.ConsumerAssignment{Active: sub.PrevActive, Standby: sub.PrevStandby}
		// Each thread of a process reports what it holds and what it finds on disk, so two
		// may report one task (a thread's running task, another's stale checkpoint of it):
		// the freshest report counts.
		for t, s := range sub.TaskOffsetSums {
			if prev, ok := sums[sub.ProcessID][t]; ok {
				s = fresherOffsetSum(prev, s)
			}
			sums[sub.ProcessID][t] = s
		}
	})
	if decodeErr != nil {
		cb.SetError(decodeErr)
		return nil
	}
	if len(shutdownBy) > 0 {
		return b.shutdownPlan(members, shutdownBy)
	}
	var stateful []assign.TaskID
	for _, t := range in.Tasks {
		if in.Stateful[t] {
			stateful = append(stateful, t)
		}
	}
	var ends map[assign.TaskID]int64
	if b.cfg.EndOffsetSums != nil && len(stateful) > 0 {
		var err error
		if ends, err = b.cfg.EndOffsetSums(stateful); err != nil {
			b.cfg.Logger.Warn("rill: changelog end offsets unknown; treating all state as current", zap.Error(err))
			ends = nil
		}
	}
	sort.Strings(order)
	for _, p := range order {
		c := byProcess[p]
		if ends != nil {
			c.TaskLags = assign.LagsFromOffsetSums(sums[p], ends)
		} else {
			c.TaskLags = map[assign.TaskID]int64{}
			for _, t := range stateful {
				c.TaskLags[t] = 0
			}
		}
		in.Clients = append(in.Clients, *c)
	}
	out, err := assign.Assign(in)
	if err != nil {
		cb.SetError(err)
		return nil
	}
	if !slices.Equal(out.Notes, b.notes) {
		for _, n := range out.Notes {
			b.cfg.Logger.Info("rill: assignment: " + n)
		}
		b.notes = out.Notes
	}
	hostTasks, hostStandbys := assign.HostTasks(in, out)
	plan := &taskPlan{assignments: make(map[string]kmsg.ConsumerMemberAssignment)}
	for _, p := range order {
		for _, m := range byProcess[p].Consumers {
			ca := out.Consumers[m]
			parts := make(map[string][]int32)
			for _, t := range ca.Active {
				for topic, part := range taskParts[t] {
					parts[topic] = append(parts[topic], part)
				}
			}
			ka := kmsg.NewConsumerMemberAssignment()
			names := make([]string, 0, len(parts))
			for t := range parts {
				names = append(names, t)
			}
			sort.Strings(names)
			for _, t := range names {
				ps := parts[t]
				sort.Slice(ps, func(i, j int) bool { return ps[i] < ps[j] })
				ka.Topics = append(ka.Topics, kmsg.ConsumerMemberAssignmentTopic{Topic: t, Partitions: ps})
			}
			// Every member learns that a probing rebalance is due; the leader's stream thread
			// triggers it (see Leader).
			ka.UserData = assign.EncodeAssignment(assign.AssignmentInfo{Active: ca.Active, Standby: ca.Standby,
				HostTasks: hostTasks, HostStandbys: hostStandbys, ProbingRebalance: out.ProbingRebalanceNeeded})
			plan.assignments[m] = ka
		}
	}
	return plan
}

// shutdownPlan tells every member to shut down (Kafka Streams' SHUTDOWN_REQUESTED): no
// partitions, and ErrorShutdownRequested in the user data. A member asked for it because one
// of its stream threads failed and the app's failure handler answered ShutdownApplication.
func (b *Balancer) shutdownPlan(members, by []string) kgo.IntoSyncAssignment {
	slices.Sort(by)
	b.cfg.Logger.Error("rill: a member asked the application to shut down; telling every member",
		zap.Strings("requested_by_process", slices.Compact(by)), zap.Int("members", len(members)))
	plan := &taskPlan{assignments: make(map[string]kmsg.ConsumerMemberAssignment)}
	for _, m := range members {
		ka := kmsg.NewConsumerMemberAssignment()
		ka.UserData = assign.EncodeAssignment(assign.AssignmentInfo{ErrorCode: assign.ErrorShutdownRequested})
		plan.assignments[m] = ka
	}
	return plan
}

// fresherOffsetSum returns the offset sum of the two that stands for more local state: a
// running active (OffsetSumLatest) over any other, then the larger sum (OffsetSumUnknown, being
// negative, loses to any sum).
func fresherOffsetSum(a, b int64) int64 {
	switch {
	case a == assign.OffsetSumLatest || b == assign.OffsetSumLatest:
		return assign.OffsetSumLatest
	default:
		return max(a, b)
	}
}

// taskPlan carries each member's partitions and its tasks (as user data) into SyncGroup.
type taskPlan struct {
	assignments map[string]kmsg.ConsumerMemberAssignment
}

func (p *taskPlan) IntoSyncAssignment() []kmsg.SyncGroupRequestGroupAssignment {
	ids := make([]string, 0, len(p.assignments))
	for id := range p.assignments {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	out := make([]kmsg.SyncGroupRequestGroupAssignment, 0, len(ids))
	for _, id := range ids {
		a := p.assignments[id]
		out = append(out, kmsg.SyncGroupRequestGroupAssignment{MemberID: id, MemberAssignment: a.AppendTo(nil)})
	}
	return out
}
