package dsl

import (
	"bytes"
	"testing"

	"github.com/rillstreams/rill/processor"
)

// The suppression buffer's entries round-trip, headers (nil values included) and prior value,
// and a damaged entry is an error, not a panic.
func TestHeldEncoding(t *testing.T) {
	hs := []processor.Header{{Key: "a", Value: []byte("1")}, {Key: "b"}, {Key: "", Value: []byte{}}}
	b := encodeHeld(42, hs, true, []byte("new"), true, []byte("prior"))
	h, err := decodeHeld(b)
	if err != nil {
		t.Fatal(err)
	}
	if h.ts != 42 || !h.hasNew || !h.hasPrior || string(h.newV) != "new" || string(h.prior) != "prior" || len(h.headers) != 3 {
		t.Fatalf("decoded %+v", h)
	}
	if h.headers[1].Value != nil || h.headers[2].Value == nil || !bytes.Equal(h.headers[0].Value, []byte("1")) {
		t.Errorf("headers %+v: nil and empty values must survive", h.headers)
	}
	h, err = decodeHeld(encodeHeld(-1, nil, true, nil, false, nil))
	if err != nil || h.hasPrior || len(h.newV) != 0 || h.ts != -1 {
		t.Errorf("minimal entry: %+v %v", h, err)
	}
	for i := range b {
		if _, err := decodeHeld(b[:i]); err == nil && i < len(b)-len("prior") {
			t.Errorf("truncated to %d bytes: no error", i)
		}
	}
}
