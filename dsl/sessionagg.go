package dsl

import (
	"bytes"
	"cmp"
	"fmt"
	"math"
	"slices"

	"github.com/rillstreams/rill/internal/nullable"
	"github.com/rillstreams/rill/processor"
	"github.com/rillstreams/rill/serde"
	"github.com/rillstreams/rill/state"
	"github.com/rillstreams/rill/windows"
)

// sessionWindowAggOp is KSTREAM-AGGREGATE (or -REDUCE) over session windows (Kafka Streams'
// KStreamSessionWindowAggregate). A record at ts finds the key's sessions that end at or after
// ts-gap and start at or before ts+gap, merges them with it into one session spanning all of
// them, and replaces them by it. Updates are stamped with the session's end.
type sessionWindowAggOp[K, V, VA any] struct {
	ctx       processor.Context[windows.Windowed[K], change[VA]]
	st        *windowAggState
	w         windows.SessionWindows
	f         fold[K, V, VA]
	vs        serde.Serde[VA]
	store     state.SessionBytesStore
	ks        serde.Serde[K]
	observed  int64
	keyMayNil bool
	emitted   bool  // emitClosed has run: lastUpper is set
	lastUpper int64 // largest session end emitted as final so far
	found     []foundSession[VA]
	pending   []pendingSession
	// cached: the store forwards the updates when its record cache flushes them.
	cached bool
}

// foundSession is a session of the current key read from the store.
type foundSession[VA any] struct {
	start, end int64
	value      VA
}

// pendingSession is a closed session read from the store, to emit after the scan.
type pendingSession struct {
	key, value []byte
	start, end int64
}

func (p *sessionWindowAggOp[K, V, VA]) Init(ctx processor.Context[windows.Windowed[K], change[VA]]) error {
	p.ctx = ctx
	p.observed = processor.UnknownTime
	p.keyMayNil = nullable.Can[K]()
	s, err := ctx.StateStore(p.st.store)
	if err != nil {
		return err
	}
	ss, ok := s.(*state.SessionStore[K, VA])
	if !ok {
		return fmt.Errorf("rill: store %s is a %T, not a session store of these types", p.st.store, s)
	}
	p.store, p.ks = ss.Bytes(), ss.KeySerde()
	if !p.st.emitFinal {
		p.cached = ss.SetFlushListener(p.st.sendOld, p.forwardFlushed)
	}
	return nil
}

// forwardFlushed forwards a session the store's cache flushed: its latest aggregate, or its
// removal with the value the store held, stamped with the session's end and carrying the
// write's headers (Kafka Streams' SessionCacheFlushListener).
func (p *sessionWindowAggOp[K, V, VA]) forwardFlushed(s state.CachedSession[K, VA]) error {
	if s.StoreTime > math.MinInt64+p.st.ksRetention && s.End <= s.StoreTime-p.st.ksRetention {
		// Kafka Streams' store beneath the cache has expired the session (its retention is a
		// millisecond shorter than rill's): it reads no old value, so a removal is not
		// forwarded (oracle cwinagg-1-15, -109, -255), nor the old value of an update.
		if !s.HasNew {
			return nil
		}
		var zero VA
		s.Old, s.HasOld = zero, false
	}
	return p.ctx.Forward(processor.Record[windows.Windowed[K], change[VA]]{
		Key:   windows.Windowed[K]{Key: s.Key, Start: s.Start, End: s.End},
		Value: change[VA]{New: s.New, HasNew: s.HasNew, Old: s.Old, HasOld: s.HasOld}, Timestamp: s.End,
		Headers: s.Context.Headers})
}

func (p *sessionWindowAggOp[K, V, VA]) Close() error { return nil }

func (p *sessionWindowAggOp[K, V, VA]) Process(r processor.Record[K, V]) error {
	if nullable.IsNil(&r.Key, p.keyMayNil) {
		p.ctx.RecordDropped("session windowed aggregation: null key")
		return nil
	}
	ts, gap := r.Timestamp, p.w.Gap()
	// The store's view before this record: Kafka Streams' session store answers lookups
	// against the stream time of its earlier writes (see load).
	before := p.observed
	if ts > p.observed {
		p.observed = ts
	}
	if p.st.emitFinal {
		// Sessions ending before stream time - grace - gap are closed. Emitted before this
		// record's writes, which cannot change them, while they are surely in retention.
		if err := p.emitClosed(p.observed-p.w.Grace()-gap-1, r.Headers); err != nil {
			return err
		}
	}
	kb, err := p.ks.Serialize(p.st.store, r.Key)
	if err != nil {
		return keyError(p.st.store, true, err)
	}
	if err := p.load(kb, ts-gap, satAdd(ts, gap), before); err != nil {
		return err
	}
	// Merge: the aggregates of the sessions found, from init() (or from the first one, for
	// Reduce), then the record.
	start, end := ts, ts
	var agg, same VA
	has, hasSame := p.f.init != nil, false
	if has {
		agg = p.f.init()
	}
	for _, s := range p.found {
		if has {
			agg = p.f.merge(r.Key, agg, s.value)
		} else {
			agg, has = s.value, true
		}
		start, end = min(start, s.start), max(end, s.end)
		if s.start == ts && s.end == ts {
			same, hasSame = s.value, true
		}
	}
	if p.w.Closed(end, p.observed) {
		p.ctx.RecordDropped(fmt.Sprintf("session [%d,%d] closed: timestamp %d, stream time %d, gap %dms, grace %dms",
			start, end, ts, p.observed, gap, p.w.Grace()))
		return nil
	}
	if start != ts || end != ts {
		// The merged session replaces those found: each is deleted, and downstream told so.
		for _, s := range p.found {
			if err := p.store.Remove(kb, s.start, s.end); err != nil {
				return err
			}
			if err := p.forward(r.Key, s.start, s.end, change[VA]{Old: s.value, HasOld: true}); err != nil {
				return err
			}
		}
		hasSame = false
	}
	if has {
		agg = p.f.add(r.Key, r.Value, agg)
	} else {
		agg = p.f.first(r.Value)
	}
	vb, err := p.vs.Serialize(p.st.store, agg)
	if err != nil {
		return valueError(p.st.store, true, err)
	}
	if err := p.store.Put(kb, start, end, vb); err != nil {
		return err
	}
	// A session [ts, ts] updated in place has an old value (Kafka Streams forwards none).
	return p.forward(r.Key, start, end, change[VA]{New: agg, HasNew: true, Old: same, HasOld: hasSame})
}

