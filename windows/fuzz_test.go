package windows

import (
	"bytes"
	"encoding/binary"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/rillstreams/rill/serde"
)

// FuzzWindowedSerdes feeds arbitrary bytes to the time- and session-windowed key serdes, with
// a string key (every key byte string is valid) and an int32 key (most are not). Properties:
// no panic; errors say "rill:"; with the string key, non-empty input decodes exactly when it
// is long enough and re-encodes to the same bytes; an accepted int32 key re-encodes too.
func FuzzWindowedSerdes(f *testing.F) {
	key := func(k string, times ...int64) []byte {
		b := []byte(k)
		for _, t := range times {
			b = binary.BigEndian.AppendUint64(b, uint64(t))
		}
		return b
	}
	f.Add([]byte{})
	f.Add(key("user-1", 1_700_000_000_000))
	f.Add(key("", -1))
	f.Add(key("k", math.MaxInt64))
	f.Add(key("k", math.MaxInt64, math.MinInt64))
	f.Add(key("session", 2000, 1000))
	f.Add(key("\x00\x00\x00\x07", 5, 5))
	f.Add([]byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, data []byte) {
		size := 10 * time.Second
		tw := TimeWindowedSerde(serde.String(), size)
		w, err := tw.Deserialize("t", data)
		switch {
		case len(data) == 0:
			if err != nil || w != (Windowed[string]{}) {
				t.Fatalf("time-windowed: empty data read as %v, %v", w, err)
			}
		case len(data) < 8:
			if err == nil {
				t.Fatalf("time-windowed: accepted %d bytes", len(data))
			}
			wantRillError(t, err)
		default:
			if err != nil {
				t.Fatalf("time-windowed: rejected %x: %v", data, err)
			}
			if w.End != addSat(w.Start, size.Milliseconds()) || w.End < w.Start {
				t.Fatalf("time-windowed: %x read as %v: end is not start + size", data, w)
			}
			reencode(t, "time-windowed", tw, w, data)
		}

		sw := SessionWindowedSerde(serde.String())
		w, err = sw.Deserialize("t", data)
		switch {
		case len(data) == 0:
			if err != nil || w != (Windowed[string]{}) {
				t.Fatalf("session-windowed: empty data read as %v, %v", w, err)
			}
		case len(data) < 16:
			if err == nil {
				t.Fatalf("session-windowed: accepted %d bytes", len(data))
			}
			wantRillError(t, err)
		default:
			if err != nil {
				t.Fatalf("session-windowed: rejected %x: %v", data, err)
			}
			reencode(t, "session-windowed", sw, w, data)
		}

		// A key serde that rejects most inputs: its errors pass through, its values round-trip.
		for name, s := range map[string]serde.Serde[Windowed[int32]]{
			"time-windowed int32":    TimeWindowedSerde(serde.Int32(), size),
			"session-windowed int32": SessionWindowedSerde(serde.Int32()),
		} {
			w, err := s.Deserialize("t", data)
			if err != nil {
				wantRillError(t, err)
				continue
			}
			if len(data) == 0 {
				continue
			}
			reencode(t, name, s, w, data)
		}
	})
}

func reencode[K comparable](t *testing.T, name string, s serde.Serde[Windowed[K]], w Windowed[K], data []byte) {
	t.Helper()
	b, err := s.Serialize("t", w)
	if err != nil || !bytes.Equal(b, data) {
		t.Fatalf("%s: %x read as %v, which writes %x (%v)", name, data, w, b, err)
	}
}

func wantRillError(t *testing.T, err error) {
	t.Helper()
	if !strings.HasPrefix(err.Error(), "rill: ") {
		t.Fatalf("error without the rill: prefix: %v", err)
	}
}
