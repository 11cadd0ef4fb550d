package assign

// Offset sums with a special meaning in a Subscription, as in Kafka Streams' SubscriptionInfo.
const (
	// OffsetSumLatest is reported for a task the process runs as a RUNNING active: caught up by
	// definition (Kafka Streams' Task.LATEST_OFFSET).
	OffsetSumLatest int64 = -2
	// OffsetSumUnknown is reported for a task whose local state exists but whose offsets could not
	// be read; it counts as no usable state.
	OffsetSumUnknown int64 = -3
)

// noState is the lag of a client without state for a task: behind everyone with state.
const noState = int64(^uint64(0) >> 1)

// LagsFromOffsetSums turns the per-task offset sums a process reported into Client.TaskLags,
// given the sum of the changelog end offsets of each stateful task (the caller lists them).
// As Kafka Streams does, every task with a known end offset sum gets an entry, state or not: a
// process without state for a task lags by the whole changelog, so on an empty or small
// changelog even a new process counts as caught up and no warm-up is needed. A local sum above
// the end (a corrupted or foreign checkpoint) also counts as the whole changelog.
func LagsFromOffsetSums(offsetSums, endOffsetSums map[TaskID]int64) map[TaskID]int64 {
	lags := make(map[TaskID]int64, len(endOffsetSums))
	for t, end := range endOffsetSums {
		end = max(end, 0)
		local, ok := offsetSums[t]
		switch {
		case ok && local == OffsetSumLatest:
			lags[t] = 0
		case !ok || local < 0 || local > end:
			lags[t] = end
		default:
			lags[t] = end - local
		}
	}
	return lags
}
