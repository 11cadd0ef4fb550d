package rill_test

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rillstreams/rill"
	"github.com/rillstreams/rill/dsl"
	"github.com/rillstreams/rill/kafkatest"
	"github.com/rillstreams/rill/serde"
	"github.com/rillstreams/rill/state/memory"
	"github.com/rillstreams/rill/topology"
)

// patternCountTopology counts records per key over every topic matching orders-.*.
func patternCountTopology(t testing.TB) *topology.Topology {
	b := dsl.NewBuilder()
	b.StreamPattern(regexp.MustCompile(`orders-.*`), serde.String(), serde.String()).
		GroupByKey().Count(dsl.Materialized("order-counts")).
		ToStream().To("counts", dsl.WithSerdes(serde.String(), serde.Int64()))
	topo, err := b.Build()
	must(t, err)
	return topo
}

func TestPatternSource(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	broker := newBroker(t, ctx, 3, "orders-eu", "orders-us", "counts", "returns")
	// Keys k0..k4 in both matching topics; "returns" does not match and must not count.
	var recs []kafkatest.Record
	now := time.Now().Add(-time.Minute)
	want := map[string]int64{}
	for i := range 60 {
		topic := []string{"orders-eu", "orders-us", "returns"}[i%3]
		k := "k" + strconv.Itoa(i%5)
		recs = append(recs, kafkatest.Record{Topic: topic, Key: []byte(k), Value: []byte("o" + strconv.Itoa(i)),
			Timestamp: now.Add(time.Duration(i) * time.Millisecond)})
		if topic != "returns" {
			want[k]++
		}
	}
	must(t, broker.Produce(ctx, recs...))
	stop := startApp(t, ctx, patternCountTopology(t), rill.Config{CacheMaxBytes: -1, ApplicationID: "pattern", Bootstrap: broker.Addrs(),
		StateDir: t.TempDir(), CommitInterval: 50 * time.Millisecond, StoreBackend: memory.Backend()})
	out, err := broker.Consume(ctx, "counts", 40, false)
	if err != nil {
		t.Fatalf("consumed %d of 40 counts: %v", len(out), err)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	for _, r := range out {
		c, err := serde.Int64().Deserialize("", r.Value)
		must(t, err)
		got[string(r.Key)] = max(got[string(r.Key)], c)
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("final counts %v, want %v", got, want)
	}
}

func TestPatternSourceErrors(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	broker := kafkatest.New(t)
	must(t, broker.CreateTopic(ctx, "counts", 1))
	run := func(appID string) error {
		app, err := rill.New(patternCountTopology(t), rill.Config{CacheMaxBytes: -1, ApplicationID: appID, Bootstrap: broker.Addrs(),
			StateDir: t.TempDir(), StoreBackend: memory.Backend()})
		must(t, err)
		rctx, rcancel := context.WithTimeout(ctx, 20*time.Second)
		defer rcancel()
		err = app.Run(rctx)
		if rctx.Err() != nil {
			t.Fatalf("%s: Run did not fail", appID)
		}
		return err
	}
	// No topic matches yet.
	if err := run("pattern-none"); err == nil || !strings.Contains(err.Error(), "no topic matches") {
		t.Errorf("no matching topic: Run = %v", err)
	}
	// Matching topics that cannot be read by the same tasks.
	must(t, broker.CreateTopic(ctx, "orders-eu", 2))
	must(t, broker.CreateTopic(ctx, "orders-us", 3))
	if err := run("pattern-copartition"); err == nil || !strings.Contains(err.Error(), `"orders-.*"`) ||
		!strings.Contains(err.Error(), "orders-us has 3") {
		t.Errorf("matching topics with different partition counts: Run = %v", err)
	}
}
