package fkjoin

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/rillstreams/rill/serde"
)

// Fuzz targets for the foreign-key join's wire formats (subscriptions, responses, the
// subscription store's combined keys). They
// travel through internal topics and changelogs, so a decoder may see any bytes a corrupt
// topic holds. Properties: no panic; errors say "rill:"; what decodes re-encodes to bytes that
// decode to the same value.

func wantRillError(t *testing.T, err error) {
	t.Helper()
	if !strings.HasPrefix(err.Error(), "rill: ") {
		t.Fatalf("error without the rill: prefix: %v", err)
	}
}

// roundTrip decodes data with s and, when that succeeds, checks that the value re-encodes to
// something decoding to the same value; it returns the value and whether it decoded.
func roundTrip[T any](t *testing.T, s serde.Serde[T], data []byte) (T, bool) {
	t.Helper()
	v, err := s.Deserialize("t", data)
	if err != nil {
		wantRillError(t, err)
		return v, false
	}
	b, err := s.Serialize("t", v)
	if err != nil {
		t.Fatalf("%x decodes to %+v, which does not encode: %v", data, v, err)
	}
	w, err := s.Deserialize("t", b)
	if err != nil || !reflect.DeepEqual(v, w) {
		t.Fatalf("%x decodes to %+v, encodes to %x, which decodes to %+v (%v)", data, v, b, w, err)
	}
	return v, true
}

func FuzzSubscriptionSerde(f *testing.F) {
	for _, s := range []Subscription[string]{
		{Instruction: PropagateNullIfNoFKValue, PrimaryKey: "order-1", Hash: Murmur3([]byte("v")), HasHash: true, PrimaryPartition: 3},
		{Instruction: DeleteKeyAndPropagate, PrimaryKey: "order-2", PrimaryPartition: -1},
		{Instruction: PropagateOnlyIfFKValue, PrimaryKey: "", NoForeignKey: true, HasHash: true},
		{Instruction: DeleteKeyNoPropagate, PrimaryKey: "\x00\x00\x00\x05"},
	} {
		b, err := SubscriptionSerde(serde.String()).Serialize("t", s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{0, 1, 0, 0, 0, 0, 0})
	f.Add([]byte{1, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		sub, ok := roundTrip(t, SubscriptionSerde(serde.String()), data)
		if ok {
			if sub.Instruction > PropagateOnlyIfFKValue {
				t.Fatalf("%x decodes to unknown instruction %d", data, sub.Instruction)
			}
			if data[0] != wireVersion {
				t.Fatalf("%x of version %d decodes", data, data[0])
			}
		} else if len(data) > 0 && data[0] != wireVersion {
			if _, err := SubscriptionSerde(serde.String()).Deserialize("t", data); len(data) >= subHeaderLen && !errors.Is(err, ErrWireVersion) {
				t.Fatalf("%x of version %d: %v, want ErrWireVersion", data, data[0], err)
			}
		}
		roundTrip(t, SubscriptionSerde(serde.Int32()), data)
	})
}

func FuzzResponseSerde(f *testing.F) {
	for _, r := range []Response[string]{
		{Hash: Murmur3([]byte("left")), HasHash: true, ForeignValue: "customer", HasForeign: true},
		{Hash: Murmur3(nil), HasHash: true},
		{ForeignValue: "", HasForeign: true},
		{},
	} {
		b, err := ResponseSerde(serde.String()).Serialize("t", r)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{0, 0xff})
	f.Add([]byte{7, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		if _, ok := roundTrip(t, ResponseSerde(serde.String()), data); ok && data[0] != wireVersion {
			t.Fatalf("%x of version %d decodes", data, data[0])
		}
		roundTrip(t, ResponseSerde(serde.Int64()), data)
		roundTrip(t, ResponseSerde(serde.JSON[map[string]int]()), data)
	})
}

// FuzzCombinedKey checks the subscription store's key both ways: any foreign and primary key
// combine into a key that splits back into them, and any bytes that split recombine into the
// same bytes.
func FuzzCombinedKey(f *testing.F) {
	f.Add([]byte("customer-7"), []byte("order-1"))
	f.Add([]byte{}, []byte{})
	f.Add([]byte{0, 0, 0, 9}, []byte{0xff})
	f.Fuzz(func(t *testing.T, a, b []byte) {
		fk, pk, err := SplitCombinedKey(CombinedKey(a, b))
		if err != nil || !bytes.Equal(fk, a) || !bytes.Equal(pk, b) {
			t.Fatalf("combined %x and %x split into %x and %x (%v)", a, b, fk, pk, err)
		}
		if !bytes.HasPrefix(CombinedKey(a, b), CombinedKeyPrefix(a)) {
			t.Fatalf("combined key of %x lacks its prefix", a)
		}
		fk, pk, err = SplitCombinedKey(a)
		if err != nil {
			wantRillError(t, err)
			return
		}
		if got := CombinedKey(fk, pk); !bytes.Equal(got, a) {
			t.Fatalf("%x splits into %x and %x, which combine into %x", a, fk, pk, got)
		}
	})
}
