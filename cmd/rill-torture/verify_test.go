package main

import (
	"fmt"
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
}
