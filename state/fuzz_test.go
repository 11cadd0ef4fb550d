package state

import (
	"bytes"
	"encoding/binary"
	"math"
	"strings"
	"testing"

	"github.com/rillstreams/rill/serde"
)

// Fuzz targets for the changelog encodings of the stores: the timestamped value of table
// stores (8-byte timestamp, then the value) and the keys of window (key, start, sequence
// number) and session (key, end, start) changelogs. Properties: no panic; errors say "rill:";
// what decodes re-encodes to the same bytes.

func wantRillError(t *testing.T, err error) {
	t.Helper()
	if err == nil || !strings.HasPrefix(err.Error(), "rill: ") {
		t.Fatalf("error %v, want a rill: error", err)
	}
}

func FuzzTimestampedSerde(f *testing.F) {
	f.Add(binary.BigEndian.AppendUint64(nil, 1_700_000_000_000))
	f.Add(append(binary.BigEndian.AppendUint64(nil, math.MaxUint64), "value"...))
	f.Add(append(binary.BigEndian.AppendUint64(nil, 5), 0, 0, 0, 7))
	f.Add([]byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, data []byte) {
		s := TimestampedSerde(serde.String())
		v, err := s.Deserialize("t", data)
		if len(data) < 8 {
			wantRillError(t, err)
			return
		}
		if err != nil {
			t.Fatalf("%x: %v", data, err)
		}
		if b, err := s.Serialize("t", v); err != nil || !bytes.Equal(b, data) {
			t.Fatalf("%x reads as %+v, which writes %x (%v)", data, v, b, err)
		}

		// A value serde that rejects most bytes: its errors pass through.
		si := TimestampedSerde(serde.Int32())
		vi, err := si.Deserialize("t", data)
		if len(data) != 12 {
			wantRillError(t, err)
			return
		}
		if b, err := si.Serialize("t", vi); err != nil || !bytes.Equal(b, data) {
			t.Fatalf("%x reads as %+v, which writes %x (%v)", data, vi, b, err)
		}
	})
}

func FuzzChangelogKeys(f *testing.F) {
	f.Add(windowChangelogKey([]byte("user-1"), 60_000, 1))
	f.Add(sessionChangelogKey([]byte("user-1"), 1000, 5000))
	f.Add(windowChangelogKey(nil, math.MinInt64, math.MaxUint32))
	f.Add([]byte("short"))
	f.Fuzz(func(t *testing.T, data []byte) {
		k, start, err := parseWindowChangelogKey(data)
		if len(data) < 12 {
			wantRillError(t, err)
		} else {
			if err != nil {
				t.Fatalf("window %x: %v", data, err)
			}
			seq := binary.BigEndian.Uint32(data[len(data)-4:])
			if b := windowChangelogKey(k, start, seq); !bytes.Equal(b, data) {
				t.Fatalf("window %x parses to %x at %d, which writes %x", data, k, start, b)
			}
		}
		k, start, end, err := parseSessionChangelogKey(data)
		if len(data) < 16 || int64(binary.BigEndian.Uint64(data[len(data)-8:])) > int64(binary.BigEndian.Uint64(data[len(data)-16:])) {
			wantRillError(t, err) // too short, or a session ending before it starts
			return
		}
		if err != nil {
			t.Fatalf("session %x: %v", data, err)
		}
		if b := sessionChangelogKey(k, start, end); !bytes.Equal(b, data) {
			t.Fatalf("session %x parses to %x [%d, %d], which writes %x", data, k, start, end, b)
		}
	})
}
