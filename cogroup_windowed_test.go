package rill_test

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/rillstreams/rill"
	"github.com/rillstreams/rill/dsl"
	"github.com/rillstreams/rill/kafkatest"
	"github.com/rillstreams/rill/serde"
	"github.com/rillstreams/rill/state/memory"
	"github.com/rillstreams/rill/streamstest"
	"github.com/rillstreams/rill/topology"
	"github.com/rillstreams/rill/windows"
)

// windowedCogroupTopology sums two streams (int64 amounts and string lengths) per key and
// 100ms tumbling window into one table, written as "key@start" -> sum.
func windowedCogroupTopology(t *testing.T) *topology.Topology {
	b := dsl.NewBuilder()
	a := b.Stream("amounts", serde.String(), serde.Int64()).GroupByKey()
	w := b.Stream("words", serde.String(), serde.String()).GroupByKey()
	c := dsl.Cogroup(a, func(_ string, n int64, sum int64) int64 { return sum + n }).
		Cogroup(w, func(_ string, s string, sum int64) int64 { return sum + int64(len(s)) })
	dsl.CogroupWindowedBy(c, windows.Tumbling(100*time.Millisecond, windows.Grace(time.Hour))).
		Aggregate(func() int64 { return 0 }, dsl.WithSerdes(serde.String(), serde.Int64())).
		ToStream().
		Map(func(k windows.Windowed[string], v int64) (string, string) {
			return k.Key + "@" + strconv.FormatInt(k.Start, 10), strconv.FormatInt(v, 10)
		}).
		To("sums", dsl.WithSerdes(serde.String(), serde.String()))
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	return topo
}

// A windowed cogroup on the broker, two input topics of 3 partitions: every window's final
// sum is the driver's and the inputs' (the grace is long enough that nothing is late).
func TestCogroupWindowedOnBroker(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	broker := newBroker(t, ctx, 3, "amounts", "words", "sums")
	var recs []kafkatest.Record
	want := map[string]string{}
	sums := map[string]int64{}
	for i := range 300 {
		k := "k" + strconv.Itoa(i%11)
		ts := time.UnixMilli(int64(i * 7))
		win := k + "@" + strconv.Itoa(i*7/100*100)
		if i%3 == 0 {
			recs = append(recs, kafkatest.Record{Topic: "words", Key: []byte(k), Value: []byte(fmt.Sprint("w", i)), Timestamp: ts})
			sums[win] += int64(len(fmt.Sprint("w", i)))
		} else {
			v, _ := serde.Int64().Serialize("", int64(i))
			recs = append(recs, kafkatest.Record{Topic: "amounts", Key: []byte(k), Value: v, Timestamp: ts})
			sums[win] += int64(i)
		}
	}
	for w, s := range sums {
		want[w] = strconv.FormatInt(s, 10)
	}
	must(t, broker.Produce(ctx, recs...))

	d := streamstest.New(t, windowedCogroupTopology(t), streamstest.WithPartitions(3), streamstest.WithCacheMaxBytes(-1))
	ai := streamstest.Input(d, "amounts", serde.String(), serde.Int64())
	wi := streamstest.Input(d, "words", serde.String(), serde.String())
	for _, r := range recs {
		if r.Topic == "words" {
			wi.PipeAt(string(r.Key), string(r.Value), r.Timestamp)
		} else {
			v, _ := serde.Int64().Deserialize("", r.Value)
			ai.PipeAt(string(r.Key), v, r.Timestamp)
		}
	}
	driver := map[string]string{}
	for _, r := range streamstest.Output(d, "sums", serde.String(), serde.String()).ReadAll() {
		driver[r.Key] = r.Value
	}
	if fmt.Sprint(driver) != fmt.Sprint(want) {
		t.Fatalf("driver's final sums differ from the inputs'\n got %v\nwant %v", driver, want)
	}

	stop := startApp(t, ctx, windowedCogroupTopology(t), rill.Config{CacheMaxBytes: -1, ApplicationID: "cogroup-windowed",
		Bootstrap: broker.Addrs(), StateDir: t.TempDir(), CommitInterval: 50 * time.Millisecond, StoreBackend: memory.Backend()})
	out, err := broker.Consume(ctx, "sums", len(recs), false) // one update per input record
	if err != nil {
		t.Fatalf("consumed %d of %d: %v", len(out), len(recs), err)
	}
	must(t, stop())
	got := map[string]string{}
	for _, r := range out {
		got[string(r.Key)] = string(r.Value) // a window's updates share its key's partition, in order
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("broker's final sums differ\n got %v\nwant %v", got, want)
	}
}
