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
	// minTime is, per side (0 right, 1 left), a lower bound of the oldest timestamp stored,
	// so that most records need no scan: math.MinInt64 when unknown (a new or restored
	// store), math.MaxInt64 when the side is known to have no records. It lives here because
	// the store is the one object both processors of a task share; it needs no lock, as a
	// task runs on one goroutine.
	minTime [2]int64
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
func (b *OuterStoreBuilder) Build(ctx processor.StoreContext) (processor.Store, error) {
	s, err := b.KeyValueStoreBuilder.Build(ctx)
	if err != nil {
		return nil, err
	}
	kv, ok := s.(*state.KeyValueStore[[]byte, []byte])
	if !ok {
		return nil, fmt.Errorf("rill: outer join store %s: built a %T", b.Name(), s)
	}
	return &OuterStore{KeyValueStore: kv, minTime: [2]int64{math.MinInt64, math.MinInt64}}, nil
}

// Restore applies a changelog record; the oldest timestamp is unknown afterwards.
func (s *OuterStore) Restore(key, value []byte) error {
	s.minTime = [2]int64{math.MinInt64, math.MinInt64}
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
	i := sideIndex(left)
	s.minTime[i] = min(s.minTime[i], ts)
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
// time st, and removes them. Results carry the unmatched record's key and timestamp.
func (e *outerEmitter[K, V, VO, VR]) emit(s *OuterStore, st int64, ctx processor.Context[K, VR]) error {
	if !e.mayClose(s.minTime[1], e.left, st) && !e.mayClose(s.minTime[0], e.right, st) {
		return nil // no record is old enough to have a closed window
	}
	it, err := s.Bytes().All()
	if err != nil {
		return err
	}
	var closed []closedEntry
	minTime := [2]int64{math.MaxInt64, math.MaxInt64}
	leftOpen, rightOpen := false, false
	for it.Next() {
		ts, left, _, err := parseOuterKey(it.Key())
		if err != nil {
			it.Close()
			return err
		}
		sd, open := e.right, &rightOpen
		if left {
			sd, open = e.left, &leftOpen
		}
		if *open || !sd.closed(ts, st) {
			// Windows close in timestamp order within a side: every later record of this
			// side is open too, and once both sides are, nothing further can be emitted.
			*open = true
			minTime[sideIndex(left)] = min(minTime[sideIndex(left)], ts)
			if leftOpen && rightOpen {
				break
			}
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
	// Exact: the scan saw the oldest open record of each side that has one, and a side
	// with none left keeps none once its closed records are removed below.
	s.minTime = minTime
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

// mayClose tells whether a side whose oldest record is at minTime may hold a closed window.
func (e *outerEmitter[K, V, VO, VR]) mayClose(minTime int64, sd side, st int64) bool {
	return minTime != math.MaxInt64 && sd.closed(minTime, st)
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
