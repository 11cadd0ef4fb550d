package joins

import (
	"bytes"
	"encoding/binary"
	"strings"
	"testing"
)

// Fuzz targets for the outer-join store's keys and value lists (the foreign-key join's wire
// formats are fuzzed in internal/fkjoin). They
// travel through internal topics and changelogs, so a decoder may see any bytes a corrupt
// topic holds. Properties: no panic; errors say "rill:"; what decodes re-encodes to bytes that
// decode to the same value.

func wantRillError(t *testing.T, err error) {
	t.Helper()
	if !strings.HasPrefix(err.Error(), "rill: ") {
		t.Fatalf("error without the rill: prefix: %v", err)
	}
}

// FuzzOuterStore checks the outer-join store's key (timestamp, side, key) and value list
// (uvarint-length-prefixed values).
func FuzzOuterStore(f *testing.F) {
	f.Add(outerKey(1_700_000_000_000, true, []byte("k")))
	f.Add(outerKey(-1, false, nil))
	list := binary.AppendUvarint(nil, 3)
	list = append(list, "abc"...)
	list = binary.AppendUvarint(list, 0)
	f.Add(list)
	f.Add([]byte{0x80, 0x00})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	f.Fuzz(func(t *testing.T, data []byte) {
		ts, left, key, err := parseOuterKey(data)
		if err != nil {
			wantRillError(t, err)
		} else {
			back := outerKey(ts, left, key)
			if data[8] <= 1 && !bytes.Equal(back, data) {
				t.Fatalf("outer key %x parses to %d %v %x, which writes %x", data, ts, left, key, back)
			}
			if ts2, left2, key2, err := parseOuterKey(back); err != nil || ts2 != ts || left2 != left || !bytes.Equal(key2, key) {
				t.Fatalf("outer key %x does not round-trip", data)
			}
		}

		var values [][]byte
		err = forEachValue(data, func(v []byte) error {
			values = append(values, v)
			return nil
		})
		if err != nil {
			wantRillError(t, err)
			return
		}
		var again []byte
		for _, v := range values {
			again = append(binary.AppendUvarint(again, uint64(len(v))), v...)
		}
		var back [][]byte
		if err := forEachValue(again, func(v []byte) error {
			back = append(back, v)
			return nil
		}); err != nil || len(back) != len(values) {
			t.Fatalf("value list %x re-encoded as %x reads %d values, want %d (%v)", data, again, len(back), len(values), err)
		}
		for i := range back {
			if !bytes.Equal(back[i], values[i]) {
				t.Fatalf("value list %x: value %d reads %x after re-encoding, was %x", data, i, back[i], values[i])
			}
		}
	})
}
