package runtime

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"

	"go.uber.org/zap"

	"github.com/rillstreams/rill/changelog"
	"github.com/rillstreams/rill/processor"
	"github.com/rillstreams/rill/state"
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
// vetCheckpoint handles both for one task: ahead reports a checkpoint past its changelog's
// high watermark, which makes the caller wipe and restore the whole task; the entries of
// stores that opened empty are dropped from cp, so those stores restore from the start.

// vetCheckpoint checks cp, the offsets a task's stores claim to hold of their changelog
// partitions (logged: store → partition), against the changelogs and the stores. ahead
// tells that some offset is past its partition's end (or the partition is gone): the task's
// state does not come from these changelogs. Otherwise it returns cp without the entries of
// persistent stores that are empty.
func (th *thread) vetCheckpoint(ctx context.Context, id processor.TaskID, stores map[string]processor.Store,
	logged map[string]changelog.TopicPartition, cp changelog.Checkpoint) (vetted changelog.Checkpoint, ahead bool, err error) {
	var topics []string
	for _, tp := range logged {
		if cp[tp] > 0 {
			topics = append(topics, tp.Topic)
		}
	}
	if len(topics) == 0 {
		return cp, false, nil
	}
	ends, err := th.rt.admin.HighWatermarks(ctx, topics...)
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
			th.log.Warn("rill: local state is ahead of its changelog (another cluster's, or a changelog deleted "+
				"since); wiping the task's state and restoring it from the changelog", zapTask(id),
				zap.String("changelog", tp.Topic), zap.Int32("partition", tp.Partition),
				zapInt64("checkpoint", o), zapInt64("changelogEnd", end), zap.Bool("changelogExists", ok))
			return nil, true, nil
		}
	}
	vetted = changelog.Checkpoint{}
	for tp, o := range cp {
		vetted[tp] = o
	}
	for name, tp := range logged {
		s, ok := stores[name]
		if !ok || vetted[tp] <= 0 {
			continue
		}
		empty, known, err := storeEmpty(s)
		if err != nil {
			return nil, false, fmt.Errorf("rill: task %s: store %s: %w", id, name, err)
		}
		if known && empty {
			th.log.Warn("rill: store is empty but its checkpoint says it holds its changelog up to an offset; "+
				"restoring it from the changelog's start", zapTask(id), zap.String("store", name), zapInt64("checkpoint", vetted[tp]))
			delete(vetted, tp)
		}
	}
	return vetted, false, nil
}

// storeEmpty tells whether a store built by package state holds no entry; known is false
// for stores it cannot look into (a user's own store kind), which are trusted as before.
// An empty store whose checkpoint is positive is restored from the start: right if its files
// were lost, merely slower if every key had been deleted.
func storeEmpty(s processor.Store) (empty, known bool, err error) {
	type iter interface {
		Next() bool
		Err() error
		Close() error
	}
	first := func(it iter, err error) (bool, bool, error) {
		if err != nil {
			return false, false, err
		}
		has := it.Next()
		return !has, true, errors.Join(it.Err(), it.Close())
	}
	switch v := s.(type) {
	case interface {
		Bytes() state.KeyValueBytesStore
	}:
		it, err := v.Bytes().All()
		return first(it, err)
	case interface{ Bytes() state.WindowBytesStore }:
		it, err := v.Bytes().All()
		return first(it, err)
	case interface {
		Bytes() state.SessionBytesStore
	}:
		it, err := v.Bytes().FindSessionsRange(nil, nil, math.MinInt64, math.MaxInt64)
		return first(it, err)
	}
	return false, false, nil
}

// wipeTaskDir empties a task directory (stores, checkpoint) and leaves it in place, owner-only.
func wipeTaskDir(dir string) error {
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	return os.MkdirAll(dir, dirMode)
}

// dirMode and fileMode are the permissions of everything rill creates under the state
// directory: owner-only, as Kafka Streams (state can hold anything the records held).
const (
	dirMode  os.FileMode = 0o700
	fileMode os.FileMode = 0o600
)
