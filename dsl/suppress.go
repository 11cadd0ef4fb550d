package dsl

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/rillstreams/rill/processor"
	"github.com/rillstreams/rill/serde"
	"github.com/rillstreams/rill/state"
)

// Suppressed says what Suppress holds back; make one with UntilWindowCloses or UntilTimeLimit.
type Suppressed struct {
	untilWindowCloses bool
	timeLimit         time.Duration
	buffer            BufferConfig
}

// UntilWindowCloses holds each window's updates back until the window closes, then emits its
// final value once (Kafka Streams' Suppressed.untilWindowCloses). The buffer is unbounded
// unless a BufferConfig with ShutDownWhenFull is given (emitting early would break final
// results, so EmitEarlyWhenFull is a Build error). Buffered updates live in a logged state
// store: they are written to its changelog and restored after a restart or failover.
func UntilWindowCloses(buffer ...BufferConfig) Suppressed {
	s := Suppressed{untilWindowCloses: true, buffer: Unbounded()}
	if len(buffer) > 0 {
		s.buffer = buffer[0]
	}
	return s
}

// ErrNotWindowed is matched by the Build error of Suppress(UntilWindowCloses()) on a table
// whose keys are not windows (it was not made by WindowedBy or SessionWindowedBy, or its keys
// were changed since).
var ErrNotWindowed = errors.New("rill: not a windowed table")

// Suppress holds back the table's updates as s says (Kafka Streams' KTable.suppress). With
// UntilWindowCloses, on a windowed table, each window's latest value is emitted once, when
// stream time (the largest timestamp of the updates Suppress has seen) passes the window's end
// plus the grace period — for sessions plus the inactivity gap too — which is when the
// aggregation stops accepting records for it. Deletes of windows not yet emitted (sessions
// merged away) are dropped, as in Kafka Streams. Named names the node; its buffer store is then
// "<name>-store".
//
// As in Kafka Streams, only updates reaching Suppress move its stream time: after a Filter
// that drops updates, windows are flushed by the next update that passes. EmitFinal on the
// windowed stream does not have this lag (it sees every record) and needs no extra store.
//
// Kafka Streams flushes a sliding or session window's final result one millisecond before
// its aggregation closes the window; rill uses the aggregation's own close rule, so a final
// result is final.
func (t *Table[K, V]) Suppress(s Suppressed, opts ...Option) *Table[K, V] {
	b := t.b
	named := nameOf(opts)
	name := b.nameOr(named, "KTABLE-SUPPRESS-")
	storeName := suffixed(named, "-store")
	if storeName == "" {
		storeName = b.newName("KTABLE-SUPPRESS-STATE-STORE-")
	}
	out := &Table[K, V]{b: b, node: name, keySerde: t.keySerde, valueSerde: t.valueSerde, windows: t.windows}
	if t.versioned {
		// Kafka Streams' TopologyException: "suppress() is only supported for non-versioned
		// KTables (note that version semantics might be inherited from upstream)".
		b.errs = append(b.errs, fmt.Errorf("%w: suppress %s: the table is versioned, or derived from one", ErrVersionedUnsupported, name))
		return out
	}
	if !s.buffer.set || (!s.untilWindowCloses && s.timeLimit < 0) {
		b.errs = append(b.errs, fmt.Errorf("rill: suppress %s: use dsl.UntilWindowCloses() or dsl.UntilTimeLimit(d, buffer) with d >= 0", name))
		return out
	}
	if err := s.buffer.validate(s.untilWindowCloses); err != nil {
		b.errs = append(b.errs, fmt.Errorf("rill: suppress %s: %w", name, err))
		return out
	}
	var end func(K) int64
	var closed func(end, streamTime int64) bool
	if s.untilWindowCloses {
		if t.windows != nil {
			end, _ = t.windows.end.(func(K) int64)
			closed = t.windows.closed
		}
		if end == nil {
			b.errs = append(b.errs, fmt.Errorf("%w: suppress %s: UntilWindowCloses needs a table made by WindowedBy or SessionWindowedBy",
				ErrNotWindowed, name))
			return out
		}
	} else {
		limit := s.timeLimit.Milliseconds()
		closed = func(ts, streamTime int64) bool { return ts <= streamTime-limit }
	}
	ks, vs, err := resolveSerdes(name, nil, t.keySerde, t.valueSerde)
	if !b.check(err) {
		return out
	}
	if t.sendOld != nil {
		t.sendOld() // the buffer keeps the value downstream saw before the first held update
	}
	st := &upsertState{store: storeName}
	buffer, final := s.buffer, s.untilWindowCloses
	b.check(b.topo.AddProcessor(name, func() processor.Processor[K, change[V], K, change[V]] {
		return &suppressOp[K, V]{st: st, ks: ks, vs: vs, end: end, closed: closed, final: final, limits: buffer}
	}, t.node))
	b.check(b.topo.AddStore(state.NewKeyValueStoreBuilder(storeName, serde.Bytes(), serde.Bytes()), name))
	out.sendOld = func() { st.sendOld = true }
	return out
}