// forward sends a session update stamped with the session's end and, as Kafka Streams does,
// without headers; nothing while only final results are emitted.
func (p *sessionWindowAggOp[K, V, VA]) forward(k K, start, end int64, ch change[VA]) error {
	if p.st.emitFinal || p.cached {
		return nil
	}
	if !p.st.sendOld {
		var zero VA
		ch.Old, ch.HasOld = zero, false
	}
	return p.ctx.Forward(processor.Record[windows.Windowed[K], change[VA]]{
		Key: windows.Windowed[K]{Key: k, Start: start, End: end}, Value: ch, Timestamp: end})
}

// load reads the key's open sessions ending at or after earliestEnd and starting at or before
// latestStart into p.found. before is the stream time before the current record.
func (p *sessionWindowAggOp[K, V, VA]) load(kb []byte, earliestEnd, latestStart, before int64) error {
	it, err := p.store.FindSessions(kb, earliestEnd, latestStart)
	if err != nil {
		return err
	}
	clear(p.found)
	p.found = p.found[:0]
	cacheOrigin, _ := it.(interface{ FromCache() bool })
	for it.Next() {
		// Kafka Streams merges a record with any session its store returns; its record cache
		// returns sessions the store beneath has expired (oracle cwinagg-1-15, -41): those
		// merge, even closed ones, and only the merged session's end decides whether the
		// record is late.
		fromCache := cacheOrigin != nil && cacheOrigin.FromCache()
		if !fromCache && (p.w.Closed(it.End(), p.observed) || satAdd(satAdd(it.End(), p.w.Gap()), p.w.Grace()) <= before) {
			// A closed session is final: it was (or could have been) emitted as such, so it
			// never grows again. Kafka Streams' session store (retention gap + grace) also
			// stops returning a session once end <= its stream time - gap - grace, one
			// millisecond before the aggregation calls it closed: a record landing exactly on
			// that boundary starts a new session instead of merging, and a new session with
			// the old one's bounds ([ts,ts]) replaces it (oracle winagg-1-146, -149, -230,
			// -370; TestSessionMergeAtRetentionBoundary).
			continue
		}
		v, derr := p.vs.Deserialize(p.st.store, it.Value())
		if derr != nil {
			it.Close()
			return valueError(p.st.store, false, derr)
		}
		p.found = append(p.found, foundSession[VA]{start: it.Start(), end: it.End(), value: v})
	}
	err = it.Err()
	if cerr := it.Close(); err == nil {
		err = cerr
	}
	return err
}

// emitClosed forwards, as final results, the sessions ending in (last emitted, upper], by end
// time, key and start (the order of Kafka Streams' time-ordered session store), stamped with
// their end and carrying the current record's headers. Each leaves the store once emitted:
// a closed session never changes again (load skips closed sessions), and a restarted
// application, which does not know what was emitted, cannot emit it twice.
func (p *sessionWindowAggOp[K, V, VA]) emitClosed(upper int64, headers []processor.Header) error {
	lower := int64(0) // Kafka Streams: max(0, last close time)
	if p.emitted {
		lower = max(0, p.lastUpper+1)
	}
	if upper < 0 || lower > upper {
		return nil
	}
	it, err := p.store.FindSessionsRange(nil, nil, lower, upper)
	if err != nil {
		return err
	}
	p.pending = p.pending[:0]
	for it.Next() {
		if it.End() > upper {
			continue // starts in range, ends after it: still open
		}
		p.pending = append(p.pending, pendingSession{key: append([]byte(nil), it.Key()...),
			value: append([]byte(nil), it.Value()...), start: it.Start(), end: it.End()})
	}
	err = it.Err()
	if cerr := it.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	p.emitted, p.lastUpper = true, upper
	slices.SortFunc(p.pending, func(a, b pendingSession) int {
		if a.end != b.end {
			return cmp.Compare(a.end, b.end)
		}
		// Kafka Streams' time-ordered session store is keyed end, start, key.
		if a.start != b.start {
			return cmp.Compare(a.start, b.start)
		}
		return bytes.Compare(a.key, b.key)
	})
	for i := range p.pending {
		s := &p.pending[i]
		k, err := p.ks.Deserialize(p.st.store, s.key)
		if err != nil {
			return keyError(p.st.store, false, err)
		}
		v, err := p.vs.Deserialize(p.st.store, s.value)
		if err != nil {
			return valueError(p.st.store, false, err)
		}
		if err := p.store.Remove(s.key, s.start, s.end); err != nil {
			return err
		}
		if err := p.ctx.Forward(processor.Record[windows.Windowed[K], change[VA]]{
			Key:   windows.Windowed[K]{Key: k, Start: s.start, End: s.end},
			Value: change[VA]{New: v, HasNew: true}, Timestamp: s.end, Headers: headers}); err != nil {
			return err
		}
	}
	clear(p.pending)
	return nil
}
