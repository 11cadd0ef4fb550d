package state

import "github.com/rillstreams/rill/processor"

// StoreBuilder opens a store for one task. It is attached to a topology once and called for
// every task that runs a processor connected to the store.
type StoreBuilder interface {
	Name() string
	Build(ctx StoreContext) (processor.Store, error)
}

// StoreContext is what a store builder needs to open one task's instance of a store. The
// runtime and the test driver fill it; a builder of one's own reads what it needs and may
// ignore the rest.
type StoreContext struct {
	ApplicationID string
	TaskID        processor.TaskID
	// Dir is the task's state directory (<state dir>/<application id>/<task id>); empty for
	// stores that keep nothing on disk.
	Dir string
	// Backend is what stores without a backend of their own use (in memory or RocksDB),
	// chosen by the runtime's or the test driver's configuration.
	Backend Backend
	// Changelog is where logged stores write their changes; nil when nothing is logged (the
	// test driver).
	Changelog ChangelogSink
	// Shared marks a store read by several goroutines (a global store): it is built to be
	// safe for that.
	Shared bool
	// Cache is the record cache of the task's stream thread, which stores built with caching
	// keep their writes in until a flush; nil (or a budget of 0) builds them uncached.
	Cache *RecordCache
	// Records is the task's record context: what cached stores keep with each write and
	// restore when they flush it.
	Records TaskContext
}
