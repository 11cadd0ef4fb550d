package streamstest

import (
	"time"

	"github.com/rillstreams/rill/internal/engine"
	"github.com/rillstreams/rill/processor"
	"github.com/rillstreams/rill/serde"
)

// Record is a test record: what is piped in, or read out.
type Record[K, V any] struct {
	Key     K
	Value   V
	Time    time.Time
	Headers []processor.Header
	// Partition is the partition a record read from an output topic was written to (by the
	// sink's partitioner or Kafka's default one); records piped in are partitioned by key and
	// this field is ignored.
	Partition int32
}

// KeyValue is a key and a value read from an output topic.
type KeyValue[K, V any] struct {
	Key   K
	Value V
}

// InputTopic pipes typed records into one topic of a Driver.
type InputTopic[K, V any] struct {
	d     *Driver
	topic string
	ks    serde.Serializer[K]
	vs    serde.Serializer[V]
}

// Input returns a handle to pipe K, V records into topic, serialized with ks and vs.
func Input[K, V any](d *Driver, topic string, ks serde.Serializer[K], vs serde.Serializer[V]) *InputTopic[K, V] {
	return &InputTopic[K, V]{d: d, topic: topic, ks: ks, vs: vs}
}

// Pipe pipes one record stamped with the driver's wall-clock time. It fails the test if the
// topology fails on the record.
func (in *InputTopic[K, V]) Pipe(k K, v V) {
	in.d.t.Helper()
	in.PipeRecords(Record[K, V]{Key: k, Value: v, Time: in.d.WallClock()})
}

// PipeAt pipes one record with timestamp ts.
func (in *InputTopic[K, V]) PipeAt(k K, v V, ts time.Time) {
	in.d.t.Helper()
	in.PipeRecords(Record[K, V]{Key: k, Value: v, Time: ts})
}

// PipeRecords pipes records in order.
func (in *InputTopic[K, V]) PipeRecords(recs ...Record[K, V]) {
	in.d.t.Helper()
	for _, r := range recs {
		if err := in.TryPipe(r); err != nil {
			in.d.t.Fatalf("streamstest: pipe into %s: %v", in.topic, err)
		}
	}
}

// TryPipe pipes one record and returns the error the topology failed with, for tests of error
// handling.
// A zero Time means the driver's wall-clock time.
func (in *InputTopic[K, V]) TryPipe(r Record[K, V]) error {
	if r.Time.IsZero() {
		r.Time = in.d.WallClock()
	}
	k, err := in.ks.Serialize(in.topic, r.Key)
	if err != nil {
		return err
	}
	v, err := in.vs.Serialize(in.topic, r.Value)
	if err != nil {
		return err
	}
	return in.PipeRaw(k, v, r.Time, r.Headers...)
}

// PipeRaw pipes a record given as bytes, for poison-pill tests; nil is a Kafka null.
func (in *InputTopic[K, V]) PipeRaw(key, value []byte, ts time.Time, headers ...processor.Header) error {
	return in.d.pipe(engine.RawRecord{Topic: in.topic, Timestamp: ts.UnixMilli(), Key: key, Value: value, Headers: headers})
}

// OutputTopic reads typed records a Driver's topology wrote to one topic. Reading consumes.
type OutputTopic[K, V any] struct {
	d     *Driver
	topic string
	kd    serde.Deserializer[K]
	vd    serde.Deserializer[V]
}

// Output returns a handle to read topic's records, deserialized with kd and vd.
func Output[K, V any](d *Driver, topic string, kd serde.Deserializer[K], vd serde.Deserializer[V]) *OutputTopic[K, V] {
	return &OutputTopic[K, V]{d: d, topic: topic, kd: kd, vd: vd}
}

// IsEmpty tells whether every record written to the topic has been read.
func (out *OutputTopic[K, V]) IsEmpty() bool { return out.Len() == 0 }

// Len is the number of unread records.
func (out *OutputTopic[K, V]) Len() int { return len(out.d.outputs[out.topic]) - out.d.read[out.topic] }

// ReadRecord reads the next record; it fails the test when there is none.
func (out *OutputTopic[K, V]) ReadRecord() Record[K, V] {
	out.d.t.Helper()
	if out.IsEmpty() {
		out.d.t.Fatalf("streamstest: no more records in %s", out.topic)
	}
	raw := out.d.outputs[out.topic][out.d.read[out.topic]]
	out.d.read[out.topic]++
	k, err := out.kd.Deserialize(out.topic, raw.Key)
	if err != nil {
		out.d.t.Fatalf("streamstest: key of %s: %v", out.topic, err)
	}
	v, err := out.vd.Deserialize(out.topic, raw.Value)
	if err != nil {
		out.d.t.Fatalf("streamstest: value of %s: %v", out.topic, err)
	}
	return Record[K, V]{Key: k, Value: v, Time: time.UnixMilli(raw.Timestamp), Headers: raw.Headers, Partition: raw.Partition}
}

// ReadKeyValue reads the next record's key and value.
func (out *OutputTopic[K, V]) ReadKeyValue() KeyValue[K, V] {
	out.d.t.Helper()
	r := out.ReadRecord()
	return KeyValue[K, V]{Key: r.Key, Value: r.Value}
}

// ReadValue reads the next record's value.
func (out *OutputTopic[K, V]) ReadValue() V {
	out.d.t.Helper()
	return out.ReadRecord().Value
}

// ReadAll reads every unread record.
func (out *OutputTopic[K, V]) ReadAll() []Record[K, V] {
	out.d.t.Helper()
	var recs []Record[K, V]
	for !out.IsEmpty() {
		recs = append(recs, out.ReadRecord())
	}
	return recs
}

// ReadKeyValues reads every unread record's key and value.
func (out *OutputTopic[K, V]) ReadKeyValues() []KeyValue[K, V] {
	out.d.t.Helper()
	var kvs []KeyValue[K, V]
	for !out.IsEmpty() {
		kvs = append(kvs, out.ReadKeyValue())
	}
	return kvs
}
