package rocksdb

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"slices"
	"unsafe"

	"github.com/google/btree"
	"github.com/linxGnu/grocksdb"

	"github.com/rillstreams/rill/state"
)

// Transactions (state.Transactional): under exactly-once a store's writes wait in an
// overlay, an ordered map per column family, until the task's Kafka transaction commits;
// then they go to RocksDB in one WriteBatch together with the changelog offset they bring
// the store to. That is KIP-892's design; Kafka Streams uses RocksDB's WriteBatchWithIndex,
// whose C API cannot bound the batch side of its iterators in the RocksDB 7.8 Debian ships,
// so the overlay is Go's, merged into the store's cursors here.
//
// Every write of a store in transaction mode, restoration and standby updates included,
// reaches RocksDB through such a batch, and commit batches that record an offset are written
// with the WAL on (unsynced: a killed process loses nothing the kernel has): RocksDB then
// recovers after a crash to a prefix of the committed batches, the offset in the metadata
// column family matching the data exactly. Without the WAL it would recover to the last flush, which with
// segments in several column families is not one point in time (the C API has no atomic
// flush of several column families), and a changelog offset recorded with it could not be
// trusted. At least once, the runtime uses transaction mode as a write buffer (one batch per
// commit instead of a native call per write) and records no offset: those batches go
// without the WAL, and Flush before the checkpoint file makes them durable, as Kafka
// Streams does.

// metaCFName is the column family of a key-value store's metadata (its data is in the
// default one); segmented stores keep their metadata in the default column family.
const metaCFName = "rill.meta"

// metaOffset is the metadata key of the changelog offset the last commit recorded.
const metaOffset = "rill.changelog-offset"

// What a store knows of the offset in its metadata, to write deletes of it with the WAL
// only when there is one.
const (
	offsetUnknown = iota
	offsetPresent
	offsetAbsent
)

// ovEntry is one write in the overlay: a value, or a delete. Dirty entries wait for the
// commit; clean ones were committed and stay as a cache of what RocksDB holds. Entries are
// replaced, never changed (but for dirty turning false at a commit, which readers ignore),
// so iterators can keep the ones they were opened with.
type ovEntry struct {
	key, value []byte
	del        bool
	dirty      bool
}

func ovLess(a, b *ovEntry) bool { return bytes.Compare(a.key, b.key) < 0 }

// ovRef names a dirty key, for the commit and the abort.
type ovRef struct {
	cf  *grocksdb.ColumnFamilyHandle
	key []byte
}

// cacheBytes bounds what an overlay keeps of committed writes, per store: past it, a commit
// empties the overlay. Recently written keys are the ones a task reads again (an aggregate's
// row, a table's row), and under exactly-once commits come every 100 ms: without the cache
// nearly every read after a commit would go to RocksDB.
const cacheBytes = 8 << 20

// entryOverhead approximates an entry's memory beyond its key and value.
const entryOverhead = 80

// overlay is a store's writes not yet committed, and its recent committed ones, per column
// family (nil: the default one).
type overlay struct {
	cfs   map[*grocksdb.ColumnFamilyHandle]*btree.BTreeG[*ovEntry]
	dirty []ovRef // keys with a dirty entry, each once
	bytes int     // of every entry, clean or dirty
	probe ovEntry // search key of lookups, to avoid allocating one per Get

	// span's search bounds, collector and results, reused by every scan.
	lo, hi  ovEntry
	collect func(*ovEntry) bool
	found   []*ovEntry

	// allDirty marks an overlay emptied at every commit (txn_buffer.go): it keeps no dirty
	// list but a count, and allocates its entries from chunks.
	allDirty bool
	ndirty   int
	entries  []ovEntry // the current chunk of entries
	chunk    []byte    // the current chunk of key and value bytes
}

// newOverlay returns an empty overlay; allDirty for stores that keep no committed writes.
func newOverlay(allDirty bool) *overlay {
	return &overlay{cfs: map[*grocksdb.ColumnFamilyHandle]*btree.BTreeG[*ovEntry]{}, allDirty: allDirty}
}

// tree returns cf's tree, creating it.
func (o *overlay) tree(cf *grocksdb.ColumnFamilyHandle) *btree.BTreeG[*ovEntry] {
	t := o.cfs[cf]
	if t == nil {
		t = btree.NewG(16, ovLess)
		o.cfs[cf] = t
	}
	return t
}

// dirtyCount is the number of dirty entries.
func (o *overlay) dirtyCount() int {
	if o.allDirty {
		return o.ndirty
	}
	return len(o.dirty)
}

func (o *overlay) put(cf *grocksdb.ColumnFamilyHandle, key, value []byte, del bool) {
	if o.allDirty {
		o.putBuffered(cf, key, value, del)
		return
	}
	t := o.tree(cf)
	// Key and value share one allocation: this runs for every write of a task.
	buf := make([]byte, len(key)+len(value))
	n := copy(buf, key)
	e := &ovEntry{key: buf[:n:n], del: del, dirty: true}
	if !del {
		copy(buf[n:], value)
		e.value = buf[n:]
	}
	o.bytes += len(e.key) + len(e.value) + entryOverhead
	old, replaced := t.ReplaceOrInsert(e)
	if replaced {
		o.bytes -= len(old.key) + len(old.value) + entryOverhead
	}
	if !replaced || !old.dirty {
		o.dirty = append(o.dirty, ovRef{cf: cf, key: e.key})
	}
}

