package changelog

import (
	"errors"
	"fmt"

	cl "github.com/rillstreams/rill/changelog"
	"github.com/rillstreams/rill/processor"
	"github.com/rillstreams/rill/state"
)

// Transactional state under exactly-once (KIP-892, KIP-1035): every store of a task whose
// backend supports it (RocksDB) holds the task's writes in memory until the Kafka transaction
// that carries their changelog records commits, then applies them together with the
// changelog offset they end at, in one atomic write; an aborted transaction drops them. A
// store on disk therefore only ever holds committed writes and knows where in its changelog
// it stands, so a task that crashed, lost its partitions or saw its transaction abort
// restores only the changelog's tail from that offset instead of being wiped and rebuilt.
// Restoration and standbys write through the same mechanism, committing every
// RestoreEvery records and every applied batch, so their offsets are exact too.
//
// At least once the same buffering serves as a write buffer: writes reach RocksDB in one
// batch per commit (or per maxBufferedWrites) instead of one native call each, which is most
// of a stateful task's cost (docs/benchmarks.md). No offset is recorded then, and an offset
// recorded before is deleted: the changelog may lag the stores, so only the checkpoint file,
// written after the producer is flushed, can say where they stand.

// Txns is the transactional stores of one task (active or standby).
type Txns struct {
	// exact records changelog offsets with commits (exactly-once); at least once they are
	// deleted instead.
	exact  bool
	stores map[string]state.Transactional // by store name
	logged map[string]cl.TopicPartition   // store → changelog partition, for logged stores
	// committed is the offset each store's last commit recorded, to skip commits that
	// would change nothing.
	committed map[string]int64
}

// NewTxns finds the transactional stores among stores.
func NewTxns(stores map[string]processor.Store, logged map[string]cl.TopicPartition, exact bool) *Txns {
	x := &Txns{exact: exact, stores: map[string]state.Transactional{}, logged: logged, committed: map[string]int64{}}
	for name, s := range stores {
		if t := state.TransactionalOf(s); t != nil {
			x.stores[name] = t
			x.committed[name] = -2 // unknown: the first commit writes (or deletes) the offset
		}
	}
	return x
}

// StoredOffsets returns the changelog offsets the stores' last commits recorded. trusted is
// false when some logged persistent store cannot vouch for its content: its backend has no
// transactions, or it never committed in a directory that existed before (a store written
// at least once, or by an older version). Such a task directory must be wiped.
func (x *Txns) StoredOffsets(stores map[string]processor.Store, existed bool) (cp cl.Checkpoint, trusted bool, err error) {
	cp = cl.Checkpoint{}
	trusted = true
	for name, tp := range x.logged {
		s, ok := stores[name]
		if !ok || !Persistent(s) {
			continue
		}
		t := x.stores[name]
		if t == nil {
			trusted = false
			continue
		}
		off, ok, err := t.CommittedOffset()
		if err != nil {
			return nil, false, err
		}
		switch {
		case ok:
			cp[tp] = off
			x.committed[name] = off
		case existed:
			trusted = false
		}
	}
	return cp, trusted, nil
}

// Begin puts every store in transaction mode.
func (x *Txns) Begin() error {
	for name, t := range x.stores {
		if err := t.BeginTransactions(); err != nil {
			return fmt.Errorf("rill: store %s: %w", name, err)
		}
	}
	return nil
}

// Commit applies every store's buffered writes with its offset in offsets (exactly-once;
// none for stores that are not logged). At least once it deletes the offsets instead.
func (x *Txns) Commit(offsets cl.Checkpoint) error {
	var errs []error
	for name, t := range x.stores {
		off := int64(-1)
		if tp, ok := x.logged[name]; ok && x.exact {
			if o, ok := offsets[tp]; ok {
				off = o
			}
		}
		if t.Buffered() == 0 && off == x.committed[name] {
			continue
		}
		if err := t.CommitTransaction(off); err != nil {
			errs = append(errs, fmt.Errorf("rill: commit store %s: %w", name, err))
			continue
		}
		x.committed[name] = off
	}
	return errors.Join(errs...)
}

// Buffered is the number of writes the stores hold for the next commit.
func (x *Txns) Buffered() int {
	n := 0
	for _, t := range x.stores {
		n += t.Buffered()
	}
	return n
}

// Abort drops every store's buffered writes and tells how many there were.
func (x *Txns) Abort() int {
	n := 0
	for _, t := range x.stores {
		n += t.Buffered()
		_ = t.AbortTransaction()
	}
	return n
}

// WipeNeeded tells whether closing dirty must wipe the task's state: when some logged
// persistent store writes straight to disk, its writes since the last commit may be ones
// that never happened.
func (x *Txns) WipeNeeded(stores map[string]processor.Store) bool {
	for name := range x.logged {
		if s, ok := stores[name]; ok && Persistent(s) && x.stores[name] == nil {
			return true
		}
	}
	return false
}
