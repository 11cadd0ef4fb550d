package dsl

import (
	"fmt"

	"github.com/rillstreams/rill/internal/nullable"
	"github.com/rillstreams/rill/processor"
	"github.com/rillstreams/rill/state"
	"github.com/rillstreams/rill/windows"
)

// slidingWindowAggOp is KSTREAM-AGGREGATE (or -REDUCE) over sliding windows, a port of Kafka
// Streams' KStreamSlidingWindowAggregate (its reverse-iterator path, which Kafka Streams takes
// with both of its store types, so updates come out in the same order). Windows are
// [start, start+d], both inclusive, for d the time difference. A record at ts:
//   - updates every existing window it falls in;
//   - creates its left window [ts-d, ts], seeded with the aggregate of the latest window
//     ending before ts when that window's last record is within d of ts;
//   - creates the right window [p+1, p+1+d] of the previous record p, if ts falls in it;
//   - creates its own right window [ts+1, ts+1+d] when later records already exist within d.
//
// Records before d (0 <= ts < d) would have windows starting before 0; they share the window
// [0, d] instead, as in Kafka Streams (processEarly).
type slidingWindowAggOp[K, V, VA any] struct {
	windowAggBase[K, VA]
	w         windows.SlidingWindows
	f         fold[K, V, VA]
	valMayNil bool
	found     []foundWindow[VA]
}

// foundWindow is a window of the current key read from the store.
type foundWindow[VA any] struct {
	start int64
	vt    state.ValueAndTimestamp[VA]
}

func (p *slidingWindowAggOp[K, V, VA]) Init(ctx processor.Context[windows.Windowed[K], change[VA]]) error {
	p.windowSize = p.w.Size()
	p.valMayNil = nullable.Can[V]()
	return p.init(ctx)
}

func (p *slidingWindowAggOp[K, V, VA]) Process(r processor.Record[K, V]) error {
	if nullable.IsNil(&r.Key, p.keyMayNil) || nullable.IsNil(&r.Value, p.valMayNil) {
		p.ctx.RecordDropped("sliding windowed aggregation: null key or value")
		return nil
	}
	ts, d := r.Timestamp, p.w.Size()
	p.observe(ts)
	if p.st.emitFinal {
		// Windows ending before stream time - grace are closed; emitted before this record's
		// writes, as in timeWindowAggOp.
		if err := p.emitClosed(p.observed-p.w.Grace()-d-1, r.Headers, false); err != nil {
			return err
		}
	}
	if ts < 0 {
		p.ctx.RecordDropped("sliding windowed aggregation: negative timestamp")
		return nil
	}
	if p.w.Closed(satAdd(ts, d), p.observed) {
		p.ctx.RecordDropped(fmt.Sprintf("sliding window [%d,%d] closed: stream time %d, grace %dms",
			ts, satAdd(ts, d), p.observed, p.w.Grace()))
		return nil
	}
	kb, err := p.key(r.Key)
	if err != nil {
		return err
	}
	if ts < d {
		return p.processEarly(r, kb)
	}
	return p.processRecord(r, kb)
}

// load reads the key's windows starting in [from, to] into p.found, by start time.
func (p *slidingWindowAggOp[K, V, VA]) load(kb []byte, from, to int64) error {
	it, err := p.store.FetchRange(kb, from, to)
	if err != nil {
		return err
	}
	clear(p.found)
	p.found = p.found[:0]
	for it.Next() {
		vt, derr := p.vs.Deserialize(p.st.store, it.Value())
		if derr != nil {
			it.Close()
			return valueError(p.st.store, false, derr)
		}
		p.found = append(p.found, foundWindow[VA]{start: it.WindowStart(), vt: vt})
	}
	err = it.Err()
	if cerr := it.Close(); err == nil {
		err = cerr
	}
	return err
}

func (p *slidingWindowAggOp[K, V, VA]) hasStart(start int64) bool {
	for i := range p.found {
		if p.found[i].start == start {
			return true
		}
	}
	return false
}

func (p *slidingWindowAggOp[K, V, VA]) unexpected(start, ts int64) error {
	return fmt.Errorf("rill: sliding window aggregation %s: unexpected window starting at %d for a record at %d",
		p.st.store, start, ts)
}

