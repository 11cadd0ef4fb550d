package dsl_test

import (
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/rillstreams/rill/dsl"
	"github.com/rillstreams/rill/serde"
	"github.com/rillstreams/rill/streamstest"
)

// fruit is the input of the stateless tests. Timestamps are distinct, and "cherry" comes with
// a timestamp older than the one before it, so an operator that stamped outputs with stream
// time instead of the record's own timestamp would show.
var fruit = []streamstest.Record[string, string]{
	{Key: "a", Value: "apple", Time: at(10)},
	{Key: "b", Value: "banana", Time: at(20), Headers: hdrs("trace", "b-20", "trace", "again")},
	{Key: "c", Value: "cherry", Time: at(15)},
	{Key: "a", Value: "avocado", Time: at(40), Headers: hdrs("x", "")},
}

// fanOut is how many records FlatMap and FlatMapValues make of each fruit: none, one, many.
var fanOut = map[string]int{"apple": 0, "banana": 1, "cherry": 3, "avocado": 2}

func TestStatelessOperators(t *testing.T) {
	tests := []struct {
		name string
		op   func(s *dsl.Stream[string, string]) *dsl.Stream[string, string]
		want []kvt[string, string]
	}{
		{
			name: "Filter keeps records the predicate holds for",
			op: func(s *dsl.Stream[string, string]) *dsl.Stream[string, string] {
				return s.Filter(func(k, v string) bool { return k == "a" })
			},
			want: []kvt[string, string]{rec("a", "apple", 10), rec("a", "avocado", 40)},
		},
		{
			name: "Filter sees the value",
			op: func(s *dsl.Stream[string, string]) *dsl.Stream[string, string] {
				return s.Filter(func(k, v string) bool { return strings.Contains(v, "an") })
			},
			want: []kvt[string, string]{rec("b", "banana", 20)},
		},
		{
			name: "Filter dropping everything",
			op: func(s *dsl.Stream[string, string]) *dsl.Stream[string, string] {
				return s.Filter(func(string, string) bool { return false })
			},
		},
		{
			name: "FilterNot drops records the predicate holds for",
			op: func(s *dsl.Stream[string, string]) *dsl.Stream[string, string] {
				return s.FilterNot(func(k, v string) bool { return k == "a" })
			},
			want: []kvt[string, string]{rec("b", "banana", 20), rec("c", "cherry", 15)},
		},
		{
			name: "Map swaps key and value",
			op: func(s *dsl.Stream[string, string]) *dsl.Stream[string, string] {
				return s.Map(func(k, v string) (string, string) { return v, k })
			},
			want: []kvt[string, string]{
				rec("apple", "a", 10), rec("banana", "b", 20), rec("cherry", "c", 15), rec("avocado", "a", 40),
			},
		},
		{
			name: "MapValues sees key and value, keeps the key",
			op: func(s *dsl.Stream[string, string]) *dsl.Stream[string, string] {
				return s.MapValues(func(k, v string) string { return k + ":" + strings.ToUpper(v) })
			},
			want: []kvt[string, string]{
				rec("a", "a:APPLE", 10), rec("b", "b:BANANA", 20), rec("c", "c:CHERRY", 15), rec("a", "a:AVOCADO", 40),
			},
		},
		{
			name: "SelectKey keeps the value",
			op: func(s *dsl.Stream[string, string]) *dsl.Stream[string, string] {
				return s.SelectKey(func(k, v string) string { return v[:2] + k })
			},
			want: []kvt[string, string]{
				rec("apa", "apple", 10), rec("bab", "banana", 20), rec("chc", "cherry", 15), rec("ava", "avocado", 40),
			},
		},
		{
			name: "FlatMap makes zero, one or many records",
			op: func(s *dsl.Stream[string, string]) *dsl.Stream[string, string] {
				return s.FlatMap(func(k, v string) []dsl.KeyValue[string, string] {
					var out []dsl.KeyValue[string, string]
					for i := range fanOut[v] {
						out = append(out, dsl.KV(k+strconv.Itoa(i), v[:i+1]))
					}
					return out
				})
			},
			want: []kvt[string, string]{
				rec("b0", "b", 20),
				rec("c0", "c", 15), rec("c1", "ch", 15), rec("c2", "che", 15),
				rec("a0", "a", 40), rec("a1", "av", 40),
			},
		},
		{
			name: "FlatMapValues makes zero, one or many records with the input key",
			op: func(s *dsl.Stream[string, string]) *dsl.Stream[string, string] {
				return s.FlatMapValues(func(k, v string) []string {
					var out []string
					for i := range fanOut[v] {
						out = append(out, k+"/"+v+"#"+strconv.Itoa(i))
					}
					return out
				})
			},
			want: []kvt[string, string]{
				rec("b", "b/banana#0", 20),
				rec("c", "c/cherry#0", 15), rec("c", "c/cherry#1", 15), rec("c", "c/cherry#2", 15),
				rec("a", "a/avocado#0", 40), rec("a", "a/avocado#1", 40),
			},
		},
		{
			name: "Peek passes every record on unchanged",
			op: func(s *dsl.Stream[string, string]) *dsl.Stream[string, string] {
				return s.Peek(func(string, string) {})
			},
			want: []kvt[string, string]{
				rec("a", "apple", 10), rec("b", "banana", 20), rec("c", "cherry", 15), rec("a", "avocado", 40),
			},
		},
		{
			name: "chain of Filter, MapValues and SelectKey",
			op: func(s *dsl.Stream[string, string]) *dsl.Stream[string, string] {
				return s.FilterNot(func(k, _ string) bool { return k == "c" }).
					MapValues(func(_, v string) string { return strconv.Itoa(len(v)) }).
					SelectKey(func(k, v string) string { return k + v })
			},
			want: []kvt[string, string]{rec("a5", "5", 10), rec("b6", "6", 20), rec("a7", "7", 40)},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := dsl.NewBuilder()
			tc.op(b.Stream("in", serde.String(), serde.String())).To("out")
			d := streamstest.New(t, mustBuild(t, b))
			strIn(d, "in").PipeRecords(fruit...)
			out := strOut(d, "out")

			// Every output keeps the headers of the input it came from (found by timestamp,
			// which is distinct per input), as Kafka Streams forwards them.
			n := out.Len()
			var got []kvt[string, string]
			for range n {
				r := out.ReadRecord()
				got = append(got, rec(r.Key, r.Value, r.Time.UnixMilli()))
				for _, in := range fruit {
					if in.Time.Equal(r.Time) && !reflect.DeepEqual(r.Headers, in.Headers) {
						t.Errorf("record %v has headers %v, want the input's %v", got[len(got)-1], r.Headers, in.Headers)
					}
				}
			}
			if len(got) != len(tc.want) || (len(got) > 0 && !reflect.DeepEqual(got, tc.want)) {
				t.Errorf("records:\n got %v\nwant %v", got, tc.want)
			}
		})
	}
}

