package runtime

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/rillstreams/rill/changelog"
	"github.com/rillstreams/rill/internal/assign"
	"github.com/rillstreams/rill/processor"
)

// taskDirs gives each task state directory of the process to one stream thread at a time.
// When a task moves between two threads of one process, their rebalance callbacks run
// concurrently, and the new owner may open the directory before the old one has closed it;
// RocksDB allows a single opener. The new owner waits (Kafka Streams' state directory lock).
type taskDirs struct {
	// mu protects owner: the thread index holding each task directory.
	mu    sync.Mutex
	owner map[processor.TaskID]int
}

// acquire takes id's directory for thread, waiting while another thread holds it. A thread
// may acquire a directory it holds again.
func (d *taskDirs) acquire(ctx context.Context, id processor.TaskID, thread int) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	for {
		if d.tryAcquire(id, thread) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("rill: task %s: state directory still held by another stream thread: %w", id, ctx.Err())
		case <-time.After(5 * time.Millisecond):
		}
	}
}

func (d *taskDirs) tryAcquire(id processor.TaskID, thread int) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.owner == nil {
		d.owner = map[processor.TaskID]int{}
	}
	if o, ok := d.owner[id]; ok && o != thread {
		return false
	}
	d.owner[id] = thread
	return true
}

// release gives id's directory up, if thread holds it.
func (d *taskDirs) release(id processor.TaskID, thread int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if o, ok := d.owner[id]; ok && o == thread {
		delete(d.owner, id)
	}
}

// changelogPartitions returns the changelog partition of each logged store of a task.
func (r *Runtime) changelogPartitions(id processor.TaskID) map[string]changelog.TopicPartition {
	out := map[string]changelog.TopicPartition{}
	sub := r.subs[id.Subtopology]
	if sub == nil {
		return out
	}
	for _, sb := range sub.Stores {
		if l, ok := sb.(interface{ Logged() bool }); ok && l.Logged() {
			out[sb.Name()] = changelog.TopicPartition{Topic: changelog.TopicName(r.cfg.ApplicationID, sb.Name()), Partition: id.Partition}
		}
	}
	return out
}

// diskOffsetSums reads the checkpoint of every stateful task directory of the app and returns,
// per task, the sum of its changelog offsets: the local state the instance could resume from
// (KIP-441's offset sums). Directories without a checkpoint are left out: under exactly-once
// they are wiped when opened, and at least once they were never checkpointed.
func (r *Runtime) diskOffsetSums() map[assign.TaskID]int64 {
	out := map[assign.TaskID]int64{}
	entries, err := os.ReadDir(filepath.Join(r.cfg.StateDir, r.cfg.ApplicationID))
	if err != nil {
		return out
	}
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		t, err := assign.ParseTaskID(e.Name())
		if err != nil || !r.stateful[t.Subtopology] {
			continue
		}
		id := processor.TaskID{Subtopology: t.Subtopology, Partition: t.Partition}
		cp, err := changelog.ReadCheckpoint(r.stateDirFor(id))
		if err != nil {
			out[t] = assign.OffsetSumUnknown
			continue
		}
		var sum int64
		found := false
		for _, tp := range r.changelogPartitions(id) {
			if o, ok := cp[tp]; ok && o >= 0 {
				sum += o
				found = true
			}
		}
		if found {
			out[t] = sum
		}
	}
	return out
}
