package state

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/rillstreams/rill/serde"
)

// KeyValueStore is a typed view of a KeyValueBytesStore: keys and values go through serdes at
// its boundary, so the byte store below (and its changelog) holds exactly what a Kafka
// Streams application would. Ranges are in the order of the serialized keys.
type KeyValueStore[K, V any] struct {
	bytes KeyValueBytesStore
	ks    serde.Serde[K]
	vs    serde.Serde[V]
	// restore applies a changelog record to the store beneath logging (nil: to bytes).
	restore func(key, value []byte) error
	// raw is the backend's store beneath logging (nil: bytes is), for transactions.
	raw KeyValueBytesStore
}

// Restore applies one changelog record (nil value: a delete) without logging it again.
func (s *KeyValueStore[K, V]) Restore(key, value []byte) error {
	if s.restore != nil {
		return s.restore(key, value)
	}
	return s.bytes.Put(key, value)
}

// NewKeyValueStore wraps a byte store with serdes.
func NewKeyValueStore[K, V any](bytes KeyValueBytesStore, ks serde.Serde[K], vs serde.Serde[V]) *KeyValueStore[K, V] {
	return &KeyValueStore[K, V]{bytes: bytes, ks: ks, vs: vs}
}

// Name, Flush and Close make the view a processor.Store.
func (s *KeyValueStore[K, V]) Name() string { return s.bytes.Name() }
func (s *KeyValueStore[K, V]) Flush() error { return s.bytes.Flush() }
func (s *KeyValueStore[K, V]) Close() error { return s.bytes.Close() }

// Bytes returns the byte store underneath.
func (s *KeyValueStore[K, V]) Bytes() KeyValueBytesStore { return s.bytes }

func (s *KeyValueStore[K, V]) key(k K) ([]byte, error) {
	b, err := s.ks.Serialize(s.bytes.Name(), k)
	if err != nil {
		return nil, &serde.Error{Topic: s.bytes.Name(), Partition: -1, Offset: -1, Key: true, Serialize: true, Err: err}
	}
	return b, nil
}

func (s *KeyValueStore[K, V]) value(b []byte) (V, error) {
	v, err := s.vs.Deserialize(s.bytes.Name(), b)
	if err != nil {
		return v, &serde.Error{Topic: s.bytes.Name(), Partition: -1, Offset: -1, Err: err}
	}
	return v, nil
}

// Get returns the value of k; ok is false when there is none.
func (s *KeyValueStore[K, V]) Get(k K) (v V, ok bool, err error) {
	kb, err := s.key(k)
	if err != nil {
		return v, false, err
	}
	b, err := s.bytes.Get(kb)
	if err != nil || b == nil {
		return v, false, err
	}
	v, err = s.value(b)
	return v, err == nil, err
}

// Put stores v under k.
func (s *KeyValueStore[K, V]) Put(k K, v V) error {
	kb, err := s.key(k)
	if err != nil {
		return err
	}
	vb, err := s.vs.Serialize(s.bytes.Name(), v)
	if err != nil {
		return &serde.Error{Topic: s.bytes.Name(), Partition: -1, Offset: -1, Serialize: true, Err: err}
	}
	if vb == nil {
		// A value serializing to nil (a nil pointer with JSON) is a delete, as in Kafka Streams.
		_, err = s.bytes.Delete(kb)
		return err
	}
	return s.bytes.Put(kb, vb)
}

// Delete removes k.
func (s *KeyValueStore[K, V]) Delete(k K) error {
	kb, err := s.key(k)
	if err != nil {
		return err
	}
	_, err = s.bytes.Delete(kb)
	return err
}

// Range iterates keys from from to to, both inclusive, in serialized-key order.
func (s *KeyValueStore[K, V]) Range(from, to K) (*Iterator[K, V], error) {
	fb, err := s.key(from)
	if err != nil {
		return nil, err
	}
	tb, err := s.key(to)
	if err != nil {
		return nil, err
	}
	it, err := s.bytes.Range(fb, tb)
	return s.iter(it, err)
}

