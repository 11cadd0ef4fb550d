package changelog

import (
	"context"
	"fmt"

	"go.uber.org/zap"

	cl "github.com/rillstreams/rill/changelog"
	"github.com/rillstreams/rill/processor"
)

// Vetting local state before trusting it. A task directory says where its stores stand in
// their changelogs (the checkpoint file, or under exactly-once the offsets the stores
// committed); restoration reads only what comes after. That is right only when the stores
// really hold the changelog up to there. Two ways it is not, both of which made rill lose or
// double data without a word:
//
//   - The state came from another log: a state directory reused against another cluster, or
//     against the same cluster after its changelog topics were deleted and recreated. The
//     checkpoint is then usually past the changelog's end (Kafka Streams detects exactly
//     this, logs a warning and wipes the task: TaskCorruptedException); when it is not, the
//     cluster id recorded beside the state (appdir.go) tells.
//   - A store's files are gone (deleted by hand, a disk replaced) while the checkpoint
//     stayed: the store opens empty and trusting the checkpoint restores only the tail.
//
// Vet handles both for one task: ahead reports a checkpoint past its changelog's
// high watermark, which makes the caller wipe and restore the whole task; the entries of
// stores that opened empty are dropped from cp, so those stores restore from the start.

// LogEnds is what vetting and restoring ask the brokers: the changelogs' ends.
type LogEnds interface {
	// HighWatermarks returns the end (committed or not) of each partition of the existing
	// topics among topics; a missing topic is absent.
	HighWatermarks(ctx context.Context, topics ...string) (map[string]map[int32]int64, error)
	// EndOffsets returns the read_committed end (last stable offset) of each partition.
	EndOffsets(ctx context.Context, topics ...string) (map[string]map[int32]int64, error)
}

// Vet checks cp, the offsets a task's stores claim to hold of their changelog
// partitions (logged: store → partition), against the changelogs and the stores. ahead
// tells that some offset is past its partition's end (or the partition is gone): the task's
// state does not come from these changelogs. Otherwise it returns cp without the entries of
// persistent stores that are empty.
func Vet(ctx context.Context, logs LogEnds, log *zap.Logger, id processor.TaskID, stores map[string]processor.Store,
	logged map[string]cl.TopicPartition, cp cl.Checkpoint) (vetted cl.Checkpoint, ahead bool, err error) {
	var topics []string
	for _, tp := range logged {
		if cp[tp] > 0 {
			topics = append(topics, tp.Topic)
		}
	}
	if len(topics) == 0 {
		return cp, false, nil
	}
	ends, err := logs.HighWatermarks(ctx, topics...)
	if err != nil {
		return nil, false, fmt.Errorf("rill: task %s: changelog end offsets: %w", id, err)
	}
	for _, tp := range logged {
		o := cp[tp]
		if o <= 0 {
			continue
		}
		end, ok := ends[tp.Topic][tp.Partition]
		if !ok || o > end {
			log.Warn("rill: local state is ahead of its changelog (another cluster's, or a changelog deleted "+
				"since); wiping the task's state and restoring it from the changelog", zap.Stringer("task", id),
				zap.String("changelog", tp.Topic), zap.Int32("partition", tp.Partition),
				zap.Int64("checkpoint", o), zap.Int64("changelogEnd", end), zap.Bool("changelogExists", ok))
			return nil, true, nil
		}
	}
	vetted = cl.Checkpoint{}
	for tp, o := range cp {
		vetted[tp] = o
	}
	for name, tp := range logged {
		s, ok := stores[name]
		if !ok || vetted[tp] <= 0 {
			continue
		}
		empty, known, err := Empty(s)
		if err != nil {
			return nil, false, fmt.Errorf("rill: task %s: store %s: %w", id, name, err)
		}
		if known && empty {
			log.Warn("rill: store is empty but its checkpoint says it holds its changelog up to an offset; "+
				"restoring it from the changelog's start", zap.Stringer("task", id), zap.String("store", name), zap.Int64("checkpoint", vetted[tp]))
			delete(vetted, tp)
		}
	}
	return vetted, false, nil
}
