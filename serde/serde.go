package serde

import (
	"errors"
	"reflect"
)

// Serializer turns a value into bytes for topic. A nil result is a Kafka null. Implementations
// must not panic; they return an error instead.
type Serializer[T any] interface {
	Serialize(topic string, v T) ([]byte, error)
}

// Deserializer turns bytes from topic into a value. data == nil means a Kafka null; every stock
// deserializer returns T's zero value and a nil error for it (Kafka's convention: null in, null
// out). Implementations must not panic and must not keep data after returning unless they
// document it, because the caller may reuse the buffer.
type Deserializer[T any] interface {
	Deserialize(topic string, data []byte) (T, error)
}

// Serde is a Serializer and a Deserializer for the same type.
type Serde[T any] interface {
	Serializer[T]
	Deserializer[T]
}

// New returns a Serde made of two functions. A nil function makes the corresponding method
// return an error rather than panic, so a serde that is only ever used in one direction may
// leave the other one out. The functions themselves must follow the Serializer and Deserializer
// contracts (no panics; nil data should usually give the zero value).
func New[T any](ser func(topic string, v T) ([]byte, error), de func(topic string, data []byte) (T, error)) Serde[T] {
	return funcSerde[T]{ser: ser, de: de}
}

var (
	errNoSerializer   = errors.New("rill: serde has no serializer function")
	errNoDeserializer = errors.New("rill: serde has no deserializer function")
)

type funcSerde[T any] struct {
	ser func(topic string, v T) ([]byte, error)
	de  func(topic string, data []byte) (T, error)
}

func (s funcSerde[T]) Serialize(topic string, v T) ([]byte, error) {
	if s.ser == nil {
		return nil, errNoSerializer
	}
	return s.ser(topic, v)
}

func (s funcSerde[T]) Deserialize(topic string, data []byte) (T, error) {
	if s.de == nil {
		var zero T
		return zero, errNoDeserializer
	}
	return s.de(topic, data)
}

// Default returns the stock serde for T when T is exactly string, []byte, int32, int64,
// float64 or struct{} (Void), and nil, false for any other type, including named types whose
// underlying type is one of those (their Go type differs, so the stock serde would not fit).
func Default[T any]() (Serde[T], bool) {
	// Switching on a nil *T rather than on a T value avoids boxing T into an interface.
	var s any
	switch any((*T)(nil)).(type) {
	case *string:
		s = stringSerde{}
	case *[]byte:
		s = bytesSerde{}
	case *int32:
		s = int32Serde{}
	case *int64:
		s = int64Serde{}
	case *float64:
		s = float64Serde{}
	case *struct{}:
		s = voidSerde{}
	default:
		return nil, false
	}
	return s.(Serde[T]), true
}

// TypeName returns a readable name of T for error messages, e.g. "string", "main.Order",
// "*main.Order", "[]byte".
func TypeName[T any]() string {
	t := reflect.TypeFor[T]()
	switch t {
	case reflect.TypeFor[[]byte]():
		return "[]byte" // reflect says "[]uint8", which nobody writes
	case reflect.TypeFor[any]():
		return "any" // reflect says "interface {}"
	}
	return t.String()
}
