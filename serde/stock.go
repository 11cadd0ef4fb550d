package serde

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
)

// The stock serdes are zero-size structs: converting one to an interface does not allocate, so
// their constructors are free to call on every record.

// String returns the serde for UTF-8 strings, byte-compatible with Kafka's StringSerializer.
// The empty string serializes to empty, non-nil bytes, not to a null: a string cannot express
// null, and turning "" into a tombstone would delete data. Deserialize copies data into a new
// string and does not validate UTF-8, as Java does not reject bad input either.
func String() Serde[string] { return stringSerde{} }

type stringSerde struct{}

func (stringSerde) Serialize(_ string, v string) ([]byte, error) {
	if v == "" {
		return []byte{}, nil
	}
	return []byte(v), nil
}

func (stringSerde) Deserialize(_ string, data []byte) (string, error) {
	return string(data), nil
}

// Bytes returns the pass-through serde, like Kafka's ByteArraySerializer: nil stays nil and
// empty stays empty. Neither direction copies, so a deserialized slice aliases the record
// buffer it came from.
func Bytes() Serde[[]byte] { return bytesSerde{} }

type bytesSerde struct{}

func (bytesSerde) Serialize(_ string, v []byte) ([]byte, error)      { return v, nil }
func (bytesSerde) Deserialize(_ string, data []byte) ([]byte, error) { return data, nil }

// Int32 returns the serde for int32 as 4 bytes big-endian two's complement, byte-compatible
// with Kafka's IntegerSerializer. Deserialize rejects any other non-nil length.
func Int32() Serde[int32] { return int32Serde{} }

type int32Serde struct{}

func (int32Serde) Serialize(_ string, v int32) ([]byte, error) {
	return binary.BigEndian.AppendUint32(make([]byte, 0, 4), uint32(v)), nil
}

func (int32Serde) Deserialize(_ string, data []byte) (int32, error) {
	if data == nil {
		return 0, nil
	}
	if len(data) != 4 {
		return 0, lengthError("int32", 4, len(data))
	}
	return int32(binary.BigEndian.Uint32(data)), nil
}

// Int64 returns the serde for int64 as 8 bytes big-endian two's complement, byte-compatible
// with Kafka's LongSerializer. Deserialize rejects any other non-nil length.
func Int64() Serde[int64] { return int64Serde{} }

type int64Serde struct{}

func (int64Serde) Serialize(_ string, v int64) ([]byte, error) {
	return binary.BigEndian.AppendUint64(make([]byte, 0, 8), uint64(v)), nil
}

func (int64Serde) Deserialize(_ string, data []byte) (int64, error) {
	if data == nil {
		return 0, nil
	}
	if len(data) != 8 {
		return 0, lengthError("int64", 8, len(data))
	}
	return int64(binary.BigEndian.Uint64(data)), nil
}

// Float64 returns the serde for float64 as the 8 big-endian bytes of its IEEE 754 binary64
// representation, byte-compatible with Kafka's DoubleSerializer. NaN payloads are kept bit for
// bit (Java canonicalizes them; both read back as NaN).
func Float64() Serde[float64] { return float64Serde{} }

type float64Serde struct{}

func (float64Serde) Serialize(_ string, v float64) ([]byte, error) {
	return binary.BigEndian.AppendUint64(make([]byte, 0, 8), math.Float64bits(v)), nil
}

func (float64Serde) Deserialize(_ string, data []byte) (float64, error) {
	if data == nil {
		return 0, nil
	}
	if len(data) != 8 {
		return 0, lengthError("float64", 8, len(data))
	}
	return math.Float64frombits(binary.BigEndian.Uint64(data)), nil
}

// lengthError is kept out of line so that the fixed-width Deserialize methods stay small and
// their success path allocates nothing.
//
//go:noinline
func lengthError(typ string, want, got int) error {
	return fmt.Errorf("rill: %s needs %d bytes, got %d", typ, want, got)
}

// Void returns the serde for records whose key or value is always null, like Kafka's
// VoidSerializer: Serialize always returns nil bytes, and Deserialize of any non-nil data, even
// empty, is an error.
func Void() Serde[struct{}] { return voidSerde{} }

type voidSerde struct{}

func (voidSerde) Serialize(string, struct{}) ([]byte, error) { return nil, nil }

func (voidSerde) Deserialize(_ string, data []byte) (struct{}, error) {
	if data != nil {
		return struct{}{}, fmt.Errorf("rill: void needs null data, got %d bytes", len(data))
	}
	return struct{}{}, nil
}

// JSON returns a serde that uses encoding/json. When T is a pointer or an interface type, a nil
// value serializes to nil bytes (a Kafka null, e.g. a tombstone) rather than to the text
// "null", so that JSON[*T] round-trips nulls; nil maps and slices still serialize to "null",
// which deserializes back to nil. Errors carry the type name and wrap encoding/json's error
// (e.g. *json.SyntaxError), and panics from MarshalJSON or UnmarshalJSON methods are turned
// into errors.
func JSON[T any]() Serde[T] { return jsonSerde[T]{} }

type jsonSerde[T any] struct{}

func (jsonSerde[T]) Serialize(_ string, v T) (data []byte, err error) {
	if isNil(v) {
		return nil, nil
	}
	defer func() {
		if r := recover(); r != nil {
			data, err = nil, fmt.Errorf("rill: cannot encode %s as JSON: panic: %v", TypeName[T](), r)
		}
	}()
	data, err = json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("rill: cannot encode %s as JSON: %w", TypeName[T](), err)
	}
	return data, nil
}

func (jsonSerde[T]) Deserialize(_ string, data []byte) (v T, err error) {
	if data == nil {
		return v, nil
	}
	defer func() {
		if r := recover(); r != nil {
			var zero T
			v, err = zero, fmt.Errorf("rill: cannot decode JSON into %s: panic: %v", TypeName[T](), r)
		}
	}()
	if err := json.Unmarshal(data, &v); err != nil {
		var zero T
		return zero, fmt.Errorf("rill: cannot decode %d bytes of JSON into %s: %w", len(data), TypeName[T](), err)
	}
	return v, nil
}

// isNil reports whether v is a nil pointer or a nil interface. It looks at T's kind first so
// that non-pointer values are never boxed.
func isNil[T any](v T) bool {
	switch reflect.TypeFor[T]().Kind() {
	case reflect.Pointer:
		return reflect.ValueOf(v).IsNil()
	case reflect.Interface:
		return any(v) == nil
	}
	return false
}