func TestMapChangesKeyAndValueTypes(t *testing.T) {
	b := dsl.NewBuilder()
	b.Stream("in", serde.String(), serde.String()).
		Map(func(k, v string) (int64, float64) { return int64(len(v)), float64(len(k)) / 2 }).
		To("out") // stock int64 and float64 serdes
	d := streamstest.New(t, mustBuild(t, b))
	in := strIn(d, "in")
	in.PipeAt("ab", "xyz", at(7))
	in.PipeAt("abcde", "", at(3))
	expectRecords(t, streamstest.Output(d, "out", serde.Int64(), serde.Float64()),
		rec[int64, float64](3, 1, 7), rec[int64, float64](0, 2.5, 3))
}

func TestSelectKeyChangesKeyType(t *testing.T) {
	b := dsl.NewBuilder()
	b.Stream("in", serde.String(), serde.String()).
		SelectKey(func(k, v string) int32 { return int32(len(k) * 10) }).
		To("out")
	d := streamstest.New(t, mustBuild(t, b))
	in := strIn(d, "in")
	in.PipeAt("k", "v1", at(100))
	in.PipeAt("kk", "v2", at(200))
	expectRecords(t, streamstest.Output(d, "out", serde.Int32(), serde.String()),
		rec[int32, string](10, "v1", 100), rec[int32, string](20, "v2", 200))
}

func TestMapValuesChangesValueType(t *testing.T) {
	b := dsl.NewBuilder()
	b.Stream("in", serde.String(), serde.String()).
		MapValues(func(_, v string) int64 { return int64(len(v)) }).
		To("out")
	d := streamstest.New(t, mustBuild(t, b))
	in := strIn(d, "in")
	in.PipeAt("a", "four", at(1))
	in.PipeAt("b", "sixsix", at(2))
	expectRecords(t, streamstest.Output(d, "out", serde.String(), serde.Int64()),
		rec[string, int64]("a", 4, 1), rec[string, int64]("b", 6, 2))
}

func TestFlatMapToNothing(t *testing.T) {
	b := dsl.NewBuilder()
	calls := 0
	b.Stream("in", serde.String(), serde.String()).
		FlatMap(func(string, string) []dsl.KeyValue[int64, int64] { calls++; return nil }).
		To("out")
	d := streamstest.New(t, mustBuild(t, b))
	strIn(d, "in").PipeRecords(fruit...)
	if calls != len(fruit) {
		t.Errorf("FlatMap function called %d times, want %d", calls, len(fruit))
	}
	if out := streamstest.Output(d, "out", serde.Int64(), serde.Int64()); !out.IsEmpty() {
		t.Errorf("out has %d records, want none", out.Len())
	}
}

