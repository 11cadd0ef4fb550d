package state

import "github.com/rillstreams/rill/processor"

// Transactional is implemented by byte stores that can hold a task's writes back until its
// Kafka transaction commits (state/rocksdb; KIP-892 and KIP-1035 in Kafka Streams). Under
// exactly-once the runtime turns it on for every store of a task: writes since the last commit
// wait in memory, where the store's own reads and iterators see them, and are applied to
// disk in one atomic write together with the changelog offset they bring the store to, only
// once the transaction has committed. An aborted transaction drops them. So the store on disk
// always holds committed writes and knows the changelog offset they end at: after a crash it
// restores only the changelog's tail instead of being wiped and rebuilt.
//
// Like every store, a Transactional store belongs to one task's goroutine.
type Transactional interface {
	// BeginTransactions makes every later write wait for CommitTransaction. Calling it
	// again does nothing.
	BeginTransactions() error
	// CommitTransaction writes the buffered writes and changelogOffset (the offset of the
	// first changelog record the store does not hold yet) in one atomic write, durable
	// against a crash of the process. A negative offset deletes the one recorded before:
	// the store no longer vouches for one (at least once, or a store without changelog).
	CommitTransaction(changelogOffset int64) error
	// AbortTransaction drops the buffered writes. The task must be closed and reopened
	// afterwards: its processors may hold state derived from them.
	AbortTransaction() error
	// CommittedOffset returns the changelog offset recorded by the last commit; ok is
	// false when none was ever recorded.
	CommittedOffset() (offset int64, ok bool, err error)
	// Buffered is the number of writes waiting for the commit.
	Buffered() int
}

// TransactionalOf returns the transactional byte store beneath s (beneath logging and
// serdes) when s was built by this package's builders on a backend that supports
// transactions, else nil.
func TransactionalOf(s processor.Store) Transactional {
	if v, ok := s.(interface{ transactional() Transactional }); ok {
		return v.transactional()
	}
	t, _ := s.(Transactional)
	return t
}

func transactionalOf(raw any) Transactional {
	t, _ := raw.(Transactional)
	return t
}

func (s *KeyValueStore[K, V]) transactional() Transactional {
	if s.raw != nil {
		return transactionalOf(s.raw)
	}
	return transactionalOf(s.bytes)
}

func (s *WindowStore[K, V]) transactional() Transactional {
	if s.raw != nil {
		return transactionalOf(s.raw)
	}
	return transactionalOf(s.bytes)
}

func (s *SessionStore[K, V]) transactional() Transactional {
	if s.raw != nil {
		return transactionalOf(s.raw)
	}
	return transactionalOf(s.bytes)
}
