package joins

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/rillstreams/rill/processor"
	"github.com/rillstreams/rill/serde"
	"github.com/rillstreams/rill/state"
)

// OuterStore is the store a left or outer stream-stream join keeps its unmatched records in
// until their windows close (Kafka Streams' KSTREAM-OUTERSHARED store, KIP-633): emitting a
// left record's "no match" result at once would be wrong whenever a match arrives later in
// the window. Both join processors of a task use the task's one instance.
//
// Layout, as Kafka Streams' TimestampedKeyAndJoinSide keys: an 8-byte big-endian timestamp, a
// side byte (1 left, 0 right) and the serialized key, so a scan walks records oldest first.
// The value is the list of the key's values at that timestamp and side, each a uvarint length
// and the serialized value (Kafka Streams' ListValueStore): duplicates are kept.
type OuterStore struct {
	*state.KeyValueStore[[]byte, []byte]
	// minTime gates the scan for closed records as Kafka Streams' join time tracker does, so
	// results are emitted at the same records as there: a scan happens only when minTime +
	// the processing side's after + grace is before stream time. It is lowered by every
	// record stored and, after a scan, is the timestamp of the last record the scan looked at
	// (math.MaxInt64 when the store is empty); math.MinInt64 when unknown (a new or restored
	// store). It lives here because the store is the one object both processors of a task
	// share; it needs no lock, as a task runs on one goroutine.
	minTime int64
}

func sideIndex(left bool) int {
	if left {
		return 1
	}
	return 0
}

// OuterStoreBuilder builds OuterStores. It is a key-value store builder underneath, so the
// runtime logs and restores the store as any other (its changelog holds the raw layout).
type OuterStoreBuilder struct {
	*state.KeyValueStoreBuilder[[]byte, []byte]
}

// NewOuterStoreBuilder returns a builder of the shared store named name, logged by default.
func NewOuterStoreBuilder(name string) *OuterStoreBuilder {
	return &OuterStoreBuilder{state.NewKeyValueStoreBuilder(name, serde.Bytes(), serde.Bytes())}
}

// Build opens the store for one task.
func (b *OuterStoreBuilder) Build(ctx state.StoreContext) (processor.Store, error) {
	s, err := b.KeyValueStoreBuilder.Build(ctx)
	if err != nil {
		return nil, err
	}
	kv, ok := s.(*state.KeyValueStore[[]byte, []byte])
	if !ok {
		return nil, fmt.Errorf("rill: outer join store %s: built a %T", b.Name(), s)
	}
	return &OuterStore{KeyValueStore: kv, minTime: math.MinInt64}, nil
}

// Restore applies a changelog record; the oldest timestamp is unknown afterwards.
func (s *OuterStore) Restore(key, value []byte) error {
	s.minTime = math.MinInt64
	return s.KeyValueStore.Restore(key, value)
}

func outerKey(ts int64, left bool, key []byte) []byte {
	out := make([]byte, 9+len(key))
	binary.BigEndian.PutUint64(out, uint64(ts))
	if left {
		out[8] = 1
	}
	copy(out[9:], key)
	return out
}

func parseOuterKey(b []byte) (ts int64, left bool, key []byte, err error) {
	if len(b) < 9 {
		return 0, false, nil, fmt.Errorf("rill: outer join store key of %d bytes, need at least 9", len(b))
	}
	return int64(binary.BigEndian.Uint64(b)), b[8] == 1, b[9:], nil
}

// add appends an unmatched record's value under its timestamp, side and key.
func (s *OuterStore) add(ts int64, left bool, key, value []byte) error {
	k := outerKey(ts, left, key)
	bs := s.Bytes()
	old, err := bs.Get(k)
	if err != nil {
		return err
	}
	list := make([]byte, 0, len(old)+binary.MaxVarintLen64+len(value))
	list = append(list, old...)
	list = binary.AppendUvarint(list, uint64(len(value)))
	list = append(list, value...)
	if err := bs.Put(k, list); err != nil {
		return err
	}
	s.minTime = min(s.minTime, ts)
	return nil
}

