package dsl

import (
	"fmt"

	"github.com/rillstreams/rill/internal/fkjoin"
)

// JoinOnForeignKey joins each row of the table with the row of other whose key foreignKey
// extracts from it (Kafka Streams' KTable.join with a foreign-key extractor, KIP-213): the
// result, keyed like this table, has a row joiner(k, v, vo) wherever this table's row refers
// to a row of other. It is kept up to date from both sides: a changed foreign key moves the
// row to its new match (or deletes it when there is none), a deleted row of either table
// deletes the joined rows it was part of.
//
// The tables need not be co-partitioned. Rows subscribe to their foreign keys through the
// internal topic "<name>-subscription-registration-topic" (KTABLE-FK-JOIN-SUBSCRIPTION-
// REGISTRATION-<n>-topic unless Named), the right side keeps the subscriptions in a store
// and answers through "...-subscription-response-topic"; an answer to an outdated row (its
// value hash no longer matches) is dropped and counted, so results never go back in time.
// Both tables are materialized. A nil foreign key (for nullable key types) means "no match".
// Named names the nodes and topics; Materialized keeps the result in a store; WithSerdes gives
// the result's serdes.
func (t *Table[K, V]) JoinOnForeignKey[KO, VO, VR any](other *Table[KO, VO], foreignKey func(K, V) KO, joiner func(K, V, VO) VR, opts ...TableOption) *Table[K, VR] {
	return fkJoin(t, other, foreignKey, false, func(k K, v V, vo VO, _ bool) VR { return joiner(k, v, vo) }, opts)
}

// LeftJoinOnForeignKey is JoinOnForeignKey with a row for every row of this table:
// joiner(k, v, zero, false) while its foreign key has no row in other (or is nil).
func (t *Table[K, V]) LeftJoinOnForeignKey[KO, VO, VR any](other *Table[KO, VO], foreignKey func(K, V) KO, joiner func(k K, v V, vo VO, found bool) VR, opts ...TableOption) *Table[K, VR] {
	return fkJoin(t, other, foreignKey, true, joiner, opts)
}