// lookup returns the overlay's entry of key, if any.
func (o *overlay) lookup(cf *grocksdb.ColumnFamilyHandle, key []byte) (*ovEntry, bool) {
	t := o.cfs[cf]
	if t == nil {
		return nil, false
	}
	o.probe.key = key
	e, ok := t.Get(&o.probe)
	o.probe.key = nil
	return e, ok
}

// abort drops the dirty entries: reads of their keys go to RocksDB again, which holds the
// committed values.
func (o *overlay) abort() {
	if o.allDirty {
		*o = *newOverlay(true) // everything was dirty
		return
	}
	for _, r := range o.dirty {
		o.probe.key = r.key
		if e, ok := o.cfs[r.cf].Delete(&o.probe); ok {
			o.bytes -= len(e.key) + len(e.value) + entryOverhead
		}
	}
	o.probe.key = nil
	o.dirty = o.dirty[:0]
}

// span returns the buffered writes of cf with keys in [lower, upper) (nil: open), by key:
// nil, without allocating, when there are none, which is what most scans of a stream-stream
// join or a windowed aggregation find (the overlay holds the writes of one commit interval,
// and a scan is bounded to one key).
func (o *overlay) span(cf *grocksdb.ColumnFamilyHandle, lower, upper []byte) []*ovEntry {
	t := o.cfs[cf]
	if t == nil || t.Len() == 0 {
		return nil
	}
	// Bounds and collector are the overlay's, set up once: a closure or search entries made
	// per call would be allocated per scan.
	if o.collect == nil {
		o.collect = func(e *ovEntry) bool {
			if o.hi.key != nil && bytes.Compare(e.key, o.hi.key) >= 0 {
				return false
			}
			o.found = append(o.found, e)
			return true
		}
	}
	o.found = o.found[:0]
	o.hi.key = upper
	if lower != nil {
		o.lo.key = lower
		t.AscendGreaterOrEqual(&o.lo, o.collect)
	} else {
		t.Ascend(o.collect)
	}
	o.lo.key, o.hi.key = nil, nil
	if len(o.found) == 0 {
		return nil
	}
	// The cursor keeps its own copy (several cursors may be open at once); found keeps only
	// its storage, and no entry alive.
	out := slices.Clone(o.found)
	clear(o.found)
	return out
}

// BeginTransactions turns on transaction mode (state.Transactional).
func (s *store) BeginTransactions() error {
	if s.db == nil {
		return s.closedErr()
	}
	if s.txn == nil {
		s.txn = newOverlay(s.noCache)
	}
	return nil
}

// Buffered is the number of writes waiting for the commit.
func (s *store) Buffered() int {
	if s.txn == nil {
		return 0
	}
	return s.txn.dirtyCount()
}

// CommitTransaction writes the buffered writes and the changelog offset atomically.
func (s *store) CommitTransaction(changelogOffset int64) error {
	return s.commitTxn(changelogOffset, nil)
}

// commitTxn writes the overlay, the offset (when not negative) and what extra adds in one
// batch, with the WAL on, and empties the overlay.
func (s *store) commitTxn(changelogOffset int64, extra func(wb *grocksdb.WriteBatch)) error {
	if s.db == nil {
		return s.closedErr()
	}
	if s.txn == nil {
		return s.errorf("commit: %s", "no transaction (BeginTransactions was not called)")
	}
	wb := grocksdb.NewWriteBatch()
	defer wb.Destroy()
	o := s.txn
	if o.bufferOnly() {
		o.writeBuffered(wb)
	}
	// In key order per column family, as RocksDB's memtable inserts best: sorting the
	// dirty keys costs less than walking a cache-sized tree, and inserting them as they
	// came made window-heavy workloads markedly slower.
	slices.SortFunc(o.dirty, func(a, b ovRef) int {
		if a.cf != b.cf {
			return cmp.Compare(uintptr(unsafe.Pointer(a.cf)), uintptr(unsafe.Pointer(b.cf)))
		}
		return bytes.Compare(a.key, b.key)
	})
	for _, r := range o.dirty {
		o.probe.key = r.key
		e, ok := o.cfs[r.cf].Get(&o.probe)
		if !ok || !e.dirty {
			continue
		}
		switch {
		case r.cf == nil && e.del:
			wb.Delete(e.key)
		case r.cf == nil:
			wb.Put(e.key, e.value)
		case e.del:
			wb.DeleteCF(r.cf, e.key)
		default:
			wb.PutCF(r.cf, e.key, e.value)
		}
	}
	o.probe.key = nil
	// Only a batch that records an offset, or deletes one recorded before, needs the WAL:
	// without one (at least once) the store is made durable by Flush before a checkpoint
	// file, as ever. Deleting goes with the WAL too, or a crash could bring back an old
	// offset over data written since without it.
	wal := false
	if changelogOffset >= 0 {
		var b [8]byte
		binary.BigEndian.PutUint64(b[:], uint64(changelogOffset))
		wb.PutCF(s.metaCF, []byte(metaOffset), b[:])
		wal = true
	} else if s.offsetState != offsetAbsent {
		if s.offsetState == offsetUnknown {
			if _, ok, err := s.CommittedOffset(); err != nil {
				return err
			} else if !ok {
				s.offsetState = offsetAbsent
			}
		}
		if s.offsetState != offsetAbsent {
			wb.DeleteCF(s.metaCF, []byte(metaOffset))
			wal = true
		}
	}
	if extra != nil {
		extra(wb)
	}
	if wb.Count() > 0 {
		wo := s.wo
		if wal {
			wo = s.walWO
		}
		if err := s.db.Write(wo, wb); err != nil {
			return s.errorf("commit: %w", err)
		}
	}
	s.offsetState = offsetPresent
	if changelogOffset < 0 {
		s.offsetState = offsetAbsent
	}
	// The entries stay, clean: a cache of what RocksDB now holds, within cacheBytes.
	if o.bytes > cacheBytes || s.noCache {
		s.txn = newOverlay(s.noCache)
		return nil
	}
	for _, r := range o.dirty {
		o.probe.key = r.key
		if e, ok := o.cfs[r.cf].Get(&o.probe); ok {
			e.dirty = false
		}
	}
	o.probe.key = nil
	o.dirty = o.dirty[:0]
	return nil
}

