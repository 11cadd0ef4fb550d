package oracle

import (
	"reflect"
	"strings"
	"testing"
)

// These tests need no Java: the generator, the comparison and the rill side of the oracle.
// The differential run itself is TestOracle (build tag oracle; `make oracle`).

func TestGenerateIsDeterministic(t *testing.T) {
	for _, f := range Families {
		a, b := Generate(7, f, 3), Generate(7, f, 3)
		if !reflect.DeepEqual(a, b) {
			t.Errorf("%s: the same seed and number gave two cases", f)
		}
		if len(a.Inputs) == 0 {
			t.Errorf("%s: a case without inputs", f)
		}
		if c := Generate(8, f, 3); reflect.DeepEqual(a.Inputs, c.Inputs) {
			t.Errorf("%s: seeds 7 and 8 gave the same inputs", f)
		}
	}
}

func out(key, value string, ts int64) Record {
	r := Record{Topic: "out", Key: ptr(key), TS: ts}
	if value != "<null>" {
		r.Value = ptr(value)
	}
	return r
}

func TestSame(t *testing.T) {
	kafka := Result{Output: []Record{out("a", "1", 1), out("a", "<null>", 2)}}
	zero := Result{Output: []Record{out("a", "1", 1), out("a", "0", 2)}}
	if Same(zero, kafka) {
		t.Error("a zero and a null compare equal")
	}
	if Same(Result{Output: []Record{out("a", "1", 1)}}, Result{Output: []Record{out("a", "1", 2)}}) {
		t.Error("timestamps are not compared")
	}
}

// Deleted rows of non-nullable values reach the output topic as nulls: a session count merged
// away (winagg) and a table row of longs deleted (tablesrc), as Kafka Streams writes them.
func TestRunRillTombstonesOfLongs(t *testing.T) {
	c := Case{ID: "s", Family: "winagg", Params: Params{Window: "session", Agg: "count", Gap: 6, Grace: 4}, Inputs: []Record{
		{Topic: "in", Key: ptr("b"), Value: ptr("v0"), TS: 5},
		{Topic: "in", Key: ptr("b"), Value: ptr("v2"), TS: 4},
	}}
	want := Result{ID: "s", Output: []Record{out("b@5/5", "1", 5), out("b@5/5", "<null>", 5), out("b@4/5", "2", 5)}}
	if got := RunRill(t, c); !Same(got, want) {
		t.Errorf("rill gave\n%s", SideBySide(c, got, want))
	}
	c = Case{ID: "t", Family: "tablesrc", Inputs: []Record{
		{Topic: "in", Key: ptr("a"), Value: ptr("abc"), TS: 1},
		{Topic: "in", Key: ptr("a"), TS: 2},
	}}
	want = Result{ID: "t", Output: []Record{out("a", "3", 1), out("a", "<null>", 2)}}
	if got := RunRill(t, c); !Same(got, want) {
		t.Errorf("rill gave\n%s", SideBySide(c, got, want))
	}
}

// The rill side of a left stream-stream join: the late left record's unmatched result comes
// out at once, and it still joins a later right record (Kafka Streams' behaviour).
func TestRunRillStreamStreamJoin(t *testing.T) {
	c := Case{ID: "t", Family: "ssjoin", Params: Params{Kind: "left", Diff: 10, Grace: -1}, Inputs: []Record{
		{Topic: "left", Key: ptr("k"), Value: ptr("A"), TS: 10},
		{Topic: "right", Key: ptr("x"), Value: ptr("y"), TS: 30},
		{Topic: "left", Key: ptr("k"), Value: ptr("B"), TS: 5},
		{Topic: "right", Key: ptr("k"), Value: ptr("b"), TS: 15},
	}}
	got := RunRill(t, c)
	want := Result{ID: "t", Output: []Record{out("k", "A+null", 10), out("k", "B+null", 5), out("k", "B+b", 15), out("k", "A+b", 15)}}
	if !Same(got, want) {
		t.Errorf("rill gave\n%s", SideBySide(c, got, want))
	}
	if s := SideBySide(c, got, Result{}); !strings.Contains(s, "! out k=A+null @10") {
		t.Errorf("side by side does not mark the differing rows:\n%s", s)
	}
}

// The rill side of the stream-global join and repartition families, against Kafka Streams
// 4.1.1's output for the same cases (taken from the oracle's Java side): a key mapped from the
// value ("l1" -> "b"), a null stream key joined through the mapper, a null value dropped; a
// selectKey through a repartition topic with the record cache on, a null group dropped.
func TestRunRillGlobalJoinAndRepartition(t *testing.T) {
	c := Case{ID: "g", Family: "sgjoin", Params: Params{Kind: "left", Filter: true}, Inputs: []Record{
		{Topic: "right", Key: ptr("b"), Value: ptr("r0"), TS: 1},
		{Topic: "left", Key: ptr("k"), Value: ptr("l1"), TS: 2},
		{Topic: "left", Key: ptr("k"), Value: ptr("l2"), TS: 3},
		{Topic: "left", Value: ptr("l5"), TS: 4},
		{Topic: "left", Key: ptr("k"), TS: 5},
	}}
	nullKey := out("", "l5+r0", 4)
	nullKey.Key = nil
	want := Result{ID: "g", Output: []Record{out("k", "l1+r0", 2), out("k", "l2+null", 3), nullKey}}
	if got := RunRill(t, c); !Same(got, want) {
		t.Errorf("rill gave\n%s", SideBySide(c, got, want))
	}
	c = Case{ID: "r", Family: "repart", Params: Params{Kind: "selectkey", Agg: "reduce", Cache: true}, Inputs: []Record{
		{Topic: "in", Key: ptr("a"), Value: ptr("x1"), TS: 1},
		{Topic: "in", Key: ptr("b"), Value: ptr("x2"), TS: 2},
		{Topic: "in", Key: ptr("c"), TS: 3},
		{Topic: "in", Value: ptr("y3"), TS: 4},
	}}
	want = Result{ID: "r", Output: []Record{out("x", "x1", 1), out("x", "x1,x2", 2), out("y", "y3", 4)}}
	if got := RunRill(t, c); !Same(got, want) {
		t.Errorf("rill gave\n%s", SideBySide(c, got, want))
	}
}
