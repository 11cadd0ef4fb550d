package fkjoin

import (
	"bytes"
	"fmt"

	"github.com/rillstreams/rill/internal/nullable"
	"github.com/rillstreams/rill/internal/tablejoin"
	"github.com/rillstreams/rill/joins"
	"github.com/rillstreams/rill/processor"
	"github.com/rillstreams/rill/serde"
	"github.com/rillstreams/rill/state"
)

// ForeignKeyJoin joins each row of a left table (K, V) with the row of a right table (KO, VO)
// whose key its value refers to (Kafka Streams' KIP-213 foreign-key join). The tables need
// not be co-partitioned: a left row subscribes to its foreign key through the subscription
// registration topic, partitioned by foreign key, where the right side keeps subscriptions in
// the subscription store; either side's change produces a response through the subscription
// response topic, partitioned by the left key, where the response is joined with the left
// row.
//
// Ordering across the two topics is not guaranteed, so every subscription carries the hash
// of the left value it was made for, and a response whose hash no longer matches the current
// left value is dropped (and counted): a newer subscription's response is on its way. A
// changed foreign key unsubscribes from the old one. Deleting a left row deletes its result;
// deleting a right row deletes the results of an inner join and turns those of a left join
// into unmatched ones.
//
// The processors, in topology order: Register (a child of the left table), Receive and
// JoinSubscription (after the registration topic), ForeignChanged (a child of the right
// table), Resolve (after the response topic).
type ForeignKeyJoin[K, V, KO, VO, VR any] struct {
	// ForeignKey extracts the right table's key from a left row. A nil result (for nullable
	// KO) is no foreign key: the row has no result in an inner join and an unmatched one in a
	// left join.
	ForeignKey func(K, V) KO
	// Joiner makes the result; found is false only for a left join's unmatched rows.
	Joiner func(k K, v V, vo VO, found bool) VR
	Left   bool

	KeySerde          serde.Serde[K]
	ValueSerde        serde.Serde[V]
	ForeignKeySerde   serde.Serde[KO]
	ForeignValueSerde serde.Serde[VO]

	// SubscriptionStore names the store of subscriptions (right side).
	SubscriptionStore string
	// LeftTable and RightTable read the tables' current rows.
	LeftTable  joins.GetterSupplier[K, V]
	RightTable joins.GetterSupplier[KO, VO]
	// Topic is the subscription registration topic's name; with suffixes (-fk, -pk, -vh) it
	// is the topic serdes are given for keys and hashed values, as Kafka Streams' pseudo
	// topics.
	Topic string
}

// SubscriptionStoreBuilder builds the subscription store: a table store keyed by CombinedKey.
func (j *ForeignKeyJoin[K, V, KO, VO, VR]) SubscriptionStoreBuilder() *state.KeyValueStoreBuilder[[]byte, Subscription[K]] {
	return state.NewTimestampedKeyValueStoreBuilder(j.SubscriptionStore, serde.Bytes(), SubscriptionSerde(j.KeySerde))
}

func (j *ForeignKeyJoin[K, V, KO, VO, VR]) fkBytes(fk KO) ([]byte, error) {
	b, err := j.ForeignKeySerde.Serialize(j.Topic+"-fk", fk)
	if err != nil {
		return nil, &serde.Error{Topic: j.Topic + "-fk", Partition: -1, Offset: -1, Key: true, Serialize: true, Err: err}
	}
	return b, nil
}

func (j *ForeignKeyJoin[K, V, KO, VO, VR]) pkBytes(pk K) ([]byte, error) {
	b, err := j.KeySerde.Serialize(j.Topic+"-pk", pk)
	if err != nil {
		return nil, &serde.Error{Topic: j.Topic + "-pk", Partition: -1, Offset: -1, Key: true, Serialize: true, Err: err}
	}
	return b, nil
}

