package rocksdb

import (
	"cmp"
	"encoding/binary"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/linxGnu/grocksdb"

	"github.com/rillstreams/rill/state"
)

// Window and session stores are segmented by time as in Kafka Streams: a record belongs to
// segment floor(time / SegmentInterval), and retention drops whole segments once every time
// they can hold is expired.
//
// Kafka Streams gives each segment a RocksDB instance of its own, dropped by closing it and
// deleting its directory. Here each segment is a column family of the store's one RocksDB
// instance instead:
//
//   - dropping is as immediate: DropColumnFamily is one manifest write, and the segment's
//     files are deleted as soon as nothing reads them, whatever the compaction state. One
//     column family with segment-prefixed keys and DeleteRange would only hide the data:
//     disk space would come back when compaction got to it, and with universal compaction
//     a CompactRange to force it rewrites the whole store;
//   - a store has one MANIFEST, LOG, LOCK and OPTIONS file and one directory, instead of a
//     set per segment, and the shared cache, WAL-less writes and options apply to all;
//   - segments are found again on reopen by listing column families, with no directory
//     naming scheme to parse.
//
// The price is fixed: creating or dropping a column family writes and syncs the MANIFEST
// and a new OPTIONS file, about 2 to 3 ms each here. With Kafka Streams' default interval
// (at least a minute) that is nothing; a store with millisecond segments pays it per
// segment. Each column family has its own memtables, like each of Kafka's segment DBs; only
// the newest segments take writes, and Flush leaves the others' memtables empty.
//
// The default column family holds only metadata fixed when the store is created: its layout
// and segment interval. Stream time and the duplicates' sequence number change with every
// record; they are written at Flush into the newest segment, which a Flush writes to disk
// anyway, under keys (metaPrefix) that sort before every record, and read back on open from
// every segment.
const (
	segmentPrefix = "segment."
	defaultCFName = "default"

	metaLayout   = "rill.layout"              // the store type and key layout: a window store cannot be reopened as a session store
	metaInterval = "rill.segment-interval-ms" // fixes segment ids: reopening with another interval is an error

	metaPrefix   = "\x00rill."
	metaObserved = metaPrefix + "observed-stream-time" // in segments
	metaSeq      = metaPrefix + "duplicate-seqnum"     // in segments
)

type segment struct {
	id int64
	cf *grocksdb.ColumnFamilyHandle
}

// segments is the segment bookkeeping shared by window and session stores.
type segments struct {
	*store
	layout    string // the key layout, recorded as metaLayout
	interval  int64  // SegmentInterval, ms
	retention int64  // ms

	defaultCF *grocksdb.ColumnFamilyHandle
	live      []segment                      // by ascending id
	dropped   []*grocksdb.ColumnFamilyHandle // dropped while iterators were open: destroyed when they are closed
	foreign   []*grocksdb.ColumnFamilyHandle // column families this package did not create, left alone

	// observed is the observed stream time: the largest time put so far (window start,
	// session end). Nothing is expired before the first Put (hasObserved false).
	observed int64
	// dropAfterFlush: a commit without the WAL expired segments, to drop once Flush made the
	// commit durable (CommitTransaction).
	dropAfterFlush bool
	hasObserved    bool
	seq            uint32 // sequence number of the last duplicate put

	// What the last Flush recorded, to skip writing it again unchanged.
	flushedObserved int64
	flushedSeq      uint32
	flushedMeta     bool

	// In transaction mode, observed stream time and sequence number as of the last commit,
	// to go back to on abort.
	committedObserved    int64
	committedHasObserved bool
	committedSeq         uint32
}

// openSegments opens the store at <dir>/rocksdb/<name> with its segments, checks its
// layout and segment interval and reads back its observed stream time.
func openSegments(b *Backend, name, dir, layout string, opts state.WindowOptions) (*segments, error) {
	sg := &segments{layout: layout, interval: opts.SegmentInterval, retention: opts.Retention}
	s, err := b.openStore(name, dir, sg.open)
	if err != nil {
		return nil, err
	}
	sg.store = s
	// No cache of committed writes in window and session stores: their keys carry the
	// window, so they are written a few times and then only read by range (join buffers
	// never again), and the time index doubles every write. Measured: a cache made
	// streamcountwindowed/eos 1.8x slower and streamstreamjoin/eos 1.3x slower, where it
	// made tabletablejoin/eos (key-value stores) 2.4x faster.
	s.noCache = true
	return sg, nil
}

