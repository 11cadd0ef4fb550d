package processor

// Store is what every state store implements. A task opens its stores before its processors'
// Init and closes them after their Close; processors get them from Context.StateStore and
// assert the concrete store type they were connected to.
type Store interface {
	// Name is the store name, unique in a topology.
	Name() string
	// Flush persists buffered writes; the task calls it before each commit.
	Flush() error
	// Close releases the store; the task calls it once.
	Close() error
}

// StoreContext is what a store builder needs to open one task's instance of a store.
type StoreContext struct {
	ApplicationID string
	TaskID        TaskID
	// Dir is the task's state directory (<state dir>/<application id>/<task id>); empty for
	// stores that keep nothing on disk.
	Dir string
	// Backend is the state.Backend (in memory or RocksDB) that stores without a backend of
	// their own use, chosen by the runtime's or the test driver's configuration. It is typed
	// any because package state builds on this one.
	Backend any
	// Changelog is the state.ChangelogSink logged stores write their changes to; nil when
	// nothing is logged (the test driver).
	Changelog any
	// Shared marks a store read by several goroutines (a global store): it is built to be
	// safe for that.
	Shared bool
	// Cache is the *state.RecordCache of the task's stream thread, which stores built with
	// caching keep their writes in until a flush; nil (or a budget of 0) builds them uncached.
	Cache any
	// Records is the task's state.TaskContext: the record context cached stores keep with
	// each write and restore when they flush it.
	Records any
}

// StoreBuilder opens a store for one task. It is attached to a topology once and called for
// every task that runs a processor connected to the store.
type StoreBuilder interface {
	Name() string
	Build(ctx StoreContext) (Store, error)
}
