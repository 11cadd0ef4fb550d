package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/rillstreams/rill/dsl"
	"github.com/rillstreams/rill/internal/partition"
	"github.com/rillstreams/rill/kafkatest"
	"github.com/rillstreams/rill/serde"
	"github.com/rillstreams/rill/windows"
)

// The table families of the torture app: a table-table join of the two inputs' per-key counts,
// final (suppressed) tumbling-window counts, and a foreign-key join of the latest value per
// key with a table of labels keyed by the value's residue. Their outputs depend on how the two inputs
// interleave and on each task's stream time, so the verifier checks what holds whatever the
// interleaving: the table join's pairs only grow and end at the final counts; every window
// whose end the task's stream time has passed is emitted once, with its full count.

const (
	topicTT    = "torture-tt"
	topicFinal = "torture-final"
	topicFK    = "torture-fk"   // output of the foreign-key join
	topicFKIn  = "torture-fkin" // its right table: "f<r>" -> "F<r>", r < fkKeys
	fkKeys     = 5

	finalWindow = time.Second
)

func fkOf(v int64) string { return "f" + strconv.FormatInt(v%fkKeys, 10) }

// fkTable is the foreign-key join's right table, written once at the start, stamped at.
func fkTable(at time.Time) []kafkatest.Record {
	out := make([]kafkatest.Record, fkKeys)
	for r := range fkKeys {
		out[r] = kafkatest.Record{Topic: topicFKIn, Key: []byte("f" + strconv.Itoa(r)), Value: []byte("F" + strconv.Itoa(r)), Timestamp: at}
	}
	return out
}

func addTableFamilies(b *dsl.Builder, in, right *dsl.Stream[string, int64]) {
	labels := b.Table(topicFKIn, serde.String(), serde.String(), dsl.Materialized("fklabels"))
	in.ToTable(dsl.Materialized("latest")).
		JoinOnForeignKey(labels, func(_ string, v int64) string { return fkOf(v) },
			func(_ string, v int64, label string) string { return strconv.FormatInt(v, 10) + ":" + label }).
		ToStream().To(topicFK)
	lc := in.GroupByKey().Count(dsl.Materialized("lcount"))
	rc := right.GroupByKey().Count(dsl.Materialized("rcount"))
	lc.Join(rc, func(_ string, l, r int64) string { return strconv.FormatInt(l, 10) + "/" + strconv.FormatInt(r, 10) }).
		ToStream().To(topicTT)
	dsl.WindowedBy(in.GroupByKey(), windows.Tumbling(finalWindow, windows.Grace(0))).
		Count(dsl.Materialized("final")).
		Suppress(dsl.UntilWindowCloses(dsl.Unbounded())).
		ToStream().
		Map(func(k windows.Windowed[string], n int64) (string, string) {
			return k.Key + "@" + strconv.FormatInt(k.Start, 10), strconv.FormatInt(n, 10)
		}).
		To(topicFinal)
}

// ttFinal returns each key's final left and right counts over the first n left records.
func (in *input) ttFinal(n int) (left, right map[string]int64) {
	left, right = map[string]int64{}, map[string]int64{}
	for i := range n {
		left[in.keys[i]]++
		if in.right[i] {
			right[in.keys[i]]++
		}
	}
	return left, right
}

func parsePair(v []byte) (l, r int64, err error) {
	ls, rs, ok := strings.Cut(string(v), "/")
	if !ok {
		return 0, 0, fmt.Errorf("not l/r: %q", v)
	}
	if l, err = strconv.ParseInt(ls, 10, 64); err == nil {
		r, err = strconv.ParseInt(rs, 10, 64)
	}
	return l, r, err
}

// verifyTT checks the table-table join: under exactly-once each key's pairs strictly grow (an
// update of either side changes one count), never repeat and end at the final counts; under
// at-least-once (where a replay after a crash counts records again) the last pair is at least
// the final counts.
func verifyTT(in *input, n int, out []kafkatest.Record, exact bool) report {
	left, right := in.ttFinal(n)
	r := report{family: "tt", got: len(out)}
	last := map[string][2]int64{}
	seen := map[string]bool{}
	for _, rec := range out {
		k := string(rec.Key)
		l, rr, err := parsePair(rec.Value)
		if err != nil {
			r.problem("%s: %v", k, err)
			r.duplicates++
			continue
		}
		p, had := last[k]
		if exact && (seen[k+"="+string(rec.Value)] || (had && (l < p[0] || rr < p[1]))) {
			r.duplicates++
			r.problem("%s: %d/%d after %d/%d", k, l, rr, p[0], p[1])
		}
		seen[k+"="+string(rec.Value)] = true
		last[k] = [2]int64{l, rr}
	}
	for k, rc := range right {
		r.expected++
		p, ok := last[k]
		switch {
		case !ok || p[0] < left[k] || p[1] < rc:
			r.lost++
			r.problem("%s: last %d/%d, want %d/%d", k, p[0], p[1], left[k], rc)
		case exact && (p[0] != left[k] || p[1] != rc):
			r.duplicates++
			r.problem("%s: last %d/%d, want %d/%d", k, p[0], p[1], left[k], rc)
		}
	}
	return r
}

