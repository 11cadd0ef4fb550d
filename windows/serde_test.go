package windows

import (
	"bytes"
	"testing"
	"time"

	"github.com/rillstreams/rill/serde"
)

// Expected bytes follow Kafka Streams' WindowKeySchema.toBinary (key bytes, then the start as
// a big-endian long) and SessionKeySchema.toBinary (key bytes, end, start).
func TestTimeWindowedSerdeBytes(t *testing.T) {
	s := TimeWindowedSerde(serde.String(), 10*time.Second)
	w := Windowed[string]{Key: "ab", Start: 0x0102030405060708, End: 0x0102030405060708 + 10000}
	got, err := s.Serialize("t", w)
	if err != nil {
		t.Fatal(err)
	}
	want := []byte{'a', 'b', 1, 2, 3, 4, 5, 6, 7, 8}
	if !bytes.Equal(got, want) {
		t.Fatalf("serialized % x, want % x", got, want)
	}
	back, err := s.Deserialize("t", got)
	if err != nil || back != w {
		t.Fatalf("round trip: %v, %v; want %v", back, err, w)
	}
	// The end comes from the size, not from the bytes.
	back, _ = s.Deserialize("t", []byte{'k', 0, 0, 0, 0, 0, 0, 0, 5})
	if back != (Windowed[string]{Key: "k", Start: 5, End: 10005}) {
		t.Fatalf("derived end: %v", back)
	}
	if z, err := s.Deserialize("t", nil); err != nil || z != (Windowed[string]{}) {
		t.Fatalf("null: %v %v", z, err)
	}
	if _, err := s.Deserialize("t", []byte{1, 2, 3}); err == nil {
		t.Fatal("short data must fail, not panic")
	}
}

func TestSessionWindowedSerdeBytes(t *testing.T) {
	s := SessionWindowedSerde(serde.Int64())
	w := Windowed[int64]{Key: 7, Start: 100, End: 300}
	got, err := s.Serialize("t", w)
	if err != nil {
		t.Fatal(err)
	}
	want := []byte{0, 0, 0, 0, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 1, 0x2c, 0, 0, 0, 0, 0, 0, 0, 100}
	if !bytes.Equal(got, want) {
		t.Fatalf("serialized % x, want % x", got, want)
	}
	back, err := s.Deserialize("t", got)
	if err != nil || back != w {
		t.Fatalf("round trip: %v, %v; want %v", back, err, w)
	}
	if _, err := s.Deserialize("t", make([]byte, 15)); err == nil {
		t.Fatal("short data must fail")
	}
	if _, err := s.Deserialize("t", make([]byte, 16+3)); err == nil {
		t.Fatal("a 3-byte int64 key must fail")
	}
}

func TestWindowedString(t *testing.T) {
	if s := (Windowed[string]{Key: "a", Start: 1, End: 2}).String(); s != "[a@1/2]" {
		t.Fatal(s)
	}
}

func BenchmarkTimeWindowedSerde(b *testing.B) {
	s := TimeWindowedSerde(serde.String(), time.Second)
	w := Windowed[string]{Key: "user-1234", Start: 1_700_000_000_000}
	b.ReportAllocs()
	for b.Loop() {
		data, _ := s.Serialize("t", w)
		_, _ = s.Deserialize("t", data)
	}
}