// suppressOp is KTABLE-SUPPRESS for final results (Kafka Streams' KTableSuppressProcessor
// with a window-end time definition). Its buffer is a key-value store ordered by window end:
//
//	key:   window end (8 bytes, big-endian, sign bit flipped so that byte order is time
//	       order) | serialized windowed key
//	value: record timestamp (8) | flags (1; bit 0: prior value present) | header count (4)
//	       | per header: key length (4), key, value length (4; 0xFFFFFFFF for nil), value
//	       | new value length (4), new value | prior value
//
// The prior value is the one downstream saw before the first held update of the key; it is
// forwarded as the old value.
type suppressOp[K, V any] struct {
	ctx processor.Context[K, change[V]]
	st  *upsertState
	ks  serde.Serde[K]
	vs  serde.Serde[V]
	// final: UntilWindowCloses, whose buffer time is the window end (end) and which never
	// emits deletes; else UntilTimeLimit, whose buffer time is the latest update's timestamp.
	final    bool
	end      func(K) int64
	closed   func(bufferTime, streamTime int64) bool
	limits   BufferConfig
	store    state.KeyValueBytesStore
	observed int64
	evicted  int64 // observed time at the last eviction
	pending  [][2][]byte
	// scanned: the buffer's size (and, for time limits, index) were read from the store,
	// which is restored after Init, so at the first record.
	scanned        bool
	records, bytes int64
	// heldClosed: the update just buffered is already due at the current stream time.
	heldClosed bool
	// index maps each held serialized key to its buffer time (time limits only: a key's
	// entry moves in time with each update).
	index map[string]int64
}

func (p *suppressOp[K, V]) Init(ctx processor.Context[K, change[V]]) error {
	p.ctx = ctx
	p.observed, p.evicted = processor.UnknownTime, processor.UnknownTime
	s, err := ctx.StateStore(p.st.store)
	if err != nil {
		return err
	}
	kv, ok := s.(*state.KeyValueStore[[]byte, []byte])
	if !ok {
		return fmt.Errorf("rill: store %s is a %T, not a suppression buffer", p.st.store, s)
	}
	p.store = kv.Bytes()
	return nil
}

func (p *suppressOp[K, V]) Close() error { return nil }

func (p *suppressOp[K, V]) Process(r processor.Record[K, change[V]]) error {
	if !p.scanned {
		if err := p.scan(); err != nil {
			return err
		}
	}
	if r.Timestamp > p.observed {
		p.observed = r.Timestamp
	}
	if err := p.buffer(r); err != nil {
		return err
	}
	if p.observed != p.evicted || p.heldClosed {
		// Also at an unchanged stream time when the update just held is already due (a
		// sliding window ending at stream time with no grace): Kafka Streams evicts after
		// every update.
		p.evicted, p.heldClosed = p.observed, false
		if err := p.evict(func(t, _, _ int64) bool { return p.closed(t, p.observed) }); err != nil {
			return err
		}
	}
	if !p.limits.full(p.records, p.bytes) {
		return nil
	}
	if p.limits.shutDown {
		return fmt.Errorf("%w: %s holds %d records and %d bytes (at most %d records, %d bytes; 0: no bound)",
			ErrSuppressionBufferFull, p.st.store, p.records, p.bytes, p.limits.maxRecords, p.limits.maxBytes)
	}
	// Emit early, oldest first, until the buffer fits again.
	return p.evict(func(_, records, bytes int64) bool { return p.limits.full(records, bytes) })
}