func (j *ForeignKeyJoin[K, V, KO, VO, VR]) hash(v V) (Hash, error) {
	b, err := j.ValueSerde.Serialize(j.Topic+"-vh", v)
	if err != nil {
		return Hash{}, &serde.Error{Topic: j.Topic + "-vh", Partition: -1, Offset: -1, Serialize: true, Err: err}
	}
	return Murmur3(b), nil
}

// Register returns the processor that turns the left table's changes (of type C, read with
// changeOf; old values are needed) into subscriptions keyed by foreign key (Kafka Streams'
// SubscriptionSendProcessorSupplier).
func (j *ForeignKeyJoin[K, V, KO, VO, VR]) Register[C any](changeOf func(C) tablejoin.Change[V]) processor.Supplier[K, C, KO, Subscription[K]] {
	return func() processor.Processor[K, C, KO, Subscription[K]] {
		return &fkRegister[K, V, KO, VO, VR, C]{j: j, changeOf: changeOf, fkNil: nullable.For[KO]()}
	}
}

type fkRegister[K, V, KO, VO, VR, C any] struct {
	ctx      processor.Context[KO, Subscription[K]]
	j        *ForeignKeyJoin[K, V, KO, VO, VR]
	changeOf func(C) tablejoin.Change[V]
	fkNil    nullable.Check[KO]
}

func (p *fkRegister[K, V, KO, VO, VR, C]) Init(ctx processor.Context[KO, Subscription[K]]) error {
	p.ctx = ctx
	return nil
}

func (p *fkRegister[K, V, KO, VO, VR, C]) Close() error { return nil }

// foreignKey extracts a value's foreign key; ok is false when there is none.
func (p *fkRegister[K, V, KO, VO, VR, C]) foreignKey(k K, v V) (KO, bool) {
	fk := p.j.ForeignKey(k, v)
	return fk, !p.fkNil.IsNil(&fk)
}

func (p *fkRegister[K, V, KO, VO, VR, C]) Process(r processor.Record[K, C]) error {
	ch := p.changeOf(r.Value)
	sub := Subscription[K]{PrimaryKey: r.Key, PrimaryPartition: -1}
	if md, ok := p.ctx.RecordMetadata(); ok {
		sub.PrimaryPartition = md.Partition
	}
	if ch.HasNew {
		h, err := p.j.hash(ch.New)
		if err != nil {
			return err
		}
		sub.Hash, sub.HasHash = h, true
	}
	var newFK, oldFK KO
	hasNewFK, hasOldFK := false, false
	if ch.HasNew {
		newFK, hasNewFK = p.foreignKey(r.Key, ch.New)
	}
	if ch.HasOld {
		oldFK, hasOldFK = p.foreignKey(r.Key, ch.Old)
	}
	same := false
	if hasOldFK && hasNewFK {
		var err error
		if same, err = p.sameKey(oldFK, newFK); err != nil {
			return err
		}
	}
	// replaced: a subscription below answers with the row's new result (joined, unmatched,
	// or deleted), so unsubscribing from an old foreign key needs no answer of its own.
	replaced := ch.HasNew && (p.j.Left || hasNewFK)
	if hasOldFK && !same {
		in := DeleteKeyAndPropagate
		if replaced {
			in = DeleteKeyNoPropagate
		}
		if err := p.send(r, sub, oldFK, true, in); err != nil {
			return err
		}
	}
	switch {
	case replaced:
		// A left join always has a result for the row; an inner join may have had one to
		// replace (or delete) when the old value had another foreign key. With the same
		// foreign key and no row there, it had none: nothing to send (Kafka Streams 4.1.1
		// sends no tombstone there either).
		in := PropagateOnlyIfFKValue
		if p.j.Left || hasOldFK && !same {
			in = PropagateNullIfNoFKValue
		}
		return p.send(r, sub, newFK, hasNewFK, in)
	case p.j.Left && ch.HasOld && !ch.HasNew && !hasOldFK:
		// A deleted row without a foreign key had an unmatched result: delete it.
		return p.send(r, sub, newFK, false, PropagateNullIfNoFKValue)
	case ch.HasNew && !hasNewFK && !hasOldFK:
		// An inner join's row without a foreign key has no result, and had none.
		p.ctx.RecordDropped("foreign-key join: null foreign key")
	}
	return nil
}

