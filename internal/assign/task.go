package assign

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// TaskID names a task: one sub-topology instance for one input partition, printed as Kafka Streams
// prints it, "<subtopology>_<partition>". It has the same fields as processor.TaskID, so the two
// convert into each other directly; this package keeps its own type to stay free of imports.
type TaskID struct {
	Subtopology int
	Partition   int32
}

func (t TaskID) String() string {
	return strconv.Itoa(t.Subtopology) + "_" + strconv.FormatInt(int64(t.Partition), 10)
}

// ParseTaskID parses "<subtopology>_<partition>".
func ParseTaskID(s string) (TaskID, error) {
	sub, part, ok := strings.Cut(s, "_")
	n, err1 := strconv.Atoi(sub)
	p, err2 := strconv.ParseInt(part, 10, 32)
	if !ok || err1 != nil || err2 != nil || n < 0 || p < 0 {
		return TaskID{}, fmt.Errorf("rill: invalid task id %q, want <subtopology>_<partition>", s)
	}
	return TaskID{Subtopology: n, Partition: int32(p)}, nil
}

// Compare orders tasks by sub-topology, then partition: the order of every list this package returns.
func (t TaskID) Compare(u TaskID) int {
	if c := cmp.Compare(t.Subtopology, u.Subtopology); c != 0 {
		return c
	}
	return cmp.Compare(t.Partition, u.Partition)
}

func (t TaskID) valid() bool { return t.Subtopology >= 0 && t.Partition >= 0 }

// sortedTasks returns the tasks in order, without duplicates, as a new slice (nil when empty).
func sortedTasks(ts []TaskID) []TaskID {
	if len(ts) == 0 {
		return nil
	}
	out := slices.Clone(ts)
	slices.SortFunc(out, TaskID.Compare)
	return slices.Compact(out)
}

// setToSorted returns the members of a task set in order (nil when empty).
func setToSorted(set map[TaskID]bool) []TaskID {
	if len(set) == 0 {
		return nil
	}
	out := make([]TaskID, 0, len(set))
	for t := range set {
		out = append(out, t)
	}
	slices.SortFunc(out, TaskID.Compare)
	return out
}
