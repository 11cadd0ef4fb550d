package serde_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/rillstreams/rill/serde"
)

// order is the small struct the JSON tests and benchmarks use.
type order struct {
	ID     string   `json:"id"`
	Amount float64  `json:"amount"`
	Items  []string `json:"items,omitempty"`
}

func mustSer[T any](t *testing.T, s serde.Serializer[T], v T) []byte {
	t.Helper()
	b, err := s.Serialize("t", v)
	if err != nil {
		t.Fatalf("Serialize(%v): %v", v, err)
	}
	return b
}

func mustDe[T any](t *testing.T, s serde.Deserializer[T], data []byte) T {
	t.Helper()
	v, err := s.Deserialize("t", data)
	if err != nil {
		t.Fatalf("Deserialize(% x): %v", data, err)
	}
	return v
}

func hexBytes(t *testing.T, s string) []byte {
	t.Helper()
	var b []byte
	for _, f := range strings.Fields(s) {
		var x byte
		if _, err := fmt.Sscanf(f, "%02x", &x); err != nil {
			t.Fatalf("bad hex %q: %v", f, err)
		}
		b = append(b, x)
	}
	return b
}

// The expected bytes are what Kafka's Java serializers produce for the same values.

func TestInt32Encoding(t *testing.T) {
	cases := []struct {
		v    int32
		want string
	}{
		{0, "00 00 00 00"},
		{1, "00 00 00 01"},
		{-1, "ff ff ff ff"},
		{256, "00 00 01 00"},
		{0x01020304, "01 02 03 04"},
		{math.MaxInt32, "7f ff ff ff"},
		{math.MinInt32, "80 00 00 00"},
	}
	s := serde.Int32()
	for _, c := range cases {
		got := mustSer(t, s, c.v)
		if want := hexBytes(t, c.want); !bytes.Equal(got, want) {
			t.Errorf("Int32 %d = % x, want % x", c.v, got, want)
		}
		if back := mustDe(t, s, got); back != c.v {
			t.Errorf("Int32 round trip %d -> %d", c.v, back)
		}
	}
}

func TestInt64Encoding(t *testing.T) {
	cases := []struct {
		v    int64
		want string
	}{
		{0, "00 00 00 00 00 00 00 00"},
		{1, "00 00 00 00 00 00 00 01"},
		{-1, "ff ff ff ff ff ff ff ff"},
		{256, "00 00 00 00 00 00 01 00"},
		{0x0102030405060708, "01 02 03 04 05 06 07 08"},
		{math.MaxInt64, "7f ff ff ff ff ff ff ff"},
		{math.MinInt64, "80 00 00 00 00 00 00 00"},
	}
	s := serde.Int64()
	for _, c := range cases {
		got := mustSer(t, s, c.v)
		if want := hexBytes(t, c.want); !bytes.Equal(got, want) {
			t.Errorf("Int64 %d = % x, want % x", c.v, got, want)
		}
		if back := mustDe(t, s, got); back != c.v {
			t.Errorf("Int64 round trip %d -> %d", c.v, back)
		}
	}
}

func TestFloat64Encoding(t *testing.T) {
	cases := []struct {
		v    float64
		want string
	}{
		{0, "00 00 00 00 00 00 00 00"},
		{math.Copysign(0, -1), "80 00 00 00 00 00 00 00"},
		{1, "3f f0 00 00 00 00 00 00"},
		{-2, "c0 00 00 00 00 00 00 00"},
		{0.1, "3f b9 99 99 99 99 99 9a"},
		{math.Inf(1), "7f f0 00 00 00 00 00 00"},
		{math.Inf(-1), "ff f0 00 00 00 00 00 00"},
		{math.MaxFloat64, "7f ef ff ff ff ff ff ff"},
		{math.SmallestNonzeroFloat64, "00 00 00 00 00 00 00 01"},
		{math.NaN(), "7f f8 00 00 00 00 00 01"}, // Go's NaN; Java's canonical NaN is 7f f8 00 .. 00
	}
	s := serde.Float64()
	for _, c := range cases {
		got := mustSer(t, s, c.v)
		if want := hexBytes(t, c.want); !bytes.Equal(got, want) {
			t.Errorf("Float64 %v = % x, want % x", c.v, got, want)
		}
		back := mustDe(t, s, got)
		if math.Float64bits(back) != math.Float64bits(c.v) {
			t.Errorf("Float64 round trip %v -> %v", c.v, back)
		}
	}
	// Java's canonical NaN reads as NaN.
	if v := mustDe(t, s, hexBytes(t, "7f f8 00 00 00 00 00 00")); !math.IsNaN(v) {
		t.Errorf("Java NaN read as %v", v)
	}
}

