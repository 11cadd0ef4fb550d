package standby

import (
	"fmt"

	"github.com/rillstreams/rill/changelog"
	"github.com/rillstreams/rill/processor"
)

// UpdateListener is told how a standby replica keeps its copy of a store up to date (Kafka
// Streams' StandbyUpdateListener). A standby applies the store's changelog partition as it
// grows, in batches, for as long as this instance keeps the standby.
//
// The methods are called on the stream thread that owns the standby, so they need no lock of
// their own, but they hold up that thread's processing: keep them fast. The restoration of an
// active task reports to changelog.RestoreListener instead.
type UpdateListener interface {
	// OnUpdateStart is called when the standby starts applying the store's changelog
	// partition: start is the first offset it reads (after what its checkpoint recorded).
	OnUpdateStart(store string, tp changelog.TopicPartition, start int64)
	// OnBatchLoaded is called after each batch applied to the store of task: batchEnd is the
	// offset of the batch's last record, n the records it applied, end the partition's end
	// offset as last seen (end-batchEnd-1 is what the standby still lags).
	OnBatchLoaded(store string, tp changelog.TopicPartition, task processor.TaskID, batchEnd, n, end int64)
	// OnUpdateSuspended is called when the standby stops applying: storeOffset is the offset
	// of the last record the store holds, end the partition's end offset as last seen, and
	// reason why it stopped.
	OnUpdateSuspended(store string, tp changelog.TopicPartition, storeOffset, end int64, reason SuspendReason)
}

// SuspendReason tells why a standby stopped applying a changelog (Kafka Streams'
// StandbyUpdateListener.SuspendReason).
type SuspendReason int

const (
	// Migrated: a rebalance took the standby away from this instance.
	Migrated SuspendReason = iota
	// Promoted: this instance became the task's active owner; the task restores from where
	// the standby stopped.
	Promoted
)

// String returns Kafka Streams' name of the reason: MIGRATED or PROMOTED.
func (r SuspendReason) String() string {
	switch r {
	case Migrated:
		return "MIGRATED"
	case Promoted:
		return "PROMOTED"
	}
	return fmt.Sprintf("SuspendReason(%d)", int(r))
}