// matched removes the unmatched records of a side, key and timestamp: a record of the other
// side joined them.
func (s *OuterStore) matched(ts int64, left bool, key []byte) error {
	k := outerKey(ts, left, key)
	bs := s.Bytes()
	v, err := bs.Get(k)
	if err != nil || v == nil {
		return err
	}
	_, err = bs.Delete(k)
	return err
}

// forEachValue calls f with each value of a stored list.
func forEachValue(list []byte, f func([]byte) error) error {
	for len(list) > 0 {
		n, w := binary.Uvarint(list)
		if w <= 0 || n > uint64(len(list)-w) {
			return fmt.Errorf("rill: corrupt outer join store value list")
		}
		if err := f(list[w : w+int(n)]); err != nil {
			return err
		}
		list = list[w+int(n):]
	}
	return nil
}

// outerEmitter forwards the results of unmatched records whose windows have closed: left
// records with no right value (left and outer joins) and right records with no left value
// (outer joins). Both processors of a join share one, typed by both sides.
type outerEmitter[K, V, VO, VR any] struct {
	left, right side
	ks          serde.Serde[K]
	vs          serde.Serde[V]
	vos         serde.Serde[VO]
	leftOnly    func(K, V) VR
	rightOnly   func(K, VO) VR
	store       string
}

type closedEntry struct {
	key, list []byte
}

// emit forwards, in timestamp order, every stored record whose window is closed at stream
// time st, and removes them; lookAfter is the after of the side whose record triggers it (the
// right side's: before), which Kafka Streams' gate before the scan uses. Results carry the unmatched record's key and timestamp.
func (e *outerEmitter[K, V, VO, VR]) emit(s *OuterStore, st, lookAfter int64, ctx processor.Context[K, VR]) error {
	if s.minTime != math.MinInt64 && satAdd(s.minTime, lookAfter+e.left.grace) >= st {
		return nil // as Kafka Streams: no scan until the tracked time is old enough
	}
	it, err := s.Bytes().All()
	if err != nil {
		return err
	}
	var closed []closedEntry
	s.minTime = math.MaxInt64
	leftOpen, rightOpen := false, false
	for it.Next() {
		ts, left, _, err := parseOuterKey(it.Key())
		if err != nil {
			it.Close()
			return err
		}
		s.minTime = ts
		if leftOpen && rightOpen {
			// Windows close in timestamp order within a side: once both sides have an open
			// one, nothing further can be emitted.
			break
		}
		sd, open := e.right, &rightOpen
		if left {
			sd, open = e.left, &leftOpen
		}
		if !sd.closed(ts, st) {
			*open = true
			continue
		}
		closed = append(closed, closedEntry{key: append([]byte(nil), it.Key()...), list: append([]byte(nil), it.Value()...)})
	}
	err = it.Err()
	if cerr := it.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	for _, c := range closed {
		if err := e.forward(c, ctx); err != nil {
			return err
		}
		if _, err := s.Bytes().Delete(c.key); err != nil {
			return err
		}
	}
	return nil
}

func (e *outerEmitter[K, V, VO, VR]) forward(c closedEntry, ctx processor.Context[K, VR]) error {
	ts, left, kb, _ := parseOuterKey(c.key)
	k, err := e.ks.Deserialize(e.store, kb)
	if err != nil {
		return err
	}
	return forEachValue(c.list, func(vb []byte) error {
		var out VR
		if left {
			v, err := e.vs.Deserialize(e.store, vb)
			if err != nil {
				return err
			}
			out = e.leftOnly(k, v)
		} else {
			vo, err := e.vos.Deserialize(e.store, vb)
			if err != nil {
				return err
			}
			out = e.rightOnly(k, vo)
		}
		return ctx.Forward(processor.Record[K, VR]{Key: k, Value: out, Timestamp: ts})
	})
}