func TestFlatMapValuesChangesValueType(t *testing.T) {
	b := dsl.NewBuilder()
	b.Stream("in", serde.String(), serde.String()).
		FlatMapValues(func(_, v string) []int32 {
			var out []int32
			for _, f := range strings.Fields(v) {
				n, _ := strconv.Atoi(f)
				out = append(out, int32(n))
			}
			return out
		}).
		To("out")
	d := streamstest.New(t, mustBuild(t, b))
	in := strIn(d, "in")
	in.PipeAt("x", "1 2 3", at(50))
	in.PipeAt("y", "", at(60))
	in.PipeAt("z", "42", at(70))
	expectRecords(t, streamstest.Output(d, "out", serde.String(), serde.Int32()),
		rec[string, int32]("x", 1, 50), rec[string, int32]("x", 2, 50), rec[string, int32]("x", 3, 50),
		rec[string, int32]("z", 42, 70))
}

func TestPeekSeesEveryRecordBeforeDownstream(t *testing.T) {
	b := dsl.NewBuilder()
	var log []string
	b.Stream("in", serde.String(), serde.String()).
		Peek(func(k, v string) { log = append(log, "peek "+k+"="+v) }).
		Filter(func(k, _ string) bool { return k != "b" }).
		ForEach(func(k, v string) { log = append(log, "each "+k+"="+v) })
	d := streamstest.New(t, mustBuild(t, b))
	strIn(d, "in").PipeRecords(fruit...)
	want := []string{
		"peek a=apple", "each a=apple",
		"peek b=banana",
		"peek c=cherry", "each c=cherry",
		"peek a=avocado", "each a=avocado",
	}
	if !reflect.DeepEqual(log, want) {
		t.Errorf("calls:\n got %q\nwant %q", log, want)
	}
}

func TestForEachIsTerminal(t *testing.T) {
	b := dsl.NewBuilder()
	var seen []kvt[string, string]
	b.Stream("in", serde.String(), serde.String()).
		ForEach(func(k, v string) { seen = append(seen, rec(k, v, 0)) })
	topo := mustBuild(t, b)

	n, _ := describeNode(t, topo, "KSTREAM-FOREACH-0000000001")
	if n.Kind != "Processor" || len(n.Successors) != 0 {
		t.Errorf("ForEach node is a %s with successors %v, want a Processor with none", n.Kind, n.Successors)
	}

	d := streamstest.New(t, topo)
	strIn(d, "in").PipeRecords(fruit...)
	want := []kvt[string, string]{rec("a", "apple", 0), rec("b", "banana", 0), rec("c", "cherry", 0), rec("a", "avocado", 0)}
	if !reflect.DeepEqual(seen, want) {
		t.Errorf("ForEach saw %v, want %v", seen, want)
	}
}

// A stream feeding several operations gives each of them every record, in the order the
// operations were added.
func TestStreamFansOutToEveryOperation(t *testing.T) {
	b := dsl.NewBuilder()
	var order []string
	s := b.Stream("in", serde.String(), serde.String())
	s.Peek(func(k, _ string) { order = append(order, "first "+k) }).To("first")
	s.MapValues(func(_, v string) string { return strings.ToUpper(v) }).
		Peek(func(k, _ string) { order = append(order, "second "+k) }).To("second")
	d := streamstest.New(t, mustBuild(t, b))
	in := strIn(d, "in")
	in.PipeAt("k1", "v1", at(5))
	in.PipeAt("k2", "v2", at(6))
	expectRecords(t, strOut(d, "first"), rec("k1", "v1", 5), rec("k2", "v2", 6))
	expectRecords(t, strOut(d, "second"), rec("k1", "V1", 5), rec("k2", "V2", 6))
	want := []string{"first k1", "second k1", "first k2", "second k2"}
	if !reflect.DeepEqual(order, want) {
		t.Errorf("order %q, want %q", order, want)
	}
}

// Pipe without a timestamp stamps records with the driver's wall clock; the DSL keeps it.
func TestPipeUsesWallClockTimestamp(t *testing.T) {
	b := dsl.NewBuilder()
	b.Stream("in", serde.String(), serde.String()).MapValues(func(_, v string) string { return v + "!" }).To("out")
	d := streamstest.New(t, mustBuild(t, b), streamstest.WithWallClock(at(1_700_000_000_000)))
	strIn(d, "in").Pipe("k", "v")
	expectRecords(t, strOut(d, "out"), rec("k", "v!", 1_700_000_000_000))
}
