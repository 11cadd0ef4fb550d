package rocksdb

/*
#cgo LDFLAGS: -lrocksdb
#include <stdlib.h>
#include <string.h>
#include "rocksdb/c.h"

// One native call per operation, where grocksdb makes two to four, each allocating small Go
// objects for out-parameters: on a store's hot path (a Get and a Put per record, a step per
// iterated entry) those calls and allocations cost as much as the memtable work.

typedef struct {
	const char* key;
	size_t klen;
	const char* val;
	size_t vlen;
} rill_entry;

// rill_out holds what a call returns besides its result; it lives in Go memory owned by the
// store, so that taking its address allocates nothing.
typedef struct {
	char* err;
	rocksdb_pinnableslice_t* pinned;
} rill_out;

// rill_iter_step moves an iterator (see the move constants) and reads its entry.
static int rill_iter_step(rocksdb_iterator_t* it, int move, rill_entry* e) {
	switch (move) {
	case 1: rocksdb_iter_next(it); break;
	case -1: rocksdb_iter_prev(it); break;
	case 2: rocksdb_iter_seek_to_first(it); break;
	case -2: rocksdb_iter_seek_to_last(it); break;
	}
	if (!rocksdb_iter_valid(it)) {
		return 0;
	}
	e->key = rocksdb_iter_key(it, &e->klen);
	e->val = rocksdb_iter_value(it, &e->vlen);
	return 1;
}

// rill_get reads key (in cf, or the default column family when cf is NULL). It returns -1
// when the key is absent, -2 on error (out->err), else the value's size: the value is in
// buf when it fits, else still pinned in out->pinned for rill_take.
static long long rill_get(rocksdb_t* db, const rocksdb_readoptions_t* ro,
		rocksdb_column_family_handle_t* cf, const char* key, size_t klen,
		char* buf, size_t cap, rill_out* out) {
	rocksdb_pinnableslice_t* p = cf == NULL
		? rocksdb_get_pinned(db, ro, key, klen, &out->err)
		: rocksdb_get_pinned_cf(db, ro, cf, key, klen, &out->err);
	if (out->err != NULL) {
		return -2;
	}
	if (p == NULL) {
		return -1;
	}
	size_t n;
	const char* v = rocksdb_pinnableslice_value(p, &n);
	if (n > cap) {
		out->pinned = p;
		return (long long)n;
	}
	if (n > 0) {
		memcpy(buf, v, n);
	}
	rocksdb_pinnableslice_destroy(p);
	return (long long)n;
}

// rill_take copies the value rill_get left pinned into buf, which is large enough.
static void rill_take(rill_out* out, char* buf) {
	size_t n;
	const char* v = rocksdb_pinnableslice_value(out->pinned, &n);
	if (n > 0) {
		memcpy(buf, v, n);
	}
	rocksdb_pinnableslice_destroy(out->pinned);
	out->pinned = NULL;
}

// rill_write puts (or with del, deletes) one key, or two when two is set, in cf (NULL: the
// default column family); two go through the batch wb, atomically.
static void rill_write(rocksdb_t* db, const rocksdb_writeoptions_t* wo, rocksdb_writebatch_t* wb,
		rocksdb_column_family_handle_t* cf, int del, int two,
		const char* k1, size_t k1len, const char* v1, size_t v1len,
		const char* k2, size_t k2len, const char* v2, size_t v2len, rill_out* out) {
	if (!two) {
		if (cf == NULL) {
			if (del) rocksdb_delete(db, wo, k1, k1len, &out->err);
			else rocksdb_put(db, wo, k1, k1len, v1, v1len, &out->err);
		} else {
			if (del) rocksdb_delete_cf(db, wo, cf, k1, k1len, &out->err);
			else rocksdb_put_cf(db, wo, cf, k1, k1len, v1, v1len, &out->err);
		}
		return;
	}
	if (del) {
		rocksdb_writebatch_delete_cf(wb, cf, k1, k1len);
		rocksdb_writebatch_delete_cf(wb, cf, k2, k2len);
	} else {
		rocksdb_writebatch_put_cf(wb, cf, k1, k1len, v1, v1len);
		rocksdb_writebatch_put_cf(wb, cf, k2, k2len, v2, v2len);
	}
	rocksdb_write(db, wo, wb, &out->err);
	rocksdb_writebatch_clear(wb);
}
*/
import "C"