// sameKey compares foreign keys by their serialized bytes, as Kafka Streams does.
func (p *fkRegister[K, V, KO, VO, VR, C]) sameKey(old, nw KO) (bool, error) {
	ob, err := p.j.fkBytes(old)
	if err != nil {
		return false, err
	}
	nb, err := p.j.fkBytes(nw)
	if err != nil {
		return false, err
	}
	return bytes.Equal(ob, nb), nil
}

func (p *fkRegister[K, V, KO, VO, VR, C]) send(r processor.Record[K, C], sub Subscription[K], fk KO, hasFK bool, in Instruction) error {
	sub.Instruction = in
	sub.NoForeignKey = !hasFK
	return p.ctx.Forward(processor.Record[KO, Subscription[K]]{Key: fk, Value: sub, Timestamp: r.Timestamp, Headers: r.Headers})
}

// Receive returns the processor that keeps the subscription store up to date with arriving
// subscriptions and passes them on (Kafka Streams' SubscriptionReceiveProcessorSupplier);
// connect it to SubscriptionStore.
func (j *ForeignKeyJoin[K, V, KO, VO, VR]) Receive() processor.Supplier[KO, Subscription[K], KO, Subscription[K]] {
	return func() processor.Processor[KO, Subscription[K], KO, Subscription[K]] {
		return &fkReceive[K, V, KO, VO, VR]{j: j}
	}
}

type fkReceive[K, V, KO, VO, VR any] struct {
	ctx   processor.Context[KO, Subscription[K]]
	j     *ForeignKeyJoin[K, V, KO, VO, VR]
	store *state.TimestampedKeyValueStore[[]byte, Subscription[K]]
}

func (p *fkReceive[K, V, KO, VO, VR]) Init(ctx processor.Context[KO, Subscription[K]]) (err error) {
	p.ctx = ctx
	p.store, err = subscriptionStore[K](ctx, p.j.SubscriptionStore)
	return err
}

func (p *fkReceive[K, V, KO, VO, VR]) Close() error { return nil }

func (p *fkReceive[K, V, KO, VO, VR]) Process(r processor.Record[KO, Subscription[K]]) error {
	sub := r.Value
	if sub.NoForeignKey {
		if sub.Instruction != PropagateNullIfNoFKValue {
			p.ctx.RecordDropped("foreign-key join: subscription without a foreign key")
			return nil
		}
		return p.ctx.Forward(r) // nothing to subscribe to; the response says "no match"
	}
	fkb, err := p.j.fkBytes(r.Key)
	if err != nil {
		return err
	}
	pkb, err := p.j.pkBytes(sub.PrimaryKey)
	if err != nil {
		return err
	}
	key := CombinedKey(fkb, pkb)
	if sub.Instruction == DeleteKeyAndPropagate || sub.Instruction == DeleteKeyNoPropagate {
		err = p.store.Delete(key)
	} else {
		err = p.store.Put(key, state.ValueAndTimestamp[Subscription[K]]{Value: sub, Timestamp: r.Timestamp})
	}
	if err != nil {
		return err
	}
	return p.ctx.Forward(r)
}

// JoinSubscription returns the processor that answers each subscription with the right
// table's row of its foreign key, as its instruction says (Kafka Streams'
// SubscriptionJoinProcessorSupplier); connect it to RightTable.Stores.
func (j *ForeignKeyJoin[K, V, KO, VO, VR]) JoinSubscription() processor.Supplier[KO, Subscription[K], K, Response[VO]] {
	return func() processor.Processor[KO, Subscription[K], K, Response[VO]] {
		return &fkJoinSubscription[K, V, KO, VO, VR]{j: j}
	}
}