func TestString(t *testing.T) {
	s := serde.String()
	for _, v := range []string{"", "a", "hello, world", "ünïcödé ✓ 🚀", "nul\x00inside", "\xff\xfe not utf-8", strings.Repeat("x", 1<<16)} {
		b := mustSer(t, s, v)
		if !bytes.Equal(b, []byte(v)) {
			t.Errorf("String %q = % x", v, b)
		}
		if back := mustDe(t, s, b); back != v {
			t.Errorf("String round trip %q -> %q", v, back)
		}
	}
	// The empty string is an empty record, never a null.
	if b := mustSer(t, s, ""); b == nil || len(b) != 0 {
		t.Errorf(`String "" = %#v, want empty non-nil`, b)
	}
	// The string must not alias the input buffer.
	buf := []byte("abc")
	v := mustDe(t, s, buf)
	buf[0] = 'X'
	if v != "abc" {
		t.Errorf("String deserialize aliases its input: %q", v)
	}
}

func TestBytes(t *testing.T) {
	s := serde.Bytes()
	if b := mustSer(t, s, nil); b != nil {
		t.Errorf("Bytes nil = %#v, want nil", b)
	}
	if b := mustDe(t, s, nil); b != nil {
		t.Errorf("Bytes deserialize nil = %#v, want nil", b)
	}
	empty := []byte{}
	if b := mustSer(t, s, empty); b == nil || len(b) != 0 {
		t.Errorf("Bytes empty = %#v, want empty non-nil", b)
	}
	if b := mustDe(t, s, empty); b == nil || len(b) != 0 {
		t.Errorf("Bytes deserialize empty = %#v, want empty non-nil", b)
	}
	in := []byte{0, 1, 2, 0xff}
	if b := mustDe(t, s, mustSer(t, s, in)); !bytes.Equal(b, in) {
		t.Errorf("Bytes round trip % x -> % x", in, b)
	}
}

func TestVoid(t *testing.T) {
	s := serde.Void()
	if b := mustSer(t, s, struct{}{}); b != nil {
		t.Errorf("Void serialize = %#v, want nil", b)
	}
	mustDe(t, s, nil)
	for _, data := range [][]byte{{}, {0}, []byte("x")} {
		_, err := s.Deserialize("t", data)
		if err == nil {
			t.Errorf("Void deserialize %#v: no error", data)
			continue
		}
		want := fmt.Sprintf("rill: void needs null data, got %d bytes", len(data))
		if err.Error() != want {
			t.Errorf("Void error %q, want %q", err, want)
		}
	}
}

func TestJSON(t *testing.T) {
	s := serde.JSON[order]()
	in := order{ID: "o-1", Amount: 9.5, Items: []string{"a", "b"}}
	b := mustSer(t, s, in)
	if want := `{"id":"o-1","amount":9.5,"items":["a","b"]}`; string(b) != want {
		t.Errorf("JSON = %s, want %s", b, want)
	}
	out := mustDe(t, s, b)
	if out.ID != in.ID || out.Amount != in.Amount || len(out.Items) != 2 || out.Items[1] != "b" {
		t.Errorf("JSON round trip %+v -> %+v", in, out)
	}
	// Unknown fields are ignored, missing ones are zero, as encoding/json does.
	if got := mustDe(t, s, []byte(`{"id":"x","extra":1}`)); got.ID != "x" || got.Amount != 0 {
		t.Errorf("JSON lenient decode = %+v", got)
	}
	// A JSON null decodes to the zero value.
	if got := mustDe(t, s, []byte(`null`)); got.ID != "" {
		t.Errorf("JSON null = %+v", got)
	}

	// Other shapes of T.
	if got := mustDe(t, serde.JSON[map[string]int](), mustSer(t, serde.JSON[map[string]int](), map[string]int{"a": 1})); got["a"] != 1 {
		t.Errorf("JSON map round trip = %v", got)
	}
	if got := mustDe(t, serde.JSON[[]int64](), mustSer(t, serde.JSON[[]int64](), []int64{math.MinInt64, math.MaxInt64})); len(got) != 2 || got[0] != math.MinInt64 || got[1] != math.MaxInt64 {
		t.Errorf("JSON []int64 round trip = %v", got)
	}
	if got := mustDe(t, serde.JSON[string](), mustSer(t, serde.JSON[string](), "q\"uote")); got != "q\"uote" {
		t.Errorf("JSON string round trip = %q", got)
	}
}

