package dsl_test

import (
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/rillstreams/rill/dsl"
	"github.com/rillstreams/rill/processor"
	"github.com/rillstreams/rill/serde"
	"github.com/rillstreams/rill/streamstest"
)

// byValue puts each record in the partition its value names ("3" -> 3); a value that is not a
// number is left to the default partitioner.
func byValue(topics *[]string) func(string, string, string, int32) (int32, bool) {
	return func(topic, _ string, v string, n int32) (int32, bool) {
		*topics = append(*topics, topic+"/"+strconv.Itoa(int(n)))
		p, err := strconv.Atoi(v)
		if err != nil {
			return 0, false
		}
		return int32(p), true
	}
}

// To with a partitioner writes each record where it says, gets the topic and its partition
// count, and leaves records it declines to Kafka's murmur2 partitioner (the partition a sink
// without a partitioner picks for the same key).
func TestToWithPartitioner(t *testing.T) {
	var seen []string
	b := dsl.NewBuilder()
	in := b.Stream("in", serde.String(), serde.String())
	in.To("out", dsl.WithPartitioner(byValue(&seen)))
	in.To("plain")
	d := streamstest.New(t, mustBuild(t, b), streamstest.WithPartitions(4))
	strIn(d, "in").PipeAt("a", "3", at(1))
	strIn(d, "in").PipeAt("a", "0", at(2))
	strIn(d, "in").PipeAt("b", "x", at(3))
	got := strOut(d, "out").ReadAll()
	plain := strOut(d, "plain").ReadAll()
	if len(got) != 3 || len(plain) != 3 {
		t.Fatalf("got %d and %d records, want 3 and 3", len(got), len(plain))
	}
	if got[0].Partition != 3 || got[1].Partition != 0 {
		t.Errorf("partitions %d, %d, want 3, 0", got[0].Partition, got[1].Partition)
	}
	if got[2].Partition != plain[2].Partition {
		t.Errorf("declined record in partition %d, the default partitioner picks %d", got[2].Partition, plain[2].Partition)
	}
	if len(seen) != 3 || seen[0] != "out/4" {
		t.Errorf("partitioner called with %q, want out/4 three times", seen)
	}
}

// A partition outside the topic's fails the send: the production error handler (fail, by
// default) stops processing, as Kafka's producer rejects an invalid partition.
func TestToWithPartitionerOutOfRange(t *testing.T) {
	var seen []string
	b := dsl.NewBuilder()
	b.Stream("in", serde.String(), serde.String()).To("out", dsl.WithPartitioner(byValue(&seen)))
	d := streamstest.New(t, mustBuild(t, b), streamstest.WithPartitions(2))
	err := strIn(d, "in").TryPipe(streamstest.Record[string, string]{Key: "k", Value: "2", Time: at(1)})
	if err == nil || !strings.Contains(err.Error(), "partition 2 of 2") {
		t.Fatalf("TryPipe: %v, want an invalid-partition error", err)
	}
}

// Repartition with a partitioner: the records are read back from the partitions it picked, so
// the task of that partition processes them.
func TestRepartitionWithPartitioner(t *testing.T) {
	var seen []string
	b := dsl.NewBuilder()
	var parts []int32
	b.Stream("in", serde.String(), serde.String()).
		Repartition(dsl.Named("spread"), dsl.WithPartitioner(byValue(&seen))).
		Process(func() processor.Processor[string, string, string, string] {
			return &funcProcessor[string, string, string, string]{process: func(ctx processor.Context[string, string], r processor.Record[string, string]) error {
				md, _ := ctx.RecordMetadata()
				parts = append(parts, md.Partition)
				return nil
			}}
		})
	d := streamstest.New(t, mustBuild(t, b), streamstest.WithPartitions(4), streamstest.WithApplicationID("app"))
	for i, v := range []string{"1", "2", "3", "1"} {
		strIn(d, "in").PipeAt("same-key", v, at(int64(i)))
	}
	if want := []int32{1, 2, 3, 1}; len(parts) != 4 || parts[0] != want[0] || parts[1] != want[1] || parts[2] != want[2] || parts[3] != want[3] {
		t.Errorf("read back from partitions %v, want %v", parts, want)
	}
	if len(seen) == 0 || seen[0] != "app-spread-repartition/4" {
		t.Errorf("partitioner saw %q, want the repartition topic app-spread-repartition", seen)
	}
}

// A partitioner whose types are not the stream's fails Build.
func TestWithPartitionerTypeMismatch(t *testing.T) {
	b := dsl.NewBuilder()
	b.Stream("in", serde.String(), serde.String()).To("out",
		dsl.WithPartitioner(func(string, string, int, int32) (int32, bool) { return 0, true }))
	if err := buildErr(t, b); !errors.Is(err, dsl.ErrSerdeType) || !strings.Contains(err.Error(), "WithPartitioner") {
		t.Errorf("Build error %v, want ErrSerdeType about WithPartitioner", err)
	}
}

// ToTopicFunc with a partitioner: the partitioner gets the topic the extractor chose.
func TestToTopicFuncWithPartitioner(t *testing.T) {
	var seen []string
	b := dsl.NewBuilder()
	b.Stream("in", serde.String(), serde.String()).ToTopicFunc(func(k, _ string, _ processor.RecordMetadata) string { return "to-" + k },
		dsl.WithPartitioner(byValue(&seen)))
	d := streamstest.New(t, mustBuild(t, b), streamstest.WithPartitions(3))
	strIn(d, "in").PipeAt("a", "2", at(1))
	strIn(d, "in").PipeAt("b", "1", at(2))
	if r := strOut(d, "to-a").ReadRecord(); r.Partition != 2 {
		t.Errorf("to-a record in partition %d, want 2", r.Partition)
	}
	if r := strOut(d, "to-b").ReadRecord(); r.Partition != 1 {
		t.Errorf("to-b record in partition %d, want 1", r.Partition)
	}
	if len(seen) != 2 || seen[0] != "to-a/3" || seen[1] != "to-b/3" {
		t.Errorf("partitioner saw %q, want [to-a/3 to-b/3]", seen)
	}
}
