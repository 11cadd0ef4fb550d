package oracle

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/rillstreams/rill/dsl"
	"github.com/rillstreams/rill/serde"
	"github.com/rillstreams/rill/topology"
	"github.com/rillstreams/rill/windows"
)

// Families are the topology families the oracle knows, in the order a run reports them. Each
// is built here with rill's DSL and in oracle/java (Families.java) with Kafka Streams' DSL,
// from the same Params: same input topics, same functions, output topic "out" with string keys.
var Families = []string{"ssjoin", "winagg", "tableagg", "tablesrc", "stjoin", "ttjoin", "fkjoin", "sgjoin", "repart", "cached", "vtable", "cwinagg"}

// nstr is a string serde with Kafka's null: a nil *string is written as a null and a null is
// read as nil, so generated inputs can carry null keys and values.
var nstr = serde.New(
	func(_ string, v *string) ([]byte, error) {
		if v == nil {
			return nil, nil
		}
		return []byte(*v), nil
	},
	func(_ string, data []byte) (*string, error) {
		if data == nil {
			return nil, nil
		}
		s := string(data)
		return &s, nil
	})

// strs are the serdes of string-valued results.
var strs = dsl.WithSerdes(nstr, nstr)

// text is Java's string conversion of a possibly null string: "null" for null.
func text(s *string) string {
	if s == nil {
		return "null"
	}
	return *s
}

// joined is the joiner of every join family: "left+right", a missing side as "null" (Java's
// string concatenation of a null).
func joined(a, c *string) *string { return ptr(text(a) + "+" + text(c)) }

func ms(n int64) time.Duration { return time.Duration(n) * time.Millisecond }

// build builds the family's topology with rill's DSL and tells the output value type: "string"
// or "long".
func build(c Case) (*topology.Topology, string, error) {
	b := dsl.NewBuilder()
	p := c.Params
	var typ string
	switch c.Family {
	case "ssjoin":
		typ = streamStreamJoin(b, p)
	case "winagg":
		typ = windowedAggregation(b, p)
	case "tableagg":
		typ = tableAggregation(b, p)
	case "tablesrc":
		typ = tableSource(b, p)
	case "stjoin":
		typ = streamTableJoin(b, p)
	case "ttjoin":
		typ = tableTableJoin(b, p)
	case "fkjoin":
		typ = foreignKeyJoin(b, p)
	case "sgjoin":
		typ = streamGlobalJoin(b, p)
	case "repart":
		typ = repartition(b, p)
	case "vtable":
		typ = versionedTable(b, p)
	default:
		return nil, "", fmt.Errorf("oracle: unknown family %q", c.Family)
	}
	topo, err := b.Build()
	return topo, typ, err
}

func streamStreamJoin(b *dsl.Builder, p Params) string {
	l := b.Stream("left", nstr, nstr)
	r := b.Stream("right", nstr, nstr)
	var opts []windows.JoinOption
	if p.Grace >= 0 {
		opts = append(opts, windows.Grace(ms(p.Grace)))
	}
	if p.Before != nil {
		opts = append(opts, windows.Before(ms(*p.Before)))
	}
	if p.After != nil {
		opts = append(opts, windows.After(ms(*p.After)))
	}
	w := windows.JoinWithin(ms(p.Diff), opts...)
	var j *dsl.Stream[*string, *string]
	switch p.Kind {
	case "inner":
		j = l.Join(r, func(_ *string, a, c *string) *string { return joined(a, c) }, w)
	case "left":
		j = l.LeftJoin(r, func(_ *string, a, c *string, found bool) *string {
			if !found {
				c = nil
			}
			return joined(a, c)
		}, w)
	default:
		j = l.OuterJoin(r, func(_ *string, a *string, hasA bool, c *string, hasC bool) *string {
			if !hasA {
				a = nil
			}
			if !hasC {
				c = nil
			}
			return joined(a, c)
		}, w)
	}
	j.To("out", strs)
	return "string"
}

