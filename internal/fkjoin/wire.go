package fkjoin

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/rillstreams/rill/serde"
)

// The foreign-key join's messages (Kafka Streams' SubscriptionWrapper and
// SubscriptionResponseWrapper) and their wire formats. Only rill reads the internal topics
// they travel on, so the formats are rill's own, versioned by a leading byte.

// ErrWireVersion is matched by errors about an internal message of an unknown version (written
// by a newer rill).
var ErrWireVersion = errors.New("rill: unsupported foreign-key join message version")

// Instruction tells the right side what a subscription asks for (Kafka Streams'
// SubscriptionWrapper.Instruction).
type Instruction uint8

const (
	// DeleteKeyNoPropagate unsubscribes from a foreign key the row no longer refers to; the
	// row's new foreign key's subscription will produce the result.
	DeleteKeyNoPropagate Instruction = 0
	// DeleteKeyAndPropagate unsubscribes a deleted row and answers with no foreign value, so
	// the result is deleted too.
	DeleteKeyAndPropagate Instruction = 1
	// PropagateNullIfNoFKValue subscribes and answers with the foreign row, or with none when
	// there is none: the row's previous result must be replaced either way.
	PropagateNullIfNoFKValue Instruction = 2
	// PropagateOnlyIfFKValue subscribes and answers only when a foreign row exists: a new
	// row of an inner join has no result to replace.
	PropagateOnlyIfFKValue Instruction = 3
)

func (i Instruction) String() string {
	switch i {
	case DeleteKeyNoPropagate:
		return "DELETE_KEY_NO_PROPAGATE"
	case DeleteKeyAndPropagate:
		return "DELETE_KEY_AND_PROPAGATE"
	case PropagateNullIfNoFKValue:
		return "PROPAGATE_NULL_IF_NO_FK_VAL_AVAILABLE"
	case PropagateOnlyIfFKValue:
		return "PROPAGATE_ONLY_IF_FK_VAL_AVAILABLE"
	}
	return fmt.Sprintf("Instruction(%d)", uint8(i))
}

// Subscription is what a left row sends to the right side, keyed by the foreign key it refers
// to: which row (PrimaryKey), what to do, and the hash of the row's value when it was sent.
type Subscription[K any] struct {
	Instruction Instruction
	PrimaryKey  K
	// Hash is the Murmur3 hash of the serialized left value; HasHash is false for a deleted
	// row.
	Hash    Hash
	HasHash bool
	// NoForeignKey marks a subscription of a left join's row without a foreign key (Kafka
	// Streams sends those with a null key): it joins no foreign row.
	NoForeignKey bool
	// PrimaryPartition is the partition of the left row's record.
	PrimaryPartition int32
}

// Response is what the right side answers a subscription with, keyed by the left row's key:
// the foreign row's value, if any, and the hash of the subscription it answers.
type Response[VO any] struct {
	Hash         Hash
	HasHash      bool
	ForeignValue VO
	HasForeign   bool
}

const (
	wireVersion  = 0
	flagHash     = 1
	flagNoFK     = 2
	flagForeign  = 2
	subHeaderLen = 1 + 1 + 1 + 4 // version, flags, instruction, partition
)

// SubscriptionSerde writes subscriptions: version, flags (hash, no foreign key), instruction,
// the 4-byte big-endian partition, the 16-byte hash when there is one, then the primary key
// serialized with pk.
func SubscriptionSerde[K any](pk serde.Serde[K]) serde.Serde[Subscription[K]] {
	return serde.New(
		func(topic string, s Subscription[K]) ([]byte, error) {
			kb, err := pk.Serialize(topic, s.PrimaryKey)
			if err != nil {
				return nil, err
			}
			out := make([]byte, subHeaderLen, subHeaderLen+16+len(kb))
			out[0] = wireVersion
			if s.HasHash {
				out[1] |= flagHash
			}
			if s.NoForeignKey {
				out[1] |= flagNoFK
			}
			out[2] = byte(s.Instruction)
			binary.BigEndian.PutUint32(out[3:], uint32(s.PrimaryPartition))
			if s.HasHash {
				out = binary.BigEndian.AppendUint64(out, s.Hash[0])
				out = binary.BigEndian.AppendUint64(out, s.Hash[1])
			}
			return append(out, kb...), nil
		},
		func(topic string, data []byte) (Subscription[K], error) {
			var s Subscription[K]
			if len(data) < subHeaderLen {
				return s, fmt.Errorf("rill: subscription of %d bytes, need at least %d", len(data), subHeaderLen)
			}
			if data[0] != wireVersion {
				return s, fmt.Errorf("%w: subscription version %d", ErrWireVersion, data[0])
			}
			if data[2] > byte(PropagateOnlyIfFKValue) {
				return s, fmt.Errorf("rill: subscription with unknown instruction %d", data[2])
			}
			s.Instruction = Instruction(data[2])
			s.NoForeignKey = data[1]&flagNoFK != 0
			s.PrimaryPartition = int32(binary.BigEndian.Uint32(data[3:]))
			rest := data[subHeaderLen:]
			if data[1]&flagHash != 0 {
				if len(rest) < 16 {
					return s, fmt.Errorf("rill: subscription hash truncated")
				}
				s.HasHash = true
				s.Hash = Hash{binary.BigEndian.Uint64(rest), binary.BigEndian.Uint64(rest[8:])}
				rest = rest[16:]
			}
			var err error
			s.PrimaryKey, err = pk.Deserialize(topic, rest)
			return s, err
		})
}

