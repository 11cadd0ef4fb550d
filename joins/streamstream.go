package joins

import (
	"fmt"

	"github.com/rillstreams/rill/internal/nullable"
	"github.com/rillstreams/rill/processor"
	"github.com/rillstreams/rill/serde"
	"github.com/rillstreams/rill/state"
)

// StreamStream is a windowed join of a left stream of K, V records with a right stream of K,
// VO records (Kafka Streams' KStreamImplJoin). Each side's records are buffered in a window
// store of their own (Store and OtherStore, state.WindowStore with RetainDuplicates and
// Window.Retention) by a windowed processor; each side's join processor looks up the other
// side's buffer for records of the same key within the window and joins them.
//
// A left join also gives every left record that found no right record a result of its own
// (LeftOnly); an outer join also every unmatched right record (RightOnly). Those results are
// held back in the shared OuterStore and emitted only once the record's window has closed,
// by the next record either join processor sees: before that a match may still arrive
// (Kafka Streams' KIP-633 behaviour, without the spurious early results of older versions).
//
// Time is the task's stream time. A record's window closes when stream time passes its
// timestamp plus its side's after (the right side's: before) plus grace. As in Kafka Streams,
// no record is dropped for being late: a record joins every record of the other side within
// the window that the other side's buffer still holds (a buffer keeps records for before +
// after + grace of its own stream time, the largest timestamp put into it), whether or not
// either window has closed; so an unmatched result may be followed by a match. A left or
// outer join emits the unmatched result of a record whose own window has already closed at
// once, instead of holding it. Records with a nil key or value are dropped and counted,
// except that the outer side of a join gives a record with a nil key its unmatched result at
// once (it can never match; Kafka Streams' KIP-962). Held unmatched results are emitted when
// an in-order record (one at stream time) arrives, as in Kafka Streams.
//
// Results: the joined value, the key, and the larger of the two records' timestamps, with
// the headers of the record that completed the match. Unmatched results carry the unmatched
// record's key and timestamp, and no headers.
type StreamStream[K, V, VO, VR any] struct {
	Window Window
	// Store and OtherStore name the window stores of left and right records; OuterStore names
	// the shared store of a left or outer join ("" for an inner join).
	Store, OtherStore, OuterStore string
	KeySerde                      serde.Serde[K]
	ValueSerde                    serde.Serde[V]
	OtherValueSerde               serde.Serde[VO]
	// Joiner makes the result of a left and a right record that match.
	Joiner func(K, V, VO) VR
	// LeftOnly, when set, makes the result of a left record no right record matched (left
	// and outer joins); RightOnly that of a right record (outer joins). Either needs
	// OuterStore.
	LeftOnly  func(K, V) VR
	RightOnly func(K, VO) VR
}

// Validate reports a join that cannot run.
func (j *StreamStream[K, V, VO, VR]) Validate() error {
	if err := j.Window.Validate(); err != nil {
		return err
	}
	if j.Joiner == nil || j.KeySerde == nil || j.ValueSerde == nil || j.OtherValueSerde == nil {
		return fmt.Errorf("rill: stream-stream join needs a joiner and serdes for the key and both values")
	}
	if (j.LeftOnly != nil || j.RightOnly != nil) && j.OuterStore == "" {
		return fmt.Errorf("rill: left and outer stream-stream joins need an outer store")
	}
	return nil
}

// WindowStoreBuilders returns builders of the left and right window stores, logged.
func (j *StreamStream[K, V, VO, VR]) WindowStoreBuilders() (*state.WindowStoreBuilder[K, V], *state.WindowStoreBuilder[K, VO]) {
	wo := state.WindowOptions{Retention: j.Window.Retention(), RetainDuplicates: true}
	return state.NewWindowStoreBuilder(j.Store, j.KeySerde, j.ValueSerde, wo),
		state.NewWindowStoreBuilder(j.OtherStore, j.KeySerde, j.OtherValueSerde, wo)
}

// ThisWindowed is the processor buffering left records (KSTREAM-WINDOWED); connect it to Store.
func (j *StreamStream[K, V, VO, VR]) ThisWindowed() processor.Supplier[K, V, K, V] {
	return func() processor.Processor[K, V, K, V] {
		return &windowed[K, V]{store: j.Store, keyNil: nullable.For[K]()}
	}
}

// OtherWindowed is the processor buffering right records; connect it to OtherStore.
func (j *StreamStream[K, V, VO, VR]) OtherWindowed() processor.Supplier[K, VO, K, VO] {
	return func() processor.Processor[K, VO, K, VO] {
		return &windowed[K, VO]{store: j.OtherStore, keyNil: nullable.For[K]()}
	}
}

