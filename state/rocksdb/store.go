package rocksdb

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/linxGnu/grocksdb"

	"github.com/rillstreams/rill/state"
)

// store is what every store of the package is built on: one RocksDB instance, its native
// options and the iterators open on it.
//
// Like every rill store it belongs to one task and its goroutine, so it takes no locks.
// RocksDB would crash the process if the DB were closed under a live iterator, or an
// iterator used after its DB closed; store prevents both by tracking its iterators and
// releasing them (and any native object they hold) before closing the DB. Iterators check
// that they are still live before each native call.
type store struct {
	backend *Backend
	name    string
	path    string
	owner   interface{ Close() error } // the store type wrapping this one, for Backend.Close
	// handles lists the column family handles to destroy before the DB closes (segmented
	// stores); nil for stores with only the default column family.
	handles func() []*grocksdb.ColumnFamilyHandle

	opts *storeOptions
	db   *grocksdb.DB // nil once closed
	wo   *grocksdb.WriteOptions
	// walWO writes commit batches of transactions, with the WAL (see txn.go).
	walWO *grocksdb.WriteOptions
	// metaCF holds the store's metadata (the changelog offset of transactions).
	metaCF *grocksdb.ColumnFamilyHandle
	// txn buffers writes in transaction mode (state.Transactional); nil: they go to the DB.
	txn *overlay
	// noCache empties the overlay at every commit instead of keeping committed writes.
	noCache bool
	// offsetState is what is known of the changelog offset in metaCF (offsetUnknown...).
	offsetState int
	ro          *grocksdb.ReadOptions // point reads; iterators take theirs from pool
	fo          *grocksdb.FlushOptions

	nat   natives              // native pointers for the calls of native.go
	batch *grocksdb.WriteBatch // two-key writes when natives are unavailable

	iters   iterNode    // sentinel of the list of open iterators
	closing bool        // set by Close before it releases the iterators left open
	pool    []*boundsRO // read options of closed iterators, for reuse
	bufs    [][]byte    // key and value buffers of closed iterators, for reuse
}

func newStore(b *Backend, name, path string, opts *storeOptions) *store {
	s := &store{backend: b, name: name, path: path, opts: opts}
	s.iters.prev, s.iters.next = &s.iters, &s.iters
	s.wo = grocksdb.NewDefaultWriteOptions()
	// Kafka Streams writes without a WAL: the changelog topic is the source of truth and
	// a store is restored from it after a crash, from the offset of the last checkpoint,
	// which is written only after Flush has persisted the memtables. A WAL would write
	// every record twice to disk for nothing.
	s.wo.DisableWAL(true)
	s.walWO = grocksdb.NewDefaultWriteOptions()
	s.ro = grocksdb.NewDefaultReadOptions()
	s.fo = grocksdb.NewDefaultFlushOptions()
	s.fo.SetWait(true)
	return s
}

// openPlain opens a key-value store's DB: its data in the default column family, its
// metadata in metaCFName (created when missing).
func (s *store) openPlain() error {
	names := []string{defaultCFName}
	if _, err := os.Stat(filepath.Join(s.path, "CURRENT")); err == nil {
		if names, err = grocksdb.ListColumnFamilies(s.opts.opts, s.path); err != nil {
			return s.errorf("list column families of %s: %w", s.path, err)
		}
	}
	if !slices.Contains(names, metaCFName) {
		names = append(names, metaCFName)
	}
	cfOpts := make([]*grocksdb.Options, len(names))
	for i := range cfOpts {
		cfOpts[i] = s.opts.opts
	}
	db, handles, err := grocksdb.OpenDbColumnFamilies(s.opts.opts, s.path, names, cfOpts)
	if err != nil {
		return s.errorf("open %s: %w", s.path, err)
	}
	s.db = db
	s.metaCF = handles[slices.Index(names, metaCFName)]
	// Data goes through the default column family's native calls (a nil handle); every
	// handle is destroyed at close.
	s.handles = func() []*grocksdb.ColumnFamilyHandle { return handles }
	s.initNatives()
	return nil
}

// errorf returns an error about this store.
func (s *store) errorf(format string, args ...any) error {
	return fmt.Errorf("rill: rocksdb store %q: "+format, append([]any{s.name}, args...)...)
}

// closedErr is returned by operations on a closed store.
func (s *store) closedErr() error {
	return fmt.Errorf("rill: rocksdb store %q: %w", s.name, state.ErrClosed)
}

// shutdown releases the open iterators, runs persist (a last flush), destroys the column
// family handles, closes the DB and frees the native options. It reports persist's error; the store is
// closed either way.
func (s *store) shutdown(persist func() error) error {
	s.closing = true
	s.releaseIterators()
	err := persist()
	if s.handles != nil {
		// Column family handles must go before the DB. Listed only now: releasing the
		// iterators may have destroyed some.
		for _, h := range s.handles() {
			h.Destroy()
		}
	}
	s.db.Close()
	s.db = nil
	s.free()
	s.backend.forget(s)
	return err
}

// free destroys the native options; the DB must be closed (or never opened).
func (s *store) free() {
	s.freeNatives()
	for _, p := range s.pool {
		p.ro.Destroy()
	}
	s.pool = nil
	s.wo.Destroy()
	s.walWO.Destroy()
	s.ro.Destroy()
	s.fo.Destroy()
	s.opts.destroy()
}

// flushCF flushes the memtables of cf (the default column family when nil) to disk.
func (s *store) flushCF(cf *grocksdb.ColumnFamilyHandle) error {
	var err error
	if cf == nil {
		err = s.db.Flush(s.fo)
	} else {
		err = s.db.FlushCF(cf, s.fo)
	}
	if err != nil {
		return s.errorf("flush: %w", err)
	}
	return nil
}
