package kafkatest

import (
	"strconv"
	"strings"
	"testing"
)

func counter(v []byte) (int64, error) {
	c, _, _ := strings.Cut(string(v), ":")
	return strconv.ParseInt(c, 10, 64)
}

func recs(kv ...string) []Record {
	var out []Record
	for i := 0; i < len(kv); i += 2 {
		out = append(out, Record{Key: []byte(kv[i]), Value: []byte(kv[i+1])})
	}
	return out
}

// CheckCounts passes a correct stream and catches a duplicate, a loss, a reordering and an
// unexpected key, telling exactly-once from at-least-once.
func TestCheckCounts(t *testing.T) {
	want := map[string]int64{"a": 3, "b": 1}
	for _, c := range []struct {
		name                 string
		out                  []Record
		exactOK, atLeastOnce bool
	}{
		{"correct", recs("a", "1:x", "b", "1:y", "a", "2:x", "a", "3:x"), true, true},
		{"duplicate", recs("a", "1:x", "a", "2:x", "a", "2:x", "a", "3:x", "b", "1"), false, true},
		{"lost", recs("a", "1:x", "a", "3:x", "b", "1"), false, false},
		{"reordered", recs("a", "2", "a", "1", "a", "3", "b", "1"), false, true},
		{"unexpected key", recs("a", "1", "a", "2", "a", "3", "b", "1", "c", "1"), false, true},
		{"bad value", recs("a", "1", "a", "2", "a", "3", "b", "x"), false, false},
		// At least once, records counted twice after a failure whose first outputs were lost:
		// the counter skips 2 and 3 and ends at 5, with as many distinct updates as inputs.
		{"recounted", recs("a", "1", "a", "4", "a", "5", "b", "1"), false, true},
		// A gap without the updates that would make up for it is a loss.
		{"gap not made up", recs("a", "1", "a", "4", "b", "1"), false, false},
	} {
		if err := CheckCounts(c.out, want, true, counter).Err(true); (err == nil) != c.exactOK {
			t.Errorf("%s, exactly once: %v", c.name, err)
		}
		if err := CheckCounts(c.out, want, false, counter).Err(false); (err == nil) != c.atLeastOnce {
			t.Errorf("%s, at least once: %v", c.name, err)
		}
	}
}