func (j *StreamStream[K, V, VO, VR]) emitter() *outerEmitter[K, V, VO, VR] {
	return &outerEmitter[K, V, VO, VR]{left: leftSide(j.Window), right: rightSide(j.Window),
		ks: j.KeySerde, vs: j.ValueSerde, vos: j.OtherValueSerde,
		leftOnly: j.LeftOnly, rightOnly: j.RightOnly, store: j.OuterStore}
}

// ThisJoin is the left side's join processor (KSTREAM-JOINTHIS / OUTERTHIS); connect it to
// OtherStore and, for left and outer joins, OuterStore.
func (j *StreamStream[K, V, VO, VR]) ThisJoin() processor.Supplier[K, V, K, VR] {
	joiner, only := j.Joiner, j.LeftOnly
	otherOuter := j.RightOnly != nil
	return func() processor.Processor[K, V, K, VR] {
		return &sideJoin[K, V, VO, VR]{side: leftSide(j.Window), otherSide: rightSide(j.Window), otherStore: j.OtherStore, outerStore: j.OuterStore,
			ks: j.KeySerde, vs: j.ValueSerde, vos: j.OtherValueSerde, joiner: joiner, thisOnly: only,
			otherOuter: otherOuter, emitter: j.emitter(), keyNil: nullable.For[K](), valueNil: nullable.For[V]()}
	}
}

// OtherJoin is the right side's join processor (KSTREAM-JOINOTHER / OUTEROTHER); connect it to
// Store and, for left and outer joins, OuterStore.
func (j *StreamStream[K, V, VO, VR]) OtherJoin() processor.Supplier[K, VO, K, VR] {
	joiner := j.Joiner
	reversed := func(k K, vo VO, v V) VR { return joiner(k, v, vo) }
	only := j.RightOnly
	otherOuter := j.LeftOnly != nil
	return func() processor.Processor[K, VO, K, VR] {
		return &sideJoin[K, VO, V, VR]{side: rightSide(j.Window), otherSide: leftSide(j.Window), otherStore: j.Store, outerStore: j.OuterStore,
			ks: j.KeySerde, vs: j.OtherValueSerde, vos: j.ValueSerde, joiner: reversed, thisOnly: only,
			otherOuter: otherOuter, emitter: j.emitter(), keyNil: nullable.For[K](), valueNil: nullable.For[VO]()}
	}
}

// windowed buffers a side's records in its window store and passes them on to the join
// processor (Kafka Streams' KStreamJoinWindow). Records with a nil key are not buffered; the
// store itself drops records older than its retention.
type windowed[K, V any] struct {
	ctx    processor.Context[K, V]
	store  string
	ws     *state.WindowStore[K, V]
	keyNil nullable.Check[K]
}

func (p *windowed[K, V]) Init(ctx processor.Context[K, V]) (err error) {
	p.ctx = ctx
	p.ws, err = storeAs[*state.WindowStore[K, V]](ctx, p.store)
	return err
}

func (p *windowed[K, V]) Process(r processor.Record[K, V]) error {
	// Forward first, as Kafka Streams: the join processor looks at the other side's buffer,
	// never at this one, so the order only matters for a self-join.
	if err := p.ctx.Forward(r); err != nil {
		return err
	}
	if p.keyNil.IsNil(&r.Key) {
		return nil
	}
	// A nil value is put too, as Kafka Streams does: the store keeps nothing for it (it cannot
	// be joined) but its stream time moves, which expires older records.
	return p.ws.Put(r.Key, r.Value, r.Timestamp)
}

func (p *windowed[K, V]) Close() error { return nil }

// sideJoin is one side's join processor: VT is this side's value type, VX the other's.
type sideJoin[K, VT, VX, VR any] struct {
	ctx                    processor.Context[K, VR]
	side, otherSide        side
	otherStore, outerStore string
	other                  state.WindowBytesStore
	outer                  *OuterStore
	ks                     serde.Serde[K]
	vs                     serde.Serde[VT]
	vos                    serde.Serde[VX]
	joiner                 func(K, VT, VX) VR
	thisOnly               func(K, VT) VR // set when this side's unmatched records have results
	otherOuter             bool           // the other side's unmatched records wait in the outer store
	emitter                closedEmitter[K, VR]
	keyNil                 nullable.Check[K]
	valueNil               nullable.Check[VT]
}