type fkJoinSubscription[K, V, KO, VO, VR any] struct {
	ctx processor.Context[K, Response[VO]]
	j   *ForeignKeyJoin[K, V, KO, VO, VR]
	get joins.ValueGetter[KO, VO]
}

func (p *fkJoinSubscription[K, V, KO, VO, VR]) Init(ctx processor.Context[K, Response[VO]]) (err error) {
	p.ctx = ctx
	p.get, err = p.j.RightTable.Open(ctx)
	return err
}

func (p *fkJoinSubscription[K, V, KO, VO, VR]) Close() error { return nil }

func (p *fkJoinSubscription[K, V, KO, VO, VR]) Process(r processor.Record[KO, Subscription[K]]) error {
	sub := r.Value
	var row state.ValueAndTimestamp[VO]
	found := false
	if !sub.NoForeignKey {
		var err error
		if row, found, err = p.get(r.Key); err != nil {
			return err
		}
	}
	ts := r.Timestamp
	if found && !(p.j.Left && sub.Instruction == DeleteKeyAndPropagate) {
		// A result is stamped with the later of both rows. Kafka Streams 4.1.1 stamps a left
		// join's tombstone for a deleted row with the delete's own timestamp (an inner
		// join's with the later of both).
		ts = max(ts, row.Timestamp)
	}
	resp := Response[VO]{Hash: sub.Hash, HasHash: sub.HasHash}
	switch sub.Instruction {
	case DeleteKeyNoPropagate:
		return nil
	case DeleteKeyAndPropagate:
	case PropagateNullIfNoFKValue:
		resp.ForeignValue, resp.HasForeign = row.Value, found
	case PropagateOnlyIfFKValue:
		if !found {
			return nil
		}
		resp.ForeignValue, resp.HasForeign = row.Value, true
	default:
		return fmt.Errorf("rill: foreign-key join: unknown instruction %v", sub.Instruction)
	}
	return p.ctx.Forward(processor.Record[K, Response[VO]]{Key: sub.PrimaryKey, Value: resp, Timestamp: ts, Headers: r.Headers})
}

// ForeignChanged returns the processor that answers every subscription to a right row when
// the row changes (changes of type C, whose new value newOf reads) (Kafka Streams'
// ForeignTableJoinProcessorSupplier); connect it to SubscriptionStore.
func (j *ForeignKeyJoin[K, V, KO, VO, VR]) ForeignChanged[C any](newOf func(C) (VO, bool)) processor.Supplier[KO, C, K, Response[VO]] {
	return func() processor.Processor[KO, C, K, Response[VO]] {
		return &fkForeignChanged[K, V, KO, VO, VR, C]{j: j, newOf: newOf, subs: SubscriptionSerde(j.KeySerde)}
	}
}

type fkForeignChanged[K, V, KO, VO, VR, C any] struct {
	ctx   processor.Context[K, Response[VO]]
	j     *ForeignKeyJoin[K, V, KO, VO, VR]
	newOf func(C) (VO, bool)
	store state.KeyValueBytesStore
	subs  serde.Serde[Subscription[K]]
}

func (p *fkForeignChanged[K, V, KO, VO, VR, C]) Init(ctx processor.Context[K, Response[VO]]) error {
	p.ctx = ctx
	s, err := subscriptionStore[K](ctx, p.j.SubscriptionStore)
	if err != nil {
		return err
	}
	p.store = s.Bytes()
	return nil
}

func (p *fkForeignChanged[K, V, KO, VO, VR, C]) Close() error { return nil }