// ttReady tells whether every key's join result has reached its final counts.
func (in *input) ttReady(n int, out []kafkatest.Record) bool {
	left, right := in.ttFinal(n)
	last := map[string]string{}
	for _, rec := range out {
		last[string(rec.Key)] = string(rec.Value)
	}
	for k, rc := range right {
		l, r, err := parsePair([]byte(last[k]))
		if err != nil || l < left[k] || r < rc {
			return false
		}
	}
	return true
}

// finalWindows returns the windows that must have been emitted (their end at or before their
// task's stream time, less a millisecond for the boundary rule) with their counts, and the
// ones that may have been (every window of the input).
func (in *input) finalWindows(n int) (must map[string]int64, all map[string]int64) {
	streamTime := map[int32]int64{}
	part := func(k string) int32 { return partition.ForKey([]byte(k), partitions) }
	all = map[string]int64{}
	for i := range n {
		k, ts := in.keys[i], in.ts(i)
		streamTime[part(k)] = max(streamTime[part(k)], ts)
		start := ts - ts%finalWindow.Milliseconds()
		all[k+"@"+strconv.FormatInt(start, 10)]++
	}
	must = map[string]int64{}
	for w, c := range all {
		k, s, _ := strings.Cut(w, "@")
		start, _ := strconv.ParseInt(s, 10, 64)
		if start+finalWindow.Milliseconds() < streamTime[part(k)] {
			must[w] = c
		}
	}
	return must, all
}

// verifyFinal checks the suppressed counts. Under exactly-once each closed window is emitted
// once, with its full count, and no other window with any other count. Under at-least-once a
// replay after a crash counts records again, and a window its store had already expired (the
// store keeps size + grace) comes back with only the replayed records: extra emissions are
// duplicates, whatever their count, but every closed window needs one emission with at least
// its full count.
func verifyFinal(in *input, n int, out []kafkatest.Record, exact bool) report {
	must, all := in.finalWindows(n)
	r := report{family: "final", got: len(out), expected: len(must)}
	seen := map[string]int{}
	full := map[string]bool{}
	counts := map[string][]string{} // emitted counts per window, for the report
	for _, rec := range out {
		w := string(rec.Key)
		c, err := strconv.ParseInt(string(rec.Value), 10, 64)
		seen[w]++
		counts[w] = append(counts[w], string(rec.Value))
		switch {
		case err != nil || all[w] == 0:
			r.wrong++
			r.problem("%s: unexpected window or count %q", w, rec.Value)
		case exact && c != all[w]:
			r.lost++
			r.problem("%s: emitted with count %d, want %d", w, c, all[w])
		case exact && seen[w] > 1:
			r.duplicates++
			r.problem("%s: emitted %d times", w, seen[w])
		case c >= all[w] && !full[w]:
			full[w] = true
		default:
			r.duplicates++
		}
	}
	for w, c := range must {
		if !full[w] && (!exact || seen[w] == 0) {
			r.lost++
			r.problem("%s: closed, never emitted with its count %d (emitted: %v)", w, c, counts[w])
		}
	}
	return r
}

// finalReady tells whether every closed window was emitted.
func (in *input) finalReady(n int, out []kafkatest.Record) bool {
	must, _ := in.finalWindows(n)
	seen := map[string]bool{}
	for _, rec := range out {
		seen[string(rec.Key)] = true
	}
	for w := range must {
		if !seen[w] {
			return false
		}
	}
	return true
}

// fkFinal returns each key's last left value over the first n records, joined.
func (in *input) fkFinal(n int) map[string]string {
	out := map[string]string{}
	for i := range n {
		out[in.keys[i]] = strconv.Itoa(i) + ":F" + strconv.Itoa(i%fkKeys)
	}
	return out
}

// verifyFK checks the foreign-key join: every result joins a value of its key with that value's
// label; under exactly-once a key's values only grow (an answer to an outdated row is dropped)
// and never repeat; the last result of each key is its last value, joined.
func verifyFK(in *input, n int, out []kafkatest.Record, exact bool) report {
	want := in.fkFinal(n)
	r := report{family: "fk", got: len(out), expected: len(want)}
	last, seen := map[string]int64{}, map[string]bool{}
	lastV := map[string]string{}
	for _, rec := range out {
		k, v := string(rec.Key), string(rec.Value)
		is, label, _ := strings.Cut(v, ":")
		i, err := strconv.ParseInt(is, 10, 64)
		if err != nil || i < 0 || i >= int64(n) || in.keys[i] != k || label != "F"+strconv.FormatInt(i%fkKeys, 10) {
			r.wrong++
			r.problem("%s: unexpected result %q", k, v)
			continue
		}
		if p, had := last[k]; exact && (seen[k+"="+v] || (had && i < p)) {
			r.duplicates++
			r.problem("%s: %q after %d", k, v, p)
		}
		seen[k+"="+v] = true
		last[k], lastV[k] = i, v
	}
	for k, w := range want {
		if lastV[k] != w {
			r.lost++
			r.problem("%s: last %q, want %q", k, lastV[k], w)
		}
	}
	return r
}

// fkReady tells whether every key's last join result is its last value's.
func (in *input) fkReady(n int, out []kafkatest.Record) bool {
	last := map[string]string{}
	for _, rec := range out {
		last[string(rec.Key)] = string(rec.Value)
	}
	for k, w := range in.fkFinal(n) {
		if last[k] != w {
			return false
		}
	}
	return true
}