// scan reads the buffer's size, and for time limits its index, from the (restored) store.
func (p *suppressOp[K, V]) scan() error {
	p.scanned = true
	if !p.final {
		p.index = make(map[string]int64)
	}
	it, err := p.store.All()
	if err != nil {
		return err
	}
	for it.Next() {
		k := it.Key()
		p.records++
		p.bytes += int64(len(k) + len(it.Value()))
		if !p.final && len(k) >= 8 {
			p.index[string(k[8:])] = bufferTime(k)
		}
	}
	err = it.Err()
	if cerr := it.Close(); err == nil {
		err = cerr
	}
	return err
}

func bufferKey(t int64, kb []byte) []byte {
	bk := make([]byte, 8+len(kb))
	binary.BigEndian.PutUint64(bk, uint64(t)^(1<<63))
	copy(bk[8:], kb)
	return bk
}

func bufferTime(bk []byte) int64 { return int64(binary.BigEndian.Uint64(bk) ^ (1 << 63)) }

func (p *suppressOp[K, V]) buffer(r processor.Record[K, change[V]]) error {
	kb, err := p.ks.Serialize(p.st.store, r.Key)
	if err != nil {
		return keyError(p.st.store, true, err)
	}
	t := r.Timestamp
	heldAt, wasHeld := t, true
	if p.final {
		t = p.end(r.Key)
		heldAt = t
	} else {
		heldAt, wasHeld = p.index[string(kb)]
	}
	var held []byte
	hk := bufferKey(heldAt, kb)
	if wasHeld {
		if held, err = p.store.Get(hk); err != nil {
			return err
		}
	}
	// The prior value: the held one's when something is held, else this update's old value.
	var prior []byte
	hasPrior := false
	if held != nil {
		if prior, hasPrior, err = heldPrior(held); err != nil {
			return fmt.Errorf("rill: suppression buffer %s: %w", p.st.store, err)
		}
		prior = append([]byte(nil), prior...) // the removal below may reuse held's bytes
		if err := p.remove(hk, held); err != nil {
			return err
		}
	} else if r.Value.HasOld {
		if prior, err = p.vs.Serialize(p.st.store, r.Value.Old); err != nil {
			return valueError(p.st.store, true, err)
		}
		hasPrior = true
	}
	var nb []byte
	hasNew := r.Value.HasNew
	if hasNew {
		if nb, err = p.vs.Serialize(p.st.store, r.Value.New); err != nil {
			return valueError(p.st.store, true, err)
		}
		// A new value its serde writes as Kafka's null (a windowed Reduce of a nil value) is
		// a delete, as Kafka Streams sees a null aggregate; held as one it is not read back
		// as empty bytes, and final results drop it (oracle winagg-1-31, -81, -168, ...;
		// TestSuppressFinalDropsNullAggregate).
		hasNew = nb != nil
	}
	if p.final && !hasNew && !hasPrior {
		// A delete of a window downstream never saw (a session merged away, a null
		// aggregate): drop it, as Kafka Streams drops such tombstones when it flushes final
		// results.
		return nil
	}
	if p.closed(t, p.observed) {
		p.heldClosed = true
	}
	bk := hk
	if t != heldAt {
		bk = bufferKey(t, kb)
	}
	v := encodeHeld(r.Timestamp, r.Headers, hasNew, nb, hasPrior, prior)
	if err := p.store.Put(bk, v); err != nil {
		return err
	}
	p.records++
	p.bytes += int64(len(bk) + len(v))
	if p.index != nil {
		p.index[string(kb)] = t
	}
	return nil
}

// remove deletes a held entry and takes it off the buffer's size and index.
func (p *suppressOp[K, V]) remove(bk, held []byte) error {
	if _, err := p.store.Delete(bk); err != nil {
		return err
	}
	p.records--
	p.bytes -= int64(len(bk) + len(held))
	if p.index != nil {
		delete(p.index, string(bk[8:]))
	}
	return nil
}

// evict forwards and removes held entries, oldest buffer time first, while more(time) says
// so: the closed windows or expired keys, or the oldest entries of a buffer too full.
func (p *suppressOp[K, V]) evict(more func(t, records, bytes int64) bool) error {
	it, err := p.store.All()
	if err != nil {
		return err
	}
	p.pending = p.pending[:0]
	// The buffer's size as if the entries taken so far were gone.
	records, bytes := p.records, p.bytes
	for it.Next() {
		k := it.Key()
		if len(k) < 8 || !more(bufferTime(k), records, bytes) {
			break
		}
		records--
		bytes -= int64(len(k) + len(it.Value()))
		p.pending = append(p.pending, [2][]byte{append([]byte(nil), k...), append([]byte(nil), it.Value()...)})
	}
	err = it.Err()
	if cerr := it.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	for _, kv := range p.pending {
		if err := p.remove(kv[0], kv[1]); err != nil {
			return err
		}
		if err := p.emit(kv[0][8:], kv[1]); err != nil {
			return err
		}
	}
	clear(p.pending)
	return nil
}

