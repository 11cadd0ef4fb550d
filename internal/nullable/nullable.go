// Package nullable tells whether a Go value is Kafka's null. In rill a nil pointer, slice,
// map or interface key or value is a Kafka null: stock serdes write nil as a null and read a
// null as nil. Values of other types are never null. The DSL's table operators and the join
// processors treat such keys and values as Kafka Streams treats null (a null key cannot join
// or be grouped, a null value is a delete or not a record to join).
//
// # Usage
//
//	check := nullable.For[V]() // once, where the operator is built
//	if check.IsNil(&v) {        // per record: no reflect, no boxing
//		// a tombstone
//	}
package nullable

import (
	"reflect"
	"unsafe"
)

// Can tells whether values of T can be nil.
func Can[T any]() bool {
	switch reflect.TypeFor[T]().Kind() {
	case reflect.Pointer, reflect.Map, reflect.Slice, reflect.Interface, reflect.Chan, reflect.Func, reflect.UnsafePointer:
		return true
	}
	return false
}

// Check is a per-type nil test computed once (For).
type Check[T any] struct{ can bool }

// For returns T's nil test.
func For[T any]() Check[T] { return Check[T]{can: Can[T]()} }

// Can tells whether values of T can be nil.
func (c Check[T]) Can() bool { return c.can }

// IsNil reports whether *v is nil. For every nullable kind the first machine word of the value
// (pointer, map, data or type pointer) is nil exactly when the value is, which avoids reflect
// and boxing per record.
func (c Check[T]) IsNil(v *T) bool { return IsNil(v, c.can) }

// IsNil reports whether *v is nil, for a T that Can says can be (canBeNil); false otherwise.
func IsNil[T any](v *T, canBeNil bool) bool {
	return canBeNil && *(*unsafe.Pointer)(unsafe.Pointer(v)) == nil
}