// windowKey renders a windowed key as the Java side does: key@start/end.
func windowKey(wk windows.Windowed[*string]) string {
	return fmt.Sprintf("%s@%d/%d", text(wk.Key), wk.Start, wk.End)
}

func windowedAggregation(b *dsl.Builder, p Params) string {
	g := b.Stream("in", nstr, nstr).GroupByKey()
	var opts []windows.Option
	if p.Grace >= 0 {
		opts = append(opts, windows.Grace(ms(p.Grace)))
	}
	reduce := func(a, v *string) *string { return ptr(text(a) + "," + text(v)) }
	add := func(_ *string, v, a *string) *string { return ptr(text(a) + text(v)) }
	initial := func() *string { return ptr("^") }
	var counts *dsl.Table[windows.Windowed[*string], int64]
	var strings *dsl.Table[windows.Windowed[*string], *string]
	if p.Window == "session" {
		s := dsl.SessionWindowedBy(g, windows.Session(ms(p.Gap), opts...))
		if p.Final == "emit" {
			s = s.EmitFinal()
		}
		switch p.Agg {
		case "count":
			counts = s.Count()
		case "reduce":
			strings = s.Reduce(reduce)
		default:
			strings = s.Aggregate(initial, add,
				func(_ *string, a1, a2 *string) *string { return ptr(text(a1) + "|" + text(a2)) }, strs)
		}
	} else {
		var w windows.Spec
		switch p.Window {
		case "sliding":
			w = windows.Sliding(ms(p.Size), opts...)
		case "hopping":
			w = windows.Hopping(ms(p.Size), ms(p.Advance), opts...)
		default:
			w = windows.Tumbling(ms(p.Size), opts...)
		}
		s := dsl.WindowedBy(g, w)
		if p.Final == "emit" {
			s = s.EmitFinal()
		}
		switch p.Agg {
		case "count":
			counts = s.Count()
		case "reduce":
			strings = s.Reduce(reduce)
		default:
			strings = s.Aggregate(initial, add, strs)
		}
	}
	if counts != nil {
		if p.Final == "suppress" {
			counts = counts.Suppress(dsl.UntilWindowCloses())
		}
		// SelectKey keeps a deleted session's Null mark (Map's result is a value: an int64
		// mapper cannot return a null); Kafka Streams' side maps, passing the null through.
		counts.ToStream().
			SelectKey(func(wk windows.Windowed[*string], _ int64) string { return windowKey(wk) }).
			To("out", dsl.WithSerdes(serde.String(), serde.Int64()))
		return "long"
	}
	if p.Final == "suppress" {
		strings = strings.Suppress(dsl.UntilWindowCloses())
	}
	strings.ToStream().
		Map(func(wk windows.Windowed[*string], v *string) (string, *string) { return windowKey(wk), v }).
		To("out", dsl.WithSerdes(serde.String(), nstr))
	return "string"
}

// tableAggregation groups a table of values "<group letter><digit>" by the letter and
// aggregates the digits; a value starting with "n" selects a null group.
func tableAggregation(b *dsl.Builder, p Params) string {
	t := b.Table("in", nstr, nstr)
	g := t.GroupBy(func(_ *string, v *string) (*string, int64) {
		s := text(v)
		n, _ := strconv.ParseInt(s[1:], 10, 64)
		if strings.HasPrefix(s, "n") {
			return nil, n
		}
		return ptr(s[:1]), n
	}, dsl.WithSerdes(nstr, serde.Int64()))
	var r *dsl.Table[*string, int64]
	switch p.Agg {
	case "count":
		r = g.Count()
	case "reduce":
		r = g.Reduce(func(a, v int64) int64 { return a + v }, func(a, v int64) int64 { return a - v })
	default:
		r = g.Aggregate(func() int64 { return 0 },
			func(_ *string, v, a int64) int64 { return a + v },
			func(_ *string, v, a int64) int64 { return a - v },
			dsl.WithSerdes(nstr, serde.Int64()))
	}
	r.ToStream().To("out", dsl.WithSerdes(nstr, serde.Int64()))
	return "long"
}