import (
	"errors"
	"reflect"
	"unsafe"

	"github.com/linxGnu/grocksdb"
)

// fastNative tells whether grocksdb's types are laid out as the calls above need: their
// native pointer in a first field c, as in grocksdb v1.7.14, the version go.mod pins.
// grocksdb does not export the pointers; should a later version change a struct, stores
// fall back to grocksdb's methods (slower, never wrong) instead of reading a wrong pointer.
var fastNative = nativeFirst[grocksdb.DB]() && nativeFirst[grocksdb.ReadOptions]() &&
	nativeFirst[grocksdb.WriteOptions]() && nativeFirst[grocksdb.ColumnFamilyHandle]()

func nativeFirst[T any]() bool {
	t := reflect.TypeFor[T]()
	return t.Kind() == reflect.Struct && t.NumField() > 0 && t.Field(0).Name == "c" &&
		t.Field(0).Offset == 0 && t.Field(0).Type.Kind() == reflect.Pointer
}

// native returns the native pointer in the first field of a grocksdb object; only when
// fastNative.
func native(obj unsafe.Pointer) unsafe.Pointer {
	return *(*unsafe.Pointer)(obj)
}

// natives are a store's native pointers, taken once from its grocksdb objects.
type natives struct {
	db  *C.rocksdb_t
	ro  *C.rocksdb_readoptions_t
	wo  *C.rocksdb_writeoptions_t
	wb  *C.rocksdb_writebatch_t // the store's own, for two-key writes
	out C.rill_out
	buf []byte // scratch value buffer of get
}

// initNatives takes the native pointers once the DB is open.
func (s *store) initNatives() {
	if !fastNative {
		return
	}
	s.nat.db = (*C.rocksdb_t)(native(unsafe.Pointer(s.db)))
	s.nat.ro = (*C.rocksdb_readoptions_t)(native(unsafe.Pointer(s.ro)))
	s.nat.wo = (*C.rocksdb_writeoptions_t)(native(unsafe.Pointer(s.wo)))
	s.nat.wb = C.rocksdb_writebatch_create()
}

func (s *store) freeNatives() {
	if s.nat.wb != nil {
		C.rocksdb_writebatch_destroy(s.nat.wb)
	}
	s.nat = natives{}
	if s.batch != nil {
		s.batch.Destroy()
		s.batch = nil
	}
}

func nativeCF(cf *grocksdb.ColumnFamilyHandle) *C.rocksdb_column_family_handle_t {
	if cf == nil {
		return nil
	}
	return (*C.rocksdb_column_family_handle_t)(native(unsafe.Pointer(cf)))
}

// outErr returns (and frees) the error a native call left in s.nat.out.
func (s *store) outErr() error {
	if s.nat.out.err == nil {
		return nil
	}
	err := errors.New(C.GoString(s.nat.out.err))
	C.rocksdb_free(unsafe.Pointer(s.nat.out.err))
	s.nat.out.err = nil
	return err
}

// bytesPtr is b's data for a native call; never NULL, which RocksDB would pass on to
// memcpy even for an empty key or value.
func bytesPtr(b []byte) *C.char {
	if len(b) == 0 {
		return (*C.char)(unsafe.Pointer(&zeroByte))
	}
	return (*C.char)(unsafe.Pointer(unsafe.SliceData(b)))
}

var zeroByte byte

