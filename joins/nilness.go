package joins

import (
	"reflect"
	"unsafe"
)

// In rill a nil pointer, slice, map or interface key or value is Kafka's null: stock serdes
// write nil as a null and read a null as nil. Joins treat such a key or value as Kafka Streams
// treats null: a null key cannot join, a null value is not a record to join. Values of other
// types are never null.

// nullable tells whether values of T can be nil.
func nullable[T any]() bool {
	switch reflect.TypeFor[T]().Kind() {
	case reflect.Pointer, reflect.Map, reflect.Slice, reflect.Interface, reflect.Chan, reflect.Func, reflect.UnsafePointer:
		return true
	}
	return false
}

// nilCheck is a per-type nil test computed once: for every nullable kind the first machine
// word of the value (pointer, map, data or type pointer) is nil exactly when the value is,
// which avoids reflect and boxing per record.
type nilCheck[T any] struct{ can bool }

func newNilCheck[T any]() nilCheck[T] { return nilCheck[T]{can: nullable[T]()} }

func (c nilCheck[T]) isNil(v *T) bool {
	return c.can && *(*unsafe.Pointer)(unsafe.Pointer(v)) == nil
}
