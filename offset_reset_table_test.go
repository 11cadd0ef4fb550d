package rill_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/rillstreams/rill"
	"github.com/rillstreams/rill/dsl"
	"github.com/rillstreams/rill/kafkatest"
	"github.com/rillstreams/rill/processor"
	"github.com/rillstreams/rill/serde"
	"github.com/rillstreams/rill/state/memory"
)

// A table source takes WithOffsetReset as a stream does (Kafka Streams' StreamsBuilder.table
// with Consumed.withOffsetResetPolicy): with no committed offset, a latest table skips the rows
// its topic held before the app started, and a default (earliest) table reads them all.
func TestOffsetResetTableSource(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	broker := newBroker(t, ctx, 2, "rows-latest", "rows-all", "out")
	rec := func(topic string, i int) kafkatest.Record {
		return kafkatest.Record{Topic: topic, Key: []byte(topic + "-k" + strconv.Itoa(i)), Value: []byte(topic + ":" + strconv.Itoa(i)),
			Timestamp: time.Now()}
	}
	var before []kafkatest.Record
	for i := range 10 {
		before = append(before, rec("rows-latest", i), rec("rows-all", i))
	}
	must(t, broker.Produce(ctx, before...))
	b := dsl.NewBuilder()
	b.Table("rows-latest", serde.String(), serde.String(), dsl.WithOffsetReset(processor.OffsetResetLatest())).ToStream().To("out")
	b.Table("rows-all", serde.String(), serde.String()).ToStream().To("out")
	topo, err := b.Build()
	must(t, err)
	cfg := rill.Config{CacheMaxBytes: -1, ApplicationID: "offset-reset-table", Bootstrap: broker.Addrs(), StateDir: t.TempDir(),
		CommitInterval: 50 * time.Millisecond, StoreBackend: memory.Backend()}
	running, ch := waitRunning()
	cfg.StateListener = running
	stop := startApp(t, ctx, topo, cfg)
	<-ch
	var after []kafkatest.Record
	for i := 10; i < 15; i++ {
		after = append(after, rec("rows-latest", i))
	}
	must(t, broker.Produce(ctx, after...))
	// 10 rows read from the earliest offset + 5 produced after the start.
	out, err := broker.Consume(ctx, "out", 15, false)
	if err != nil {
		t.Fatalf("consumed %d of 15: %v", len(out), err)
	}
	must(t, stop())
	got := map[string]bool{}
	for _, r := range out {
		got[string(r.Value)] = true
	}
	for i := range 15 {
		for _, c := range []struct {
			topic string
			want  bool
		}{{"rows-latest", i >= 10}, {"rows-all", i < 10}} {
			v := c.topic + ":" + strconv.Itoa(i)
			if got[v] != c.want {
				t.Errorf("%s in the output: %v, want %v", v, got[v], c.want)
			}
		}
	}
}
