package dsl_test

import (
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/rillstreams/rill/dsl"
	"github.com/rillstreams/rill/processor"
	"github.com/rillstreams/rill/serde"
	"github.com/rillstreams/rill/streamstest"
	"github.com/rillstreams/rill/windows"
)

// valueTime reads a record's timestamp from its value, a decimal number of milliseconds.
func valueTime(r processor.ConsumedRecord, _ int64) (int64, error) {
	return strconv.ParseInt(string(r.Value), 10, 64)
}

// A source's own extractor gives its records their timestamps: windows, stream time and
// output timestamps follow them; other sources keep the default.
func TestTimestampExtractorPerSource(t *testing.T) {
	b := dsl.NewBuilder()
	dsl.WindowedBy(b.Stream("events", serde.String(), serde.String(), dsl.WithTimestampExtractor(valueTime)).GroupByKey(),
		windows.Tumbling(100*time.Millisecond)).
		Count().
		ToStream().
		Map(func(k windows.Windowed[string], n int64) (string, int64) {
			return k.Key + "@" + strconv.FormatInt(k.Start, 10), n
		}).
		To("counts", dsl.WithSerdes(serde.String(), serde.Int64()))
	b.Stream("plain", serde.String(), serde.String()).To("plain-out")
	d := streamstest.New(t, mustBuild(t, b))
	in := streamstest.Input(d, "events", serde.String(), serde.String())
	in.PipeAt("k", "150", at(1))
	in.PipeAt("k", "199", at(2))
	in.PipeAt("k", "20", at(3)) // too late for [0,100) with no grace: stream time is 199
	expectRecords(t, streamstest.Output(d, "counts", serde.String(), serde.Int64()),
		rec("k@100", int64(1), 150), rec("k@100", int64(2), 199))
	if got := d.DroppedByNode(); len(got) != 1 {
		t.Fatalf("DroppedByNode = %v, want the late record only", got)
	}
	streamstest.Input(d, "plain", serde.String(), serde.String()).PipeAt("k", "150", at(7))
	expectRecords(t, streamstest.Output(d, "plain-out", serde.String(), serde.String()), rec("k", "150", 7))
}

// Negative timestamps: skipped and counted against the source with LogAndSkip, given the
// partition's time with UsePartitionTime (failing before there is one), failed through the
// deserialization handler by default.
func TestTimestampExtractorNegative(t *testing.T) {
	topo := func() *dsl.Builder {
		b := dsl.NewBuilder()
		b.Stream("in", serde.String(), serde.String(), dsl.Named("src")).To("out")
		return b
	}
	t.Run("log and skip", func(t *testing.T) {
		d := streamstest.New(t, mustBuild(t, topo()), streamstest.WithTimestampExtractor(processor.LogAndSkipOnInvalidTimestamp))
		in := streamstest.Input(d, "in", serde.String(), serde.String())
		if err := in.PipeRaw([]byte("k"), []byte("bad"), time.UnixMilli(-5)); err != nil {
			t.Fatal(err)
		}
		in.PipeAt("k", "good", at(8))
		expectRecords(t, streamstest.Output(d, "out", serde.String(), serde.String()), rec("k", "good", 8))
		if got := d.DroppedByNode(); got["src"] != 1 {
			t.Fatalf("DroppedByNode = %v, want src: 1", got)
		}
	})
	t.Run("use partition time", func(t *testing.T) {
		d := streamstest.New(t, mustBuild(t, topo()), streamstest.WithTimestampExtractor(processor.UsePartitionTimeOnInvalidTimestamp))
		in := streamstest.Input(d, "in", serde.String(), serde.String())
		err := in.PipeRaw([]byte("k"), []byte("first"), time.UnixMilli(-1))
		if !errors.Is(err, processor.ErrInvalidTimestamp) {
			t.Fatalf("negative timestamp before any partition time: %v, want ErrInvalidTimestamp", err)
		}
		d = streamstest.New(t, mustBuild(t, topo()), streamstest.WithTimestampExtractor(processor.UsePartitionTimeOnInvalidTimestamp))
		in = streamstest.Input(d, "in", serde.String(), serde.String())
		in.PipeAt("k", "a", at(10))
		if err := in.PipeRaw([]byte("k"), []byte("b"), time.UnixMilli(-1)); err != nil {
			t.Fatal(err)
		}
		expectRecords(t, streamstest.Output(d, "out", serde.String(), serde.String()), rec("k", "a", 10), rec("k", "b", 10))
	})
	t.Run("default fails", func(t *testing.T) {
		d := streamstest.New(t, mustBuild(t, topo()))
		err := streamstest.Input(d, "in", serde.String(), serde.String()).PipeRaw([]byte("k"), []byte("bad"), time.UnixMilli(-1))
		if err == nil {
			t.Fatal("a negative timestamp passed without an extractor")
		}
	})
}
