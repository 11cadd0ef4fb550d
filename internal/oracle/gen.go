package oracle

import (
	"fmt"
	"math/rand/v2"
	"strconv"
)

// Generate makes case n of a family from a seed: the same (seed, family, n) always gives the
// same case. Parameters are drawn per case (join kinds, window sizes, grace, aggregations);
// inputs use small key sets, nulls, bursts of equal timestamps, out-of-order and late records.
func Generate(seed uint64, family string, n int) Case {
	r := rand.New(rand.NewPCG(seed, uint64(n)<<8|uint64(familyIndex(family))))
	if family == "cached" {
		// A case of another family run with the record cache on at both sides.
		base := pick(r, "winagg", "tableagg", "tablesrc", "stjoin", "ttjoin", "fkjoin", "sgjoin", "repart")
		c := Generate(seed^0x5bd1e995, base, n)
		c.ID = fmt.Sprintf("cached-%d-%d", seed, n)
		c.Params.Cache = true
		return c
	}
	if family == "cwinagg" {
		// A windowed aggregation (winagg) with the record cache on at both sides: Kafka
		// Streams' CachingWindowStore and CachingSessionStore against rill's, compared on the
		// driver's commits, after every record.
		c := Generate(seed^0x2545f491, "winagg", n)
		c.ID = fmt.Sprintf("cwinagg-%d-%d", seed, n)
		c.Params.Cache = true
		return c
	}
	g := gen{r: r}
	c := Case{ID: fmt.Sprintf("%s-%d-%d", family, seed, n), Family: family}
	p := &c.Params
	p.Grace = g.grace(20)
	switch family {
	case "ssjoin":
		p.Kind = pick(r, "inner", "left", "outer")
		p.Diff = r.Int64N(20)
		switch r.IntN(4) {
		case 0: // asymmetric: a wider before
			b := p.Diff + r.Int64N(20)
			p.Before = &b
		case 1: // asymmetric: after only, possibly negative
			a := r.Int64N(2*p.Diff+1) - p.Diff
			p.After = &a
		}
		c.Inputs = g.records(30, 2*p.Diff+10, func() string { return pick(r, "left", "right") },
			func(topic string, i int) string { return fmt.Sprintf("%s%d", topic[:1], i) }, 0.05)
	case "winagg":
		p.Window = pick(r, "tumbling", "hopping", "sliding", "session")
		p.Agg = pick(r, "count", "reduce", "aggregate")
		p.Final = pick(r, "", "", "emit", "suppress")
		span := int64(10)
		switch p.Window {
		case "tumbling":
			p.Size = 1 + r.Int64N(20)
			span = p.Size
		case "hopping":
			p.Size = 2 + r.Int64N(20)
			p.Advance = 1 + r.Int64N(p.Size-1)
			span = p.Size
		case "sliding":
			p.Size = 1 + r.Int64N(20)
			span = p.Size
			if p.Final == "emit" {
				// Kafka Streams 4.1.1 forwards no emit-final result of sliding windows
				// (TopologyTestDriver, in-memory and RocksDB stores): nothing to compare.
				p.Final = "suppress"
			}
		case "session":
			p.Gap = 1 + r.Int64N(10)
			span = 2 * p.Gap
		}
		c.Inputs = g.records(30, span+5, func() string { return "in" },
			func(_ string, i int) string { return "v" + strconv.Itoa(i) }, 0.05)
	case "tableagg":
		p.Agg = pick(r, "count", "reduce", "aggregate")
		c.Inputs = g.records(25, 10, func() string { return "in" }, func(string, int) string {
			grp := "xy"[r.IntN(2):][:1]
			if r.IntN(20) == 0 {
				grp = "n"
			}
			return grp + strconv.Itoa(r.IntN(10))
		}, 0.2)
	case "tablesrc":
		p.Filter = r.IntN(2) == 0
		c.Inputs = g.records(20, 10, func() string { return "in" },
			func(string, int) string { return "abcd"[:1+r.IntN(4)] }, 0.25)
	case "stjoin":
		p.Kind = pick(r, "inner", "left")
		c.Inputs = g.records(30, 10, func() string { return pick(r, "left", "right") },
			func(topic string, i int) string { return fmt.Sprintf("%s%d", topic[:1], i) }, 0.1)
	case "vtable":
		p.Kind = pick(r, "src", "tt", "inner", "left", "filter", "mapv", "ttv")
		p.Diff = r.Int64N(15) // history retention
		topic := func() string { return pick(r, "left", "right") }
		if p.Kind == "src" || p.Kind == "filter" || p.Kind == "mapv" {
			topic = func() string { return "in" }
		}
		c.Inputs = g.records(30, 20, topic,
			func(topic string, i int) string { return fmt.Sprintf("%s%d", topic[:1], i) }, 0.15)
	case "ttjoin":
		p.Kind = pick(r, "inner", "left", "outer")
		p.Filter = r.IntN(2) == 0
		c.Inputs = g.records(30, 10, func() string { return pick(r, "left", "right") },
			func(topic string, i int) string { return fmt.Sprintf("%s%d", topic[:1], i) }, 0.2)
	case "sgjoin":
		p.Kind = pick(r, "inner", "left")
		p.Filter = r.IntN(2) == 0 // the key mapper reads the value
		c.Inputs = g.records(30, 10, func() string { return pick(r, "left", "right") },
			func(topic string, i int) string { return fmt.Sprintf("%s%d", topic[:1], i) }, 0.1)
	case "repart":
		p.Kind = pick(r, "selectkey", "groupby")
		p.Agg = pick(r, "count", "reduce")
		c.Inputs = g.records(25, 10, func() string { return "in" },
			func(string, int) string { return "xyz"[r.IntN(3):][:1] + strconv.Itoa(r.IntN(10)) }, 0.1)
	case "fkjoin":
		p.Kind = pick(r, "inner", "left")
		c.Inputs = g.records(30, 10, func() string { return pick(r, "left", "right") }, func(topic string, i int) string {
			if topic == "left" {
				return fmt.Sprintf("f%d|l%d", 1+r.IntN(3), i)
			}
			return fmt.Sprintf("r%d", i)
		}, 0.15)
		for i := range c.Inputs { // the right table is keyed by foreign keys
			if in := &c.Inputs[i]; in.Topic == "right" && in.Key != nil {
				in.Key = ptr("f" + strconv.Itoa(1+int((*in.Key)[0]-'a')%3))
			}
		}
	}
	return c
}

