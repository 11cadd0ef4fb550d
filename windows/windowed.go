package windows

import (
	"encoding/binary"
	"fmt"
	"time"

	"github.com/rillstreams/rill/serde"
)

// Windowed is the key of a windowed aggregation's result (Kafka Streams' Windowed<K>): the
// record key and the window it was aggregated in, in milliseconds. For time windows End is
// exclusive; for sliding and session windows it is inclusive.
type Windowed[K any] struct {
	Key        K
	Start, End int64
}

// Window returns the key's window.
func (w Windowed[K]) Window() Window { return Window{Start: w.Start, End: w.End} }

// String prints the key as Kafka Streams does: "[key@start/end]".
func (w Windowed[K]) String() string { return fmt.Sprintf("[%v@%d/%d]", w.Key, w.Start, w.End) }

// TimeWindowedSerde writes Windowed keys of time (tumbling, hopping) and sliding windows as
// Kafka Streams' TimeWindowedSerializer does: the key's bytes followed by the window start as
// 8 big-endian bytes. The end is not written; reading derives it from size, which must be the
// windows' size (TimeWindows.Size, SlidingWindows.Size): Java consumers reading these keys
// with WindowedSerdes.timeWindowedSerdeFrom(cls, size) see the same windows.
//
// A Kafka null (nil data, or empty data as in Java) reads as the zero Windowed.
func TimeWindowedSerde[K any](keySerde serde.Serde[K], size time.Duration) serde.Serde[Windowed[K]] {
	return timeWindowedSerde[K]{ks: keySerde, size: size.Milliseconds()}
}

type timeWindowedSerde[K any] struct {
	ks   serde.Serde[K]
	size int64
}

func (s timeWindowedSerde[K]) Serialize(topic string, w Windowed[K]) ([]byte, error) {
	kb, err := s.ks.Serialize(topic, w.Key)
	if err != nil {
		return nil, err
	}
	out := make([]byte, len(kb)+8)
	copy(out, kb)
	binary.BigEndian.PutUint64(out[len(kb):], uint64(w.Start))
	return out, nil
}

func (s timeWindowedSerde[K]) Deserialize(topic string, data []byte) (Windowed[K], error) {
	var w Windowed[K]
	if len(data) == 0 {
		return w, nil
	}
	if len(data) < 8 {
		return w, fmt.Errorf("rill: time-windowed key needs at least 8 bytes, got %d", len(data))
	}
	n := len(data) - 8
	k, err := s.ks.Deserialize(topic, data[:n:n])
	if err != nil {
		return w, err
	}
	w.Key = k
	w.Start = int64(binary.BigEndian.Uint64(data[n:]))
	w.End = addSat(w.Start, s.size)
	return w, nil
}

// SessionWindowedSerde writes Windowed keys of session windows as Kafka Streams'
// SessionWindowedSerializer does: the key's bytes, then the session end and the session start,
// each as 8 big-endian bytes.
//
// A Kafka null (nil data, or empty data as in Java) reads as the zero Windowed.
func SessionWindowedSerde[K any](keySerde serde.Serde[K]) serde.Serde[Windowed[K]] {
	return sessionWindowedSerde[K]{ks: keySerde}
}

type sessionWindowedSerde[K any] struct{ ks serde.Serde[K] }

func (s sessionWindowedSerde[K]) Serialize(topic string, w Windowed[K]) ([]byte, error) {
	kb, err := s.ks.Serialize(topic, w.Key)
	if err != nil {
		return nil, err
	}
	out := make([]byte, len(kb)+16)
	copy(out, kb)
	binary.BigEndian.PutUint64(out[len(kb):], uint64(w.End))
	binary.BigEndian.PutUint64(out[len(kb)+8:], uint64(w.Start))
	return out, nil
}

func (s sessionWindowedSerde[K]) Deserialize(topic string, data []byte) (Windowed[K], error) {
	var w Windowed[K]
	if len(data) == 0 {
		return w, nil
	}
	if len(data) < 16 {
		return w, fmt.Errorf("rill: session-windowed key needs at least 16 bytes, got %d", len(data))
	}
	n := len(data) - 16
	k, err := s.ks.Deserialize(topic, data[:n:n])
	if err != nil {
		return w, err
	}
	w.Key = k
	w.End = int64(binary.BigEndian.Uint64(data[n:]))
	w.Start = int64(binary.BigEndian.Uint64(data[n+8:]))
	return w, nil
}