// tableSource is a table of longs (the length of each value) read back as a stream: deletes
// are tombstones.
func tableSource(b *dsl.Builder, p Params) string {
	n := b.Table("in", nstr, nstr).
		MapValues(func(_ *string, v *string) int64 { return int64(len(text(v))) }, dsl.WithSerdes(nstr, serde.Int64()))
	if p.Filter {
		n = n.Filter(func(_ *string, v int64) bool { return v%2 == 0 })
	}
	n.ToStream().To("out", dsl.WithSerdes(nstr, serde.Int64()))
	return "long"
}

func streamTableJoin(b *dsl.Builder, p Params) string {
	s := b.Stream("left", nstr, nstr)
	t := b.Table("right", nstr, nstr)
	if p.Kind == "left" {
		s.LeftJoinTable(t, func(_ *string, v, vt *string, found bool) *string {
			if !found {
				vt = nil
			}
			return joined(v, vt)
		}).To("out", strs)
	} else {
		s.JoinTable(t, func(_ *string, v, vt *string) *string { return joined(v, vt) }).To("out", strs)
	}
	return "string"
}

// versionedTable is the vtable family: a table materialized as versioned with history
// retention Diff (KIP-914), read by Kind: "src" (its updates through toStream, out-of-order
// ones included), "tt" (inner-joined with a plain table: out-of-order updates join nothing),
// "inner"/"left" (a stream joined with it as of each record's timestamp, with a grace
// period when Grace >= 0, KIP-923), or a derived table materialized as versioned, read
// through toStream: "filter" (a filter of a plain table), "mapv" (mapValues of a versioned
// table), "ttv" (the left join of two plain tables).
func versionedTable(b *dsl.Builder, p Params) string {
	vopt := dsl.Materialized("versioned-store").WithVersioned(ms(p.Diff))
	switch p.Kind {
	case "src":
		b.Table("in", nstr, nstr, vopt).ToStream().To("out", strs)
	case "filter":
		b.Table("in", nstr, nstr).Filter(func(_ *string, v *string) bool { return keep(v) }, vopt).ToStream().To("out", strs)
	case "mapv":
		b.Table("in", nstr, nstr, dsl.Materialized("in-store").WithVersioned(ms(p.Diff))).
			MapValues(func(_ *string, v *string) *string { s := text(v) + "!"; return &s }, vopt).ToStream().To("out", strs)
	case "ttv":
		l := b.Table("left", nstr, nstr)
		r := b.Table("right", nstr, nstr)
		l.LeftJoin(r, func(_ *string, v, vo *string, found bool) *string {
			if !found {
				vo = nil
			}
			return joined(v, vo)
		}, vopt, strs).ToStream().To("out", strs)
	case "tt":
		l := b.Table("left", nstr, nstr, vopt)
		r := b.Table("right", nstr, nstr)
		l.Join(r, func(_ *string, v, vo *string) *string { return joined(v, vo) }).ToStream().To("out", strs)
	default:
		s := b.Stream("left", nstr, nstr)
		t := b.Table("right", nstr, nstr, vopt)
		var opts []dsl.StreamTableJoinOption
		if p.Grace >= 0 {
			opts = append(opts, dsl.WithGracePeriod(ms(p.Grace)))
		}
		if p.Kind == "left" {
			s.LeftJoinTable(t, func(_ *string, v, vt *string, found bool) *string {
				if !found {
					vt = nil
				}
				return joined(v, vt)
			}, opts...).To("out", strs)
		} else {
			s.JoinTable(t, func(_ *string, v, vt *string) *string { return joined(v, vt) }, opts...).To("out", strs)
		}
	}
	return "string"
}

