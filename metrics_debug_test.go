package rill_test

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rillstreams/rill"
	"github.com/rillstreams/rill/kafkatest"
)

// At debug level an App times its stores' operations (Kafka Streams' metered stores) and
// measures record lateness; at info level it does neither.
func TestDebugMetricsOfStoresAndLateness(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	broker := newBroker(t, ctx, 1, "in", "out")
	// 100 records on 10 keys, one second apart, then 10 records 30 s older than stream time
	// (in a minute window still open).
	base := time.Now().Add(-time.Hour).Truncate(time.Minute).UnixMilli() // minute windows start at base
	recs := keyed(100, 10, func(int) []byte { return int64Bytes(1) })
	for i := range recs {
		recs[i].Timestamp = time.UnixMilli(base + int64(i)*1000)
	}
	for i := range 10 {
		recs = append(recs, kafkatest.Record{Topic: "in", Key: recs[i].Key, Value: int64Bytes(1),
			Timestamp: time.UnixMilli(base + 99_000 - 30_000)})
	}
	must(t, broker.Produce(ctx, recs...))
	for _, level := range []rill.MetricsLevel{rill.MetricsInfo, rill.MetricsDebug} {
		reg := prometheus.NewRegistry()
		stop := startApp(t, ctx, metricsTopology(t), rill.Config{ApplicationID: "debug-metrics-" + map[rill.MetricsLevel]string{0: "info", 1: "debug"}[level],
			Bootstrap: broker.Addrs(), StateDir: t.TempDir(), CacheMaxBytes: -1, Metrics: reg, MetricsLevel: level})
		waitMetric(t, ctx, reg, "rill_stream_thread_process_total", nil, 110)
		if level == rill.MetricsInfo {
			// Published after the records: the thread publishes everything at once.
			for _, name := range []string{"rill_stream_state_put_latency_seconds", "rill_stream_task_record_lateness_seconds"} {
				if _, n := metricValue(t, reg, name, nil); n != 0 {
					t.Errorf("info level: %d series of %s", n, name)
				}
			}
			must(t, stop())
			continue
		}
		// The count's key-value store: a get and a put per record; the per-minute window
		// store: a fetch and a put per record.
		counts := map[string]string{"store": "counts"}
		waitMetric(t, ctx, reg, "rill_stream_state_put_latency_seconds", counts, 110)
		waitMetric(t, ctx, reg, "rill_stream_state_get_latency_seconds", counts, 110)
		minutes := map[string]string{"store": "minutes"}
		waitMetric(t, ctx, reg, "rill_stream_state_put_latency_seconds", minutes, 110)
		if v, _ := metricValue(t, reg, "rill_stream_state_fetch_latency_seconds", minutes); v < 110 {
			t.Errorf("fetches of minutes: %v, want at least 110", v)
		}
		if _, n := metricValue(t, reg, "rill_stream_state_delete_latency_seconds", counts); n != 1 {
			t.Errorf("%d delete series of counts, want 1 (0 deletes)", n)
		}
		// Lateness: 100 records on time (0), 10 records 30 s late.
		waitMetric(t, ctx, reg, "rill_stream_task_record_lateness_seconds", nil, 110)
		if n := bucketCount(t, reg, "rill_stream_task_record_lateness_seconds", 0); n != 100 {
			t.Errorf("%d records on time, want 100", n)
		}
		if n := bucketCount(t, reg, "rill_stream_task_record_lateness_seconds", 10); n != 100 {
			t.Errorf("%d records at most 10 s late, want 100", n)
		}
		if n := bucketCount(t, reg, "rill_stream_task_record_lateness_seconds", 60); n != 110 {
			t.Errorf("%d records at most a minute late, want 110", n)
		}
		must(t, stop())
	}
}
