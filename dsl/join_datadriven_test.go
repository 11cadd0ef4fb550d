package dsl_test

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rillstreams/rill/dsl"
	"github.com/rillstreams/rill/internal/datadriven"
	"github.com/rillstreams/rill/serde"
	"github.com/rillstreams/rill/streamstest"
	"github.com/rillstreams/rill/windows"
)

// The join tests read testdata/joins/*.txt: each file is a list of cases, each a command, its
// input lines, a "----" line, and the output the command must print, ended by a blank line.
// Lines starting with # are comments (every file says which part of Kafka Streams'
// documentation its cases follow). Commands:
//
//	topology <kind> [join=inner|left|outer] [window=ms] [before=ms] [after=ms] [grace=ms]
//	    starts a new driver for a new topology; prints nothing. Kinds: stream-stream,
//	    stream-table, stream-global, table-table, fk.
//	pipe
//	    pipes the input lines, each "<topic> <key> <value> @<ts>" (value "null" is a Kafka
//	    null), and prints every record written to the output topic since the last pipe, one
//	    "<key> <value> @<ts>" line each.
//	dropped
//	    prints "dropped=<n>": records dropped on purpose (late, null key) or skipped so far.
//
// Topics: "left" and "right" are the join's inputs, "out" its output. Values are strings;
// joiners print "<left>+<right>" with "null" for a missing side. For stream-global and fk
// joins a left value "v|k" carries the join key k after the bar. Every file runs on both
// store backends.
func TestJoinsDataDriven(t *testing.T) {
	files, err := filepath.Glob("testdata/joins/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no join test files: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			cases := datadriven.Parse(t, f)
			backends(t, func(t *testing.T, opts ...streamstest.Option) {
				var jt *joinTopology
				for _, c := range cases {
					got := jt.run(t, c, opts)
					if c.Cmd == "topology" {
						jt = got.(*joinTopology)
						continue
					}
					if want := strings.Join(c.Want, "\n"); got.(string) != want {
						t.Errorf("%s:%d: %s\ngot:\n%s\nwant:\n%s", f, c.Line, c.Cmd, got, want)
					}
				}
			})
		})
	}
}

// joinKind is a topology case's kind: its bare word.
func joinKind(c datadriven.Case) string {
	if len(c.Pos) == 0 {
		return ""
	}
	return c.Pos[len(c.Pos)-1]
}

// joinTopology is one running topology of a test file.
type joinTopology struct {
	d   *streamstest.Driver
	in  map[string]func(key string, value *string, ts time.Time)
	out *streamstest.OutputTopic[string, *string]
}

func (jt *joinTopology) run(t *testing.T, c datadriven.Case, opts []streamstest.Option) any {
	t.Helper()
	switch c.Cmd {
	case "topology":
		return newJoinTopology(t, c, opts)
	case "pipe":
		for _, l := range c.Input {
			f := strings.Fields(l)
			if len(f) != 4 || !strings.HasPrefix(f[3], "@") {
				t.Fatalf("line %d: bad input %q, want <topic> <key> <value> @<ts>", c.Line, l)
			}
			ts, err := strconv.ParseInt(f[3][1:], 10, 64)
			if err != nil {
				t.Fatalf("line %d: %v", c.Line, err)
			}
			in, ok := jt.in[f[0]]
			if !ok {
				t.Fatalf("line %d: no input topic %q", c.Line, f[0])
			}
			in(f[1], nstrOf(f[2]), time.UnixMilli(ts))
		}
		var lines []string
		for _, r := range jt.out.ReadAll() {
			lines = append(lines, fmt.Sprintf("%s %s @%d", r.Key, showNstr(r.Value), r.Time.UnixMilli()))
		}
		return strings.Join(lines, "\n")
	case "dropped":
		return fmt.Sprintf("dropped=%d", jt.d.Dropped())
	}
	t.Fatalf("line %d: unknown command %q", c.Line, c.Cmd)
	return nil
}

