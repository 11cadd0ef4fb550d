package joins

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/rillstreams/rill/processor"
	"github.com/rillstreams/rill/serde"
	"github.com/rillstreams/rill/state"
)

// BufferStore returns the builder of a stream-table join's grace buffer (Kafka Streams'
// RocksDBTimeOrderedKeyValueBuffer named "<join>-Buffer"): a key-value store of bytes,
// logged, never cached.
//
// Layout (also its changelog's): a buffered record is keyed by its timestamp (sign bit
// flipped, 8 bytes big-endian), its key's bytes and a sequence number (4 bytes), as Kafka
// Streams' TimeFirstWindowKeySchema, so records are evicted in the same order: by timestamp,
// then by serialized key; its value is the key's and value's bytes and the headers, each
// length-prefixed. One more entry, the single byte 0x00, holds the
// buffer's observed stream time (8 bytes), so that a restored buffer evicts as the original
// would.
func BufferStore(name string) *state.KeyValueStoreBuilder[[]byte, []byte] {
	return state.NewKeyValueStoreBuilder(name, serde.Bytes(), serde.Bytes()).WithCaching(false)
}

var bufferStreamTimeKey = []byte{0}

// graceBuffer holds a join's stream records for its grace period.
type graceBuffer[K, V any] struct {
	store      *state.KeyValueStore[[]byte, []byte]
	grace      int64
	ks         serde.Serde[K]
	vs         serde.Serde[V]
	topic      string
	streamTime int64
	seq        uint32
}

func openGraceBuffer[K, V any](ctx StoreSource, name string, grace int64, ks serde.Serde[K], vs serde.Serde[V]) (*graceBuffer[K, V], error) {
	if ks == nil || vs == nil {
		return nil, fmt.Errorf("rill: stream-table join buffer %s has no serdes", name)
	}
	s, err := storeAs[*state.KeyValueStore[[]byte, []byte]](ctx, name)
	if err != nil {
		return nil, err
	}
	b := &graceBuffer[K, V]{store: s, grace: grace, ks: ks, vs: vs, topic: name, streamTime: math.MinInt64}
	st, ok, err := s.Get(bufferStreamTimeKey)
	if err != nil {
		return nil, err
	}
	if ok && len(st) == 8 {
		b.streamTime = int64(binary.BigEndian.Uint64(st))
	}
	// Sequence numbers go on from the largest restored: a reused one would overwrite a
	// buffered record of the same timestamp.
	it, err := s.All()
	if err != nil {
		return nil, err
	}
	defer it.Close()
	for it.Next() {
		if k := it.Key(); len(k) >= 12 {
			b.seq = max(b.seq, binary.BigEndian.Uint32(k[len(k)-4:])+1)
		}
	}
	return b, it.Err()
}

// put buffers r unless it is older than stream time minus grace (then it is joined at once,
// as Kafka Streams' buffer refuses it); it moves stream time.
func (b *graceBuffer[K, V]) put(r processor.Record[K, V]) (bool, error) {
	if b.streamTime != math.MinInt64 && r.Timestamp < b.streamTime-b.grace {
		return false, nil
	}
	if r.Timestamp > b.streamTime {
		b.streamTime = r.Timestamp
		if err := b.store.Put(bufferStreamTimeKey, binary.BigEndian.AppendUint64(nil, uint64(r.Timestamp))); err != nil {
			return false, err
		}
	}
	kb, err := b.ks.Serialize(b.topic, r.Key)
	if err != nil {
		return false, &serde.Error{Topic: b.topic, Partition: -1, Offset: -1, Key: true, Serialize: true, Err: err}
	}
	vb, err := b.vs.Serialize(b.topic, r.Value)
	if err != nil {
		return false, &serde.Error{Topic: b.topic, Partition: -1, Offset: -1, Serialize: true, Err: err}
	}
	key := binary.BigEndian.AppendUint64(make([]byte, 0, 12+len(kb)), uint64(r.Timestamp)^(1<<63))
	key = binary.BigEndian.AppendUint32(append(key, kb...), b.seq)
	b.seq = (b.seq + 1) & math.MaxInt32 // Kafka Streams' sequence numbers wrap likewise
	return true, b.store.Put(key, encodeBuffered(kb, vb, r.Headers))
}

