package changelog

// RestoreListener is told about the restoration of a task's state stores from their changelog
// topics (Kafka Streams' StateRestoreListener): before a task processes a record, each of its
// logged stores is brought up to the end of its changelog partition, from the offset its
// checkpoint recorded (or from the start when the task directory could not be trusted).
//
// The methods are called on the stream thread that restores, one store partition at a time,
// so they need no lock of their own, but they hold up restoration and the rebalance it is part
// of: keep them fast, and hand slow work (a network report) to a goroutine of your own.
// Global stores report too; a standby replica applying changelogs reports to
// standby.UpdateListener instead.
type RestoreListener interface {
	// OnRestoreStart is called once a store's changelog partition is about to be restored:
	// start is the first offset to read, end the partition's end offset (the offset after the
	// last record to restore).
	OnRestoreStart(store string, tp TopicPartition, start, end int64)
	// OnBatchRestored is called after each batch of records is applied to the store:
	// batchEnd is the offset of the batch's last record, n the number of records it applied.
	OnBatchRestored(store string, tp TopicPartition, batchEnd, n int64)
	// OnRestoreEnd is called when the store has reached end: total is the number of records
	// restored since OnRestoreStart.
	OnRestoreEnd(store string, tp TopicPartition, total int64)
	// OnRestoreSuspended is called instead of OnRestoreEnd when the restoration stops before
	// the end because the task left this instance (a rebalance moved it, or the App is
	// closing): total is the number of records restored so far. Those records stay in the
	// local store and are checkpointed, so a later restoration resumes after them.
	OnRestoreSuspended(store string, tp TopicPartition, total int64)
}
