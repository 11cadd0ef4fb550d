package streamstest_test

import (
	"errors"
	"testing"
	"time"

	"github.com/rillstreams/rill/processor"
	"github.com/rillstreams/rill/state"
	"github.com/rillstreams/rill/streamstest"
	"github.com/rillstreams/rill/topology"
)

// The window and session views read the stores of every task: a processor writes each record
// into a plain window store, a timestamped one and a session store; the views find each key
// in whichever of two partitions holds it.
func TestWindowAndSessionViews(t *testing.T) {
	wo := state.WindowOptions{Retention: 1000}
	writer := func() processor.Processor[string, string, string, string] {
		return &proc[string, string, string, string]{
			process: func(ctx processor.Context[string, string], r processor.Record[string, string]) error {
				w, _ := ctx.StateStore("w")
				tw, _ := ctx.StateStore("tw")
				s, _ := ctx.StateStore("s")
				start := r.Timestamp / 10 * 10
				return errors.Join(
					w.(*state.WindowStore[string, string]).Put(r.Key, r.Value, start),
					tw.(*state.WindowStore[string, state.ValueAndTimestamp[string]]).Put(r.Key,
						state.ValueAndTimestamp[string]{Value: r.Value, Timestamp: r.Timestamp}, start),
					s.(*state.SessionStore[string, string]).Put(r.Key, r.Timestamp, r.Timestamp+5, r.Value))
			}}
	}
	topo := topology.New()
	must(t,
		topo.AddSource("src", str, str, "in"),
		topo.AddProcessor("writer", writer, "src"),
		topo.AddStore(state.NewWindowStoreBuilder("w", str, str, wo), "writer"),
		topo.AddStore(state.NewWindowStoreBuilder("tw", str, state.TimestampedSerde(str), wo), "writer"),
		topo.AddStore(state.NewSessionStoreBuilder("s", str, str, wo), "writer"),
		topo.Seal())
	d := streamstest.New(t, topo, streamstest.WithPartitions(2))
	in := streamstest.Input(d, "in", str, str)
	keys := []string{"a", "b", "c", "d", "e", "f"}
	for i, k := range keys {
		in.PipeAt(k, "v"+k, time.UnixMilli(int64(i*10+3)))
	}
	if n := len(d.Stores("w")); n != 2 {
		t.Fatalf("%d tasks with store w, want 2", n)
	}

	w := streamstest.WindowStore[string, string](d, "w")
	tw := streamstest.WindowStore[string, string](d, "tw")
	s := streamstest.SessionStore[string, string](d, "s")
	for i, k := range keys {
		start := int64(i * 10)
		if v, ok := w.Fetch(k, start); !ok || v != "v"+k {
			t.Errorf("w.Fetch(%s, %d) = %q, %v", k, start, v, ok)
		}
		if vt, ok := tw.FetchWithTimestamp(k, start); !ok || vt.Value != "v"+k || vt.Timestamp != start+3 {
			t.Errorf("tw.FetchWithTimestamp(%s, %d) = %v, %v", k, start, vt, ok)
		}
		if v, ok := tw.Fetch(k, start); !ok || v != "v"+k {
			t.Errorf("tw.Fetch(%s, %d) = %q, %v", k, start, v, ok)
		}
		if v, ok := s.FetchSession(k, start+3, start+8); !ok || v != "v"+k {
			t.Errorf("s.FetchSession(%s) = %q, %v", k, v, ok)
		}
		if got := s.Fetch(k); len(got) != 1 || got[0].Start != start+3 {
			t.Errorf("s.Fetch(%s) = %v", k, got)
		}
	}
	if _, ok := w.Fetch("a", 10); ok {
		t.Error("w.Fetch(a, 10): found a window never written")
	}
	if _, ok := w.FetchWithTimestamp("a", 0); ok {
		t.Error("FetchWithTimestamp on a plain window store must find nothing")
	}
	for name, n := range map[string]int{"w": len(w.All()), "tw": len(tw.All()), "s": len(s.All())} {
		if n != len(keys) {
			t.Errorf("%s.All(): %d entries, want %d", name, n, len(keys))
		}
	}
	var stamps []int64
	for _, e := range tw.All() {
		stamps = append(stamps, e.Timestamp)
	}
	for _, ts := range stamps {
		if ts%10 != 3 {
			t.Errorf("timestamps %v, want each record's", stamps)
		}
	}
}