func (p *suppressOp[K, V]) emit(kb, held []byte) error {
	h, err := decodeHeld(held)
	if err != nil {
		return fmt.Errorf("rill: suppression buffer %s: %w", p.st.store, err)
	}
	if !h.hasNew && p.final {
		return nil // final results never forward deletes (Kafka Streams' safeToDropTombstones)
	}
	k, err := p.ks.Deserialize(p.st.store, kb)
	if err != nil {
		return keyError(p.st.store, false, err)
	}
	var ch change[V]
	if h.hasNew {
		if ch.New, err = p.vs.Deserialize(p.st.store, h.newV); err != nil {
			return valueError(p.st.store, false, err)
		}
		ch.HasNew = true
	}
	if h.hasPrior && p.st.sendOld {
		if ch.Old, err = p.vs.Deserialize(p.st.store, h.prior); err != nil {
			return valueError(p.st.store, false, err)
		}
		ch.HasOld = true
	}
	return p.ctx.Forward(processor.Record[K, change[V]]{Key: k, Value: ch, Timestamp: h.ts, Headers: h.headers})
}

// held is a decoded buffer entry.
type held struct {
	ts               int64
	headers          []processor.Header
	hasNew, hasPrior bool
	newV, prior      []byte
}

func encodeHeld(ts int64, headers []processor.Header, hasNew bool, newV []byte, hasPrior bool, prior []byte) []byte {
	n := 8 + 1 + 4 + 4 + len(newV) + len(prior)
	for _, h := range headers {
		n += 8 + len(h.Key) + len(h.Value)
	}
	out := make([]byte, 0, n)
	out = binary.BigEndian.AppendUint64(out, uint64(ts))
	var flags byte
	if hasPrior {
		flags |= 1
	}
	if hasNew {
		flags |= 2
	}
	out = append(out, flags)
	out = binary.BigEndian.AppendUint32(out, uint32(len(headers)))
	for _, h := range headers {
		out = binary.BigEndian.AppendUint32(out, uint32(len(h.Key)))
		out = append(out, h.Key...)
		if h.Value == nil {
			out = binary.BigEndian.AppendUint32(out, math.MaxUint32)
		} else {
			out = binary.BigEndian.AppendUint32(out, uint32(len(h.Value)))
			out = append(out, h.Value...)
		}
	}
	out = binary.BigEndian.AppendUint32(out, uint32(len(newV)))
	out = append(out, newV...)
	return append(out, prior...)
}

var errHeldCorrupt = errors.New("corrupt entry")

func decodeHeld(b []byte) (held, error) {
	var h held
	if len(b) < 13 {
		return h, errHeldCorrupt
	}
	h.ts = int64(binary.BigEndian.Uint64(b))
	h.hasPrior, h.hasNew = b[8]&1 != 0, b[8]&2 != 0
	n := binary.BigEndian.Uint32(b[9:])
	b = b[13:]
	next := func() ([]byte, bool, bool) { // bytes, nil, ok
		if len(b) < 4 {
			return nil, false, false
		}
		l := binary.BigEndian.Uint32(b)
		b = b[4:]
		if l == math.MaxUint32 {
			return nil, true, true
		}
		if uint64(l) > uint64(len(b)) {
			return nil, false, false
		}
		v := b[:l:l]
		b = b[l:]
		return v, false, true
	}
	for range n {
		k, _, ok := next()
		if !ok {
			return h, errHeldCorrupt
		}
		v, _, ok := next()
		if !ok {
			return h, errHeldCorrupt
		}
		h.headers = append(h.headers, processor.Header{Key: string(k), Value: v})
	}
	v, isNil, ok := next()
	if !ok || isNil {
		return h, errHeldCorrupt
	}
	h.newV, h.prior = v, b
	return h, nil
}

// heldPrior returns the prior value of a buffer entry.
func heldPrior(b []byte) ([]byte, bool, error) {
	h, err := decodeHeld(b)
	if err != nil {
		return nil, false, err
	}
	return h.prior, h.hasPrior, nil
}