// fkJoin adds a foreign-key join with Kafka Streams' names and node order
// (KTableImpl.doJoinOnForeignKey).
func fkJoin[K, V, KO, VO, VR any](t *Table[K, V], other *Table[KO, VO], foreignKey func(K, V) KO, left bool,
	joiner func(K, V, VO, bool) VR, opts []TableOption) *Table[K, VR] {
	cfg := tableOptions(opts)
	b := t.b
	out := &Table[K, VR]{b: b, keySerde: t.keySerde}
	if o, ok := cfg.serdes.(SerdesOption[K, VR]); ok && o.value != nil {
		out.valueSerde = o.value
	}
	if other == nil || other.b != b {
		out.node = b.nameOr(suffixed(cfg.name, "-result"), "KTABLE-FK-JOIN-OUTPUT-")
		b.errs = append(b.errs, fmt.Errorf("rill: foreign-key join %s: the other table is nil or comes from another builder", out.node))
		return out
	}
	// Old values of the left table tell which foreign key a row leaves; Kafka Streams also
	// asks the right table for them. Both are materialized for their getters.
	if other.sendOld != nil {
		other.sendOld()
	}
	if t.sendOld != nil {
		t.sendOld()
	}
	name := func(suffix, prefix string) string { return b.nameOr(suffixed(cfg.name, suffix), prefix) }
	regTopic := name("-subscription-registration", "KTABLE-FK-JOIN-SUBSCRIPTION-REGISTRATION-") + "-topic"
	register := name("-subscription-registration-processor", "KTABLE-FK-JOIN-SUBSCRIPTION-REGISTRATION-")
	regSink := name("-subscription-registration-sink", "KTABLE-SINK-")
	regSource := name("-subscription-registration-source", "KTABLE-SOURCE-")
	subStore := name("-subscription-store", "KTABLE-FK-JOIN-SUBSCRIPTION-STATE-STORE-")
	receive := name("-subscription-receive", "KTABLE-FK-JOIN-SUBSCRIPTION-PROCESSOR-")
	joinForeign := name("-subscription-join-foreign", "KTABLE-FK-JOIN-SUBSCRIPTION-PROCESSOR-")
	foreignChanged := name("-foreign-join-subscription", "KTABLE-FK-JOIN-SUBSCRIPTION-PROCESSOR-")
	respTopic := name("-subscription-response", "KTABLE-FK-JOIN-SUBSCRIPTION-RESPONSE-") + "-topic"
	respSink := name("-subscription-response-sink", "KTABLE-SINK-")
	respSource := name("-subscription-response-source", "KTABLE-SOURCE-")
	resolve := name("-subscription-response-resolver", "KTABLE-FK-JOIN-SUBSCRIPTION-RESPONSE-RESOLVER-PROCESSOR-")
	out.node = name("-result", "KTABLE-FK-JOIN-OUTPUT-")
	storeName, queryable := b.storeName(cfg, "KTABLE-FK-JOIN-OUTPUT-")

	ks, vs, err1 := resolveSerdes(t.node, nil, t.keySerde, t.valueSerde)
	kos, vos, err2 := resolveSerdes(other.node, nil, other.keySerde, other.valueSerde)
	leftGetter, err3 := t.valueGetter()
	rightGetter, err4 := other.valueGetter()
	if err := errorsJoin(err1, err2, err3, err4); err != nil {
		b.errs = append(b.errs, fmt.Errorf("rill: foreign-key join %s: %w", out.node, err))
		return out
	}
	out.keySerde = ks
	j := &fkjoin.ForeignKeyJoin[K, V, KO, VO, VR]{
		ForeignKey: foreignKey, Joiner: joiner, Left: left,
		KeySerde: ks, ValueSerde: vs, ForeignKeySerde: kos, ForeignValueSerde: vos,
		SubscriptionStore: subStore, LeftTable: leftGetter, RightTable: rightGetter, Topic: regTopic,
	}
	subSerde := fkjoin.SubscriptionSerde(ks)
	respSerde := fkjoin.ResponseSerde(vos)

	// Left side: subscribe.
	b.check(b.topo.AddInternalTopic(topologyInternal(regTopic)))
	b.check(b.topo.AddProcessor(register, j.Register(func(c change[V]) change[V] { return c }), t.node))
	b.check(b.topo.AddSink(regSink, regTopic, kos, subSerde, register))
	// Right side: keep subscriptions, answer them, and answer again when a right row changes.
	b.check(b.topo.AddSource(regSource, kos, subSerde, regTopic))
	copartition(b, other.node, regSource)
	b.check(b.topo.AddProcessor(receive, j.Receive(), regSource))
	b.check(b.topo.AddProcessor(joinForeign, j.JoinSubscription(), receive))
	b.check(b.topo.AddProcessor(foreignChanged, j.ForeignChanged(func(c change[VO]) (VO, bool) { return c.New, c.HasNew }), other.node))
	b.check(b.topo.AddStore(j.SubscriptionStoreBuilder(), receive, foreignChanged))
	for _, s := range rightGetter.Stores {
		b.check(b.topo.ConnectStore(s, joinForeign))
	}
	b.check(b.topo.AddInternalTopic(topologyInternal(respTopic)))
	b.check(b.topo.AddSink(respSink, respTopic, ks, respSerde, joinForeign, foreignChanged))
	// Left side again: resolve answers against the current row, and keep the result table.
	b.check(b.topo.AddSource(respSource, ks, respSerde, respTopic))
	copartition(b, t.node, respSource)
	b.check(b.topo.AddProcessor(resolve, j.Resolve(func(v VR, ok bool) maybe[VR] { return maybe[VR]{v: v, ok: ok} }), respSource))
	for _, s := range leftGetter.Stores {
		b.check(b.topo.ConnectStore(s, resolve))
	}
	st := &upsertState{}
	addTableProcessor(b, out.node, upsertSupplier[K](st, func(m maybe[VR]) (VR, bool) { return m.v, m.ok }), resolve)
	out.attachUpsert(st, storeName, queryable, cfg)
	return out
}
