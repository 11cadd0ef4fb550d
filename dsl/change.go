package dsl

import (
	"encoding/binary"
	"fmt"

	"github.com/rillstreams/rill/internal/tablejoin"
	"github.com/rillstreams/rill/serde"
)

// change is what flows between table operators: the one table-change type, shared with the
// table-table and foreign-key joins.
type change[V any] = tablejoin.Change[V]

// maybe is a value that may be a Kafka null. Table sources read values as maybe so that a
// tombstone is a delete whatever the value type, even where the type has no nil.
type maybe[V any] struct {
	v  V
	ok bool
}

// maybeDeserializer reads nil data as an absent value instead of asking the value serde.
type maybeDeserializer[V any] struct{ vs serde.Deserializer[V] }

func (d maybeDeserializer[V]) Deserialize(topic string, data []byte) (maybe[V], error) {
	if data == nil {
		return maybe[V]{}, nil
	}
	v, err := d.vs.Deserialize(topic, data)
	return maybe[V]{v: v, ok: err == nil}, err
}

// changeSerde writes a change to a repartition topic: a flag byte (bit 0: new value, bit 1: old
// value, bits 2 and 3: the new or old value serialized to a Kafka null), the new value's length
// (4 bytes, big-endian) and bytes, then the old value's bytes. Only rill reads these internal
// topics, so the format is rill's own.
//
// The null bits keep a value whose serde writes nil (a nil pointer with JSON) apart from one
// that writes empty bytes: without them both read back as empty bytes, which such a serde
// rejects, so a group-by selector returning a nil value stopped the aggregation's task on its
// own repartition topic. Records written before the bits existed have them clear.
type changeSerde[V any] struct{ vs serde.Serde[V] }

func (c changeSerde[V]) Serialize(topic string, ch change[V]) ([]byte, error) {
	var nb, ob []byte
	var err error
	var flags byte
	if ch.HasNew {
		flags |= changeNew
		if nb, err = c.vs.Serialize(topic, ch.New); err != nil {
			return nil, err
		}
		if nb == nil {
			flags |= changeNewNull
		}
	}
	if ch.HasOld {
		flags |= changeOld
		if ob, err = c.vs.Serialize(topic, ch.Old); err != nil {
			return nil, err
		}
		if ob == nil {
			flags |= changeOldNull
		}
	}
	out := make([]byte, 5, 5+len(nb)+len(ob))
	out[0] = flags
	binary.BigEndian.PutUint32(out[1:], uint32(len(nb)))
	out = append(out, nb...)
	return append(out, ob...), nil
}

func (c changeSerde[V]) Deserialize(topic string, data []byte) (change[V], error) {
	var ch change[V]
	if len(data) < 5 {
		return ch, fmt.Errorf("rill: change record needs at least 5 bytes, got %d", len(data))
	}
	n := int(binary.BigEndian.Uint32(data[1:]))
	if n > len(data)-5 {
		return ch, fmt.Errorf("rill: change record new value of %d bytes exceeds record", n)
	}
	nb, ob := data[5:5+n], data[5+n:]
	if data[0]&changeNewNull != 0 {
		nb = nil
	}
	if data[0]&changeOldNull != 0 {
		ob = nil
	}
	var err error
	if data[0]&changeNew != 0 {
		ch.HasNew = true
		if ch.New, err = c.vs.Deserialize(topic, nb); err != nil {
			return ch, err
		}
	}
	if data[0]&changeOld != 0 {
		ch.HasOld = true
		if ch.Old, err = c.vs.Deserialize(topic, ob); err != nil {
			return ch, err
		}
	}
	return ch, nil
}

// The flag bits of a change record.
const (
	changeNew     = 1 << 0
	changeOld     = 1 << 1
	changeNewNull = 1 << 2
	changeOldNull = 1 << 3
)