func TestJSONNulls(t *testing.T) {
	// Pointer T: nil pointer <-> nil bytes (a tombstone).
	p := serde.JSON[*order]()
	if b := mustSer(t, p, nil); b != nil {
		t.Errorf("JSON[*order] nil = %q, want nil bytes", b)
	}
	if v := mustDe(t, p, nil); v != nil {
		t.Errorf("JSON[*order] nil data = %+v, want nil", v)
	}
	if v := mustDe(t, p, []byte("null")); v != nil {
		t.Errorf(`JSON[*order] "null" = %+v, want nil`, v)
	}
	if v := mustDe(t, p, mustSer(t, p, &order{ID: "x"})); v == nil || v.ID != "x" {
		t.Errorf("JSON[*order] round trip = %+v", v)
	}

	// Interface T: nil interface <-> nil bytes.
	a := serde.JSON[any]()
	if b := mustSer(t, a, nil); b != nil {
		t.Errorf("JSON[any] nil = %q, want nil bytes", b)
	}
	if v := mustDe(t, a, mustSer[any](t, a, map[string]any{"k": 1.5})); v.(map[string]any)["k"] != 1.5 {
		t.Errorf("JSON[any] round trip = %v", v)
	}

	// Non-pointer T: nil data -> zero value.
	if v := mustDe(t, serde.JSON[order](), nil); v.ID != "" || v.Items != nil {
		t.Errorf("JSON[order] nil data = %+v", v)
	}
	if v := mustDe(t, serde.JSON[map[string]int](), nil); v != nil {
		t.Errorf("JSON[map] nil data = %v", v)
	}
	// A nil slice is not a pointer: it is the JSON text null, which reads back as nil.
	sl := serde.JSON[[]int]()
	if b := mustSer(t, sl, nil); string(b) != "null" {
		t.Errorf("JSON[[]int] nil = %q, want null", b)
	}
	if v := mustDe(t, sl, []byte("null")); v != nil {
		t.Errorf("JSON[[]int] null = %v", v)
	}
}

type panicky struct{}

func (panicky) MarshalJSON() ([]byte, error) { panic("boom") }
func (*panicky) UnmarshalJSON([]byte) error  { panic("bang") }

type failing struct{}

var errFailing = errors.New("failing marshaler")

func (failing) MarshalJSON() ([]byte, error) { return nil, errFailing }

