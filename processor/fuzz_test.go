package processor_test

import (
	"strings"
	"testing"

	"github.com/rillstreams/rill/internal/assign"
	"github.com/rillstreams/rill/processor"
)

// FuzzParseTaskID parses arbitrary task directory names (the state directory holds one per
// task, and users can put anything there) with processor.ParseTaskID and assign.ParseTaskID.
// Properties: no panic; errors say "rill:"; both parsers agree; a parsed id prints as a name
// that parses back to it.
func FuzzParseTaskID(f *testing.F) {
	for _, s := range []string{"0_0", "12_345", "2147483647_2147483647", "9223372036854775807_0",
		"-1_0", "0_-1", "0_2147483648", "+1_+2", "01_02", "1_2_3", "_", "1", "", "x_y", " 1_2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, err := processor.ParseTaskID(s)
		aid, aerr := assign.ParseTaskID(s)
		if (err == nil) != (aerr == nil) || err == nil && (id.Subtopology != aid.Subtopology || id.Partition != aid.Partition) {
			t.Fatalf("%q: processor parses %v (%v), assign parses %v (%v)", s, id, err, aid, aerr)
		}
		if err != nil {
			if !strings.HasPrefix(err.Error(), "rill: ") || !strings.HasPrefix(aerr.Error(), "rill: ") {
				t.Fatalf("%q: errors without the rill: prefix: %v; %v", s, err, aerr)
			}
			if id != (processor.TaskID{}) {
				t.Fatalf("%q: %v returned with %v", s, id, err)
			}
			return
		}
		if id.Subtopology < 0 || id.Partition < 0 {
			t.Fatalf("%q parses to negative id %v", s, id)
		}
		if aid.String() != id.String() {
			t.Fatalf("%q prints as %q and %q", s, id.String(), aid.String())
		}
		back, err := processor.ParseTaskID(id.String())
		if err != nil || back != id {
			t.Fatalf("%q parses to %v, which prints as %q, which parses to %v (%v)", s, id, id.String(), back, err)
		}
	})
}
