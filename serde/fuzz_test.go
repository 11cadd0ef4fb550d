package serde_test

import (
	"bytes"
	"encoding/binary"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/rillstreams/rill/serde"
)

// The fuzz targets feed arbitrary bytes to the stock deserializers. Properties: no panic;
// every error says "rill:"; a value that decodes re-encodes to bytes that decode to the same
// value (for the fixed-width and string serdes, to the very same bytes). `go test` runs the
// seeds below and the committed corpus in testdata/fuzz; `make fuzz` explores further.

func wantRillError(t *testing.T, what string, err error) {
	t.Helper()
	if !strings.HasPrefix(err.Error(), "rill: ") {
		t.Fatalf("%s: error without the rill: prefix: %v", what, err)
	}
}

// FuzzStock checks String, Bytes, Int32, Int64, Float64 and Void on the same input.
func FuzzStock(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte("hello, wörld"))
	f.Add([]byte{0xff, 0xfe, 0x00})
	f.Add(binary.BigEndian.AppendUint32(nil, 0x80000000))
	f.Add(binary.BigEndian.AppendUint64(nil, math.Float64bits(math.NaN())|1))
	f.Add(binary.BigEndian.AppendUint64(nil, math.Float64bits(math.Inf(-1))))
	f.Add(binary.BigEndian.AppendUint64(nil, math.Float64bits(-0.0)))
	f.Add(make([]byte, 9))
	f.Add([]byte("\x00\x00\x00\x01"))
	f.Add([]byte("null"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if s, err := serde.String().Deserialize("t", data); err != nil {
			t.Fatalf("string: %v", err)
		} else if b, _ := serde.String().Serialize("t", s); !bytes.Equal(b, data) || b == nil {
			t.Fatalf("string: %x re-encodes to %x", data, b)
		}
		if b, err := serde.Bytes().Deserialize("t", data); err != nil || !bytes.Equal(b, data) {
			t.Fatalf("bytes: %x read as %x, %v", data, b, err)
		}
		fixed(t, "int32", serde.Int32(), 4, data)
		fixed(t, "int64", serde.Int64(), 8, data)
		fixed(t, "float64", serde.Float64(), 8, data)
		if _, err := serde.Void().Deserialize("t", data); err == nil {
			t.Fatalf("void accepted %d non-nil bytes", len(data))
		} else {
			wantRillError(t, "void", err)
		}
	})
}

// fixed checks a fixed-width serde: exactly width bytes decode and re-encode to themselves,
// anything else is a rill: error and the zero value.
func fixed[T comparable](t *testing.T, name string, s serde.Serde[T], width int, data []byte) {
	t.Helper()
	v, err := s.Deserialize("t", data)
	if len(data) != width {
		var zero T
		if err == nil {
			t.Fatalf("%s accepted %d bytes", name, len(data))
		}
		wantRillError(t, name, err)
		if v != zero {
			t.Fatalf("%s returned %v with its error", name, v)
		}
		return
	}
	if err != nil {
		t.Fatalf("%s rejected %x: %v", name, data, err)
	}
	b, err := s.Serialize("t", v)
	if err != nil || !bytes.Equal(b, data) {
		t.Fatalf("%s: %x decodes to %v, which encodes to %x (%v)", name, data, v, b, err)
	}
}

// fuzzDoc is a JSON document type with the kinds of fields users' types have.
type fuzzDoc struct {
	Name   string            `json:"name"`
	N      int64             `json:"n"`
	U      uint8             `json:"u,omitempty"`
	F      float64           `json:"f"`
	B      bool              `json:"b"`
	Ptr    *fuzzDoc          `json:"ptr"`
	List   []int32           `json:"list"`
	Map    map[string]string `json:"map"`
	Any    any               `json:"any"`
	Raw    []byte            `json:"raw"`
	Nested struct {
		X, Y int `json:",string"`
	} `json:"nested"`
}

// FuzzJSON decodes the input into several types with the JSON serde.
func FuzzJSON(f *testing.F) {
	f.Add([]byte(`{"name":"a","n":-3,"u":7,"f":1.5e300,"b":true,"ptr":{"name":"b","ptr":null},"list":[1,2,-2147483648],"map":{"k":"v"},"any":[1,"x",{"y":null}],"raw":"AAEC","nested":{"X":"1","Y":"-2"}}`))
	f.Add([]byte(`null`))
	f.Add([]byte(`[]`))
	f.Add([]byte(`"\ud800 \u00e9"`))
	f.Add([]byte(`12345678901234567890`))
	f.Add([]byte(`{"name":"\xff","NAME":"dup"}`))
	f.Add([]byte(`{"n":1e3}`))
	f.Add([]byte(`{`))
	f.Add([]byte(`{"id":"x","amount":1}`))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		jsonRoundTrip[order](t, data)
		jsonRoundTrip[*order](t, data)
		jsonRoundTrip[fuzzDoc](t, data)
		jsonRoundTrip[*fuzzDoc](t, data)
		jsonRoundTrip[map[string]any](t, data)
		jsonRoundTrip[[]any](t, data)
		jsonRoundTrip[any](t, data)
		jsonRoundTrip[string](t, data)
		jsonRoundTrip[int64](t, data)
		jsonRoundTrip[float64](t, data)
	})
}

func jsonRoundTrip[T any](t *testing.T, data []byte) {
	t.Helper()
	s := serde.JSON[T]()
	name := serde.TypeName[T]()
	v, err := s.Deserialize("t", data)
	if err != nil {
		wantRillError(t, name, err)
		return
	}
	b, err := s.Serialize("t", v)
	if err != nil {
		t.Fatalf("%s: %q decodes to %#v, which does not encode: %v", name, data, v, err)
	}
	w, err := s.Deserialize("t", b)
	if err != nil {
		t.Fatalf("%s: %q decodes to %#v, encodes to %q, which does not decode: %v", name, data, v, b, err)
	}
	if !reflect.DeepEqual(v, w) {
		t.Fatalf("%s: %q decodes to %#v, encodes to %q, which decodes to %#v", name, data, v, b, w)
	}
}