func TestJSONErrors(t *testing.T) {
	s := serde.JSON[order]()
	for _, bad := range []string{"", "{", `{"id":`, `{"id": 1}`, "nope", `{"id":"x"} trailing`, "\xff"} {
		v, err := s.Deserialize("t", []byte(bad))
		if err == nil {
			t.Errorf("JSON %q: no error, got %+v", bad, v)
			continue
		}
		if v.ID != "" {
			t.Errorf("JSON %q: non-zero value %+v with error", bad, v)
		}
		if !strings.HasPrefix(err.Error(), "rill: cannot decode") || !strings.Contains(err.Error(), "serde_test.order") {
			t.Errorf("JSON %q: error lacks context: %v", bad, err)
		}
	}
	_, err := s.Deserialize("t", []byte("{"))
	var syn *json.SyntaxError
	if !errors.As(err, &syn) {
		t.Errorf("JSON syntax error %v does not unwrap to *json.SyntaxError", err)
	}
	_, err = s.Deserialize("t", []byte(`{"id": 1}`))
	var typ *json.UnmarshalTypeError
	if !errors.As(err, &typ) {
		t.Errorf("JSON type error %v does not unwrap to *json.UnmarshalTypeError", err)
	}

	// Serialization failures are errors, never panics.
	if _, err := serde.JSON[chan int]().Serialize("t", make(chan int)); err == nil {
		t.Error("JSON chan: no error")
	}
	if _, err := serde.JSON[float64]().Serialize("t", math.NaN()); err == nil {
		t.Error("JSON NaN: no error")
	}
	if _, err := serde.JSON[failing]().Serialize("t", failing{}); !errors.Is(err, errFailing) {
		t.Errorf("JSON failing marshaler: %v", err)
	}
	b, err := serde.JSON[panicky]().Serialize("t", panicky{})
	if err == nil || b != nil || !strings.Contains(err.Error(), "boom") {
		t.Errorf("JSON panicking MarshalJSON: %q, %v", b, err)
	}
	_, err = serde.JSON[panicky]().Deserialize("t", []byte("{}"))
	if err == nil || !strings.Contains(err.Error(), "bang") {
		t.Errorf("JSON panicking UnmarshalJSON: %v", err)
	}
	type cyclic struct{ Next *cyclic }
	c := &cyclic{}
	c.Next = c
	if _, err := serde.JSON[*cyclic]().Serialize("t", c); err == nil {
		t.Error("JSON cycle: no error")
	}
}

func TestFixedWidthErrors(t *testing.T) {
	check := func(name string, want int, de func(data []byte) error) {
		t.Helper()
		for n := 0; n <= 17; n++ {
			err := de(make([]byte, n))
			if n == want {
				if err != nil {
					t.Errorf("%s with %d bytes: %v", name, n, err)
				}
				continue
			}
			msg := fmt.Sprintf("rill: %s needs %d bytes, got %d", name, want, n)
			if err == nil || err.Error() != msg {
				t.Errorf("%s with %d bytes: error %v, want %q", name, n, err, msg)
			}
		}
		if err := de(nil); err != nil {
			t.Errorf("%s with nil: %v", name, err)
		}
	}
	check("int32", 4, func(d []byte) error { _, err := serde.Int32().Deserialize("t", d); return err })
	check("int64", 8, func(d []byte) error { _, err := serde.Int64().Deserialize("t", d); return err })
	check("float64", 8, func(d []byte) error { _, err := serde.Float64().Deserialize("t", d); return err })

	// A failed deserialize returns the zero value.
	if v, err := serde.Int64().Deserialize("t", []byte{1, 2, 3}); err == nil || v != 0 {
		t.Errorf("Int64 short = %d, %v", v, err)
	} else if err.Error() != "rill: int64 needs 8 bytes, got 3" {
		t.Errorf("Int64 short error %q", err)
	}
}

func TestNilDataIsZero(t *testing.T) {
	if v := mustDe(t, serde.String(), nil); v != "" {
		t.Errorf("String nil = %q", v)
	}
	if v := mustDe(t, serde.Bytes(), nil); v != nil {
		t.Errorf("Bytes nil = %v", v)
	}
	if v := mustDe(t, serde.Int32(), nil); v != 0 {
		t.Errorf("Int32 nil = %d", v)
	}
	if v := mustDe(t, serde.Int64(), nil); v != 0 {
		t.Errorf("Int64 nil = %d", v)
	}
	if v := mustDe(t, serde.Float64(), nil); v != 0 || math.Signbit(v) {
		t.Errorf("Float64 nil = %v", v)
	}
	mustDe(t, serde.Void(), nil)
	if v := mustDe(t, serde.JSON[order](), nil); v.ID != "" || v.Amount != 0 || v.Items != nil {
		t.Errorf("JSON nil = %+v", v)
	}
	if v := mustDe(t, serde.JSON[*order](), nil); v != nil {
		t.Errorf("JSON pointer nil = %+v", v)
	}
}

