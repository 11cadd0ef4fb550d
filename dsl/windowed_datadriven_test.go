package dsl

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rillstreams/rill/internal/datadriven"
	"github.com/rillstreams/rill/processor"
	"github.com/rillstreams/rill/serde"
	"github.com/rillstreams/rill/state"
	"github.com/rillstreams/rill/state/memory"
	"github.com/rillstreams/rill/state/rocksdb"
	"github.com/rillstreams/rill/streamstest"
	"github.com/rillstreams/rill/topology"
	"github.com/rillstreams/rill/windows"
)

// TestWindowedDatadriven runs the files in testdata/windows: each a windowed aggregation fed
// records with timestamps, with the changes it must emit (new and, when asked, old values,
// timestamps), the records it must drop and the state it must keep. It runs each file on both
// store backends. The format, a small cousin of cockroachdb/datadriven:
//
//	# comment
//	<command> [arg=value ...]
//	<input lines>
//	----
//	<expected output lines>
//	<blank line>
//
// Commands:
//
//	topology kind=tumbling|hopping|sliding|session size= advance= gap= grace= (ms)
//	         agg=count|reduce|aggregate emit=update|final|suppress [old]
//	    builds the aggregation over a string/string stream "in" grouped by key, with its store
//	    named "store"; with old, the table forwards old values and they are printed. Expected
//	    output: nothing, or the Build error.
//	pipe     input lines "key value @ts"; expected: the changes emitted, one per line,
//	         "[key@start/end] new @ts" ("<delete>" for a delete; with old: "new old=x @ts",
//	         old=- when there is none).
//	dropped  expected: the number of records dropped so far.
//	store    expected: the store's windows, "key@start value @ts" (sessions:
//	         "key@[start,end] value"), by start then key (sessions: by key, end, start).
//
//	topology options: retention= (Materialized WithRetention), init= (Aggregate's initial
//	value, default "0"), cache (keep the store's record cache on, flushed after every record
//	as TopologyTestDriver does; without it the store is built WithCachingDisabled).
//
// Aggregations over string values, as Kafka Streams' tests' mocks: count counts; reduce joins
// values with "+" (MockReducer.STRING_ADDER); aggregate starts from init and appends "+" and
// each value (MockInitializer.STRING_INIT, MockAggregator.TOSTRING_ADDER), and merges
// sessions with "|" between their aggregates, so that merging shows in the result.
func TestWindowedDatadriven(t *testing.T) {
	files, err := filepath.Glob("testdata/windows/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no datadriven files: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			t.Run("memory", func(t *testing.T) { runWindowedFile(t, f, memory.Backend()) })
			t.Run("rocksdb", func(t *testing.T) {
				b, err := rocksdb.NewBackend(rocksdb.Config{})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(b.Close)
				runWindowedFile(t, f, b)
			})
		})
	}
}

// ddRun is the state of one file's run.
type ddRun struct {
	t       *testing.T
	backend state.Backend
	d       *streamstest.Driver
	in      *streamstest.InputTopic[string, string]
	out     []string
	store   func() []string
}

func runWindowedFile(t *testing.T, path string, backend state.Backend) {
	r := &ddRun{t: t, backend: backend}
	for _, blk := range datadriven.Parse(t, path) {
		got := r.exec(blk)
		want := strings.Join(blk.Want, "\n")
		if strings.Join(got, "\n") != want {
			t.Errorf("%s:%d: %s %v\n got:\n%s\nwant:\n%s", path, blk.Line, blk.Cmd, blk.Args,
				indent(got), indent(blk.Want))
		}
	}
}

func indent(lines []string) string {
	if len(lines) == 0 {
		return "    (nothing)"
	}
	return "    " + strings.Join(lines, "\n    ")
}

func (r *ddRun) exec(blk datadriven.Case) []string {
	t := r.t
	switch blk.Cmd {
	case "topology":
		if r.d != nil {
			r.d.Close()
		}
		r.d, r.out = nil, nil
		topo, store, err := buildWindowedCase(blk.Args, &r.out)
		if err != nil {
			return []string{err.Error()}
		}
		r.d = streamstest.New(t, topo, streamstest.WithBackend(r.backend))
		r.in = streamstest.Input(r.d, "in", serde.String(), serde.String())
		r.store = func() []string { return store(r.d) }
		return nil
	case "pipe":
		for _, l := range blk.Input {
			f := strings.Fields(l)
			if len(f) != 3 || !strings.HasPrefix(f[2], "@") {
				t.Fatalf("line %d: bad input %q, want key value @ts", blk.Line, l)
			}
			ts, err := strconv.ParseInt(f[2][1:], 10, 64)
			if err != nil {
				t.Fatalf("line %d: %v", blk.Line, err)
			}
			r.in.PipeAt(f[0], f[1], time.UnixMilli(ts))
		}
		out := r.out
		r.out = nil
		return out
	case "dropped":
		return []string{strconv.FormatInt(r.d.Dropped(), 10)}
	case "store":
		return r.store()
	}
	t.Fatalf("line %d: unknown command %q", blk.Line, blk.Cmd)
	return nil
}

