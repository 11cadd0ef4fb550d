package serde_test

import (
	"testing"

	"github.com/rillstreams/rill/serde"
)

// The benchmarks call the constructor inside the loop on purpose: that is how the engine's hot
// path uses them, and it must stay free.

var benchOrder = order{ID: "o-123456", Amount: 99.95, Items: []string{"apple", "pear"}}

func BenchmarkStringSerialize(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		sinkBytes, _ = serde.String().Serialize("t", "hello, world")
	}
}

func BenchmarkStringDeserialize(b *testing.B) {
	data := []byte("hello, world")
	b.ReportAllocs()
	for b.Loop() {
		sinkString, _ = serde.String().Deserialize("t", data)
	}
}

func BenchmarkInt64Serialize(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		sinkBytes, _ = serde.Int64().Serialize("t", 1234567890)
	}
}

func BenchmarkInt64Deserialize(b *testing.B) {
	data := []byte{0, 0, 0, 0, 0x49, 0x96, 0x02, 0xd2}
	b.ReportAllocs()
	for b.Loop() {
		sinkInt64, _ = serde.Int64().Deserialize("t", data)
	}
}

func BenchmarkJSONSerialize(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		sinkBytes, _ = serde.JSON[order]().Serialize("t", benchOrder)
	}
}

func BenchmarkJSONDeserialize(b *testing.B) {
	data, err := serde.JSON[order]().Serialize("t", benchOrder)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		v, _ := serde.JSON[order]().Deserialize("t", data)
		sinkString = v.ID
	}
}

func BenchmarkJSONPointerSerialize(b *testing.B) {
	p := &benchOrder
	b.ReportAllocs()
	for b.Loop() {
		sinkBytes, _ = serde.JSON[*order]().Serialize("t", p)
	}
}