// TestNoPanicOnAnyInput feeds random, short, long and hostile byte slices to every stock
// deserializer. Any panic fails the test; errors are expected.
func TestNoPanicOnAnyInput(t *testing.T) {
	inputs := [][]byte{nil, {}, {0}, {0xff}, make([]byte, 3), make([]byte, 4), make([]byte, 7), make([]byte, 8), make([]byte, 9), make([]byte, 1<<20)}
	for _, s := range []string{"null", "{}", "[]", `"x"`, "0", "-", "1e999", `{"id":null}`, `{"id":"\ud800"}`, `{"items":[1]}`, strings.Repeat("[", 10000), strings.Repeat(`{"a":`, 5000)} {
		inputs = append(inputs, []byte(s))
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 500 {
		b := make([]byte, r.IntN(40))
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		inputs = append(inputs, b)
	}
	for i := range 200 { // random printable JSON-ish text
		const alphabet = `{}[]":,0123456789.eE+-truefalsnid \`
		b := make([]byte, 1+i%50)
		for j := range b {
			b[j] = alphabet[r.IntN(len(alphabet))]
		}
		inputs = append(inputs, b)
	}
	for _, in := range inputs {
		noPanic(t, in, serde.String())
		noPanic(t, in, serde.Bytes())
		noPanic(t, in, serde.Int32())
		noPanic(t, in, serde.Int64())
		noPanic(t, in, serde.Float64())
		noPanic(t, in, serde.Void())
		noPanic(t, in, serde.JSON[order]())
		noPanic(t, in, serde.JSON[*order]())
		noPanic(t, in, serde.JSON[any]())
		noPanic(t, in, serde.JSON[map[string][]int]())
	}
}

func noPanic[T any](t *testing.T, data []byte, s serde.Serde[T]) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			t.Fatalf("%s: Deserialize(%.40q) panicked: %v", serde.TypeName[T](), data, r)
		}
	}()
	v, err := s.Deserialize("t", data)
	if err != nil {
		return
	}
	// Whatever deserializes must serialize again.
	if _, err := s.Serialize("t", v); err != nil {
		t.Errorf("%s: Serialize of deserialized %.40q: %v", serde.TypeName[T](), data, err)
	}
}

type myString string

func TestDefault(t *testing.T) {
	checkDefault(t, "hi")
	checkDefault(t, []byte{1, 2})
	checkDefault(t, int32(-7))
	checkDefault(t, int64(math.MinInt64))
	checkDefault(t, 2.5)
	checkDefault(t, struct{}{})

	// The defaults are the stock serdes, byte for byte.
	s, _ := serde.Default[int64]()
	if b := mustSer(t, s, 1); !bytes.Equal(b, []byte{0, 0, 0, 0, 0, 0, 0, 1}) {
		t.Errorf("Default[int64] = % x", b)
	}
	v, _ := serde.Default[struct{}]()
	if _, err := v.Deserialize("t", []byte{}); err == nil {
		t.Error("Default[struct{}] is not Void")
	}

	noDefault[int](t)
	noDefault[int16](t)
	noDefault[uint64](t)
	noDefault[float32](t)
	noDefault[bool](t)
	noDefault[myString](t)
	noDefault[*string](t)
	noDefault[[]string](t)
	noDefault[order](t)
	noDefault[any](t)
	noDefault[struct{ X int }](t)
}

func checkDefault[T any](t *testing.T, v T) {
	t.Helper()
	s, ok := serde.Default[T]()
	if !ok || s == nil {
		t.Fatalf("Default[%s] = %v, %v", serde.TypeName[T](), s, ok)
	}
	b := mustSer(t, s, v)
	back := mustDe(t, s, b)
	if fmt.Sprint(back) != fmt.Sprint(v) {
		t.Errorf("Default[%s] round trip %v -> %v", serde.TypeName[T](), v, back)
	}
}

func noDefault[T any](t *testing.T) {
	t.Helper()
	if s, ok := serde.Default[T](); ok || s != nil {
		t.Errorf("Default[%s] = %v, %v; want nil, false", serde.TypeName[T](), s, ok)
	}
}

func TestTypeName(t *testing.T) {
	cases := []struct{ got, want string }{
		{serde.TypeName[string](), "string"},
		{serde.TypeName[int64](), "int64"},
		{serde.TypeName[[]byte](), "[]byte"},
		{serde.TypeName[any](), "any"},
		{serde.TypeName[struct{}](), "struct {}"},
		{serde.TypeName[order](), "serde_test.order"},
		{serde.TypeName[*order](), "*serde_test.order"},
		{serde.TypeName[[]order](), "[]serde_test.order"},
		{serde.TypeName[map[string]int](), "map[string]int"},
		{serde.TypeName[io.Reader](), "io.Reader"},
		{serde.TypeName[error](), "error"},
	}
	for _, c := range cases {
		if c.got != c.want {
			t.Errorf("TypeName = %q, want %q", c.got, c.want)
		}
	}
}

func TestNew(t *testing.T) {
	var sawTopic string
	s := serde.New(
		func(topic string, v bool) ([]byte, error) {
			sawTopic = topic
			if v {
				return []byte{1}, nil
			}
			return []byte{0}, nil
		},
		func(topic string, data []byte) (bool, error) {
			sawTopic = topic
			if data == nil {
				return false, nil
			}
			if len(data) != 1 || data[0] > 1 {
				return false, errors.New("bad bool")
			}
			return data[0] == 1, nil
		},
	)
	b, err := s.Serialize("flags", true)
	if err != nil || !bytes.Equal(b, []byte{1}) || sawTopic != "flags" {
		t.Errorf("Serialize = % x, %v, topic %q", b, err, sawTopic)
	}
	v, err := s.Deserialize("other", b)
	if err != nil || !v || sawTopic != "other" {
		t.Errorf("Deserialize = %v, %v, topic %q", v, err, sawTopic)
	}
	if _, err := s.Deserialize("t", []byte{7}); err == nil || err.Error() != "bad bool" {
		t.Errorf("Deserialize error passthrough = %v", err)
	}

	// Missing functions give errors, not panics.
	half := serde.New[int](nil, nil)
	if _, err := half.Serialize("t", 1); err == nil {
		t.Error("New(nil, _).Serialize: no error")
	}
	if v, err := half.Deserialize("t", []byte{1}); err == nil || v != 0 {
		t.Errorf("New(_, nil).Deserialize = %d, %v", v, err)
	}
}

func TestError(t *testing.T) {
	cause := errors.New("rill: int64 needs 8 bytes, got 3")
	cases := []struct {
		err  serde.Error
		want string
	}{
		{serde.Error{Topic: "orders", Partition: 2, Offset: 17, Err: cause},
			"rill: cannot deserialize value of record orders[2]@17: rill: int64 needs 8 bytes, got 3"},
		{serde.Error{Topic: "orders", Partition: 0, Offset: 0, Key: true, Err: cause},
			"rill: cannot deserialize key of record orders[0]@0: rill: int64 needs 8 bytes, got 3"},
		{serde.Error{Topic: "orders", Partition: -1, Offset: -1, Key: true, Serialize: true, Err: cause},
			"rill: cannot serialize key of record orders: rill: int64 needs 8 bytes, got 3"},
		{serde.Error{Topic: "orders", Partition: 3, Offset: -1, Serialize: true, Err: cause},
			"rill: cannot serialize value of record orders[3]: rill: int64 needs 8 bytes, got 3"},
		{serde.Error{Topic: "orders", Partition: -1, Offset: 5, Err: cause},
			"rill: cannot deserialize value of record orders@5: rill: int64 needs 8 bytes, got 3"},
		{serde.Error{Topic: "", Partition: -1, Offset: -1, Serialize: true, Err: cause},
			"rill: cannot serialize value: rill: int64 needs 8 bytes, got 3"},
		{serde.Error{Topic: "t", Partition: -1, Offset: -1},
			"rill: cannot deserialize value of record t"},
	}
	for _, c := range cases {
		if got := c.err.Error(); got != c.want {
			t.Errorf("Error() = %q\n           want %q", got, c.want)
		}
	}
}

func TestErrorIsAs(t *testing.T) {
	_, cause := serde.JSON[order]().Deserialize("orders", []byte("{"))
	var err error = &serde.Error{Topic: "orders", Partition: 1, Offset: 2, Err: cause}
	wrapped := fmt.Errorf("processing: %w", err)

	for _, e := range []error{err, wrapped} {
		if !errors.Is(e, serde.ErrSerialization) {
			t.Errorf("%v is not ErrSerialization", e)
		}
		if !errors.Is(e, cause) {
			t.Errorf("%v is not its cause", e)
		}
		var se *serde.Error
		if !errors.As(e, &se) || se.Topic != "orders" || se.Offset != 2 {
			t.Errorf("errors.As(*Error) on %v = %+v", e, se)
		}
		var syn *json.SyntaxError
		if !errors.As(e, &syn) {
			t.Errorf("errors.As(*json.SyntaxError) on %v failed", e)
		}
		if errors.Is(e, io.EOF) {
			t.Errorf("%v is io.EOF", e)
		}
	}

	// Without a cause it still matches the sentinel.
	if !errors.Is(&serde.Error{Partition: -1, Offset: -1}, serde.ErrSerialization) {
		t.Error("causeless Error is not ErrSerialization")
	}
	// The plain stock errors are not ErrSerialization until the engine wraps them.
	if _, err := serde.Int64().Deserialize("t", []byte{1}); errors.Is(err, serde.ErrSerialization) {
		t.Error("stock error unexpectedly matches ErrSerialization before wrapping")
	}
}

// TestAllocations pins the hot-path allocation budget: constructors are free, fixed-width
// serializers allocate their one result slice, deserializers allocate nothing but a string's
// bytes.
func TestAllocations(t *testing.T) {
	if testing.Short() {
		t.Skip("allocation counts in -short mode are not checked")
	}
	var sink any
	int64Data := []byte{0, 0, 0, 0, 0, 0, 0, 42}
	int32Data := []byte{0, 0, 0, 42}
	strData := []byte("hello, world")
	cases := []struct {
		name string
		max  float64
		f    func()
	}{
		{"String()", 0, func() { sink = serde.String() }},
		{"Bytes()", 0, func() { sink = serde.Bytes() }},
		{"Int32()", 0, func() { sink = serde.Int32() }},
		{"Int64()", 0, func() { sink = serde.Int64() }},
		{"Float64()", 0, func() { sink = serde.Float64() }},
		{"Void()", 0, func() { sink = serde.Void() }},
		{"JSON()", 0, func() { sink = serde.JSON[order]() }},
		{"Default[int64]()", 0, func() { s, _ := serde.Default[int64](); sink = s }},
		{"Int32.Serialize", 1, func() { sinkBytes, _ = serde.Int32().Serialize("t", 42) }},
		{"Int64.Serialize", 1, func() { sinkBytes, _ = serde.Int64().Serialize("t", 42) }},
		{"Float64.Serialize", 1, func() { sinkBytes, _ = serde.Float64().Serialize("t", 4.2) }},
		{"String.Serialize", 1, func() { sinkBytes, _ = serde.String().Serialize("t", "hello, world") }},
		{"Int32.Deserialize", 0, func() { v, _ := serde.Int32().Deserialize("t", int32Data); sinkInt64 += int64(v) }},
		{"Int64.Deserialize", 0, func() { v, _ := serde.Int64().Deserialize("t", int64Data); sinkInt64 += v }},
		{"Float64.Deserialize", 0, func() { v, _ := serde.Float64().Deserialize("t", int64Data); sinkInt64 += int64(v) }},
		{"String.Deserialize", 1, func() { v, _ := serde.String().Deserialize("t", strData); sinkString = v }},
		{"Bytes.Deserialize", 0, func() { v, _ := serde.Bytes().Deserialize("t", strData); sinkBytes = v }},
		{"Void.Serialize", 0, func() { v, _ := serde.Void().Serialize("t", struct{}{}); sinkBytes = v }},
	}
	for _, c := range cases {
		if got := testing.AllocsPerRun(100, c.f); got != c.max {
			t.Errorf("%s: %v allocs, want %v", c.name, got, c.max)
		}
	}
	_ = sink
}

var (
	sinkInt64  int64
	sinkString string
	sinkBytes  []byte
)
