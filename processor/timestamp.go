package processor

import (
	"errors"
	"fmt"
)

// ConsumedRecord is a record as a source reads it, before deserialization: what a
// TimestampExtractor sees.
type ConsumedRecord struct {
	Topic     string
	Partition int32
	Offset    int64
	// Timestamp is the record's own timestamp (CreateTime or LogAppendTime), milliseconds.
	Timestamp  int64
	Key, Value []byte
	Headers    []Header
}

// TimestampExtractor gives a record its timestamp, which drives stream time, windows and the
// order a task processes its partitions in (Kafka Streams' TimestampExtractor). partitionTime is
// the largest timestamp extracted so far from the record's partition (UnknownTime before the
// first). A negative timestamp skips the record: it is counted against its source node and
// logged at WARN (Kafka Streams' "Skipping record due to negative extracted timestamp"). An
// error fails the record like a deserialization error: the deserialization handler decides.
//
// Set one for every source with rill.Config.TimestampExtractor (or streamstest's
// WithTimestampExtractor) and per source with dsl.WithTimestampExtractor.
//
//	// Event time from the value, deserialized once more for the purpose.
//	ex := func(r processor.ConsumedRecord, _ int64) (int64, error) {
//		var e Event
//		if err := json.Unmarshal(r.Value, &e); err != nil {
//			return 0, err
//		}
//		return e.At.UnixMilli(), nil
//	}
type TimestampExtractor func(r ConsumedRecord, partitionTime int64) (int64, error)

// ErrInvalidTimestamp is the error of FailOnInvalidTimestamp.
var ErrInvalidTimestamp = errors.New("rill: invalid (negative) record timestamp")

// FailOnInvalidTimestamp uses the record's timestamp and fails a record whose timestamp is
// negative (Kafka Streams' default, FailOnInvalidTimestamp): without an extractor rill does
// the same.
func FailOnInvalidTimestamp(r ConsumedRecord, _ int64) (int64, error) {
	if r.Timestamp < 0 {
		return 0, fmt.Errorf("%w: %d (topic %s, partition %d, offset %d)", ErrInvalidTimestamp, r.Timestamp, r.Topic, r.Partition, r.Offset)
	}
	return r.Timestamp, nil
}

// LogAndSkipOnInvalidTimestamp uses the record's timestamp; a record whose timestamp is
// negative is skipped, counted and logged (Kafka Streams' LogAndSkipOnInvalidTimestamp).
func LogAndSkipOnInvalidTimestamp(r ConsumedRecord, _ int64) (int64, error) { return r.Timestamp, nil }

// UsePartitionTimeOnInvalidTimestamp gives a record whose timestamp is negative the
// partition's time instead, and fails it when the partition has none yet (Kafka Streams'
// UsePartitionTimeOnInvalidTimestamp).
func UsePartitionTimeOnInvalidTimestamp(r ConsumedRecord, partitionTime int64) (int64, error) {
	if r.Timestamp >= 0 {
		return r.Timestamp, nil
	}
	if partitionTime < 0 {
		return 0, fmt.Errorf("%w: %d and no partition time yet (topic %s, partition %d, offset %d)",
			ErrInvalidTimestamp, r.Timestamp, r.Topic, r.Partition, r.Offset)
	}
	return partitionTime, nil
}
