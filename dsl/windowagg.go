package dsl

import (
	"fmt"

	"github.com/rillstreams/rill/internal/nullable"
	"github.com/rillstreams/rill/processor"
	"github.com/rillstreams/rill/serde"
	"github.com/rillstreams/rill/state"
	"github.com/rillstreams/rill/windows"
)

// windowAggBase is what the time and sliding window aggregations share: the store, serdes,
// the stream time they observed and emit-final bookkeeping.
type windowAggBase[K, VA any] struct {
	ctx   processor.Context[windows.Windowed[K], change[VA]]
	st    *windowAggState
	store state.WindowBytesStore
	ks    serde.Serde[K]
	vs    serde.Serde[state.ValueAndTimestamp[VA]]
	// observed is the largest timestamp this processor has seen (Kafka Streams'
	// observedStreamTime): windows close against it.
	observed   int64
	keyMayNil  bool
	emitted    bool  // emitClosed has run: lastUpper is set
	lastUpper  int64 // largest window start emitted as final so far
	pending    []pendingWindow
	windowSize int64
	// cached: the store forwards the updates when its record cache flushes them (Kafka
	// Streams' TimestampedTupleForwarder with a caching window store).
	cached bool
}

// pendingWindow is a closed window read from the store, to emit once the iterator is closed.
type pendingWindow struct {
	key, value []byte
	start      int64
}

func (p *windowAggBase[K, VA]) init(ctx processor.Context[windows.Windowed[K], change[VA]]) error {
	p.ctx = ctx
	p.observed = processor.UnknownTime
	p.keyMayNil = nullable.Can[K]()
	s, err := windowStore[K, state.ValueAndTimestamp[VA]](ctx, p.st.store)
	if err != nil {
		return err
	}
	p.store, p.ks = s.Bytes(), s.KeySerde()
	if !p.st.emitFinal {
		// Emitting only final results forwards nothing as windows change: a cached store then
		// only writes (Kafka Streams sets no flush listener either).
		p.cached = s.SetFlushListener(p.st.sendOld, p.forwardFlushed)
	}
	return nil
}

// forwardFlushed forwards a window the store's cache flushed: its latest aggregate, stamped
// with the aggregate's timestamp (the write's when deleted), with the write's headers (Kafka
// Streams' TimestampedCacheFlushListener).
func (p *windowAggBase[K, VA]) forwardFlushed(w state.CachedWindow[K, state.ValueAndTimestamp[VA]]) error {
	ts := w.Context.Timestamp
	if w.HasNew {
		ts = w.New.Timestamp
	}
	return p.ctx.Forward(processor.Record[windows.Windowed[K], change[VA]]{
		Key:   windows.Windowed[K]{Key: w.Key, Start: w.WindowStart, End: satAdd(w.WindowStart, p.windowSize)},
		Value: change[VA]{New: w.New.Value, HasNew: w.HasNew, Old: w.Old.Value, HasOld: w.HasOld}, Timestamp: ts,
		Headers: w.Context.Headers})
}

func (p *windowAggBase[K, VA]) Close() error { return nil }

// observe moves observed stream time to ts if later.
func (p *windowAggBase[K, VA]) observe(ts int64) {
	if ts > p.observed {
		p.observed = ts
	}
}

func (p *windowAggBase[K, VA]) key(k K) ([]byte, error) {
	kb, err := p.ks.Serialize(p.st.store, k)
	if err != nil {
		return nil, keyError(p.st.store, true, err)
	}
	return kb, nil
}

// fetch reads the aggregate of window start for key kb; ok is false when there is none.
func (p *windowAggBase[K, VA]) fetch(kb []byte, start int64) (vt state.ValueAndTimestamp[VA], ok bool, err error) {
	b, err := p.store.Fetch(kb, start)
	if err != nil || b == nil {
		return vt, false, err
	}
	vt, err = p.vs.Deserialize(p.st.store, b)
	if err != nil {
		return vt, false, valueError(p.st.store, false, err)
	}
	return vt, true, nil
}

func (p *windowAggBase[K, VA]) put(kb []byte, start int64, vt state.ValueAndTimestamp[VA]) error {
	b, err := p.vs.Serialize(p.st.store, vt)
	if err != nil {
		return valueError(p.st.store, true, err)
	}
	return p.store.Put(kb, b, start)
}

