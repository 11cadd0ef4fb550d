// Package serde converts record keys and values between Go values and the bytes Kafka stores.
//
// A [Serde] pairs a [Serializer] with a [Deserializer] for one Go type. rill needs one for the
// key and one for the value of every topic, repartition topic and state store changelog it
// reads or writes.
//
// # Stock serdes
//
// [String], [Bytes], [Int32], [Int64], [Float64] and [Void] produce exactly the bytes of the
// Java client's StringSerializer, ByteArraySerializer, IntegerSerializer, LongSerializer,
// DoubleSerializer and VoidSerializer. Byte compatibility is the point: a topic written by a
// Java Kafka Streams application can be read by rill and the other way round, and a key
// serialized by rill hashes to the same partition as the same key serialized by Java. That is
// why the numeric serdes are big-endian (Java's ByteBuffer order), not the little-endian
// order of the machines rill usually runs on.
//
// [JSON] covers everything else with encoding/json. [Default] picks the stock serde for a
// type when there is an obvious one, so callers need not name it.
//
// The stock constructors return zero-size values, so calling serde.Int64() on the hot path
// costs nothing; there is no need to cache the result.
//
// # Nulls
//
// Kafka distinguishes a null key or value (a tombstone, for a value) from an empty one. Here a
// null is a nil []byte. Every stock deserializer maps nil data to T's zero value with a nil
// error, matching the Java convention "null in, null out"; to tell a tombstone from a zero
// value use a pointer type with [JSON] (a nil pointer serializes to nil), or [Bytes].
//
// # Errors
//
// Serializers and deserializers must not panic; they return an error instead. Stock
// deserializers return plain errors that describe the bad input. The engine, which knows the
// topic, partition and offset, wraps them in an [*Error], and every such error matches
// [ErrSerialization] with errors.Is.
//
// # Usage
//
//	type Order struct {
//		ID     string  `json:"id"`
//		Amount float64 `json:"amount"`
//	}
//
//	keys := serde.String()        // UTF-8 bytes, like Java's StringSerializer
//	values := serde.JSON[Order]() // encoding/json
//
//	k, _ := keys.Serialize("orders", "o-1")
//	v, _ := values.Serialize("orders", Order{ID: "o-1", Amount: 9.5})
//	order, err := values.Deserialize("orders", v)
//
//	// A custom serde from two functions, here a uint16 stored as two big-endian bytes.
//	port := serde.New(
//		func(topic string, v uint16) ([]byte, error) {
//			return binary.BigEndian.AppendUint16(nil, v), nil
//		},
//		func(topic string, data []byte) (uint16, error) {
//			if data == nil {
//				return 0, nil // null in, zero out, like the stock serdes
//			}
//			if len(data) != 2 {
//				return 0, fmt.Errorf("port needs 2 bytes, got %d", len(data))
//			}
//			return binary.BigEndian.Uint16(data), nil
//		},
//	)
package serde
