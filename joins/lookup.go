package joins

import (
	"github.com/rillstreams/rill/processor"
	"github.com/rillstreams/rill/state"
)

// ValueGetter reads a table's current row for a key: its value and timestamp, ok false when
// the key has no row (Kafka Streams' KTableValueGetter).
type ValueGetter[K, V any] func(key K) (row state.ValueAndTimestamp[V], ok bool, err error)

// GetterSupplier says how a processor reads a table: the stores it must be connected to, and
// how to open a getter on them once the processor has its context. A table kept in a store
// reads the store; a table computed from another (a filter, a join result) reads its source
// and recomputes the row, as Kafka Streams' value getters do, so it needs no store of its own.
type GetterSupplier[K, V any] struct {
	Stores []string
	Open   func(ctx StoreSource) (ValueGetter[K, V], error)
}

// StoreGetter reads rows from the table store (state.TimestampedKeyValueStore) named store,
// which may also be a global store.
func StoreGetter[K, V any](store string) GetterSupplier[K, V] {
	return GetterSupplier[K, V]{
		Stores: []string{store},
		Open: func(ctx StoreSource) (ValueGetter[K, V], error) {
			s, err := storeAs[*state.TimestampedKeyValueStore[K, V]](ctx, store)
			if err != nil {
				return nil, err
			}
			return s.Get, nil
		},
	}
}

// Lookup joins each record of a stream with the row of a table it maps to (Kafka Streams'
// KStreamKTableJoin and KStreamGlobalKTableJoin): the lookup happens when the stream record
// arrives, so table updates trigger nothing, and a record joins the row as it is then.
//
// A record with a nil value is dropped and counted. A record whose table key is nil (a nil
// record key for table joins, a nil mapped key for global ones) cannot match: an inner join
// drops and counts it, a left join emits it unmatched (KIP-962). Results keep the stream
// record's key, timestamp and headers.
type Lookup[K, V, KT, VT, VR any] struct {
	Table GetterSupplier[KT, VT]
	// KeyOf maps a stream record to the table key (the record key for KTable joins).
	KeyOf func(K, V) KT
	// Joiner makes the result; found is false only for a left join's unmatched records.
	Joiner func(k K, v V, tv VT, found bool) VR
	// Left makes a left join: records without a row are joined with found == false.
	Left bool
}

// Supplier returns the join processor; connect it to Table.Stores (a global store needs no
// connection: every processor may read global stores).
func (l *Lookup[K, V, KT, VT, VR]) Supplier() processor.Supplier[K, V, K, VR] {
	return func() processor.Processor[K, V, K, VR] {
		return &lookup[K, V, KT, VT, VR]{l: l, valueNil: newNilCheck[V](), keyNil: newNilCheck[KT]()}
	}
}

type lookup[K, V, KT, VT, VR any] struct {
	ctx      processor.Context[K, VR]
	l        *Lookup[K, V, KT, VT, VR]
	get      ValueGetter[KT, VT]
	valueNil nilCheck[V]
	keyNil   nilCheck[KT]
}

func (p *lookup[K, V, KT, VT, VR]) Init(ctx processor.Context[K, VR]) (err error) {
	p.ctx = ctx
	p.get, err = p.l.Table.Open(ctx)
	return err
}

func (p *lookup[K, V, KT, VT, VR]) Process(r processor.Record[K, V]) error {
	if p.valueNil.isNil(&r.Value) {
		p.ctx.RecordDropped("stream-table join: null value")
		return nil
	}
	tk := p.l.KeyOf(r.Key, r.Value)
	var row state.ValueAndTimestamp[VT]
	found := false
	if p.keyNil.isNil(&tk) {
		if !p.l.Left {
			p.ctx.RecordDropped("stream-table join: null join key")
			return nil
		}
	} else {
		var err error
		if row, found, err = p.get(tk); err != nil {
			return err
		}
	}
	if !found && !p.l.Left {
		return nil
	}
	return p.ctx.Forward(processor.Record[K, VR]{Key: r.Key, Value: p.l.Joiner(r.Key, r.Value, row.Value, found),
		Timestamp: r.Timestamp, Headers: r.Headers})
}

func (p *lookup[K, V, KT, VT, VR]) Close() error { return nil }
