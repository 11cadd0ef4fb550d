package assign

import "slices"

// AssignmentVersion is the version EncodeAssignment writes.
const AssignmentVersion = 1

// AssignmentInfo is the user data the group leader sends each consumer with its partitions.
type AssignmentInfo struct {
	// Active and Standby are the consumer's tasks (warm-ups are standbys).
	Active, Standby []TaskID
	// Version is the version the sender wrote, set by DecodeAssignment. EncodeAssignment
	// ignores it and always writes AssignmentVersion.
	Version int
	// HostTasks maps each application.server host:port to the tasks its process runs as active,
	// and HostStandbys to those it keeps standby: the metadata interactive queries route by
	// (see HostTasks).
	HostTasks    map[string][]TaskID
	HostStandbys map[string][]TaskID
	// ProbingRebalance asks the member to trigger a rebalance after
	// probing.rebalance.interval.ms (Output.ProbingRebalanceNeeded), so that the schedule
	// survives the leader leaving.
	ProbingRebalance bool
	// ErrorCode is 0, or a caller-defined code for a condition every member must act on (such
	// as missing source topics: shut down).
	ErrorCode int32
}

const flagProbing = 1 << 0

// ErrorShutdownRequested is the AssignmentInfo.ErrorCode telling every member to shut down:
// some member asked for it (Subscription.ShutdownRequested). Kafka Streams' AssignorError
// SHUTDOWN_REQUESTED has the same code.
const ErrorShutdownRequested = 4

// EncodeAssignment encodes a, version AssignmentVersion. Task lists are written sorted and
// without duplicates; hosts in order.
//
// Layout (version 1): version, flags (bit 0: probing rebalance), error code, actives,
// standbys, host → actives, host → standbys.
func EncodeAssignment(a AssignmentInfo) []byte {
	w := writer{b: make([]byte, 0, 16+2*(len(a.Active)+len(a.Standby)))}
	w.uvarint(AssignmentVersion)
	var flags uint64
	if a.ProbingRebalance {
		flags |= flagProbing
	}
	w.uvarint(flags)
	w.varint(int64(a.ErrorCode))
	w.tasks(a.Active)
	w.tasks(a.Standby)
	w.hostTasks(a.HostTasks)
	w.hostTasks(a.HostStandbys)
	return w.b
}

// DecodeAssignment decodes what EncodeAssignment wrote, in this or any later version. Unknown
// flags are ignored. Errors wrap ErrMalformed.
func DecodeAssignment(b []byte) (AssignmentInfo, error) {
	r := reader{what: "assignment", b: b}
	var a AssignmentInfo
	a.Version = r.version()
	flags := r.uvarint()
	a.ProbingRebalance = flags&flagProbing != 0
	code := r.varint()
	if r.err == nil && int64(int32(code)) != code {
		r.fail("error code %d out of range", code)
	}
	a.ErrorCode = int32(code)
	a.Active = r.tasks()
	a.Standby = r.tasks()
	a.HostTasks = r.hostTasks()
	a.HostStandbys = r.hostTasks()
	r.end(a.Version, AssignmentVersion)
	if r.err != nil {
		return AssignmentInfo{}, r.err
	}
	return a, nil
}

// hostTasks writes a host → tasks map: the number of hosts, then each host, in order, and its
// task list.
func (w *writer) hostTasks(m map[string][]TaskID) {
	hosts := make([]string, 0, len(m))
	for h := range m {
		hosts = append(hosts, h)
	}
	slices.Sort(hosts)
	w.uvarint(uint64(len(hosts)))
	for _, h := range hosts {
		w.str(h)
		w.tasks(m[h])
	}
}

func (r *reader) hostTasks() map[string][]TaskID {
	n := r.count(2)
	var m map[string][]TaskID
	prev := ""
	for i := range n {
		h := r.str()
		if r.err == nil && i > 0 && h <= prev {
			r.fail("host %q out of order", h)
		}
		prev = h
		ts := r.tasks()
		if r.err != nil {
			return nil
		}
		if m == nil {
			m = map[string][]TaskID{}
		}
		m[h] = ts
	}
	return m
}