// keep is the filter of filtered table joins: values whose last character is an even digit.
func keep(v *string) bool {
	s := text(v)
	return (s[len(s)-1]-'0')%2 == 0
}

func tableTableJoin(b *dsl.Builder, p Params) string {
	l := b.Table("left", nstr, nstr)
	r := b.Table("right", nstr, nstr)
	if p.Filter {
		l = l.Filter(func(_ *string, v *string) bool { return keep(v) })
	}
	var j *dsl.Table[*string, *string]
	switch p.Kind {
	case "inner":
		j = l.Join(r, func(_ *string, v, vo *string) *string { return joined(v, vo) })
	case "left":
		j = l.LeftJoin(r, func(_ *string, v, vo *string, found bool) *string {
			if !found {
				vo = nil
			}
			return joined(v, vo)
		})
	default:
		j = l.OuterJoin(r, func(_ *string, v *string, hasV bool, vo *string, hasVO bool) *string {
			if !hasV {
				v = nil
			}
			if !hasVO {
				vo = nil
			}
			return joined(v, vo)
		})
	}
	j.ToStream().To("out", strs)
	return "string"
}

// foreignKeyJoin joins left values "<fk>|<payload>" with the right table keyed by fk.
func foreignKeyJoin(b *dsl.Builder, p Params) string {
	l := b.Table("left", nstr, nstr)
	r := b.Table("right", nstr, nstr)
	fk := func(_ *string, v *string) *string {
		s := text(v)
		return ptr(s[:strings.IndexByte(s, '|')])
	}
	var j *dsl.Table[*string, *string]
	if p.Kind == "left" {
		j = l.LeftJoinOnForeignKey(r, fk, func(_ *string, v, vo *string, found bool) *string {
			if !found {
				vo = nil
			}
			return joined(v, vo)
		})
	} else {
		j = l.JoinOnForeignKey(r, fk, func(_ *string, v, vo *string) *string { return joined(v, vo) })
	}
	j.ToStream().To("out", strs)
	return "string"
}

// globalKey is the key mapper of stream-global joins: the stream key, or with Filter a key
// "a".."d" picked by the value's number (nil for a nil value).
func globalKey(p Params, k, v *string) *string {
	if !p.Filter {
		return k
	}
	if v == nil {
		return nil
	}
	n, _ := strconv.Atoi((*v)[1:])
	return ptr("abcd"[n%4 : n%4+1])
}

func streamGlobalJoin(b *dsl.Builder, p Params) string {
	s := b.Stream("left", nstr, nstr)
	g := b.GlobalTable("right", nstr, nstr)
	keyOf := func(k, v *string) *string { return globalKey(p, k, v) }
	if p.Kind == "left" {
		s.LeftJoinGlobal(g, keyOf, func(_ *string, v, vg *string, found bool) *string {
			if !found {
				vg = nil
			}
			return joined(v, vg)
		}).To("out", strs)
	} else {
		s.JoinGlobal(g, keyOf, func(_ *string, v, vg *string) *string { return joined(v, vg) }).To("out", strs)
	}
	return "string"
}

// repartition groups values "<group letter><digit>" by their letter (nil for a nil value)
// through a repartition topic: SelectKey then GroupByKey, or GroupBy; then counts or reduces.
func repartition(b *dsl.Builder, p Params) string {
	s := b.Stream("in", nstr, nstr)
	grp := func(_ *string, v *string) *string {
		if v == nil {
			return nil
		}
		return ptr((*v)[:1])
	}
	var g *dsl.GroupedStream[*string, *string]
	if p.Kind == "groupby" {
		g = s.GroupBy(grp)
	} else {
		g = s.SelectKey(grp).GroupByKey()
	}
	if p.Agg == "count" {
		g.Count().ToStream().To("out", dsl.WithSerdes(nstr, serde.Int64()))
		return "long"
	}
	g.Reduce(func(a, v *string) *string { return ptr(text(a) + "," + text(v)) }).ToStream().To("out", strs)
	return "string"
}
