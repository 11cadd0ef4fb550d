package dsl

import (
	"fmt"
	"time"

	"github.com/rillstreams/rill/serde"
)

// Options of joins, typed by join kind (Kafka Streams' StreamJoined, Joined and TableJoined):
//
//   - stream-stream joins take StreamJoinOption: Named, Materialized (names and configures the
//     join's stores), WithJoinSerdes;
//   - stream-table joins take StreamTableJoinOption: Named, WithJoinSerdes (the serdes of the
//     repartition topic when the stream's key changed upstream);
//   - stream-global table joins take Option: Named;
//   - table-table joins, on the primary or a foreign key, take TableOption: Named,
//     Materialized (the result's store), WithSerdes (the result's serdes).

// StreamJoinOption configures a stream-stream join.
type StreamJoinOption interface{ applyStreamJoin(*joinConfig) }

// StreamTableJoinOption configures a stream-table join.
type StreamTableJoinOption interface{ applyStreamTableJoin(*joinConfig) }

type joinConfig struct {
	name         string
	materialized *MaterializedOption
	serdes       any // a JoinSerdesOption[K, V, VO]
	grace        *time.Duration
}

// GraceOption is what WithGracePeriod returns.
type GraceOption struct{ d time.Duration }

// WithGracePeriod makes a stream-table join against a versioned table wait d of stream time
// before it joins each stream record (Kafka Streams' Joined.withGracePeriod, KIP-923): records
// wait in a logged store "<join name>-Buffer" and are joined in timestamp order, each with the
// table as of its own timestamp, once stream time is d past it; so table updates that arrive
// up to d late still meet the stream records they precede. A record already older than stream
// time minus d is joined at once. Build fails when the table is not versioned.
func WithGracePeriod(d time.Duration) GraceOption { return GraceOption{d: d} }

func (o GraceOption) applyStreamTableJoin(c *joinConfig) { c.grace = &o.d }

func (o NameOption) applyStreamJoin(c *joinConfig)         { c.name = o.name }
func (o NameOption) applyStreamTableJoin(c *joinConfig)    { c.name = o.name }
func (o MaterializedOption) applyStreamJoin(c *joinConfig) { c.materialized = &o }

// JoinSerdesOption is what WithJoinSerdes returns.
type JoinSerdesOption[K, V, VO any] struct {
	key   serde.Serde[K]
	value serde.Serde[V]
	other serde.Serde[VO]
}

// WithJoinSerdes sets the serdes of a join's key, this stream's values and the other side's
// values (Kafka Streams' StreamJoined.with and Joined.with): the join buffers records in
// stores, and repartitions inputs whose key changed, with them. A nil serde keeps the one
// the stream already has, else the type's stock serde. The types are checked at Build.
func WithJoinSerdes[K, V, VO any](key serde.Serde[K], value serde.Serde[V], other serde.Serde[VO]) JoinSerdesOption[K, V, VO] {
	return JoinSerdesOption[K, V, VO]{key: key, value: value, other: other}
}

func (o JoinSerdesOption[K, V, VO]) applyStreamJoin(c *joinConfig)      { c.serdes = o }
func (o JoinSerdesOption[K, V, VO]) applyStreamTableJoin(c *joinConfig) { c.serdes = o }

func streamJoinOptions(opts []StreamJoinOption) joinConfig {
	var c joinConfig
	for _, o := range opts {
		o.applyStreamJoin(&c)
	}
	return c
}

func streamTableJoinOptions(opts []StreamTableJoinOption) joinConfig {
	var c joinConfig
	for _, o := range opts {
		o.applyStreamTableJoin(&c)
	}
	return c
}

// joinSerdes picks the serdes of a join of K, V with VO at node: WithJoinSerdes's, else the
// streams', else the types' stock serdes.
func joinSerdes[K, V, VO any](node string, opt any, ks serde.Serde[K], vs serde.Serde[V], vos serde.Serde[VO]) (serde.Serde[K], serde.Serde[V], serde.Serde[VO], error) {
	if opt != nil {
		o, ok := opt.(JoinSerdesOption[K, V, VO])
		if !ok {
			return nil, nil, nil, fmt.Errorf("%w: %s: WithJoinSerdes has types %T, the join has key %s and values %s and %s",
				ErrSerdeType, node, opt, serde.TypeName[K](), serde.TypeName[V](), serde.TypeName[VO]())
		}
		if o.key != nil {
			ks = o.key
		}
		if o.value != nil {
			vs = o.value
		}
		if o.other != nil {
			vos = o.other
		}
	}
	ks, vs, err := resolveSerdes(node, nil, ks, vs)
	if err != nil {
		return nil, nil, nil, err
	}
	if vos == nil {
		vos, _ = serde.Default[VO]()
	}
	if vos == nil {
		return nil, nil, nil, fmt.Errorf("%w: %s: no value serde for %s; pass dsl.WithJoinSerdes", ErrMissingSerde, node, serde.TypeName[VO]())
	}
	return ks, vs, vos, nil
}
