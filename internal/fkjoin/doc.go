// Package fkjoin is the foreign-key table-table join (Kafka Streams' KIP-213) behind
// dsl.Table.JoinOnForeignKey and LeftJoinOnForeignKey: its five processors (ForeignKeyJoin),
// the messages they exchange through the subscription registration and response topics
// (Subscription, Response and their serdes, versioned by a leading byte), the subscription
// store's combined keys, and the Murmur3 hash that recognises responses to outdated left
// values. The wire format is rill's own (only rill reads those internal topics), so it is
// internal: users see only the DSL methods.
//
// # Usage
//
// Package dsl wires the processors in topology order:
//
//	j := &fkjoin.ForeignKeyJoin[K, V, KO, VO, VR]{ForeignKey: fk, Joiner: joiner, ...}
//	topo.AddProcessor(register, j.Register(changeOf), leftTable)        // -> registration topic
//	topo.AddProcessor(receive, j.Receive(), registrationSource)
//	topo.AddProcessor(joinForeign, j.JoinSubscription(), receive)       // -> response topic
//	topo.AddProcessor(foreignChanged, j.ForeignChanged(newOf), rightTable) // -> response topic
//	topo.AddProcessor(resolve, j.Resolve(out), responseSource)
//	topo.AddStore(j.SubscriptionStoreBuilder(), receive, foreignChanged)
package fkjoin