func familyIndex(f string) int {
	for i, name := range Families {
		if name == f {
			return i
		}
	}
	return len(Families)
}

func pick(r *rand.Rand, options ...string) string { return options[r.IntN(len(options))] }

type gen struct{ r *rand.Rand }

// grace is a grace period: none (-1), zero, or up to limit.
func (g gen) grace(limit int64) int64 {
	switch g.r.IntN(3) {
	case 0:
		return -1
	case 1:
		return 0
	}
	return g.r.Int64N(limit)
}

// records makes up to most records. Keys come from two to four keys, sometimes null; values
// from value (null with probability nulls). Timestamps mostly advance by less than span, with
// bursts of equal timestamps, steps back (out of order, sometimes late) and jumps ahead.
func (g gen) records(most int, span int64, topic func() string, value func(topic string, i int) string, nulls float64) []Record {
	r := g.r
	n := 1 + r.IntN(most)
	keys := "abcd"[:2+r.IntN(3)]
	ts := int64(0)
	if r.IntN(2) == 0 {
		ts = 1000
	}
	recs := make([]Record, 0, n)
	for i := range n {
		at := ts
		switch x := r.IntN(20); {
		case x < 11:
			ts += r.Int64N(span/2 + 1)
			at = ts
		case x < 14: // burst: the same timestamp
		case x < 18: // out of order, sometimes past the window and grace
			at = max(0, ts-r.Int64N(2*span+1))
		default: // a jump ahead, closing windows
			ts += span * (2 + r.Int64N(4))
			at = ts
		}
		rec := Record{Topic: topic(), TS: at}
		if r.IntN(25) != 0 {
			k := keys[r.IntN(len(keys)):][:1]
			rec.Key = &k
		}
		if r.Float64() >= nulls {
			rec.Value = ptr(value(rec.Topic, i))
		}
		recs = append(recs, rec)
	}
	return recs
}