func ddMillis(args map[string]string, k string) time.Duration {
	n, _ := strconv.ParseInt(args[k], 10, 64)
	return time.Duration(n) * time.Millisecond
}

// buildWindowedCase builds the topology a topology command describes; captured changes are
// appended to out, and store dumps the store.
func buildWindowedCase(args map[string]string, out *[]string) (*topology.Topology, func(*streamstest.Driver) []string, error) {
	b := NewBuilder()
	g := b.Stream("in", serde.String(), serde.String()).GroupByKey()
	_, old := args["old"]
	emit := args["emit"]
	mat := Materialized("store")
	if _, ok := args["cache"]; !ok {
		// Kafka Streams' processor tests these files follow disable caching to see every
		// update; "cache" keeps the default record cache, flushed after every record.
		mat = mat.WithCachingDisabled()
	}
	if _, ok := args["retention"]; ok {
		mat = mat.WithRetention(ddMillis(args, "retention"))
	}
	initial := "0"
	if v, ok := args["init"]; ok {
		initial = v
	}
	concat := func(agg, v string) string { return agg + "+" + v }
	appendV := func(_ string, v, agg string) string { return agg + "+" + v }
	var store func(*streamstest.Driver) []string
	if args["kind"] == "session" {
		ss := SessionWindowedBy(g, windows.Session(ddMillis(args, "gap"), windows.Grace(ddMillis(args, "grace"))))
		if emit == "final" {
			ss = ss.EmitFinal()
		}
		switch args["agg"] {
		case "count":
			capture(ss.Count(mat), emit, old, out)
			store = dumpSessions[int64]
		case "reduce":
			capture(ss.Reduce(concat, mat), emit, old, out)
			store = dumpSessions[string]
		case "aggregate":
			capture(ss.Aggregate(func() string { return initial }, appendV,
				func(_ string, a, b string) string { return a + "|" + b }, mat), emit, old, out)
			store = dumpSessions[string]
		}
	} else {
		var spec windows.Spec
		grace := windows.Grace(ddMillis(args, "grace"))
		switch args["kind"] {
		case "tumbling":
			spec = windows.Tumbling(ddMillis(args, "size"), grace)
		case "hopping":
			spec = windows.Hopping(ddMillis(args, "size"), ddMillis(args, "advance"), grace)
		case "sliding":
			spec = windows.Sliding(ddMillis(args, "size"), grace)
		}
		ws := WindowedBy(g, spec)
		if emit == "final" {
			ws = ws.EmitFinal()
		}
		switch args["agg"] {
		case "count":
			capture(ws.Count(mat), emit, old, out)
			store = dumpWindows[int64]
		case "reduce":
			capture(ws.Reduce(concat, mat), emit, old, out)
			store = dumpWindows[string]
		case "aggregate":
			capture(ws.Aggregate(func() string { return initial }, appendV, mat), emit, old, out)
			store = dumpWindows[string]
		}
	}
	if store == nil {
		return nil, nil, fmt.Errorf("bad topology args %v", args)
	}
	topo, err := b.Build()
	return topo, store, err
}

// capture hangs a processor under the table (after Suppress when asked) that prints every
// change it receives.
func capture[VA any](t *Table[windows.Windowed[string], VA], emit string, old bool, out *[]string) {
	if emit == "suppress" {
		t = t.Suppress(UntilWindowCloses())
	}
	if old && t.sendOld != nil {
		t.sendOld()
	}
	t.b.check(t.b.topo.AddProcessor("capture", func() processor.Processor[windows.Windowed[string], change[VA], struct{}, struct{}] {
		return &captureOp[VA]{out: out, old: old}
	}, t.node))
}

type captureOp[VA any] struct {
	out *[]string
	old bool
}

func (c *captureOp[VA]) Init(processor.Context[struct{}, struct{}]) error { return nil }
func (c *captureOp[VA]) Close() error                                     { return nil }

func (c *captureOp[VA]) Process(r processor.Record[windows.Windowed[string], change[VA]]) error {
	nv := "<delete>"
	if r.Value.HasNew {
		nv = fmt.Sprint(r.Value.New)
	}
	if c.old {
		ov := "-"
		if r.Value.HasOld {
			ov = fmt.Sprint(r.Value.Old)
		}
		nv += " old=" + ov
	}
	*c.out = append(*c.out, fmt.Sprintf("[%s@%d/%d] %s @%d", r.Key.Key, r.Key.Start, r.Key.End, nv, r.Timestamp))
	return nil
}

func dumpWindows[VA any](d *streamstest.Driver) []string {
	var lines []string
	for _, w := range streamstest.WindowStore[string, VA](d, "store").All() {
		lines = append(lines, fmt.Sprintf("%s@%d %v @%d", w.Key, w.WindowStart, w.Value, w.Timestamp))
	}
	return lines
}

func dumpSessions[VA any](d *streamstest.Driver) []string {
	var lines []string
	for _, s := range streamstest.SessionStore[string, VA](d, "store").All() {
		lines = append(lines, fmt.Sprintf("%s@[%d,%d] %v", s.Key, s.Start, s.End, s.Value))
	}
	return lines
}