// All iterates every key.
func (s *KeyValueStore[K, V]) All() (*Iterator[K, V], error) {
	it, err := s.bytes.All()
	return s.iter(it, err)
}

// ApproximateCount estimates the number of keys.
func (s *KeyValueStore[K, V]) ApproximateCount() (int64, error) { return s.bytes.ApproximateCount() }

func (s *KeyValueStore[K, V]) iter(it KeyValueIterator, err error) (*Iterator[K, V], error) {
	if err != nil {
		return nil, err
	}
	return &Iterator[K, V]{it: it, ks: s.ks, vs: s.vs, topic: s.bytes.Name()}, nil
}

// Iterator walks a typed store. Close it when done.
type Iterator[K, V any] struct {
	it    KeyValueIterator
	ks    serde.Serde[K]
	vs    serde.Serde[V]
	topic string
	key   K
	value V
	err   error
}

// Next moves to the next entry, deserializing it; it returns false at the end or on error.
func (i *Iterator[K, V]) Next() bool {
	if i.err != nil || !i.it.Next() {
		return false
	}
	i.key, i.err = i.ks.Deserialize(i.topic, i.it.Key())
	if i.err == nil {
		i.value, i.err = i.vs.Deserialize(i.topic, i.it.Value())
	}
	return i.err == nil
}

func (i *Iterator[K, V]) Key() K   { return i.key }
func (i *Iterator[K, V]) Value() V { return i.value }

// Err returns the first error met.
func (i *Iterator[K, V]) Err() error { return errors.Join(i.err, i.it.Err()) }

// Close releases the iterator.
func (i *Iterator[K, V]) Close() error { return i.it.Close() }

// ValueAndTimestamp is a table row: the value and the timestamp of the record that set it
// (Kafka Streams' ValueAndTimestamp).
type ValueAndTimestamp[V any] struct {
	Value     V
	Timestamp int64
}

// TimestampedSerde stores a value with its timestamp as Kafka Streams' timestamped stores do:
// an 8-byte big-endian timestamp followed by the value's bytes, so RocksDB files and changelogs
// are laid out as a Java application's.
func TimestampedSerde[V any](vs serde.Serde[V]) serde.Serde[ValueAndTimestamp[V]] {
	return timestampedSerde[V]{serde.New(
		func(topic string, v ValueAndTimestamp[V]) ([]byte, error) {
			b, err := vs.Serialize(topic, v.Value)
			if err != nil || b == nil {
				return nil, err
			}
			out := make([]byte, 8+len(b))
			binary.BigEndian.PutUint64(out, uint64(v.Timestamp))
			copy(out[8:], b)
			return out, nil
		},
		func(topic string, data []byte) (ValueAndTimestamp[V], error) {
			var out ValueAndTimestamp[V]
			if data == nil {
				return out, nil
			}
			if len(data) < 8 {
				return out, fmt.Errorf("rill: timestamped value needs at least 8 bytes, got %d", len(data))
			}
			out.Timestamp = int64(binary.BigEndian.Uint64(data))
			v, err := vs.Deserialize(topic, data[8:])
			out.Value = v
			return out, err
		})}
}

// timestampedSerde marks a TimestampedSerde, so that a store built with one says it is
// timestamped (WindowStoreBuilder.Timestamped): interactive queries strip the timestamps.
type timestampedSerde[V any] struct {
	serde.Serde[ValueAndTimestamp[V]]
}

func (timestampedSerde[V]) Timestamped() bool { return true }

// TimestampedKeyValueStore is a KeyValueStore of values with timestamps: a KTable's store.
type TimestampedKeyValueStore[K, V any] = KeyValueStore[K, ValueAndTimestamp[V]]

// NewTimestampedKeyValueStore wraps a byte store as a table store.
func NewTimestampedKeyValueStore[K, V any](bytes KeyValueBytesStore, ks serde.Serde[K], vs serde.Serde[V]) *TimestampedKeyValueStore[K, V] {
	return NewKeyValueStore(bytes, ks, TimestampedSerde(vs))
}