// AbortTransaction drops the buffered writes.
func (s *store) AbortTransaction() error {
	if s.txn != nil {
		s.txn.abort()
	}
	return nil
}

// CommittedOffset reads the changelog offset of the last commit.
func (s *store) CommittedOffset() (int64, bool, error) {
	if s.db == nil {
		return 0, false, s.closedErr()
	}
	v, err := s.get(s.metaCF, []byte(metaOffset))
	if err != nil || len(v) != 8 {
		return 0, false, err
	}
	return int64(binary.BigEndian.Uint64(v)), true, nil
}

var (
	_ state.Transactional = (*kvStore)(nil)
	_ state.Transactional = (*windowStore)(nil)
	_ state.Transactional = (*sessionStore)(nil)
)

// mergeCursor is the overlay side of a cursor in transaction mode: the buffered writes in
// the cursor's bounds, taken when it opened (a snapshot, as RocksDB's iterators are), merged
// with the database's entries. Buffered writes win over stored ones of the same key, and
// buffered deletes hide them. A cursor moves one way: first then next, or last then prev.
type mergeCursor struct {
	ents    []*ovEntry
	i       int  // the current overlay entry (forward: next to consider; reverse: too)
	dbOK    bool // the database cursor is at an entry (in dbk, dbv)
	dbk     []byte
	dbv     []byte
	fromOV  bool // the current entry came from the overlay
	fromDB  bool // ... or the database (both when the overlay shadowed it)
	reverse bool
}

// moveMerged is move for a cursor with an overlay.
func (c *cursor) moveMerged(m int) bool {
	mc := c.mc
	switch m {
	case moveFirst, moveLast:
		mc.reverse = m == moveLast
		mc.i = 0
		if mc.reverse {
			mc.i = len(mc.ents) - 1
		}
		mc.dbOK = c.step(m)
		mc.dbk, mc.dbv = c.k, c.v
	default:
		step := 1
		if mc.reverse {
			step = -1
		}
		if mc.fromOV {
			mc.i += step
		}
		if mc.fromDB {
			mc.dbOK = c.step(m)
			mc.dbk, mc.dbv = c.k, c.v
		}
	}
	for {
		ovOK := mc.i >= 0 && mc.i < len(mc.ents)
		if !ovOK && !mc.dbOK {
			mc.fromOV, mc.fromDB = false, false
			c.k, c.v = nil, nil
			return false
		}
		cmp := 0
		switch {
		case !ovOK:
			cmp = 1 // the database's entry comes first
		case !mc.dbOK:
			cmp = -1
		default:
			cmp = bytes.Compare(mc.ents[mc.i].key, mc.dbk)
			if mc.reverse {
				cmp = -cmp
			}
		}
		mc.fromOV, mc.fromDB = cmp <= 0, cmp >= 0
		if mc.fromOV && mc.ents[mc.i].del {
			// A buffered delete: skip it, and the stored entry it hides.
			step := 1
			if mc.reverse {
				step = -1
			}
			mc.i += step
			if mc.fromDB {
				mc.dbOK = c.step(dirOf(mc.reverse))
				mc.dbk, mc.dbv = c.k, c.v
			}
			continue
		}
		if mc.fromOV {
			c.k, c.v = mc.ents[mc.i].key, mc.ents[mc.i].value
		} else {
			c.k, c.v = mc.dbk, mc.dbv
		}
		return true
	}
}

func dirOf(reverse bool) int {
	if reverse {
		return movePrev
	}
	return moveNext
}
