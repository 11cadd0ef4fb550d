package dsl_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/rillstreams/rill/dsl"
	"github.com/rillstreams/rill/serde"
	"github.com/rillstreams/rill/streamstest"
)

// limitedCounts counts words per key and suppresses the counts with s.
func limitedCounts(t *testing.T, s dsl.Suppressed) (*streamstest.Driver, *streamstest.InputTopic[string, string], *streamstest.OutputTopic[string, int64]) {
	b := dsl.NewBuilder()
	b.Stream("words", serde.String(), serde.String()).
		GroupByKey().
		Count().
		Suppress(s, dsl.Named("limit")).
		ToStream().
		To("limited", dsl.WithSerdes(serde.String(), serde.Int64()))
	d := streamstest.New(t, mustBuild(t, b))
	return d, streamstest.Input(d, "words", serde.String(), serde.String()),
		streamstest.Output(d, "limited", serde.String(), serde.Int64())
}

// UntilTimeLimit emits a key's latest value once stream time has passed its latest update's
// timestamp by the limit: each update restarts the key's wait (Kafka Streams' buffer time is
// the record time of the latest update).
func TestSuppressUntilTimeLimit(t *testing.T) {
	d, in, out := limitedCounts(t, dsl.UntilTimeLimit(10*time.Millisecond, dsl.Unbounded()))
	in.PipeAt("a", "x", at(0))
	in.PipeAt("b", "x", at(5))
	in.PipeAt("a", "x", at(8)) // a waits until 18 now
	expectRecords(t, out)
	in.PipeAt("c", "x", at(15)) // expires what was last updated at or before 5: b
	expectRecords(t, out, rec("b", int64(1), 5))
	in.PipeAt("c", "x", at(18)) // a (8) expires; c moved to 18
	expectRecords(t, out, rec("a", int64(2), 8))
	in.PipeAt("d", "x", at(40))
	expectRecords(t, out, rec("c", int64(2), 18))
	if n := d.Dropped(); n != 0 {
		t.Fatalf("dropped %d", n)
	}
}

// A bounded buffer emits its oldest entries early when full (the default of MaxRecords and
// MaxBytes), or fails with ErrSuppressionBufferFull when told to shut down.
func TestSuppressBufferFull(t *testing.T) {
	_, in, out := limitedCounts(t, dsl.UntilTimeLimit(time.Hour, dsl.MaxRecords(2)))
	in.PipeAt("a", "x", at(1))
	in.PipeAt("b", "x", at(2))
	in.PipeAt("a", "x", at(3)) // a moves behind b: still two keys
	expectRecords(t, out)
	in.PipeAt("c", "x", at(4)) // three keys: the oldest, b, goes early
	expectRecords(t, out, rec("b", int64(1), 2))

	_, in, out = limitedCounts(t, dsl.UntilTimeLimit(time.Hour, dsl.MaxBytes(1)))
	in.PipeAt("a", "x", at(1)) // any entry is over a byte: emitted at once
	expectRecords(t, out, rec("a", int64(1), 1))

	_, in, _ = limitedCounts(t, dsl.UntilTimeLimit(time.Hour, dsl.MaxRecords(1).ShutDownWhenFull()))
	in.PipeAt("a", "x", at(1))
	err := in.TryPipe(streamstest.Record[string, string]{Key: "b", Value: "x", Time: at(2)})
	if !errors.Is(err, dsl.ErrSuppressionBufferFull) {
		t.Fatalf("second key: %v, want ErrSuppressionBufferFull", err)
	}
}

// Final results cannot come early: UntilWindowCloses takes an unbounded buffer or one that
// shuts down when full.
func TestSuppressUntilWindowClosesStrictBuffer(t *testing.T) {
	b := dsl.NewBuilder()
	b.Table("t", serde.String(), serde.String()).Suppress(dsl.UntilTimeLimit(-time.Second, dsl.Unbounded()))
	if err := buildErr(t, b); !strings.Contains(err.Error(), "UntilTimeLimit") {
		t.Fatalf("negative limit: %v", err)
	}
	b = dsl.NewBuilder()
	b.Table("t", serde.String(), serde.String()).Suppress(dsl.UntilWindowCloses(dsl.MaxRecords(10)))
	if err := buildErr(t, b); !strings.Contains(err.Error(), "ShutDownWhenFull") {
		t.Fatalf("emit-early buffer for final results: %v", err)
	}
}

// Time-limited suppression forwards deletes (only final results drop them).
func TestSuppressUntilTimeLimitForwardsDeletes(t *testing.T) {
	b := dsl.NewBuilder()
	b.Table("rows", serde.String(), serde.JSON[*string]()).
		Suppress(dsl.UntilTimeLimit(5*time.Millisecond, dsl.Unbounded())).
		ToStream().
		To("out")
	d := streamstest.New(t, mustBuild(t, b))
	in := streamstest.Input(d, "rows", serde.String(), serde.JSON[*string]())
	out := streamstest.Output(d, "out", serde.String(), serde.JSON[*string]())
	v := "v"
	in.PipeAt("a", &v, at(1))
	in.PipeAt("b", &v, at(2))
	in.PipeAt("a", nil, at(3))
	in.PipeAt("c", &v, at(10)) // a (3) and b (2) expire, oldest first
	got := out.ReadAll()
	if len(got) != 2 || got[0].Key != "b" || got[0].Value == nil || got[1].Key != "a" || got[1].Value != nil {
		t.Fatalf("got %+v, want b=v then a deleted", got)
	}
}