// getInto reads the value of key in cf (the default column family when nil) into dst's
// storage, growing it as needed; found is false when there is none. An empty value is
// returned non-nil.
func (s *store) getInto(cf *grocksdb.ColumnFamilyHandle, key, dst []byte) (val []byte, found bool, err error) {
	if s.txn != nil {
		if e, ok := s.txn.lookup(cf, key); ok {
			if e.del {
				return dst[:0], false, nil
			}
			return copyInto(dst, e.value), true, nil
		}
	}
	if !fastNative {
		return s.getIntoSlow(cf, key, dst)
	}
	if cap(dst) == 0 {
		dst = emptyValue
	}
	n := C.rill_get(s.nat.db, s.nat.ro, nativeCF(cf), bytesPtr(key), C.size_t(len(key)),
		(*C.char)(unsafe.Pointer(unsafe.SliceData(dst[:cap(dst)]))), C.size_t(cap(dst)), &s.nat.out)
	switch {
	case n == -1:
		return dst[:0], false, nil
	case n < 0:
		return dst[:0], false, s.errorf("get: %w", s.outErr())
	case int(n) > cap(dst):
		dst = make([]byte, n)
		C.rill_take(&s.nat.out, (*C.char)(unsafe.Pointer(unsafe.SliceData(dst))))
		return dst, true, nil
	}
	return dst[:n], true, nil
}

// get returns a copy of the value of key, nil when there is none.
func (s *store) get(cf *grocksdb.ColumnFamilyHandle, key []byte) ([]byte, error) {
	v, found, err := s.getInto(cf, key, s.nat.buf)
	if err != nil || !found {
		return nil, err
	}
	if cap(v) > cap(s.nat.buf) && cap(v) <= maxScratch {
		s.nat.buf = v // keep the larger buffer for the next reads
	}
	return append(make([]byte, 0, len(v)), v...), nil
}

// maxScratch bounds the scratch buffer get keeps: larger values are read in two calls.
const maxScratch = 64 << 10

// write puts k1 (and k2 when not nil) with their values in cf (the default column family
// when nil), or deletes them when del is set; two keys are written atomically.
func (s *store) write(cf *grocksdb.ColumnFamilyHandle, del bool, k1, v1, k2, v2 []byte) error {
	if s.txn != nil {
		s.txn.put(cf, k1, v1, del)
		if k2 != nil {
			s.txn.put(cf, k2, v2, del)
		}
		return nil
	}
	if !fastNative {
		return s.writeSlow(cf, del, k1, v1, k2, v2)
	}
	var d, two C.int
	if del {
		d = 1
	}
	if k2 != nil {
		two = 1
	}
	C.rill_write(s.nat.db, s.nat.wo, s.nat.wb, nativeCF(cf), d, two,
		bytesPtr(k1), C.size_t(len(k1)), bytesPtr(v1), C.size_t(len(v1)),
		bytesPtr(k2), C.size_t(len(k2)), bytesPtr(v2), C.size_t(len(v2)), &s.nat.out)
	if err := s.outErr(); err != nil {
		return s.errorf("write: %w", err)
	}
	return nil
}

// getIntoSlow is getInto through grocksdb's API.
func (s *store) getIntoSlow(cf *grocksdb.ColumnFamilyHandle, key, dst []byte) ([]byte, bool, error) {
	var (
		h   *grocksdb.PinnableSliceHandle
		err error
	)
	if cf == nil {
		h, err = s.db.GetPinned(s.ro, key)
	} else {
		h, err = s.db.GetPinnedCF(s.ro, cf, key)
	}
	if err != nil {
		return dst[:0], false, s.errorf("get: %w", err)
	}
	defer h.Destroy()
	if !h.Exists() {
		return dst[:0], false, nil
	}
	return copyInto(dst, h.Data()), true, nil
}

// writeSlow is write through grocksdb's API.
func (s *store) writeSlow(cf *grocksdb.ColumnFamilyHandle, del bool, k1, v1, k2, v2 []byte) error {
	var err error
	switch {
	case k2 != nil:
		if s.batch == nil {
			s.batch = grocksdb.NewWriteBatch()
		}
		if del {
			s.batch.DeleteCF(cf, k1)
			s.batch.DeleteCF(cf, k2)
		} else {
			s.batch.PutCF(cf, k1, v1)
			s.batch.PutCF(cf, k2, v2)
		}
		err = s.db.Write(s.wo, s.batch)
		s.batch.Clear()
	case cf == nil && del:
		err = s.db.Delete(s.wo, k1)
	case cf == nil:
		err = s.db.Put(s.wo, k1, v1)
	case del:
		err = s.db.DeleteCF(s.wo, cf, k1)
	default:
		err = s.db.PutCF(s.wo, cf, k1, v1)
	}
	if err != nil {
		return s.errorf("write: %w", err)
	}
	return nil
}

