package rill_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rillstreams/rill"
	"github.com/rillstreams/rill/dsl"
	"github.com/rillstreams/rill/kafkatest"
	"github.com/rillstreams/rill/serde"
	"github.com/rillstreams/rill/state/memory"
)

// Two global tables (two global sub-topologies, as Kafka Streams builds them) read by one
// global thread, both joined into a stream: orders "customer|product" become
// "customer name bought product name".
func TestTwoGlobalTables(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	broker := kafkatest.New(t)
	must(t, broker.CreateTopic(ctx, "orders", 2))
	must(t, broker.CreateTopic(ctx, "customers", 3))
	must(t, broker.CreateTopic(ctx, "products", 1))
	must(t, broker.CreateTopic(ctx, "enriched", 1))
	now := time.Now()
	rec := func(topic, k, v string) kafkatest.Record {
		return kafkatest.Record{Topic: topic, Key: []byte(k), Value: []byte(v), Timestamp: now}
	}
	// Written before the app starts: the bootstrap must have both tables complete before the
	// first order is joined.
	must(t, broker.Produce(ctx,
		rec("customers", "c1", "Ada"), rec("customers", "c2", "Grace"), rec("customers", "c3", "Edsger"),
		rec("products", "p1", "a lamp"), rec("products", "p2", "a chair")))
	must(t, broker.Produce(ctx,
		rec("orders", "o1", "c1|p1"), rec("orders", "o2", "c2|p2"), rec("orders", "o3", "c3|p1"),
		rec("orders", "o4", "c9|p1"),  // unknown customer: an inner join drops it
		rec("orders", "o5", "c1|p9"))) // unknown product

	b := dsl.NewBuilder()
	customers := b.GlobalTable("customers", serde.String(), serde.String(), dsl.Materialized("customers-store"))
	products := b.GlobalTable("products", serde.String(), serde.String(), dsl.Materialized("products-store"))
	b.Stream("orders", serde.String(), serde.String()).
		JoinGlobal(customers, func(_, v string) string { return strings.Split(v, "|")[0] },
			func(_, v, name string) string { return name + "|" + strings.Split(v, "|")[1] }).
		JoinGlobal(products, func(_, v string) string { return strings.Split(v, "|")[1] },
			func(_, v, product string) string { return strings.Split(v, "|")[0] + " bought " + product }).
		To("enriched")
	topo, err := b.Build()
	must(t, err)
	globals := 0
	for _, s := range topo.Describe().Subtopologies {
		if s.Global {
			globals++
		}
	}
	if globals != 2 {
		t.Fatalf("topology has %d global sub-topologies, want 2:\n%v", globals, topo.Describe())
	}

	stop := startApp(t, ctx, topo, rill.Config{CacheMaxBytes: -1, ApplicationID: "two-globals", Bootstrap: broker.Addrs(),
		StateDir: t.TempDir(), CommitInterval: 50 * time.Millisecond, StoreBackend: memory.Backend()})
	out, err := broker.Consume(ctx, "enriched", 3, false)
	if err != nil {
		t.Fatalf("consumed %d of 3: %v", len(out), err)
	}
	// Both tables keep following their topics after the bootstrap.
	must(t, broker.Produce(ctx, rec("customers", "c4", "Barbara"), rec("products", "p3", "a desk")))
	time.Sleep(time.Second) // the global thread tails asynchronously
	must(t, broker.Produce(ctx, rec("orders", "o6", "c4|p3")))
	out, err = broker.Consume(ctx, "enriched", 4, false)
	if err != nil {
		t.Fatalf("consumed %d of 4: %v", len(out), err)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range out {
		got = append(got, string(r.Key)+": "+string(r.Value))
	}
	slices.Sort(got)
	want := []string{"o1: Ada bought a lamp", "o2: Grace bought a chair", "o3: Edsger bought a lamp", "o6: Barbara bought a desk"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("enriched orders\n got %q\nwant %q", got, want)
	}
}
