package standby

// TaskLag is a standby task as an App reports it (App.Tasks, the status server's /tasks):
// where it stands on each changelog partition it applies.
type TaskLag struct {
	// TaskID is the task's id, "<subtopology>_<partition>".
	TaskID     string         `json:"taskId"`
	Changelogs []PartitionLag `json:"changelogs"`
}

// PartitionLag is where a standby stands on one changelog partition: the next offset to
// apply (-1: none yet) and the records left to the partition's end. An App reports its active
// tasks' input partitions the same way (rill.PartitionStatus).
type PartitionLag struct {
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
	Offset    int64  `json:"offset"`
	// Lag is nil while the partition's end is not known: a standby learns it from fetches
	// that return records.
	Lag *int64 `json:"lag,omitempty"`
}