// closedEmitter is the part of outerEmitter a side needs, without the other side's types.
type closedEmitter[K, VR any] interface {
	emit(s *OuterStore, st, lookAfter int64, ctx processor.Context[K, VR]) error
}

func (p *sideJoin[K, VT, VX, VR]) Init(ctx processor.Context[K, VR]) error {
	p.ctx = ctx
	ws, err := storeAs[*state.WindowStore[K, VX]](ctx, p.otherStore)
	if err != nil {
		return err
	}
	p.other = ws.Bytes()
	if p.outerStore != "" {
		p.outer, err = storeAs[*OuterStore](ctx, p.outerStore)
	}
	return err
}

func (p *sideJoin[K, VT, VX, VR]) Process(r processor.Record[K, VT]) error {
	if p.valueNil.IsNil(&r.Value) {
		p.ctx.RecordDropped("stream-stream join: null value")
		return nil
	}
	if p.keyNil.IsNil(&r.Key) {
		if p.thisOnly != nil {
			return p.ctx.Forward(processor.Record[K, VR]{Key: r.Key, Value: p.thisOnly(r.Key, r.Value), Timestamp: r.Timestamp, Headers: r.Headers})
		}
		p.ctx.RecordDropped("stream-stream join: null key")
		return nil
	}
	st := p.ctx.StreamTime()
	if p.outer != nil && r.Timestamp >= st {
		if err := p.emitter.emit(p.outer, st, p.side.lookAfter, p.ctx); err != nil {
			return err
		}
	}
	kb, err := p.ks.Serialize(p.otherStore, r.Key)
	if err != nil {
		return &serde.Error{Topic: p.otherStore, Partition: -1, Offset: -1, Key: true, Serialize: true, Err: err}
	}
	from, to := p.side.fetchRange(r.Timestamp)
	it, err := p.other.FetchRange(kb, from, to)
	if err != nil {
		return err
	}
	matched, err := p.joinAll(r, kb, it)
	if cerr := it.Close(); err == nil {
		err = cerr
	}
	if err != nil || matched {
		return err
	}
	return p.unmatched(r, kb, to, st)
}

// unmatched gives a record no other record joined its result of its own, when it has one: at
// once if its window has already closed (no match can come), else later, from the outer store.
func (p *sideJoin[K, VT, VX, VR]) unmatched(r processor.Record[K, VT], kb []byte, to, st int64) error {
	if p.thisOnly == nil {
		return nil
	}
	if to < st {
		return p.ctx.Forward(processor.Record[K, VR]{Key: r.Key, Value: p.thisOnly(r.Key, r.Value), Timestamp: r.Timestamp, Headers: r.Headers})
	}
	vb, err := p.vs.Serialize(p.outerStore, r.Value)
	if err != nil {
		return &serde.Error{Topic: p.outerStore, Partition: -1, Offset: -1, Serialize: true, Err: err}
	}
	return p.outer.add(r.Timestamp, p.side.left, kb, vb)
}

func (p *sideJoin[K, VT, VX, VR]) joinAll(r processor.Record[K, VT], kb []byte, it state.WindowIterator) (bool, error) {
	matched := false
	for it.Next() {
		matched = true
		vx, err := p.vos.Deserialize(p.otherStore, it.Value())
		if err != nil {
			return matched, &serde.Error{Topic: p.otherStore, Partition: -1, Offset: -1, Err: err}
		}
		ots := it.WindowStart()
		if p.otherOuter {
			// The other record has a match now: its unmatched result must never be emitted.
			if err := p.outer.matched(ots, !p.side.left, kb); err != nil {
				return matched, err
			}
		}
		out := processor.Record[K, VR]{Key: r.Key, Value: p.joiner(r.Key, r.Value, vx), Timestamp: max(r.Timestamp, ots), Headers: r.Headers}
		if err := p.ctx.Forward(out); err != nil {
			return matched, err
		}
	}
	return matched, it.Err()
}

func (p *sideJoin[K, VT, VX, VR]) Close() error { return nil }

// storeAs gets a connected store and checks its type.
func storeAs[S processor.Store](ctx StoreSource, name string) (S, error) {
	var zero S
	s, err := ctx.StateStore(name)
	if err != nil {
		return zero, err
	}
	typed, ok := s.(S)
	if !ok {
		return zero, fmt.Errorf("rill: store %s is a %T, want %T", name, s, zero)
	}
	return typed, nil
}

// StoreSource is what join processors read stores from: every processor.Context is one.
type StoreSource interface {
	StateStore(name string) (processor.Store, error)
}
