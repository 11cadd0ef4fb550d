package dsl

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/rillstreams/rill/processor"
	"github.com/rillstreams/rill/serde"
)

// Fuzz targets for the DSL's own encodings: the change records of table repartition topics,
// the table sources' null-aware values, and the suppression buffer's entries (in its store
// and changelog). Properties: no panic; errors say "rill:" (or are errHeldCorrupt, which the
// buffer wraps in one); what decodes re-encodes to bytes that decode to the same value.

func wantRillError(t *testing.T, err error) {
	t.Helper()
	if !strings.HasPrefix(err.Error(), "rill: ") {
		t.Fatalf("error without the rill: prefix: %v", err)
	}
}

type fuzzRow struct {
	ID string `json:"id"`
	N  int    `json:"n"`
}

// FuzzChangeSerde checks change records with a string, an int64 and a JSON pointer value
// serde. testdata/fuzz/FuzzChangeSerde/json-null-values is the change whose values are JSON
// nulls: it encoded to empty values, which the JSON serde rejects on the way back.
func FuzzChangeSerde(f *testing.F) {
	for _, ch := range []change[string]{
		{New: "new", Old: "old", HasNew: true, HasOld: true},
		{New: "only new", HasNew: true},
		{Old: "only old", HasOld: true},
		{},
		{New: "", Old: "", HasNew: true, HasOld: true},
	} {
		b, err := changeSerde[string]{serde.String()}.Serialize("t", ch)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{1, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, data []byte) {
		changeRoundTrip(t, serde.String(), data)
		changeRoundTrip(t, serde.Int64(), data)
		changeRoundTrip(t, serde.JSON[*fuzzRow](), data)

		// A table source's value: nil is absent, anything else is what the value serde says.
		m, err := maybeDeserializer[int64]{serde.Int64()}.Deserialize("t", data)
		v, verr := serde.Int64().Deserialize("t", data)
		if (err == nil) != (verr == nil) || m.ok != (err == nil) || err == nil && m.v != v {
			t.Fatalf("maybe %x: %+v, %v; the value serde says %v, %v", data, m, err, v, verr)
		}
	})
}

func changeRoundTrip[V any](t *testing.T, vs serde.Serde[V], data []byte) {
	t.Helper()
	cs := changeSerde[V]{vs}
	ch, err := cs.Deserialize("t", data)
	if err != nil {
		wantRillError(t, err)
		return
	}
	if ch.HasNew != (data[0]&1 != 0) || ch.HasOld != (data[0]&2 != 0) {
		t.Fatalf("change %x: flags %x read as new %v, old %v", data, data[0], ch.HasNew, ch.HasOld)
	}
	b, err := cs.Serialize("t", ch)
	if err != nil {
		t.Fatalf("change %x decodes to %+v, which does not encode: %v", data, ch, err)
	}
	back, err := cs.Deserialize("t", b)
	if err != nil || !reflect.DeepEqual(back, ch) {
		t.Fatalf("change %x decodes to %+v, encodes to %x, which decodes to %+v (%v)", data, ch, b, back, err)
	}
}

func FuzzSuppressBuffer(f *testing.F) {
	f.Add(encodeHeld(42, []processor.Header{{Key: "a", Value: []byte("1")}, {Key: "b"}, {Key: "", Value: []byte{}}},
		true, []byte("new"), true, []byte("prior")))
	f.Add(encodeHeld(-1, nil, false, nil, true, []byte("prior only")))
	f.Add(encodeHeld(math.MaxInt64, nil, true, []byte{}, false, nil))
	f.Add(binary.BigEndian.AppendUint32(make([]byte, 9), math.MaxUint32))
	f.Add(make([]byte, 12))
	f.Fuzz(func(t *testing.T, data []byte) {
		h, err := decodeHeld(data)
		if err != nil {
			if !errors.Is(err, errHeldCorrupt) {
				t.Fatalf("held %x: error %v, want errHeldCorrupt", data, err)
			}
			return
		}
		if prior, hasPrior, err := heldPrior(data); err != nil || hasPrior != h.hasPrior || !bytes.Equal(prior, h.prior) {
			t.Fatalf("held %x: heldPrior says %x %v %v, decodeHeld %x %v", data, prior, hasPrior, err, h.prior, h.hasPrior)
		}
		b := encodeHeld(h.ts, h.headers, h.hasNew, h.newV, h.hasPrior, h.prior)
		back, err := decodeHeld(b)
		if err != nil || !reflect.DeepEqual(back, h) {
			t.Fatalf("held %x decodes to %+v, encodes to %x, which decodes to %+v (%v)", data, h, b, back, err)
		}
	})
}
