package assign

// SubscriptionVersion is the version EncodeSubscription writes.
const SubscriptionVersion = 2

// Subscription is the user data each consumer puts in its group member metadata. ProcessID,
// TaskOffsetSums and HostPort describe the process and are the same from each of its
// consumers; PrevActive and PrevStandby may be the consumer's own tasks (the balancer unions
// them per process and keeps them per consumer for Client.PrevByConsumer) or the whole
// process's.
type Subscription struct {
	ProcessID   string
	PrevActive  []TaskID
	PrevStandby []TaskID
	// TaskOffsetSums is, per task with local state, the sum of the store changelog offsets it
	// has applied, or OffsetSumLatest for a running active (see LagsFromOffsetSums).
	TaskOffsetSums map[TaskID]int64
	HostPort       string
	// ShutdownRequested asks the group leader to shut the whole application down (a stream
	// thread of this process failed, and its failure handler answered ShutdownApplication):
	// every member then gets an assignment with ErrorShutdownRequested. Since version 2.
	ShutdownRequested bool
	// Version is the version the sender wrote, set by DecodeSubscription. EncodeSubscription
	// ignores it and always writes SubscriptionVersion.
	Version int
}

const flagShutdownRequested = 1 << 0

// EncodeSubscription encodes s, version SubscriptionVersion. Task lists are written sorted
// and without duplicates; task ids must be non-negative and sub-topologies fit in 31 bits, or
// the result does not decode.
//
// Layout (version 2): version, process id, host:port, previous actives, previous standbys,
// offset sums, flags (bit 0: shutdown requested; version 1 ends before the flags).
func EncodeSubscription(s Subscription) []byte {
	w := writer{b: make([]byte, 0, 32+len(s.ProcessID)+len(s.HostPort)+2*(len(s.PrevActive)+len(s.PrevStandby))+6*len(s.TaskOffsetSums))}
	w.uvarint(SubscriptionVersion)
	w.str(s.ProcessID)
	w.str(s.HostPort)
	w.tasks(s.PrevActive)
	w.tasks(s.PrevStandby)
	w.taskValues(s.TaskOffsetSums)
	var flags uint64
	if s.ShutdownRequested {
		flags |= flagShutdownRequested
	}
	w.uvarint(flags)
	return w.b
}

// DecodeSubscription decodes what EncodeSubscription wrote, in this or any later version.
// Errors wrap ErrMalformed.
func DecodeSubscription(b []byte) (Subscription, error) {
	r := reader{what: "subscription", b: b}
	var s Subscription
	s.Version = r.version()
	s.ProcessID = r.str()
	s.HostPort = r.str()
	s.PrevActive = r.tasks()
	s.PrevStandby = r.tasks()
	s.TaskOffsetSums = r.taskValues()
	if s.Version >= 2 {
		s.ShutdownRequested = r.uvarint()&flagShutdownRequested != 0
	}
	r.end(s.Version, SubscriptionVersion)
	if r.err != nil {
		return Subscription{}, r.err
	}
	return s, nil
}