func (p *fkForeignChanged[K, V, KO, VO, VR, C]) Process(r processor.Record[KO, C]) error {
	nv, has := p.newOf(r.Value)
	fkb, err := p.j.fkBytes(r.Key)
	if err != nil {
		return err
	}
	it, err := p.store.PrefixScan(CombinedKeyPrefix(fkb))
	if err != nil {
		return err
	}
	defer it.Close()
	for it.Next() {
		_, pkb, err := SplitCombinedKey(it.Key())
		if err != nil {
			return err
		}
		pk, err := p.j.KeySerde.Deserialize(p.j.Topic+"-pk", pkb)
		if err != nil {
			return err
		}
		v := it.Value()
		if len(v) < 8 {
			return fmt.Errorf("rill: foreign-key join: subscription store value of %d bytes", len(v))
		}
		sub, err := p.subs.Deserialize(p.j.SubscriptionStore, v[8:]) // after the row timestamp
		if err != nil {
			return err
		}
		resp := Response[VO]{Hash: sub.Hash, HasHash: sub.HasHash, ForeignValue: nv, HasForeign: has}
		if err := p.ctx.Forward(processor.Record[K, Response[VO]]{Key: pk, Value: resp, Timestamp: r.Timestamp, Headers: r.Headers}); err != nil {
			return err
		}
	}
	return it.Err()
}

// Resolve returns the processor that joins responses with the left row they answer, if it is
// still the one the subscription was made for, and emits the result (Kafka Streams'
// ResponseJoinProcessorSupplier) as out(result, true), or out(zero, false) for a deleted
// result; connect it to LeftTable.Stores.
func (j *ForeignKeyJoin[K, V, KO, VO, VR]) Resolve[O any](out func(VR, bool) O) processor.Supplier[K, Response[VO], K, O] {
	return func() processor.Processor[K, Response[VO], K, O] {
		return &fkResolve[K, V, KO, VO, VR, O]{j: j, out: out}
	}
}

type fkResolve[K, V, KO, VO, VR, O any] struct {
	ctx processor.Context[K, O]
	j   *ForeignKeyJoin[K, V, KO, VO, VR]
	out func(VR, bool) O
	get joins.ValueGetter[K, V]
}

func (p *fkResolve[K, V, KO, VO, VR, O]) Init(ctx processor.Context[K, O]) (err error) {
	p.ctx = ctx
	p.get, err = p.j.LeftTable.Open(ctx)
	return err
}

func (p *fkResolve[K, V, KO, VO, VR, O]) Close() error { return nil }

func (p *fkResolve[K, V, KO, VO, VR, O]) Process(r processor.Record[K, Response[VO]]) error {
	resp := r.Value
	cur, found, err := p.get(r.Key)
	if err != nil {
		return err
	}
	var h Hash
	if found {
		if h, err = p.j.hash(cur.Value); err != nil {
			return err
		}
	}
	if !equalHash(resp.Hash, resp.HasHash, h, found) {
		p.ctx.RecordDropped("foreign-key join: stale response for a superseded left value")
		return nil
	}
	var o O
	var zero VR
	if found && (resp.HasForeign || p.j.Left) {
		o = p.out(p.j.Joiner(r.Key, cur.Value, resp.ForeignValue, resp.HasForeign), true)
	} else {
		o = p.out(zero, false) // the result is deleted
	}
	return p.ctx.Forward(processor.Record[K, O]{Key: r.Key, Value: o, Timestamp: r.Timestamp, Headers: r.Headers})
}

// subscriptionStore is the subscription store a processor was connected to.
func subscriptionStore[K any](ctx joins.StoreSource, name string) (*state.TimestampedKeyValueStore[[]byte, Subscription[K]], error) {
	s, err := ctx.StateStore(name)
	if err != nil {
		return nil, err
	}
	if typed, ok := s.(*state.TimestampedKeyValueStore[[]byte, Subscription[K]]); ok {
		return typed, nil
	}
	return nil, fmt.Errorf("rill: store %s is a %T, not a subscription store", name, s)
}
