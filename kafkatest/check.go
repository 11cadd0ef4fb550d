package kafkatest

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// CountReport is what CheckCounts found in a stream of per-key counter updates.
type CountReport struct {
	Expected   int // updates want asks for
	Got        int // records read
	Lost       int // expected updates never seen
	Duplicates int // records seen more than once, or not expected at all
	// Recounted (at least once only) are expected updates never seen of keys whose outputs
	// went past their expected total by at least as many distinct updates: records counted
	// twice. At least once, a failure can leave a store ahead of the outputs (its changelog
	// records written, the outputs not): the records are processed again on top of the
	// restored state, so the counter skips the updates whose outputs were lost and ends
	// higher. Every input record still shows in the outputs (each key has at least as many
	// distinct updates as inputs); Kafka Streams' at-least-once does the same.
	Recounted int
	Problems  []string // the first few findings, for the failure message
}

// maxProblems bounds CountReport.Problems: one lost partition would otherwise list
// thousands of updates.
const maxProblems = 10

func (r *CountReport) problem(format string, args ...any) {
	if len(r.Problems) < maxProblems {
		r.Problems = append(r.Problems, fmt.Sprintf(format, args...))
	}
}

// CheckCounts checks out, the output of a counter per key (count, aggregate), against want,
// the number of updates each key must have: under exactly-once (exact) every key's updates
// are 1, 2, ..., want[key], each once and in order; under at-least-once each of them at least
// once (repeats are counted as Duplicates, not failures). count reads a record's counter from
// its value ("3:42" → 3, say). It is the one checker the integration tests, the real-Kafka
// fault tests and rill-torture use to tell a lost or doubled update.
func CheckCounts(out []Record, want map[string]int64, exact bool, count func(value []byte) (int64, error)) CountReport {
	r := CountReport{Got: len(out)}
	seen := map[string]map[int64]int{}
	last := map[string]int64{}
	for _, rec := range out {
		k := string(rec.Key)
		c, err := count(rec.Value)
		if err != nil {
			r.problem("%s: bad value %q: %v", k, rec.Value, err)
			r.Duplicates++
			continue
		}
		if seen[k] == nil {
			seen[k] = map[int64]int{}
		}
		seen[k][c]++
		if seen[k][c] > 1 || c > want[k] || c < 1 {
			r.Duplicates++
			if exact {
				r.problem("%s: update %d seen again or unexpected (want 1..%d)", k, c, want[k])
			}
		}
		if exact && c != last[k]+1 && seen[k][c] == 1 {
			r.problem("%s: update %d after %d (out of order or a gap)", k, c, last[k])
		}
		last[k] = c
	}
	keys := make([]string, 0, len(want))
	for k := range want {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		n := want[k]
		r.Expected += int(n)
		var missing []int64
		for c := int64(1); c <= n; c++ {
			if seen[k][c] == 0 {
				missing = append(missing, c)
			}
		}
		if len(missing) == 0 {
			continue
		}
		distinct := int64(0)
		for c := range seen[k] {
			if c >= 1 {
				distinct++
			}
		}
		if !exact && distinct >= n {
			r.Recounted += len(missing)
			r.problem("%s: updates %d-%d never seen, counted again past %d (seen %s)", k, missing[0], missing[len(missing)-1], n, ranges(seen[k]))
			continue
		}
		for _, c := range missing {
			r.Lost++
			r.problem("%s: update %d never seen (of %d; seen %s)", k, c, n, ranges(seen[k]))
		}
	}
	return r
}

// Err is nil when the report passes: nothing lost, and under exactly-once (exact) nothing
// doubled, unexpected or out of order.
func (r CountReport) Err(exact bool) error {
	if r.Lost == 0 && (!exact || (r.Duplicates == 0 && len(r.Problems) == 0)) {
		return nil
	}
	return errors.New(r.String())
}

func (r CountReport) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "expected %d updates, read %d, lost %d, duplicates %d", r.Expected, r.Got, r.Lost, r.Duplicates)
	if r.Recounted > 0 {
		fmt.Fprintf(&b, ", recounted %d", r.Recounted)
	}
	for _, p := range r.Problems {
		b.WriteString("\n    " + p)
	}
	return b.String()
}

// ranges tells which counter values were seen, as "1-3,5,7-9" (at most a few runs): enough to
// tell a gap (outputs lost) from a key counted past its expected total (records counted twice
// after a failure under at-least-once, with the first outputs lost).
func ranges(seen map[int64]int) string {
	if len(seen) == 0 {
		return "none"
	}
	vs := make([]int64, 0, len(seen))
	for v := range seen {
		vs = append(vs, v)
	}
	sort.Slice(vs, func(i, j int) bool { return vs[i] < vs[j] })
	var b strings.Builder
	runs := 0
	for i := 0; i < len(vs); {
		j := i
		for j+1 < len(vs) && vs[j+1] == vs[j]+1 {
			j++
		}
		if runs == 6 {
			b.WriteString(",...")
			break
		}
		if runs > 0 {
			b.WriteByte(',')
		}
		if j > i {
			fmt.Fprintf(&b, "%d-%d", vs[i], vs[j])
		} else {
			fmt.Fprintf(&b, "%d", vs[i])
		}
		runs++
		i = j + 1
	}
	return b.String()
}
