package oracle

import (
	"fmt"
	"strings"
	"testing"
)

// Allowed is a deliberate difference from Kafka Streams: mismatches of Family cases whose
// params Match are counted as allowed instead of failing the run. Each entry needs a line in
// docs/DECISIONS.md quoting Kafka Streams' behaviour.
type Allowed struct {
	Family string
	Match  func(Params) bool
	// Same, when set, narrows the entry to outputs it calls equivalent: only those
	// mismatches are allowed.
	Same   func(rill, kafka Result) bool
	Reason string
}

// AllowList is the oracle's list of deliberate differences; keep it close to empty.
var AllowList = []Allowed{
	{Family: "ssjoin", Match: zeroJoinRetention,
		Reason: "Kafka Streams gives a join window of before+after+grace = 0 a zero store retention and joins nothing; rill joins records of one timestamp (docs/DECISIONS.md, Joins)"},
	{Family: "vtable", Match: func(p Params) bool { return p.Kind == "left" && p.Grace >= 0 },
		Same:   func(_, kafka Result) bool { return strings.Contains(kafka.Error, "key cannot be null") },
		Reason: "Kafka Streams 4.1.1 fails the task on a null-key record of a left stream-table join with a grace period (its buffer refuses null keys); rill buffers and joins it unmatched, as without grace (docs/DECISIONS.md, Versioned stores)"},
}

// zeroJoinRetention tells whether a stream-stream join's buffers have Kafka Streams'
// retention of zero: before + after + grace = 0.
func zeroJoinRetention(p Params) bool {
	before, after := p.Diff, p.Diff
	if p.Before != nil {
		before = *p.Before
	}
	if p.After != nil {
		after = *p.After
	}
	return before+after+max(p.Grace, 0) == 0
}

// allowed returns the reason c's mismatch is allowed, "" when it is not.
func allowed(c Case, rill, kafka Result) string {
	for _, a := range AllowList {
		if a.Family == c.Family && (a.Match == nil || a.Match(c.Params)) && (a.Same == nil || a.Same(rill, kafka)) {
			return a.Reason
		}
	}
	return ""
}

// Same tells whether both sides produced the same records in the same order (topic, key,
// value, timestamp; null distinct from every value), or both failed.
func Same(a, b Result) bool {
	if a.Error != "" || b.Error != "" {
		return a.Error != "" && b.Error != ""
	}
	if len(a.Output) != len(b.Output) {
		return false
	}
	for i := range a.Output {
		x, y := a.Output[i], b.Output[i]
		if x.Topic != y.Topic || x.TS != y.TS || !sameText(x.Key, y.Key) || !sameText(x.Value, y.Value) {
			return false
		}
	}
	return true
}

func sameText(a, b *string) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return *a == *b
}

// Oracle runs cases through rill and through Kafka Streams and compares them.
type Oracle struct {
	TB   testing.TB
	Java *Java
	// ShrinkBudget bounds the runs spent shrinking one mismatch.
	ShrinkBudget int
}

// Compare runs c on both sides.
func (o *Oracle) Compare(c Case) (rill, kafka Result, err error) {
	kafka, err = o.Java.Run(c)
	if err != nil {
		return Result{}, Result{}, err
	}
	return RunRill(o.TB, c), kafka, nil
}

// Shrink removes inputs from a mismatching case while it still mismatches: chunks of half the
// inputs, then quarters, down to single records, within ShrinkBudget runs.
func (o *Oracle) Shrink(c Case) (Case, error) {
	budget := o.ShrinkBudget
	if budget == 0 {
		budget = 400
	}
	for chunk := len(c.Inputs) / 2; chunk >= 1 && budget > 0; chunk /= 2 {
		for i := 0; i < len(c.Inputs) && budget > 0; {
			cand := c
			cand.Inputs = append(append([]Record(nil), c.Inputs[:i]...), c.Inputs[min(i+chunk, len(c.Inputs)):]...)
			budget--
			r, k, err := o.Compare(cand)
			if err != nil {
				return c, err
			}
			if !Same(r, k) && r.Error == "" && k.Error == "" {
				c = cand
				continue
			}
			i += chunk
		}
	}
	return c, nil
}

// SideBySide renders a case and both sides' outputs, rill on the left, Kafka Streams on the
// right, with "!" on the rows that differ.
func SideBySide(c Case, rill, kafka Result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "case %s: family %s, %s\ninputs:\n", c.ID, c.Family, c.Params)
	for i, r := range c.Inputs {
		fmt.Fprintf(&b, "  %2d %s\n", i, r)
	}
	fmt.Fprintf(&b, "    %-44s %s\n", "rill", "Kafka Streams")
	if rill.Error != "" || kafka.Error != "" {
		fmt.Fprintf(&b, "    error: %-37s error: %s\n", rill.Error, kafka.Error)
	}
	for i := range max(len(rill.Output), len(kafka.Output)) {
		var l, r string
		mark := " "
		if i < len(rill.Output) {
			l = rill.Output[i].String()
		}
		if i < len(kafka.Output) {
			r = kafka.Output[i].String()
		}
		if i >= len(rill.Output) || i >= len(kafka.Output) || !Same(Result{Output: rill.Output[i : i+1]}, Result{Output: kafka.Output[i : i+1]}) {
			mark = "!"
		}
		fmt.Fprintf(&b, "  %s %-44s %s\n", mark, l, r)
	}
	return b.String()
}