func newJoinTopology(t *testing.T, c datadriven.Case, opts []streamstest.Option) *joinTopology {
	t.Helper()
	ms := func(name string, def int64) time.Duration {
		s, ok := c.Args[name]
		if !ok {
			return time.Duration(def) * time.Millisecond
		}
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			t.Fatalf("line %d: %s=%q: %v", c.Line, name, s, err)
		}
		return time.Duration(n) * time.Millisecond
	}
	kind := c.Args["join"]
	b := dsl.NewBuilder()
	outSerdes := dsl.WithSerdes(serde.String(), nstr)
	switch joinKind(c) {
	case "stream-stream":
		d := ms("window", 0)
		var wopts []windows.JoinOption
		if _, ok := c.Args["before"]; ok {
			wopts = append(wopts, windows.Before(ms("before", 0)))
		}
		if _, ok := c.Args["after"]; ok {
			wopts = append(wopts, windows.After(ms("after", 0)))
		}
		wopts = append(wopts, windows.Grace(ms("grace", 0)))
		w := windows.JoinWithin(d, wopts...)
		l := b.Stream("left", serde.String(), nstr)
		r := b.Stream("right", serde.String(), nstr)
		var out *dsl.Stream[string, *string]
		switch kind {
		case "inner":
			out = l.Join(r, func(_ string, v, vo *string) *string { return joined(v, vo) }, w)
		case "left":
			out = l.LeftJoin(r, func(_ string, v, vo *string, found bool) *string { return joined(v, maybeNstr(vo, found)) }, w)
		case "outer":
			out = l.OuterJoin(r, func(_ string, v *string, hasV bool, vo *string, hasVO bool) *string {
				return joined(maybeNstr(v, hasV), maybeNstr(vo, hasVO))
			}, w)
		default:
			t.Fatalf("line %d: join=%q", c.Line, kind)
		}
		out.To("out", outSerdes)
	case "stream-table":
		l := b.Stream("left", serde.String(), nstr)
		r := b.Table("right", serde.String(), nstr)
		switch kind {
		case "inner":
			l.JoinTable(r, func(_ string, v, vt *string) *string { return joined(v, vt) }).To("out", outSerdes)
		case "left":
			l.LeftJoinTable(r, func(_ string, v, vt *string, found bool) *string { return joined(v, maybeNstr(vt, found)) }).To("out", outSerdes)
		default:
			t.Fatalf("line %d: join=%q", c.Line, kind)
		}
	case "stream-global":
		l := b.Stream("left", serde.String(), nstr)
		g := b.GlobalTable("right", serde.String(), nstr)
		keyOf := func(k string, v *string) string { return joinKeyOf(k, v) }
		switch kind {
		case "inner":
			l.JoinGlobal(g, keyOf, func(_ string, v, vg *string) *string { return joined(valueOf(v), vg) }).To("out", outSerdes)
		case "left":
			l.LeftJoinGlobal(g, keyOf, func(_ string, v, vg *string, found bool) *string {
				return joined(valueOf(v), maybeNstr(vg, found))
			}).To("out", outSerdes)
		default:
			t.Fatalf("line %d: join=%q", c.Line, kind)
		}
	case "table-table":
		l := b.Table("left", serde.String(), nstr)
		r := b.Table("right", serde.String(), nstr)
		var out *dsl.Table[string, *string]
		switch kind {
		case "inner":
			out = l.Join(r, func(_ string, v, vo *string) *string { return joined(v, vo) })
		case "left":
			out = l.LeftJoin(r, func(_ string, v, vo *string, found bool) *string { return joined(v, maybeNstr(vo, found)) })
		case "outer":
			out = l.OuterJoin(r, func(_ string, v *string, hasV bool, vo *string, hasVO bool) *string {
				return joined(maybeNstr(v, hasV), maybeNstr(vo, hasVO))
			})
		default:
			t.Fatalf("line %d: join=%q", c.Line, kind)
		}
		out.ToStream().To("out", outSerdes)
	case "fk":
		// Foreign keys are *string so that a row can have none: "v|null" or a value
		// without a bar.
		l := b.Table("left", serde.String(), nstr)
		r := b.Table("right", nstr, nstr)
		fk := func(_ string, v *string) *string {
			if v == nil {
				return nil
			}
			_, after, ok := strings.Cut(*v, "|")
			if !ok {
				return nil
			}
			return nstrOf(after)
		}
		var out *dsl.Table[string, *string]
		switch kind {
		case "inner":
			out = l.JoinOnForeignKey(r, fk, func(_ string, v, vo *string) *string { return joined(valueOf(v), vo) })
		case "left":
			out = l.LeftJoinOnForeignKey(r, fk, func(_ string, v, vo *string, found bool) *string {
				return joined(valueOf(v), maybeNstr(vo, found))
			})
		default:
			t.Fatalf("line %d: join=%q", c.Line, kind)
		}
		out.ToStream().To("out", outSerdes)
	default:
		t.Fatalf("line %d: unknown topology kind %q", c.Line, joinKind(c))
	}
	topo := mustBuild(t, b)
	d := streamstest.New(t, topo, opts...)
	jt := &joinTopology{d: d, in: map[string]func(string, *string, time.Time){},
		out: streamstest.Output(d, "out", serde.String(), nstr)}
	for _, name := range []string{"left", "right"} {
		in := streamstest.Input(d, name, serde.String(), nstr)
		jt.in[name] = func(k string, v *string, ts time.Time) { in.PipeAt(k, v, ts) }
	}
	if joinKind(c) == "fk" {
		in := streamstest.Input(d, "right", nstr, nstr)
		jt.in["right"] = func(k string, v *string, ts time.Time) { in.PipeAt(nstrOf(k), v, ts) }
	}
	return jt
}

// nstr is a serde of *string whose nil is Kafka's null, so tests can pipe and read tombstones
// and null values with plain text values.
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

func nstrOf(s string) *string {
	if s == "null" {
		return nil
	}
	return &s
}

func showNstr(s *string) string {
	if s == nil {
		return "null"
	}
	return *s
}

// joined is the test joiner: "<left>+<right>", "null" for a missing side.
func joined(v, vo *string) *string {
	s := showNstr(v) + "+" + showNstr(vo)
	return &s
}

// maybeNstr is v when present, nil when the joiner says the side is missing.
func maybeNstr(v *string, ok bool) *string {
	if !ok {
		return nil
	}
	return v
}

// joinKeyOf reads the join key of a "v|k" value; a value without a bar joins on its own key.
func joinKeyOf(k string, v *string) string {
	if v != nil {
		if _, after, ok := strings.Cut(*v, "|"); ok {
			return after
		}
	}
	return k
}

// valueOf is the part of a "v|k" value before the bar.
func valueOf(v *string) *string {
	if v == nil {
		return nil
	}
	s, _, _ := strings.Cut(*v, "|")
	return &s
}
