package serde

import (
	"errors"
	"strconv"
	"strings"
)

// ErrSerialization is the sentinel every (de)serialization failure matches with errors.Is, so
// that error handlers can tell bad data (usually skip or dead-letter the record) from
// infrastructure failures (usually retry or stop).
var ErrSerialization = errors.New("rill: serialization failed")

// Error describes a failed (de)serialization of one record. Fields that are unknown are -1 for
// numbers and "" for the topic; note that the zero Error therefore claims partition 0, offset
// 0, so construct it with -1 where the position is not known (always for serialization, which
// happens before the record has an offset).
type Error struct {
	Topic     string
	Partition int32 // -1 when unknown
	Offset    int64 // -1 when unknown
	Key       bool  // true when the key failed, false for the value
	Serialize bool  // true for serialization, false for deserialization
	Err       error // the underlying cause
}

// Error returns e.g. "rill: cannot deserialize value of record orders[2]@17: <cause>", leaving
// out the parts that are unknown.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("rill: cannot ")
	if e.Serialize {
		b.WriteString("serialize ")
	} else {
		b.WriteString("deserialize ")
	}
	if e.Key {
		b.WriteString("key")
	} else {
		b.WriteString("value")
	}
	if e.Topic != "" || e.Partition >= 0 || e.Offset >= 0 {
		b.WriteString(" of record ")
		b.WriteString(e.Topic)
		if e.Partition >= 0 {
			b.WriteByte('[')
			b.WriteString(strconv.FormatInt(int64(e.Partition), 10))
			b.WriteByte(']')
		}
		if e.Offset >= 0 {
			b.WriteByte('@')
			b.WriteString(strconv.FormatInt(e.Offset, 10))
		}
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns both ErrSerialization and the cause, so that errors.Is(err, ErrSerialization)
// and errors.Is(err, cause) (and errors.As into the cause's type) all hold.
func (e *Error) Unwrap() []error {
	if e.Err == nil {
		return []error{ErrSerialization}
	}
	return []error{ErrSerialization, e.Err}
}