// ResponseSerde writes responses: version, flags (hash, foreign value), the 16-byte hash when
// there is one, then the foreign value serialized with vs when there is one.
func ResponseSerde[VO any](vs serde.Serde[VO]) serde.Serde[Response[VO]] {
	return serde.New(
		func(topic string, r Response[VO]) ([]byte, error) {
			var vb []byte
			if r.HasForeign {
				var err error
				if vb, err = vs.Serialize(topic, r.ForeignValue); err != nil {
					return nil, err
				}
			}
			out := make([]byte, 2, 2+16+len(vb))
			out[0] = wireVersion
			if r.HasHash {
				out[1] |= flagHash
				out = binary.BigEndian.AppendUint64(out, r.Hash[0])
				out = binary.BigEndian.AppendUint64(out, r.Hash[1])
			}
			if r.HasForeign {
				out[1] |= flagForeign
				out = append(out, vb...)
			}
			return out, nil
		},
		func(topic string, data []byte) (Response[VO], error) {
			var r Response[VO]
			if len(data) < 2 {
				return r, fmt.Errorf("rill: subscription response of %d bytes, need at least 2", len(data))
			}
			if data[0] != wireVersion {
				return r, fmt.Errorf("%w: response version %d", ErrWireVersion, data[0])
			}
			rest := data[2:]
			if data[1]&flagHash != 0 {
				if len(rest) < 16 {
					return r, fmt.Errorf("rill: subscription response hash truncated")
				}
				r.HasHash = true
				r.Hash = Hash{binary.BigEndian.Uint64(rest), binary.BigEndian.Uint64(rest[8:])}
				rest = rest[16:]
			}
			if data[1]&flagForeign != 0 {
				r.HasForeign = true
				var err error
				if r.ForeignValue, err = vs.Deserialize(topic, rest); err != nil {
					return r, err
				}
			}
			return r, nil
		})
}

// CombinedKey is the subscription store's key (Kafka Streams' CombinedKeySchema): the foreign
// key's length (4 bytes, big-endian) and bytes, then the primary key's bytes, so that all
// subscriptions to one foreign key share a prefix and a prefix scan finds them.
func CombinedKey(fk, pk []byte) []byte {
	out := make([]byte, 4, 4+len(fk)+len(pk))
	binary.BigEndian.PutUint32(out, uint32(len(fk)))
	return append(append(out, fk...), pk...)
}

// CombinedKeyPrefix is the prefix of every combined key of foreign key fk.
func CombinedKeyPrefix(fk []byte) []byte { return CombinedKey(fk, nil) }

// SplitCombinedKey returns the foreign and primary key bytes of a combined key.
func SplitCombinedKey(b []byte) (fk, pk []byte, err error) {
	if len(b) < 4 {
		return nil, nil, fmt.Errorf("rill: combined key of %d bytes", len(b))
	}
	n := binary.BigEndian.Uint32(b)
	if uint64(n) > uint64(len(b)-4) {
		return nil, nil, fmt.Errorf("rill: combined key foreign part of %d bytes exceeds key", n)
	}
	return b[4 : 4+n], b[4+n:], nil
}

func equalHash(a Hash, aok bool, b Hash, bok bool) bool { return aok == bok && (!aok || a == b) }