func (sg *segments) open(s *store) error {
	sg.store = s
	names := []string{defaultCFName}
	if _, err := os.Stat(filepath.Join(s.path, "CURRENT")); err == nil {
		if names, err = grocksdb.ListColumnFamilies(s.opts.opts, s.path); err != nil {
			return s.errorf("list column families of %s: %w", s.path, err)
		}
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
	s.initNatives()
	s.handles = sg.handles
	for i, n := range names {
		id, ok := parseSegmentName(n)
		switch {
		case n == defaultCFName:
			sg.defaultCF = handles[i]
			s.metaCF = handles[i]
		case ok:
			sg.live = append(sg.live, segment{id: id, cf: handles[i]})
		default:
			sg.foreign = append(sg.foreign, handles[i])
		}
	}
	slices.SortFunc(sg.live, func(a, b segment) int { return cmp.Compare(a.id, b.id) })
	if err := sg.readMeta(); err != nil {
		for _, h := range sg.handles() {
			h.Destroy()
		}
		s.handles = nil
		s.db.Close()
		s.db = nil
		return err
	}
	return nil
}

func segmentName(id int64) string { return segmentPrefix + strconv.FormatInt(id, 10) }

func parseSegmentName(n string) (int64, bool) {
	rest, ok := strings.CutPrefix(n, segmentPrefix)
	if !ok {
		return 0, false
	}
	id, err := strconv.ParseInt(rest, 10, 64)
	return id, err == nil
}

// readMeta checks the layout and segment interval (recording them in a new store), then
// reads back the stream time and sequence number the segments hold.
func (sg *segments) readMeta() error {
	if sg.layout == layoutDupsKeyOrder {
		// A duplicates store created with a time index keeps it (window_dups.go).
		if v, err := sg.get(sg.defaultCF, []byte(metaLayout)); err != nil {
			return err
		} else if string(v) == layoutDupsIndexed {
			sg.layout = layoutDupsIndexed
		}
	}
	created, err := sg.checkMeta(metaLayout, []byte(sg.layout))
	if err != nil {
		return err
	}
	var interval [8]byte
	binary.BigEndian.PutUint64(interval[:], uint64(sg.interval))
	if _, err := sg.checkMeta(metaInterval, interval[:]); err != nil {
		return err
	}
	if created {
		// Durable at once: segments written before the first Flush must not outlive
		// the record of how to read them.
		if err := sg.flushCF(sg.defaultCF); err != nil {
			return err
		}
	}
	for _, seg := range sg.live {
		v, err := sg.get(seg.cf, []byte(metaObserved))
		if err != nil {
			return err
		}
		if len(v) == 8 {
			if err := sg.observe(int64(binary.BigEndian.Uint64(v))); err != nil {
				return err
			}
		}
		if v, err = sg.get(seg.cf, []byte(metaSeq)); err != nil {
			return err
		}
		if len(v) == 4 {
			sg.seq = max(sg.seq, binary.BigEndian.Uint32(v))
		}
	}
	sg.flushedObserved, sg.flushedSeq, sg.flushedMeta = sg.observed, sg.seq, sg.hasObserved
	return nil
}

// checkMeta checks that the default column family records want under key, or records it
// in a store that has no segments yet (created is then true).
func (sg *segments) checkMeta(key string, want []byte) (created bool, err error) {
	v, err := sg.get(sg.defaultCF, []byte(key))
	switch {
	case err != nil:
		return false, err
	case v == nil && len(sg.live) > 0:
		// Segments without the layout they were written with: they cannot be read.
		return false, sg.errorf("has segments but no %s; delete %s to restore it from its changelog", key, sg.path)
	case v == nil:
		return true, sg.write(sg.defaultCF, false, []byte(key), want, nil, nil)
	case key == metaInterval && len(v) == 8 && len(want) == 8:
		if got := int64(binary.BigEndian.Uint64(v)); got != sg.interval {
			return false, sg.errorf("was written with segment interval %d ms, opened with %d ms; delete %s to rebuild it from its changelog",
				got, sg.interval, sg.path)
		}
	case string(v) != string(want):
		return false, sg.errorf("holds a %q store, opened as %q; delete %s to rebuild it from its changelog", v, want, sg.path)
	}
	return false, nil
}

// handles returns every column family handle not yet destroyed.
func (sg *segments) handles() []*grocksdb.ColumnFamilyHandle {
	hs := make([]*grocksdb.ColumnFamilyHandle, 0, len(sg.live)+len(sg.dropped)+len(sg.foreign)+1)
	if sg.defaultCF != nil {
		hs = append(hs, sg.defaultCF)
	}
	for _, seg := range sg.live {
		hs = append(hs, seg.cf)
	}
	hs = append(hs, sg.dropped...)
	return append(hs, sg.foreign...)
}

// flush records stream time and sequence number in the newest segment if they changed,
// then flushes every segment's memtables: with the WAL disabled this is what makes writes
// durable. Flushing a segment that took no writes since the last Flush costs well under a
// microsecond.
func (sg *segments) flush() error {
	// In transaction mode the metadata is written by commits (with what they commit).
	if n := len(sg.live); n > 0 && sg.hasObserved && sg.txn == nil &&
		(!sg.flushedMeta || sg.observed != sg.flushedObserved || sg.seq != sg.flushedSeq) {
		newest := sg.live[n-1].cf
		var t [8]byte
		binary.BigEndian.PutUint64(t[:], uint64(sg.observed))
		var q [4]byte
		binary.BigEndian.PutUint32(q[:], sg.seq)
		if err := sg.write(newest, false, []byte(metaObserved), t[:], []byte(metaSeq), q[:]); err != nil {
			return err
		}
		sg.flushedObserved, sg.flushedSeq, sg.flushedMeta = sg.observed, sg.seq, true
	}
	var errs []error
	for _, seg := range sg.live {
		if err := sg.flushCF(seg.cf); err != nil {
			errs = append(errs, err)
		}
	}
	if sg.txn != nil {
		// The commits' offsets: flushed, they stop holding old WAL files.
		errs = append(errs, sg.flushCF(sg.defaultCF))
	}
	return errors.Join(errs...)
}

// Flush persists the memtables of every segment (see flush).
func (sg *segments) Flush() error {
	if sg.db == nil {
		return sg.closedErr()
	}
	if err := sg.flush(); err != nil {
		return err
	}
	if sg.dropAfterFlush && sg.Buffered() == 0 {
		// What the last commit wrote is on disk now, and with it the stream time that
		// expires these segments (see CommitTransaction).
		sg.dropAfterFlush = false
		return sg.dropExpiredNow()
	}
	return nil
}

// Close flushes, closes the iterators left open and the DB. Later calls do nothing.
func (sg *segments) Close() error {
	if sg.db == nil {
		return nil
	}
	err := sg.shutdown(sg.flush)
	sg.live, sg.dropped, sg.foreign, sg.defaultCF = nil, nil, nil, nil
	return err
}

// cutoff returns the latest expired time: observed stream time minus retention. ok is false
// when nothing is expired (nothing observed yet, or the difference underflows).
func (sg *segments) cutoff() (t int64, ok bool) {
	if !sg.hasObserved || sg.observed < math.MinInt64+sg.retention {
		return 0, false
	}
	return sg.observed - sg.retention, true
}

// expired tells whether time t is at or before the cutoff.
func (sg *segments) expired(t int64) bool {
	c, ok := sg.cutoff()
	return ok && t <= c
}

// liveFrom returns the earliest time at or after from that is not expired.
func (sg *segments) liveFrom(from int64) int64 {
	c, ok := sg.cutoff()
	if !ok {
		return from
	}
	return max(from, c+1) // c+1 cannot overflow: c <= observed - retention < MaxInt64
}

// observe moves observed stream time to t if t is later, and drops the segments that are
// now entirely expired.
func (sg *segments) observe(t int64) error {
	if sg.hasObserved && t <= sg.observed {
		return nil
	}
	sg.observed, sg.hasObserved = t, true
	return sg.dropExpired()
}

// dropExpired drops the segments whose every time is expired: those below the segment of
// the first live time.
func (sg *segments) dropExpired() error {
	c, ok := sg.cutoff()
	if !ok || len(sg.live) == 0 || sg.txn != nil {
		// In transaction mode segments are dropped at commit: stream time moved by a
		// transaction that aborts must not have deleted committed windows.
		return nil
	}
	minLive := floorDiv(c+1, sg.interval)
	n := 0
	for n < len(sg.live) && sg.live[n].id < minLive {
		n++
	}
	if n == 0 {
		return nil
	}
	var errs []error
	for _, seg := range sg.live[:n] {
		if err := sg.db.DropColumnFamily(seg.cf); err != nil {
			errs = append(errs, sg.errorf("drop segment %d: %w", seg.id, err))
		}
		// Open iterators may still read the segment (RocksDB keeps a dropped column
		// family's data while something references it); its handle goes when they do.
		if sg.hasIterators() {
			sg.dropped = append(sg.dropped, seg.cf)
		} else {
			seg.cf.Destroy()
		}
	}
	sg.live = append(sg.live[:0], sg.live[n:]...)
	return errors.Join(errs...)
}

// iteratorClosed destroys the handles of dropped segments once no iterator is open.
func (sg *segments) iteratorClosed() {
	if len(sg.dropped) == 0 || sg.hasIterators() {
		return
	}
	for _, h := range sg.dropped {
		h.Destroy()
	}
	sg.dropped = sg.dropped[:0]
}

// segment returns the index in live of the segment of time t, and whether it exists (else
// the index where it would go).
func (sg *segments) segment(t int64) (int, bool) {
	id := floorDiv(t, sg.interval)
	// Most writes go to the newest segment.
	if n := len(sg.live); n > 0 && sg.live[n-1].id == id {
		return n - 1, true
	}
	lo, hi := 0, len(sg.live)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if sg.live[m].id < id {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo, lo < len(sg.live) && sg.live[lo].id == id
}

// segmentCF returns the column family of time t's segment, creating it when create is set;
// nil when it does not exist.
func (sg *segments) segmentCF(t int64, create bool) (*grocksdb.ColumnFamilyHandle, error) {
	i, ok := sg.segment(t)
	if ok {
		return sg.live[i].cf, nil
	}
	if !create {
		return nil, nil
	}
	id := floorDiv(t, sg.interval)
	cf, err := sg.db.CreateColumnFamily(sg.opts.opts, segmentName(id))
	if err != nil {
		return nil, sg.errorf("create segment %d: %w", id, err)
	}
	sg.live = slices.Insert(sg.live, i, segment{id: id, cf: cf})
	return cf, nil
}

// span returns the live segments that may hold times in [from, to].
func (sg *segments) span(from, to int64) []segment {
	if from > to {
		return nil
	}
	lo, _ := sg.segment(from)
	hi, ok := sg.segment(to)
	if ok {
		hi++
	}
	return sg.live[lo:hi]
}

// BeginTransactions turns on transaction mode (state.Transactional).
func (sg *segments) BeginTransactions() error {
	if err := sg.store.BeginTransactions(); err != nil {
		return err
	}
	sg.committedObserved, sg.committedHasObserved, sg.committedSeq = sg.observed, sg.hasObserved, sg.seq
	return nil
}

// CommitTransaction writes the buffered writes, the changelog offset and the stream time and
// sequence number they bring the store to in one batch, then drops the segments that
// expired.
func (sg *segments) CommitTransaction(changelogOffset int64) error {
	err := sg.commitTxn(changelogOffset, func(wb *grocksdb.WriteBatch) {
		if n := len(sg.live); n > 0 && sg.hasObserved {
			var t [8]byte
			binary.BigEndian.PutUint64(t[:], uint64(sg.observed))
			var q [4]byte
			binary.BigEndian.PutUint32(q[:], sg.seq)
			newest := sg.live[n-1].cf
			wb.PutCF(newest, []byte(metaObserved), t[:])
			wb.PutCF(newest, []byte(metaSeq), q[:])
		}
	})
	if err != nil {
		return err
	}
	sg.committedObserved, sg.committedHasObserved, sg.committedSeq = sg.observed, sg.hasObserved, sg.seq
	sg.flushedObserved, sg.flushedSeq, sg.flushedMeta = sg.observed, sg.seq, sg.hasObserved
	if changelogOffset < 0 {
		// At least once the batch went without the WAL: it is durable only once Flush has
		// persisted the memtables. Dropping a segment is durable at once (the MANIFEST), so
		// dropping before the Flush let a crash in between lose both the windows the batch
		// brought and the ones it expired, while the checkpoint of the previous commit said
		// the store held them: rill-torture's suppressed 1 s windows (their store emptied
		// this way at restarts) came back with partial counts. Flush drops them.
		sg.dropAfterFlush = true
		return nil
	}
	return sg.dropExpiredNow()
}

// dropExpiredNow drops the expired segments, in transaction mode too: the caller knows
// that the stream time which expired them is durable.
func (sg *segments) dropExpiredNow() error {
	txn := sg.txn
	sg.txn = nil // dropExpired drops only outside transaction mode
	err := sg.dropExpired()
	sg.txn = txn // empty: segmented stores keep no cache (noCache), so nothing of a dropped segment stays
	return err
}

// AbortTransaction drops the buffered writes and goes back to the committed stream time.
func (sg *segments) AbortTransaction() error {
	if sg.txn == nil {
		return nil
	}
	sg.observed, sg.hasObserved, sg.seq = sg.committedObserved, sg.committedHasObserved, sg.committedSeq
	return sg.store.AbortTransaction()
}
