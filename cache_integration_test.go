package rill_test

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rillstreams/rill"
	"github.com/rillstreams/rill/dsl"
	"github.com/rillstreams/rill/internal/partition"
	"github.com/rillstreams/rill/kafkatest"
	"github.com/rillstreams/rill/serde"
	"github.com/rillstreams/rill/topology"
)

// cachedCountTopology counts records per key into store "cached-counts" and writes the
// counts to "out"; seen counts the records the app has taken in.
func cachedCountTopology(t testing.TB, seen *atomic.Int64) *topology.Topology {
	b := dsl.NewBuilder()
	b.Stream("in", serde.String(), serde.Int64()).
		Peek(func(string, int64) { seen.Add(1) }).
		GroupByKey().
		Count(dsl.Materialized("cached-counts")).
		ToStream().
		To("out", dsl.WithSerdes(serde.String(), serde.Int64()))
	topo, err := b.Build()
	must(t, err)
	return topo
}

// endOffsets sums the end offsets of topic's partitions: its number of records when nothing
// was written in transactions.
func endOffsets(t *testing.T, ctx context.Context, addrs []string, topic string) int64 {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...))
	must(t, err)
	defer cl.Close()
	ends, err := kadm.NewClient(cl).ListEndOffsets(ctx, topic)
	must(t, err)
	var n int64
	ends.Each(func(o kadm.ListedOffset) { n += o.Offset })
	return n
}

// With the record cache, an app that commits once (at its clean stop) writes one count per key
// to its output and its changelog, the final one; with the cache off, one per input record.
func TestRecordCacheOneUpdatePerKeyPerCommit(t *testing.T) {
	const n, keys = 3000, 25
	for _, c := range []struct {
		name      string
		cacheSize int64
		want      int64
	}{{"cached", 0, keys}, {"uncached", -1, n}} {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
			defer cancel()
			broker := newBroker(t, ctx, 2, "in", "out")
			recs := keyed(n, keys, int64Bytes)
			must(t, broker.Produce(ctx, recs...))
			var seen atomic.Int64
			app := "cache-" + c.name
			// No commit falls due while the app runs: the one at its stop flushes the caches.
			stop := startApp(t, ctx, cachedCountTopology(t, &seen), rill.Config{ApplicationID: app,
				Bootstrap: broker.Addrs(), StateDir: t.TempDir(), CommitInterval: time.Hour, CacheMaxBytes: c.cacheSize})
			for seen.Load() < n {
				if ctx.Err() != nil {
					t.Fatalf("app took in %d of %d records", seen.Load(), n)
				}
				time.Sleep(20 * time.Millisecond)
			}
			must(t, stop())
			out, err := broker.Consume(ctx, "out", int(c.want), false)
			if err != nil {
				t.Fatalf("consumed %d of %d: %v", len(out), c.want, err)
			}
			if got := endOffsets(t, ctx, broker.Addrs(), "out"); got != c.want {
				t.Fatalf("%d output records, want %d", got, c.want)
			}
			if got := endOffsets(t, ctx, broker.Addrs(), app+"-cached-counts-changelog"); got != c.want {
				t.Fatalf("%d changelog records, want %d", got, c.want)
			}
			last := map[string]int64{}
			for _, r := range out {
				v, err := serde.Int64().Deserialize("", r.Value)
				must(t, err)
				if v <= last[string(r.Key)] {
					t.Fatalf("key %s: count %d after %d", r.Key, v, last[string(r.Key)])
				}
				last[string(r.Key)] = v
			}
			for k := 0; k < keys; k++ {
				if key := "k" + strconv.Itoa(k); last[key] != n/keys {
					t.Fatalf("key %s: final count %d, want %d", key, last[key], n/keys)
				}
			}
		})
	}
}

// A suppression buffer is logged to its changelog and restored: an instance that starts on an
// empty state directory holds the updates the previous one buffered, and emits them when
// stream time passes their limit.
func TestSuppressionBufferRestored(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	broker := newBroker(t, ctx, 2, "in", "out")
	var seen atomic.Int64
	topo := func() *topology.Topology {
		b := dsl.NewBuilder()
		b.Stream("in", serde.String(), serde.Int64()).
			Peek(func(string, int64) { seen.Add(1) }).
			GroupByKey().
			Count().
			Suppress(dsl.UntilTimeLimit(time.Hour, dsl.Unbounded()), dsl.Named("limit")).
			ToStream().
			To("out", dsl.WithSerdes(serde.String(), serde.Int64()))
		topo, err := b.Build()
		must(t, err)
		return topo
	}
	const n, keys = 200, 10
	recs := keyed(n, keys, int64Bytes)
	must(t, broker.Produce(ctx, recs...))
	cfg := rill.Config{ApplicationID: "suppress-restore", Bootstrap: broker.Addrs(), StateDir: t.TempDir(),
		ProcessID: "one", CommitInterval: 100 * time.Millisecond}
	stop := startApp(t, ctx, topo(), cfg)
	for seen.Load() < n {
		if ctx.Err() != nil {
			t.Fatalf("app took in %d of %d records", seen.Load(), n)
		}
		time.Sleep(20 * time.Millisecond)
	}
	must(t, stop())
	if got := endOffsets(t, ctx, broker.Addrs(), "out"); got != 0 {
		t.Fatalf("%d outputs before the time limit passed", got)
	}
	// A fresh state directory: the buffer can only come back from its changelog. A record two
	// hours on, on a key of its own in every partition, moves stream time past every limit.
	cfg.StateDir = t.TempDir()
	late := recs[n-1].Timestamp.Add(2 * time.Hour)
	var movers []kafkatest.Record
	for p, i := int32(0), 0; p < 2; i++ { // a key for each partition, as the producer partitions
		if key := []byte("mover" + strconv.Itoa(i)); partition.ForKey(key, 2) == p {
			movers = append(movers, kafkatest.Record{Topic: "in", Key: key, Value: int64Bytes(1), Timestamp: late})
			p++
		}
	}
	must(t, broker.Produce(ctx, movers...))
	stop = startApp(t, ctx, topo(), cfg)
	out, err := broker.Consume(ctx, "out", keys, false)
	if err != nil {
		t.Fatalf("consumed %d of %d: %v", len(out), keys, err)
	}
	must(t, stop())
	for _, r := range out {
		v, err := serde.Int64().Deserialize("", r.Value)
		must(t, err)
		if v != n/keys {
			t.Fatalf("key %s: count %d, want %d", r.Key, v, n/keys)
		}
	}
}
