package main

import (
	"fmt"
	"slices"
	"strconv"
	"testing"

	"github.com/rillstreams/rill/kafkatest"
)

// exactOutputs builds the outputs a correct run produces for the first n records of in.
func exactOutputs(in *input, n int) map[string][]kafkatest.Record {
	outs := map[string][]kafkatest.Record{}
	counts, sums, mins := map[string]int64{}, map[string]int64{}, map[string]int64{}
	wc := map[string]int64{}
	for i := range n {
		k := in.keys[i]
		if counts[k] == 0 {
			mins[k] = int64(i)
		}
		counts[k]++
		sums[k] += int64(i)
		outs[topicAgg] = append(outs[topicAgg], kafkatest.Record{Key: []byte(k),
			Value: []byte(fmt.Sprintf("%d:%d:%d:%d", counts[k], sums[k], mins[k], i))})
		w := k + "@" + strconv.FormatInt(in.ts(i)-in.ts(i)%countWindow.Milliseconds(), 10)
		wc[w]++
		outs[topicWCount] = append(outs[topicWCount], kafkatest.Record{Key: []byte(w), Value: []byte(strconv.FormatInt(wc[w], 10))})
		outs[topicGJoin] = append(outs[topicGJoin], kafkatest.Record{Key: []byte(k), Value: []byte(fmt.Sprintf("%d:L%s", i, k))})
	}
	// The table join in timestamp order (a right record follows its left one); the closed
	// windows, once each.
	lc, rc := map[string]int64{}, map[string]int64{}
	for i := range n {
		k := in.keys[i]
		lc[k]++
		if rc[k] > 0 {
			outs[topicTT] = append(outs[topicTT], kafkatest.Record{Key: []byte(k), Value: []byte(fmt.Sprintf("%d/%d", lc[k], rc[k]))})
		}
		if in.right[i] {
			rc[k]++
			outs[topicTT] = append(outs[topicTT], kafkatest.Record{Key: []byte(k), Value: []byte(fmt.Sprintf("%d/%d", lc[k], rc[k]))})
		}
	}
	for i := range n {
		outs[topicFK] = append(outs[topicFK], kafkatest.Record{Key: []byte(in.keys[i]), Value: []byte(fmt.Sprintf("%d:F%d", i, i%fkKeys))})
	}
	must, _ := in.finalWindows(n)
	for w, c := range must {
		outs[topicFinal] = append(outs[topicFinal], kafkatest.Record{Key: []byte(w), Value: []byte(strconv.FormatInt(c, 10))})
	}
	for kv, c := range in.expectedJoins(n) {
		k, v, _ := cut(kv)
		for range c {
			outs[topicJoin] = append(outs[topicJoin], kafkatest.Record{Key: []byte(k), Value: []byte(v)})
		}
	}
	return outs
}

func cut(s string) (string, string, bool) {
	for i := range s {
		if s[i] == '=' {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

// The verifier passes a correct output and catches a duplicate, a loss and a wrong final value.
func TestVerifierCatchesLossAndDuplicates(t *testing.T) {
	in := generate(2000, 7, 3)
	outs := exactOutputs(in, 2000)
	for _, r := range verify(in, 2000, outs, true) {
		if !r.ok(true) {
			t.Fatalf("correct output rejected: %v", r)
		}
	}
	dup := exactOutputs(in, 2000)
	dup[topicAgg] = append(dup[topicAgg], dup[topicAgg][10])
	dup[topicJoin] = append(dup[topicJoin], dup[topicJoin][3])
	reps := verify(in, 2000, dup, true)
	if reps[0].ok(true) || reps[2].ok(true) || reps[0].duplicates != 1 || reps[2].duplicates != 1 {
		t.Fatalf("duplicates not caught: %v / %v", reps[0], reps[2])
	}
	if !reps[0].ok(false) || !reps[2].ok(false) {
		t.Fatalf("at least once must accept duplicates: %v / %v", reps[0], reps[2])
	}
	lost := exactOutputs(in, 2000)
	lost[topicWCount] = lost[topicWCount][1:]
	lost[topicGJoin] = lost[topicGJoin][:1999]
	reps = verify(in, 2000, lost, false)
	if reps[1].ok(false) || reps[3].ok(false) || reps[1].lost == 0 || reps[3].lost != 1 {
		t.Fatalf("losses not caught: %v / %v", reps[1], reps[3])
	}
	// The table families: a pair repeated or going back, a final count short or repeated, a
	// closed window missing.
	bad := exactOutputs(in, 2000)
	bad[topicTT] = slices.Insert(bad[topicTT], 6, bad[topicTT][5])
	bad[topicFinal] = append(bad[topicFinal][1:], bad[topicFinal][2])
	reps = verify(in, 2000, bad, true)
	if reps[4].ok(true) || reps[5].ok(true) || reps[5].lost != 1 || reps[5].duplicates != 1 {
		t.Fatalf("table family errors not caught: %v / %v", reps[4], reps[5])
	}
	if !reps[4].ok(false) || reps[5].ok(false) {
		t.Fatalf("at least once: a repeated pair is fine, a missing window is not: %v / %v", reps[4], reps[5])
	}
	fk := exactOutputs(in, 2000)
	fk[topicFK] = append(fk[topicFK][:10:10], fk[topicFK][9], fk[topicFK][11])
	if r := verify(in, 2000, fk, true)[6]; r.ok(true) || r.duplicates != 1 || r.lost == 0 {
		t.Fatalf("foreign-key join: a repeat and lost keys not caught: %v", r)
	}
	// A join result no input can produce (a label missing: a store that lost its rows) fails
	// under either guarantee.
	null := exactOutputs(in, 2000)
	null[topicFK] = slices.Insert(null[topicFK], 3, kafkatest.Record{Key: null[topicFK][3].Key})
	if r := verify(in, 2000, null, false)[6]; r.ok(false) || r.wrong != 1 {
		t.Fatalf("foreign-key join: a null result not caught at least once: %v", r)
	}
	short := exactOutputs(in, 2000)
	short[topicTT] = short[topicTT][:len(short[topicTT])-1]
	if r := verify(in, 2000, short, false)[4]; r.lost == 0 {
		t.Fatalf("a table join short of its final counts not caught: %v", r)
	}
}