// emitClosed forwards, as final results, the windows starting at or before upper that were
// not emitted yet (Kafka Streams' emit-final fetchAll), by start time then key, each stamped
// with its aggregate's timestamp and carrying the current record's headers. With evict, each
// is deleted from the store once emitted.
func (p *windowAggBase[K, VA]) emitClosed(upper int64, headers []processor.Header, evict bool) error {
	if upper < 0 {
		return nil // windows start at 0 or later: none closed yet
	}
	lower := int64(0)
	if p.emitted {
		lower = p.lastUpper + 1
	}
	if lower > upper {
		return nil
	}
	it, err := p.store.FetchAll(lower, upper)
	if err != nil {
		return err
	}
	p.pending = p.pending[:0]
	for it.Next() {
		p.pending = append(p.pending, pendingWindow{
			key: append([]byte(nil), it.Key()...), value: append([]byte(nil), it.Value()...), start: it.WindowStart()})
	}
	err = it.Err()
	if cerr := it.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	p.emitted, p.lastUpper = true, upper
	for i := range p.pending {
		w := &p.pending[i]
		k, err := p.ks.Deserialize(p.st.store, w.key)
		if err != nil {
			return keyError(p.st.store, false, err)
		}
		vt, err := p.vs.Deserialize(p.st.store, w.value)
		if err != nil {
			return valueError(p.st.store, false, err)
		}
		if evict {
			if err := p.store.Put(w.key, nil, w.start); err != nil {
				return err
			}
		}
		if err := p.ctx.Forward(processor.Record[windows.Windowed[K], change[VA]]{
			Key:   windows.Windowed[K]{Key: k, Start: w.start, End: satAdd(w.start, p.windowSize)},
			Value: change[VA]{New: vt.Value, HasNew: true}, Timestamp: vt.Timestamp, Headers: headers}); err != nil {
			return err
		}
	}
	clear(p.pending)
	return nil
}

// timeWindowAggOp is KSTREAM-AGGREGATE (or -REDUCE) over tumbling or hopping windows (Kafka
// Streams' KStreamWindowAggregate): each record is folded into every window it falls in that
// is still open; the window store holds each aggregate with the largest timestamp of its
// records.
type timeWindowAggOp[K, V, VA any] struct {
	windowAggBase[K, VA]
	w windows.TimeWindows
	f fold[K, V, VA]
}

func (p *timeWindowAggOp[K, V, VA]) Init(ctx processor.Context[windows.Windowed[K], change[VA]]) error {
	p.windowSize = p.w.Size()
	return p.init(ctx)
}

func (p *timeWindowAggOp[K, V, VA]) Process(r processor.Record[K, V]) error {
	if nullable.IsNil(&r.Key, p.keyMayNil) {
		p.ctx.RecordDropped("windowed aggregation: null key")
		return nil
	}
	ts := r.Timestamp
	p.observe(ts)
	if p.st.emitFinal {
		// Emit before this record's windows are written: the windows closing now are then
		// still inside the store's retention, which counts from the latest window start
		// written. This record cannot change them: they are closed to it.
		if err := p.emitClosed(p.observed-p.w.Grace()-p.w.Size(), r.Headers, true); err != nil {
			return err
		}
	}
	first, last, ok := p.w.Starts(ts)
	if !ok {
		p.ctx.RecordDropped("windowed aggregation: negative timestamp")
		return nil
	}
	kb, err := p.key(r.Key)
	if err != nil {
		return err
	}
	for start := first; ; start += p.w.Advance() {
		end := p.w.End(start)
		if p.w.Closed(end, p.observed) {
			// Kafka Streams counts a drop per closed window of the record.
			p.ctx.RecordDropped(fmt.Sprintf("window [%d,%d) closed: timestamp %d, stream time %d, grace %dms",
				start, end, ts, p.observed, p.w.Grace()))
		} else if err := p.update(r, kb, start, end); err != nil {
			return err
		}
		if start == last {
			return nil
		}
	}
}

// update folds r into the window [start, end).
func (p *timeWindowAggOp[K, V, VA]) update(r processor.Record[K, V], kb []byte, start, end int64) error {
	old, had, err := p.fetch(kb, start)
	if err != nil {
		return err
	}
	return foldWindow(&p.windowAggBase, p.f, r, kb, start, end, old, had, had)
}

// foldWindow folds r into window [start, end) of r's key: into seed when seeded, else from
// scratch; stores the result and, unless only final results are emitted, forwards the change
// (with seed as the old value when the window existed and old values are asked for). Time and
// sliding windows share it; they differ in how they find the windows and their seeds.
func foldWindow[K, V, VA any](p *windowAggBase[K, VA], f fold[K, V, VA], r processor.Record[K, V], kb []byte, start, end int64,
	seed state.ValueAndTimestamp[VA], seeded, existed bool) error {
	next := state.ValueAndTimestamp[VA]{Timestamp: r.Timestamp}
	if seeded {
		next.Value = f.add(r.Key, r.Value, seed.Value)
		next.Timestamp = max(r.Timestamp, seed.Timestamp)
	} else {
		next.Value = f.start(r.Key, r.Value)
	}
	if err := p.put(kb, start, next); err != nil {
		return err
	}
	if p.st.emitFinal || p.cached {
		return nil
	}
	ch := change[VA]{New: next.Value, HasNew: true}
	if existed && p.st.sendOld {
		ch.Old, ch.HasOld = seed.Value, true
	}
	return p.ctx.Forward(processor.Record[windows.Windowed[K], change[VA]]{
		Key: windows.Windowed[K]{Key: r.Key, Start: start, End: end}, Value: ch, Timestamp: next.Timestamp, Headers: r.Headers})
}

// satAdd adds a non-negative duration to a time, stopping at the largest int64 rather than
// wrapping, as Kafka Streams bounds window ends.
func satAdd(t, d int64) int64 {
	if s := t + d; s >= t {
		return s
	}
	return int64(^uint64(0) >> 1)
}
