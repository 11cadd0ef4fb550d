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

// Per-source offset reset (Kafka Streams' Consumed.withOffsetResetPolicy): with no committed
// offset, a latest source skips what was in its topic before the app started, a by-duration
// source starts at the first record at most that old, an earliest source (the default) reads
// everything; once the app has committed, a restart goes on from the commits whatever the
// policy.
func TestOffsetResetPerSource(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	broker := newBroker(t, ctx, 2, "latest-in", "recent-in", "all-in", "out")
	rec := func(topic string, i int, ts time.Time) kafkatest.Record {
		return kafkatest.Record{Topic: topic, Key: []byte("k" + strconv.Itoa(i%5)), Value: []byte(topic + ":" + strconv.Itoa(i)), Timestamp: ts}
	}
	old, recent := time.Now().Add(-3*time.Hour), time.Now().Add(-10*time.Minute)
	var before []kafkatest.Record
	for i := range 20 {
		before = append(before, rec("latest-in", i, recent), rec("all-in", i, old))
		ts := old
		if i >= 15 {
			ts = recent // the last 5 are within the hour
		}
		before = append(before, rec("recent-in", i, ts))
	}
	must(t, broker.Produce(ctx, before...))
	b := dsl.NewBuilder()
	b.Stream("latest-in", serde.String(), serde.String(), dsl.WithOffsetReset(processor.OffsetResetLatest())).To("out")
	b.Stream("recent-in", serde.String(), serde.String(), dsl.WithOffsetReset(processor.OffsetResetByDuration(time.Hour))).To("out")
	b.Stream("all-in", serde.String(), serde.String()).To("out")
	topo, err := b.Build()
	must(t, err)
	cfg := rill.Config{CacheMaxBytes: -1, ApplicationID: "offset-reset", Bootstrap: broker.Addrs(), StateDir: t.TempDir(),
		CommitInterval: 50 * time.Millisecond, StoreBackend: memory.Backend()}
	running, ch := waitRunning()
	cfg.StateListener = running
	stop := startApp(t, ctx, topo, cfg)
	<-ch
	var after []kafkatest.Record
	for i := 20; i < 30; i++ {
		after = append(after, rec("latest-in", i, time.Now()), rec("recent-in", i, time.Now()))
	}
	must(t, broker.Produce(ctx, after...))
	// 20 earliest + 5 recent + 10 + 10 produced after the start.
	out, err := broker.Consume(ctx, "out", 45, false)
	if err != nil {
		t.Fatalf("consumed %d of 45: %v", len(out), err)
	}
	must(t, stop())
	got := map[string]bool{}
	for _, r := range out {
		got[string(r.Value)] = true
	}
	for i := range 30 {
		for _, c := range []struct {
			topic string
			want  bool
		}{{"latest-in", i >= 20}, {"recent-in", i >= 15}, {"all-in", i < 20}} {
			v := c.topic + ":" + strconv.Itoa(i)
			if got[v] != c.want {
				t.Errorf("%s in the output: %v, want %v", v, got[v], c.want)
			}
		}
	}
	// A restart goes on from the committed offsets: what came while the app was down is read.
	var down []kafkatest.Record
	for i := 30; i < 35; i++ {
		down = append(down, rec("latest-in", i, time.Now()))
	}
	must(t, broker.Produce(ctx, down...))
	running, ch = waitRunning()
	cfg.StateListener = running
	stop = startApp(t, ctx, topo, cfg)
	<-ch
	all, err := broker.Consume(ctx, "out", 50, false)
	if err != nil {
		t.Fatalf("consumed %d of 50 after the restart: %v", len(all), err)
	}
	must(t, stop())
	seen := map[string]int{}
	for _, r := range all {
		seen[string(r.Value)]++
	}
	for i := 30; i < 35; i++ {
		if v := "latest-in:" + strconv.Itoa(i); seen[v] != 1 {
			t.Errorf("after the restart: %s seen %d times, want 1", v, seen[v])
		}
	}
}
