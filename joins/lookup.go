package joins

import (
	"fmt"

	"github.com/rillstreams/rill/internal/nullable"
	"github.com/rillstreams/rill/processor"
	"github.com/rillstreams/rill/serde"
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
	// OpenAsOf opens a getter of the row as of a time, for versioned tables (nil for others):
	// stream-table joins read it as of each stream record's timestamp (KIP-914).
	OpenAsOf func(ctx StoreSource) (AsOfGetter[K, V], error)
}

// AsOfGetter reads a versioned table's row for a key as it was at asOf.
type AsOfGetter[K, V any] func(key K, asOf int64) (row state.ValueAndTimestamp[V], ok bool, err error)

// VersionedStoreGetter reads rows from the versioned store (state.VersionedKeyValueStore)
// named store: Open reads the latest version, OpenAsOf the version valid at a time.
func VersionedStoreGetter[K, V any](store string) GetterSupplier[K, V] {
	open := func(ctx StoreSource) (*state.VersionedKeyValueStore[K, V], error) {
		return storeAs[*state.VersionedKeyValueStore[K, V]](ctx, store)
	}
	return GetterSupplier[K, V]{
		Stores: []string{store},
		Open: func(ctx StoreSource) (ValueGetter[K, V], error) {
			s, err := open(ctx)
			if err != nil {
				return nil, err
			}
			return func(k K) (state.ValueAndTimestamp[V], bool, error) {
				r, ok, err := s.Get(k)
				return state.ValueAndTimestamp[V]{Value: r.Value, Timestamp: r.Timestamp}, ok, err
			}, nil
		},
		OpenAsOf: func(ctx StoreSource) (AsOfGetter[K, V], error) {
			s, err := open(ctx)
			if err != nil {
				return nil, err
			}
			return func(k K, asOf int64) (state.ValueAndTimestamp[V], bool, error) {
				r, ok, err := s.GetAsOf(k, asOf)
				return state.ValueAndTimestamp[V]{Value: r.Value, Timestamp: r.Timestamp}, ok, err
			}, nil
		},
	}
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
	// Buffer, when set, makes the join wait Grace milliseconds of stream time before it
	// joins a record (KIP-923): records are kept in this store (a
	// *state.KeyValueStore[[]byte, []byte], see BufferStore) in timestamp order, and joined
	// with the table as of their own timestamp once stream time passes them by Grace.
	// Needs a table read as of a time (GetterSupplier.OpenAsOf).
	Buffer string
	Grace  int64
	// KeySerde and ValueSerde write buffered records.
	KeySerde   serde.Serde[K]
	ValueSerde serde.Serde[V]
}

// Supplier returns the join processor; connect it to Table.Stores (a global store needs no
// connection: every processor may read global stores).
func (l *Lookup[K, V, KT, VT, VR]) Supplier() processor.Supplier[K, V, K, VR] {
	return func() processor.Processor[K, V, K, VR] {
		return &lookup[K, V, KT, VT, VR]{l: l, valueNil: nullable.For[V](), keyNil: nullable.For[KT]()}
	}
}

type lookup[K, V, KT, VT, VR any] struct {
	ctx      processor.Context[K, VR]
	l        *Lookup[K, V, KT, VT, VR]
	get      ValueGetter[KT, VT]
	getAsOf  AsOfGetter[KT, VT] // versioned tables: rows as of the record's timestamp
	valueNil nullable.Check[V]
	keyNil   nullable.Check[KT]
	buf      *graceBuffer[K, V] // nil without a grace period
}

func (p *lookup[K, V, KT, VT, VR]) Init(ctx processor.Context[K, VR]) (err error) {
	p.ctx = ctx
	if p.l.Table.OpenAsOf != nil {
		if p.getAsOf, err = p.l.Table.OpenAsOf(ctx); err != nil {
			return err
		}
	}
	if p.l.Buffer != "" {
		if p.getAsOf == nil {
			return fmt.Errorf("rill: stream-table join with a grace period needs a versioned table")
		}
		if p.buf, err = openGraceBuffer(ctx, p.l.Buffer, p.l.Grace, p.l.KeySerde, p.l.ValueSerde); err != nil {
			return err
		}
	}
	p.get, err = p.l.Table.Open(ctx)
	return err
}

func (p *lookup[K, V, KT, VT, VR]) Process(r processor.Record[K, V]) error {
	if p.valueNil.IsNil(&r.Value) {
		p.ctx.RecordDropped("stream-table join: null value")
		return nil
	}
	tk := p.l.KeyOf(r.Key, r.Value)
	nullKey := p.keyNil.IsNil(&tk)
	if nullKey && !p.l.Left {
		p.ctx.RecordDropped("stream-table join: null join key")
		return nil
	}
	if p.buf == nil {
		return p.join(r, tk, nullKey)
	}
	// KIP-923: a record within the grace period waits in the buffer; one already older than
	// stream time minus grace is joined at once (Kafka Streams' buffer refuses it).
	buffered, err := p.buf.put(r)
	if err != nil {
		return err
	}
	if !buffered {
		return p.join(r, tk, nullKey)
	}
	return p.buf.evict(func(br processor.Record[K, V]) error {
		btk := p.l.KeyOf(br.Key, br.Value)
		return p.join(br, btk, p.keyNil.IsNil(&btk))
	})
}

// join looks the record's row up (as of the record's timestamp for a versioned table) and
// forwards the result.
func (p *lookup[K, V, KT, VT, VR]) join(r processor.Record[K, V], tk KT, nullKey bool) error {
	var row state.ValueAndTimestamp[VT]
	found := false
	if !nullKey {
		var err error
		if p.getAsOf != nil {
			row, found, err = p.getAsOf(tk, r.Timestamp)
		} else {
			row, found, err = p.get(tk)
		}
		if err != nil {
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
