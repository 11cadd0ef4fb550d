package engine

import (
	"fmt"

	"github.com/rillstreams/rill/processor"
	"github.com/rillstreams/rill/state"
)

// cacheFlusher is a store with a record cache (state.KeyValueStore built with caching).
type cacheFlusher interface {
	processor.Store
	Cached() bool
	FlushCache() error
}

var _ state.TaskContext = (*Task)(nil)

// cachedStores lists the task's cached stores in Kafka Streams' flush order: the order in
// which the sub-topology's processors (in topology order) first name them. A store upstream
// flushes first, so what it forwards into a cached store downstream is flushed in the same
// commit.
func cachedStores(topo *Subtopology, stores map[string]processor.Store) []cacheFlusher {
	var out []cacheFlusher
	seen := make(map[string]bool)
	for _, spec := range topo.Nodes {
		for _, name := range spec.Stores {
			if seen[name] {
				continue
			}
			seen[name] = true
			if c, ok := stores[name].(cacheFlusher); ok && c.Cached() {
				out = append(out, c)
			}
		}
	}
	return out
}

// FlushCaches flushes the task's record caches, store by store: what they hold is written to
// the stores beneath (and their changelogs) and forwarded downstream, where it may reach
// sinks. The owner calls it before every commit, before flushing the producer (Kafka Streams'
// StreamTask.prepareCommit); the test driver after every record unless told otherwise.
func (t *Task) FlushCaches() error {
	for _, c := range t.cached {
		if err := c.FlushCache(); err != nil {
			return fmt.Errorf("rill: task %s: flush cache of store %s: %w", t.id, c.Name(), err)
		}
	}
	return nil
}

// RecordContext is the record context of the current processor: what a cached store keeps
// with a write.
func (t *Task) RecordContext() state.RecordContext {
	rc := state.RecordContext{Timestamp: t.recTS, Headers: t.recHeaders, Partition: -1, Offset: -1}
	if t.current != nil {
		rc.Topic, rc.Partition, rc.Offset = t.current.Topic, t.current.Partition, t.current.Offset
	}
	return rc
}

// WithRecordContext runs fn as if the task were processing a record with context rc: a cached
// store flushing an entry, whose forwards and changelog records must carry the context of the
// write that made it. The context before is restored afterwards (flushes nest when a flush
// forwards into a store that evicts).
func (t *Task) WithRecordContext(rc state.RecordContext, fn func() error) error {
	prevCur, prevRec, prevTS, prevHeaders := t.current, t.flushRec, t.recTS, t.recHeaders
	t.flushRec = RawRecord{Topic: rc.Topic, Partition: rc.Partition, Offset: rc.Offset, Timestamp: rc.Timestamp,
		Headers: rc.Headers}
	t.current, t.recTS, t.recHeaders = &t.flushRec, rc.Timestamp, rc.Headers
	defer func() {
		t.flushRec, t.recTS, t.recHeaders = prevRec, prevTS, prevHeaders
		t.current = prevCur
	}()
	return fn()
}