// cursor is a native iterator and its read options.
type cursor struct {
	p    *boundsRO
	nit  *C.rocksdb_iterator_t // with fastNative
	it   *grocksdb.Iterator    // without
	e    C.rill_entry          // filled by move
	errp *C.char               // filled by err
	k, v []byte                // the current entry, in native memory: valid until the next move
	mc   *mergeCursor          // the buffered writes merged in (transactions), or nil
}

// newCursor opens a cursor on cf (the default column family when nil) bounded to
// [lower, upper) (nil: unbounded). It is not positioned.
func (s *store) newCursor(cf *grocksdb.ColumnFamilyHandle, lower, upper []byte) cursor {
	c := s.newDBCursor(cf, lower, upper)
	if s.txn != nil {
		if ents := s.txn.span(cf, lower, upper); len(ents) > 0 {
			c.mc = &mergeCursor{ents: ents}
		}
	}
	return c
}

// newDBCursor opens a cursor on the database alone.
func (s *store) newDBCursor(cf *grocksdb.ColumnFamilyHandle, lower, upper []byte) cursor {
	p := s.readOptions(lower, upper)
	if fastNative {
		ro := (*C.rocksdb_readoptions_t)(native(unsafe.Pointer(p.ro)))
		if cf == nil {
			return cursor{p: p, nit: C.rocksdb_create_iterator(s.nat.db, ro)}
		}
		return cursor{p: p, nit: C.rocksdb_create_iterator_cf(s.nat.db, ro, nativeCF(cf))}
	}
	if cf == nil {
		return cursor{p: p, it: s.db.NewIterator(p.ro)}
	}
	return cursor{p: p, it: s.db.NewIteratorCF(p.ro, cf)}
}

// closeCursor destroys c's iterator and keeps its read options for reuse.
func (s *store) closeCursor(c *cursor) {
	switch {
	case c.nit != nil:
		C.rocksdb_iter_destroy(c.nit)
		c.nit = nil
	case c.it != nil:
		c.it.Close()
		c.it = nil
	default:
		return
	}
	c.k, c.v, c.mc = nil, nil, nil
	s.pool = append(s.pool, c.p)
	c.p = nil
}

// err returns the error that made the cursor invalid, if any.
func (c *cursor) err() error {
	if c.it != nil {
		return c.it.Err()
	}
	if c.nit == nil {
		return nil
	}
	C.rocksdb_iter_get_error(c.nit, &c.errp)
	if c.errp == nil {
		return nil
	}
	err := errors.New(C.GoString(c.errp))
	C.rocksdb_free(unsafe.Pointer(c.errp))
	c.errp = nil
	return err
}

// Moves of cursor.move.
const (
	moveNext  = 1
	movePrev  = -1
	moveFirst = 2
	moveLast  = -2
)

// move moves the cursor and tells whether it is at an entry, whose key and value (in
// native memory, valid until the next move) are then in c.k and c.v.
func (c *cursor) move(m int) bool {
	if c.mc != nil {
		return c.moveMerged(m)
	}
	return c.step(m)
}

// step moves the database cursor.
func (c *cursor) step(m int) bool {
	if fastNative {
		if C.rill_iter_step(c.nit, C.int(m), &c.e) == 0 {
			c.k, c.v = nil, nil
			return false
		}
		c.k = unsafe.Slice((*byte)(unsafe.Pointer(c.e.key)), int(c.e.klen))
		c.v = unsafe.Slice((*byte)(unsafe.Pointer(c.e.val)), int(c.e.vlen))
		return true
	}
	switch m {
	case moveNext:
		c.it.Next()
	case movePrev:
		c.it.Prev()
	case moveFirst:
		c.it.SeekToFirst()
	case moveLast:
		c.it.SeekToLast()
	}
	if !c.it.Valid() {
		c.k, c.v = nil, nil
		return false
	}
	c.k, c.v = c.it.Key().Data(), c.it.Value().Data()
	return true
}
