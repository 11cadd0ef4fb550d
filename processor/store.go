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
