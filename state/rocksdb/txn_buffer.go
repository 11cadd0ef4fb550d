package rocksdb

import (
	"cmp"
	"slices"
	"unsafe"

	"github.com/linxGnu/grocksdb"
)

// Overlays of stores without a cache of committed writes (noCache: window and session
// stores) are emptied at every commit and abort, so every entry they hold is dirty. They
// take a cheaper path, measured on rill-bench's windowed workloads (docs/benchmarks.md):
//
//   - no list of dirty keys (32 bytes per write, sorted and looked up again at the commit):
//     the commit walks each column family's tree, which is in key order already;
//   - entries and their key and value bytes are carved from chunks instead of two heap
//     allocations per write. Nothing is freed one by one: an entry replaced, or the whole
//     overlay dropped at the commit, is garbage with its chunk once no cursor holds it. Key
//     and value chunks hold no pointers, so the collector does not scan them.
//
// Entries are still never changed once in a tree: a cursor that took them keeps valid ones
// after the overlay is dropped.

// chunkBytes is the size of the chunks keys and values are carved from; larger ones get an
// allocation of their own.
const chunkBytes = 32 << 10

// entriesPerChunk is the number of entries allocated together.
const entriesPerChunk = 128

// bufferOnly tells whether the overlay holds dirty entries only (see above).
func (o *overlay) bufferOnly() bool { return o.allDirty }

// newEntry returns a zeroed entry from the current chunk of entries.
func (o *overlay) newEntry() *ovEntry {
	if len(o.entries) == cap(o.entries) {
		o.entries = make([]ovEntry, 0, entriesPerChunk)
	}
	o.entries = o.entries[:len(o.entries)+1]
	return &o.entries[len(o.entries)-1]
}

// alloc returns n bytes of storage for a key and value, capacity n (so that nothing appends
// into the next one).
func (o *overlay) alloc(n int) []byte {
	if n > chunkBytes/8 {
		return make([]byte, n)
	}
	if cap(o.chunk)-len(o.chunk) < n {
		o.chunk = make([]byte, 0, chunkBytes)
	}
	b := o.chunk[len(o.chunk) : len(o.chunk)+n : len(o.chunk)+n]
	o.chunk = o.chunk[:len(o.chunk)+n]
	return b
}

// putBuffered is put for an overlay of dirty entries only.
func (o *overlay) putBuffered(cf *grocksdb.ColumnFamilyHandle, key, value []byte, del bool) {
	t := o.tree(cf)
	buf := o.alloc(len(key) + len(value))
	n := copy(buf, key)
	e := o.newEntry()
	e.key, e.del, e.dirty = buf[:n:n], del, true
	if !del {
		copy(buf[n:], value)
		e.value = buf[n:]
	}
	o.bytes += len(e.key) + len(e.value) + entryOverhead
	old, replaced := t.ReplaceOrInsert(e)
	if replaced {
		o.bytes -= len(old.key) + len(old.value) + entryOverhead
	} else {
		o.ndirty++
	}
}

// writeBuffered adds every entry of an overlay of dirty entries to wb, each column family's
// in key order (as RocksDB's memtables insert best), the column families in a fixed order.
func (o *overlay) writeBuffered(wb *grocksdb.WriteBatch) {
	cfs := make([]*grocksdb.ColumnFamilyHandle, 0, len(o.cfs))
	for cf := range o.cfs {
		cfs = append(cfs, cf)
	}
	slices.SortFunc(cfs, func(a, b *grocksdb.ColumnFamilyHandle) int {
		return cmp.Compare(uintptr(unsafe.Pointer(a)), uintptr(unsafe.Pointer(b)))
	})
	for _, cf := range cfs {
		o.cfs[cf].Ascend(func(e *ovEntry) bool {
			switch {
			case cf == nil && e.del:
				wb.Delete(e.key)
			case cf == nil:
				wb.Put(e.key, e.value)
			case e.del:
				wb.DeleteCF(cf, e.key)
			default:
				wb.PutCF(cf, e.key, e.value)
			}
			return true
		})
	}
}
