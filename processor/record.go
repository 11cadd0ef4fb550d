package processor

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Header is one Kafka record header. Headers keep their order and may repeat a key, as in Kafka.
type Header struct {
	Key   string
	Value []byte
}

// Record is one typed record flowing through a topology.
//
// Timestamp is in milliseconds since the Unix epoch, Kafka's own unit, so that stream time and
// window arithmetic are plain integer operations on the hot path; use Time for a time.Time.
type Record[K, V any] struct {
	Key       K
	Value     V
	Timestamp int64
	Headers   []Header
	// Null marks a record whose value is Kafka's null, a deleted row, whatever V is: Value is
	// then V's zero value, which for an int64 count cannot say "deleted" by itself. A sink
	// writes such a record with a null value (a tombstone) instead of serializing Value.
	// KTable.ToStream sets it for deletes; operations that pass the value on unchanged
	// (Filter, Peek, SelectKey, Merge, ...) keep it; operations that compute a new value
	// (Map, MapValues, ...) drop it, their function's result being a value.
	Null bool
}

// Time returns the record timestamp as a time.Time.
func (r Record[K, V]) Time() time.Time { return time.UnixMilli(r.Timestamp) }

// WithValue returns a copy of r carrying value v instead, with the same key, timestamp and headers.
// It is a function, not a method, because the value type changes.
func WithValue[K, V, VR any](r Record[K, V], v VR) Record[K, VR] {
	return Record[K, VR]{Key: r.Key, Value: v, Timestamp: r.Timestamp, Headers: r.Headers}
}

// WithKeyValue returns a record with key k and value v, keeping r's timestamp and headers.
func WithKeyValue[K, V, KR, VR any](r Record[K, V], k KR, v VR) Record[KR, VR] {
	return Record[KR, VR]{Key: k, Value: v, Timestamp: r.Timestamp, Headers: r.Headers}
}

// RecordMetadata tells where the record being processed was read from.
type RecordMetadata struct {
	Topic     string
	Partition int32
	Offset    int64
}

// TaskID names a task: one instance of a sub-topology for one input partition. It prints as
// Kafka Streams prints it: "<subtopology>_<partition>".
type TaskID struct {
	Subtopology int
	Partition   int32
}

func (t TaskID) String() string { return fmt.Sprintf("%d_%d", t.Subtopology, t.Partition) }

// ParseTaskID parses "<subtopology>_<partition>".
func ParseTaskID(s string) (TaskID, error) {
	sub, part, ok := strings.Cut(s, "_")
	n, err1 := strconv.Atoi(sub)
	p, err2 := strconv.ParseInt(part, 10, 32)
	if !ok || err1 != nil || err2 != nil || n < 0 || p < 0 {
		return TaskID{}, fmt.Errorf("rill: invalid task id %q, want <subtopology>_<partition>", s)
	}
	return TaskID{Subtopology: n, Partition: int32(p)}, nil
}