// evict joins, in timestamp order, every buffered record at or before stream time minus
// grace, and removes it.
func (b *graceBuffer[K, V]) evict(join func(processor.Record[K, V]) error) error {
	if b.streamTime-b.grace > b.streamTime {
		return nil // underflow: nothing is due
	}
	bound := b.streamTime - b.grace
	it, err := b.store.All()
	if err != nil {
		return err
	}
	type due struct {
		key []byte
		rec processor.Record[K, V]
	}
	var all []due
	for it.Next() {
		k := it.Key()
		if len(k) < 12 {
			continue // the stream time entry
		}
		if int64(binary.BigEndian.Uint64(k)^(1<<63)) > bound {
			break
		}
		r, err := b.decode(k, it.Value())
		if err != nil {
			it.Close()
			return err
		}
		all = append(all, due{key: append([]byte(nil), k...), rec: r})
	}
	err = it.Err()
	it.Close()
	if err != nil {
		return err
	}
	for _, d := range all {
		if err := b.store.Delete(d.key); err != nil {
			return err
		}
		if err := join(d.rec); err != nil {
			return err
		}
	}
	return nil
}

func (b *graceBuffer[K, V]) decode(key, value []byte) (processor.Record[K, V], error) {
	var r processor.Record[K, V]
	r.Timestamp = int64(binary.BigEndian.Uint64(key) ^ (1 << 63))
	kb, vb, hs, err := decodeBuffered(value)
	if err != nil {
		return r, fmt.Errorf("rill: stream-table join buffer %s: %w", b.topic, err)
	}
	if r.Key, err = b.ks.Deserialize(b.topic, kb); err != nil {
		return r, &serde.Error{Topic: b.topic, Partition: -1, Offset: -1, Key: true, Err: err}
	}
	if r.Value, err = b.vs.Deserialize(b.topic, vb); err != nil {
		return r, &serde.Error{Topic: b.topic, Partition: -1, Offset: -1, Err: err}
	}
	r.Headers = hs
	return r, nil
}

// encodeBuffered writes key, value (a nil one as length 0xffffffff) and headers.
func encodeBuffered(k, v []byte, hs []processor.Header) []byte {
	out := make([]byte, 0, 16+len(k)+len(v))
	out = appendBytes(out, k)
	out = appendBytes(out, v)
	out = binary.BigEndian.AppendUint32(out, uint32(len(hs)))
	for _, h := range hs {
		out = appendBytes(out, []byte(h.Key))
		out = appendBytes(out, h.Value)
	}
	return out
}

func appendBytes(out, b []byte) []byte {
	if b == nil {
		return binary.BigEndian.AppendUint32(out, math.MaxUint32)
	}
	return append(binary.BigEndian.AppendUint32(out, uint32(len(b))), b...)
}

func decodeBuffered(b []byte) (k, v []byte, hs []processor.Header, err error) {
	if k, b, err = readBytes(b); err != nil {
		return
	}
	if v, b, err = readBytes(b); err != nil {
		return
	}
	if len(b) < 4 {
		return nil, nil, nil, fmt.Errorf("truncated headers")
	}
	n := binary.BigEndian.Uint32(b)
	b = b[4:]
	for range n {
		var hk, hv []byte
		if hk, b, err = readBytes(b); err != nil {
			return
		}
		if hv, b, err = readBytes(b); err != nil {
			return
		}
		hs = append(hs, processor.Header{Key: string(hk), Value: hv})
	}
	return k, v, hs, nil
}

func readBytes(b []byte) (field, rest []byte, err error) {
	if len(b) < 4 {
		return nil, nil, fmt.Errorf("truncated record")
	}
	n := binary.BigEndian.Uint32(b)
	if n == math.MaxUint32 {
		return nil, b[4:], nil
	}
	if uint32(len(b)-4) < n {
		return nil, nil, fmt.Errorf("truncated record")
	}
	return append([]byte(nil), b[4:4+n]...), b[4+n:], nil
}
