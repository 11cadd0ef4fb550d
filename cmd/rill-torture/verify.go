package main

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/rillstreams/rill/kafkatest"
)

// report is what the verifier found in one output family.
type report struct {
	family     string
	expected   int // updates the input should produce
	got        int // records read
	lost       int // expected updates never seen
	duplicates int // records seen more than once
	wrong      int // records no input could produce (a join with a missing row, say): a failure under either guarantee
	recounted  int // at least once: updates skipped by a counter that counted records twice (kafkatest.CountReport.Recounted)
	problems   []string
}

func (r *report) problem(format string, args ...any) {
	if len(r.problems) < 10 {
		r.problems = append(r.problems, fmt.Sprintf(format, args...))
	}
}

func (r report) String() string {
	s := fmt.Sprintf("%-8s expected %d, read %d, lost %d, duplicates %d", r.family, r.expected, r.got, r.lost, r.duplicates)
	if r.wrong > 0 {
		s += fmt.Sprintf(", wrong %d", r.wrong)
	}
	if r.recounted > 0 {
		s += fmt.Sprintf(", recounted %d", r.recounted)
	}
	for _, p := range r.problems {
		s += "\n    " + p
	}
	return s
}

// expectedCounts returns, per key, how many of the first n left records have it.
func (in *input) expectedCounts(n int) map[string]int64 {
	m := map[string]int64{}
	for i := range n {
		m[in.keys[i]]++
	}
	return m
}

// verifyCounts checks a family of counters (per key, updates 1, 2, ..., want[key]) with
// kafkatest.CheckCounts: exact means each update exactly once in order; otherwise (at least
// once) each update at least once. value parses a record's count.
func verifyCounts(family string, out []kafkatest.Record, want map[string]int64, exact bool, value func([]byte) (int64, error)) report {
	c := kafkatest.CheckCounts(out, want, exact, value)
	return report{family: family, expected: c.Expected, got: c.Got, lost: c.Lost, duplicates: c.Duplicates, recounted: c.Recounted, problems: c.Problems}
}

// verify checks every output family against the first n left records.
func verify(in *input, n int, outs map[string][]kafkatest.Record, exact bool) []report {
	var reps []report
	counts := in.expectedCounts(n)
	reps = append(reps, verifyCounts("agg", outs[topicAgg], counts, exact, func(v []byte) (int64, error) {
		c, _, _ := strings.Cut(string(v), ":")
		return strconv.ParseInt(c, 10, 64)
	}))
	// Final sums, minima and maxima: the last update of each key.
	sums, mins, maxs := map[string]int64{}, map[string]int64{}, map[string]int64{}
	for i := range n {
		k := in.keys[i]
		if _, ok := mins[k]; !ok {
			mins[k] = int64(i)
		}
		sums[k] += int64(i)
		maxs[k] = int64(i)
	}
	final := map[string]string{}
	for _, rec := range outs[topicAgg] {
		final[string(rec.Key)] = string(rec.Value)
	}
	for k, c := range counts {
		want := fmt.Sprintf("%d:%d:%d:%d", c, sums[k], mins[k], maxs[k])
		if final[k] != want && exact {
			reps[0].problem("%s: final %q, want %q", k, final[k], want)
		}
	}

	wcounts := map[string]int64{}
	for i := range n {
		start := in.ts(i) - in.ts(i)%countWindow.Milliseconds()
		wcounts[in.keys[i]+"@"+strconv.FormatInt(start, 10)]++
	}
	reps = append(reps, verifyCounts("wcount", outs[topicWCount], wcounts, exact, func(v []byte) (int64, error) {
		return strconv.ParseInt(string(v), 10, 64)
	}))
	reps = append(reps, verifySet("join", outs[topicJoin], in.expectedJoins(n), exact))
	gjoins := map[string]int{}
	for i := range n {
		gjoins[in.keys[i]+"="+strconv.Itoa(i)+":L"+in.keys[i]]++
	}
	reps = append(reps, verifySet("gjoin", outs[topicGJoin], gjoins, exact))
	reps = append(reps, verifyTT(in, n, outs[topicTT], exact), verifyFinal(in, n, outs[topicFinal], exact), verifyFK(in, n, outs[topicFK], exact))
	return reps
}

// expectedJoins are the inner-join results of the first n left records with their right
// records: every left/right pair of a key within joinWindow of each other.
func (in *input) expectedJoins(n int) map[string]int {
	type rec struct {
		i  int
		ts int64
	}
	rights := map[string][]rec{}
	for i := range n {
		if in.right[i] {
			rights[in.keys[i]] = append(rights[in.keys[i]], rec{i, in.ts(i) + recordGap/2})
		}
	}
	out := map[string]int{}
	w := joinWindow.Milliseconds()
	for i := range n {
		k := in.keys[i]
		rs := rights[k]
		lo := sort.Search(len(rs), func(j int) bool { return rs[j].ts >= in.ts(i)-w })
		for j := lo; j < len(rs) && rs[j].ts <= in.ts(i)+w; j++ {
			out[k+"="+fmt.Sprintf("%d|%d", i, rs[j].i)]++
		}
	}
	return out
}

// verifySet checks outputs against an expected multiset of "key=value".
func verifySet(family string, out []kafkatest.Record, want map[string]int, exact bool) report {
	r := report{family: family, got: len(out)}
	seen := map[string]int{}
	for _, rec := range out {
		seen[string(rec.Key)+"="+string(rec.Value)]++
	}
	for k, n := range want {
		r.expected += n
		switch s := seen[k]; {
		case s < n:
			r.lost += n - s
			r.problem("%s: seen %d times, want %d", k, s, n)
		case s > n:
			r.duplicates += s - n
			if exact {
				r.problem("%s: seen %d times, want %d", k, s, n)
			}
		}
	}
	for k, s := range seen {
		if want[k] == 0 {
			r.wrong += s
			r.problem("%s: not expected at all (%d times)", k, s)
		}
	}
	return r
}

// ok tells whether a report passes under the guarantee: exact needs no loss and no duplicate;
// at least once needs no loss.
func (r report) ok(exact bool) bool {
	if r.lost > 0 || r.wrong > 0 {
		return false
	}
	return !exact || (r.duplicates == 0 && len(r.problems) == 0)
}