// processRecord handles a record at ts >= d (Kafka Streams' processReverse).
func (p *slidingWindowAggOp[K, V, VA]) processRecord(r processor.Record[K, V], kb []byte) error {
	ts, d := r.Timestamp, p.w.Size()
	if err := p.load(kb, max(0, ts-2*d), ts+1); err != nil {
		return err
	}
	var left, right state.ValueAndTimestamp[VA]
	var hasLeft, hasRight, leftCreated, rightCreated, hasPrev bool
	var prev int64 // timestamp of the latest record before ts
scan:
	for i := len(p.found) - 1; i >= 0; i-- {
		fw := p.found[i]
		end := fw.start + d
		switch {
		case fw.start == ts+1:
			rightCreated = true
		case end > ts:
			if !hasRight {
				right, hasRight = fw.vt, true
			}
			if err := p.update(r, kb, fw.start, fw.vt, true, true); err != nil {
				return err
			}
		case end == ts:
			leftCreated = true
			if err := p.update(r, kb, fw.start, fw.vt, true, true); err != nil {
				return err
			}
			if fw.vt.Timestamp >= ts {
				return nil // a record at ts was seen before: its windows exist
			}
			prev, hasPrev = fw.vt.Timestamp, true
		case end < ts:
			left, hasLeft = fw.vt, true
			prev, hasPrev = fw.vt.Timestamp, true
			break scan
		default:
			return p.unexpected(fw.start, ts)
		}
	}
	// The previous record's right window, if ts falls in it.
	if hasPrev && !p.hasStart(prev+1) && prev+1+d >= ts {
		if err := p.update(r, kb, prev+1, state.ValueAndTimestamp[VA]{}, false, false); err != nil {
			return err
		}
	}
	// This record's left window, holding the earlier records within d.
	if !leftCreated {
		seed := state.ValueAndTimestamp[VA]{Timestamp: ts}
		seeded := hasLeft && hasPrev && ts-d <= prev
		if seeded {
			seed.Value = left.Value
		}
		if err := p.update(r, kb, ts-d, seed, seeded, false); err != nil {
			return err
		}
	}
	// This record's right window, holding the later records within d.
	if !rightCreated && hasRight && right.Timestamp > ts {
		return p.createRight(r, kb, right)
	}
	return nil
}

// processEarly handles a record at 0 <= ts < d: its left window would start before 0, so
// it goes into [0, d] with every other early record (Kafka Streams' processEarly).
func (p *slidingWindowAggOp[K, V, VA]) processEarly(r processor.Record[K, V], kb []byte) error {
	ts := r.Timestamp
	if err := p.load(kb, 0, ts+1); err != nil {
		return err
	}
	var combined, right state.ValueAndTimestamp[VA]
	var hasCombined, hasRight, rightCreated, hasPrev bool
	var prev int64
	for _, fw := range p.found {
		switch {
		case fw.start == 0:
			combined, hasCombined = fw.vt, true
			if fw.vt.Timestamp < ts {
				prev, hasPrev = fw.vt.Timestamp, true
			}
		case fw.start <= ts:
			right, hasRight = fw.vt, true
			if err := p.update(r, kb, fw.start, fw.vt, true, true); err != nil {
				return err
			}
		case fw.start == ts+1:
			rightCreated = true
		default:
			return p.unexpected(fw.start, ts)
		}
	}
	// With no right window found, the records in [0, d] after ts are those of the combined
	// window, if its latest record is after ts.
	if !hasRight && hasCombined && combined.Timestamp > ts {
		right, hasRight = combined, true
	}
	if !rightCreated && hasRight && right.Timestamp > ts {
		if err := p.createRight(r, kb, right); err != nil {
			return err
		}
	}
	if hasPrev && !p.hasStart(prev+1) {
		if err := p.update(r, kb, prev+1, state.ValueAndTimestamp[VA]{}, false, false); err != nil {
			return err
		}
	}
	return p.update(r, kb, 0, combined, hasCombined, hasCombined)
}

// update folds r into the window starting at start: into seed's aggregate when seeded (an
// existing window's, or the one a new left window starts from), else from scratch. existed
// says the window was in the store, so its old value is forwarded when asked for.
func (p *slidingWindowAggOp[K, V, VA]) update(r processor.Record[K, V], kb []byte, start int64,
	seed state.ValueAndTimestamp[VA], seeded, existed bool) error {
	end := satAdd(start, p.w.Size())
	if p.w.Closed(end, p.observed) {
		p.ctx.RecordDropped(fmt.Sprintf("sliding window [%d,%d] closed: timestamp %d, stream time %d, grace %dms",
			start, end, r.Timestamp, p.observed, p.w.Grace()))
		return nil
	}
	return foldWindow(&p.windowAggBase, p.f, r, kb, start, end, seed, seeded, existed)
}

// createRight creates the record's right window [ts+1, ts+1+d] with the aggregate of the
// later records (agg), which the record itself is not part of.
func (p *slidingWindowAggOp[K, V, VA]) createRight(r processor.Record[K, V], kb []byte, agg state.ValueAndTimestamp[VA]) error {
	start := r.Timestamp + 1
	if err := p.put(kb, start, agg); err != nil {
		return err
	}
	if p.st.emitFinal || p.cached {
		return nil
	}
	return p.ctx.Forward(processor.Record[windows.Windowed[K], change[VA]]{
		Key:   windows.Windowed[K]{Key: r.Key, Start: start, End: satAdd(start, p.w.Size())},
		Value: change[VA]{New: agg.Value, HasNew: true}, Timestamp: agg.Timestamp, Headers: r.Headers})
}
