package rill_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/rillstreams/rill"
	"github.com/rillstreams/rill/dsl"
	"github.com/rillstreams/rill/kafkatest"
	"github.com/rillstreams/rill/serde"
	"github.com/rillstreams/rill/topology"
	"github.com/rillstreams/rill/windows"
)

// metricsTopology counts records per key (store "counts", to "out") and per key and minute
// with no grace (node "per-minute", which drops records of closed windows).
func metricsTopology(t testing.TB) *topology.Topology {
	b := dsl.NewBuilder()
	g := b.Stream("in", serde.String(), serde.Int64()).GroupByKey()
	g.Count(dsl.Materialized("counts")).ToStream().To("out", dsl.WithSerdes(serde.String(), serde.Int64()))
	dsl.WindowedBy(g, windows.Tumbling(time.Minute, windows.Grace(0))).Count(dsl.Named("per-minute"), dsl.Materialized("minutes"))
	topo, err := b.Build()
	must(t, err)
	return topo
}

// metricValue sums the values (counter, gauge, or histogram count) of the series of name
// whose labels include want.
func metricValue(t testing.TB, g prometheus.Gatherer, name string, want map[string]string) (sum float64, series int) {
	fams, err := g.Gather()
	must(t, err)
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
	next:
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			for k, v := range want {
				if labels[k] != v {
					continue next
				}
			}
			series++
			switch f.GetType() {
			case dto.MetricType_COUNTER:
				sum += m.GetCounter().GetValue()
			case dto.MetricType_GAUGE:
				sum += m.GetGauge().GetValue()
			case dto.MetricType_HISTOGRAM:
				sum += float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return sum, series
}

// bucketCount sums, over the series of the histogram name, the observations at most le.
func bucketCount(t testing.TB, g prometheus.Gatherer, name string, le float64) (n uint64) {
	fams, err := g.Gather()
	must(t, err)
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, b := range m.GetHistogram().GetBucket() {
				if b.GetUpperBound() == le {
					n += b.GetCumulativeCount()
				}
			}
		}
	}
	return n
}

// waitMetric waits until the metric's sum is want.
func waitMetric(t testing.TB, ctx context.Context, g prometheus.Gatherer, name string, labels map[string]string, want float64) {
	t.Helper()
	for {
		got, _ := metricValue(t, g, name, labels)
		if got == want {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s%v = %v, want %v", name, labels, got, want)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func httpGet(t testing.TB, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	must(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	must(t, err)
	return resp.StatusCode, string(body)
}

// The metrics follow what the app does (records processed, late records dropped and counted
// by task and processor node, commits, lags), and the status endpoint answers about a
// running app: /healthz, /readyz, /metrics, /topology, /tasks.
func TestMetricsAndStatusEndpoint(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	broker := newBroker(t, ctx, 2, "in", "out")
	reg := prometheus.NewRegistry()
	app, err := rill.New(metricsTopology(t), rill.Config{ApplicationID: "metrics", Bootstrap: broker.Addrs(),
		StateDir: t.TempDir(), CacheMaxBytes: -1, CommitInterval: 100 * time.Millisecond,
		Metrics: reg, MetricsLevel: rill.MetricsDebug, ProcessID: "m1"})
	must(t, err)
	srv := httptest.NewServer(app.StatusHandler())
	defer srv.Close()
	if code, body := httpGet(t, srv.URL+"/readyz"); code != http.StatusServiceUnavailable {
		t.Fatalf("/readyz before Run: %d %s", code, body)
	}
	if code, body := httpGet(t, srv.URL+"/healthz"); code != http.StatusOK || !strings.Contains(body, "CREATED") {
		t.Fatalf("/healthz before Run: %d %s", code, body)
	}
	done := make(chan error, 1)
	runCtx, stop := context.WithCancel(ctx)
	go func() { done <- app.Run(runCtx) }()
	defer func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	for {
		if code, _ := httpGet(t, srv.URL+"/readyz"); code == http.StatusOK {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatal("never ready")
		case <-time.After(20 * time.Millisecond):
		}
	}
	// 200 records on 10 keys, then, per key, one record two minutes older than the key's
	// latest: the per-minute count drops those (their window closed, no grace).
	base := time.Now().Add(-time.Hour).UnixMilli()
	recs := keyed(200, 10, func(int) []byte { return int64Bytes(1) })
	for i := range recs {
		recs[i].Timestamp = time.UnixMilli(base + int64(i)*1000)
	}
	for k := range 10 {
		recs = append(recs, kafkatest.Record{Topic: "in", Key: []byte(fmt.Sprintf("k%d", k)), Value: int64Bytes(1),
			Timestamp: time.UnixMilli(base + 60_000)})
	}
	must(t, broker.Produce(ctx, recs...))
	if got, err := broker.Consume(ctx, "out", len(recs), false); err != nil {
		t.Fatalf("%d outputs: %v", len(got), err)
	}
	thread := map[string]string{"thread_id": "m1-StreamThread-1"}
	waitMetric(t, ctx, reg, "rill_stream_thread_process_total", thread, 210)
	waitMetric(t, ctx, reg, "rill_stream_task_process_total", nil, 210)
	// Every record is taken by the source and reaches both terminal nodes (no cache): the
	// sink of the counts and the per-minute count, which has no children. 630 end-to-end
	// latencies on three nodes of two tasks, of records stamped 56 to 60 minutes ago (a
	// count keeps its key's largest timestamp).
	waitMetric(t, ctx, reg, "rill_stream_processor_node_record_e2e_latency_seconds", nil, 630)
	if _, n := metricValue(t, reg, "rill_stream_processor_node_record_e2e_latency_seconds", nil); n != 6 {
		t.Errorf("e2e latency of %d nodes of tasks, want 6", n)
	}
	if v, _ := metricValue(t, reg, "rill_stream_processor_node_record_e2e_latency_seconds", map[string]string{"processor_node_id": "per-minute"}); v != 210 {
		t.Errorf("e2e latency of %v records at per-minute, want 210", v)
	}
	if n := bucketCount(t, reg, "rill_stream_processor_node_record_e2e_latency_seconds", 300); n != 0 {
		t.Errorf("%d records of an hour ago measured within 5 minutes", n)
	}
	if n := bucketCount(t, reg, "rill_stream_processor_node_record_e2e_latency_seconds", 86400); n != 630 {
		t.Errorf("%d records of an hour ago measured within a day, want 630", n)
	}
	waitMetric(t, ctx, reg, "rill_stream_processor_node_dropped_records_total", map[string]string{"processor_node_id": "per-minute"}, 10)
	waitMetric(t, ctx, reg, "rill_stream_task_dropped_records_total", nil, 10)
	waitMetric(t, ctx, reg, "rill_stream_thread_task_created_total", thread, 2)
	waitMetric(t, ctx, reg, "rill_consumer_fetch_manager_records_lag", map[string]string{"topic": "in"}, 0)
	if _, n := metricValue(t, reg, "rill_consumer_fetch_manager_records_lag", map[string]string{"topic": "in"}); n != 2 {
		t.Errorf("records lag of %d partitions of in, want 2", n)
	}
	if v, _ := metricValue(t, reg, "rill_stream_thread_process_latency_seconds", thread); v != 210 {
		t.Errorf("process latency histogram holds %v records, want 210", v)
	}
	for _, name := range []string{"rill_stream_thread_commit_total", "rill_stream_thread_commit_latency_seconds",
		"rill_stream_thread_poll_total", "rill_stream_thread_poll_latency_seconds"} {
		for {
			if v, _ := metricValue(t, reg, name, thread); v > 0 {
				break
			}
			select {
			case <-ctx.Done():
				t.Fatalf("%s stays 0", name)
			case <-time.After(20 * time.Millisecond):
			}
		}
	}
	// Nothing was restored (no changelog yet): each store of each task restored 0 and has 0 left.
	if v, n := metricValue(t, reg, "rill_stream_state_restore_total", map[string]string{"store": "counts"}); v != 0 || n != 2 {
		t.Errorf("restore total of counts: %v over %d series, want 0 over 2", v, n)
	}

	code, body := httpGet(t, srv.URL+"/metrics")
	if code != http.StatusOK || !strings.Contains(body, `rill_stream_thread_process_total{thread_id="m1-StreamThread-1"} 210`) {
		t.Errorf("/metrics: %d\n%s", code, body)
	}
	if code, body := httpGet(t, srv.URL+"/topology"); code != http.StatusOK || !strings.Contains(body, "Sub-topology: 0") {
		t.Errorf("/topology: %d\n%s", code, body)
	}
	if code, body := httpGet(t, srv.URL+"/topology?format=mermaid"); code != http.StatusOK || !strings.Contains(body, "flowchart") {
		t.Errorf("/topology?format=mermaid: %d\n%s", code, body)
	}
	code, body = httpGet(t, srv.URL+"/tasks")
	if code != http.StatusOK {
		t.Fatalf("/tasks: %d %s", code, body)
	}
	var st rill.TasksStatus
	must(t, json.Unmarshal([]byte(body), &st))
	if st.State != "RUNNING" || st.ProcessID != "m1" || len(st.Threads) != 1 || len(st.Threads[0].Active) != 2 {
		t.Fatalf("/tasks: %s", body)
	}
	var offsets, processed, dropped int64
	for _, task := range st.Threads[0].Active {
		if task.State != "RUNNING" || len(task.Partitions) != 1 || task.Partitions[0].Topic != "in" ||
			task.Partitions[0].Lag == nil || *task.Partitions[0].Lag != 0 {
			t.Errorf("/tasks: task %+v", task)
			continue
		}
		offsets += task.Partitions[0].Offset
		processed += task.Processed
		dropped += task.Dropped
	}
	// At least once, no transaction markers: the next offsets add up to the records.
	if offsets != 210 || processed != 210 || dropped != 10 {
		t.Errorf("/tasks: offsets %d, processed %d, dropped %d; want 210, 210, 10\n%s", offsets, processed, dropped, body)
	}
}

// A task restoring its stores reports what it restored per store (and nothing left once
// done), and StatusAddr serves the endpoint while Run runs, and only then.
func TestMetricsRestoreAndStatusAddr(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	broker := newBroker(t, ctx, 1, "in", "out")
	recs := keyed(50, 5, func(int) []byte { return int64Bytes(1) })
	must(t, broker.Produce(ctx, recs...))
	cfg := rill.Config{ApplicationID: "restoremetrics", Bootstrap: broker.Addrs(), StateDir: t.TempDir(),
		CacheMaxBytes: -1, CommitInterval: 100 * time.Millisecond, ProcessID: "r1"}
	stopFirst := startApp(t, ctx, metricsTopology(t), cfg)
	if got, err := broker.Consume(ctx, "out", len(recs), false); err != nil {
		t.Fatalf("%d outputs: %v", len(got), err)
	}
	must(t, stopFirst())

	// A fresh state directory: everything is restored from the changelogs, one record per
	// update (no cache): 50 counts.
	cfg.StateDir = t.TempDir()
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", "127.0.0.1:0")
	must(t, err)
	cfg.StatusAddr = ln.Addr().String()
	must(t, ln.Close())
	reg := prometheus.NewRegistry()
	cfg.Metrics = reg
	app, err := rill.New(metricsTopology(t), cfg)
	must(t, err)
	done := make(chan error, 1)
	runCtx, stop := context.WithCancel(ctx)
	go func() { done <- app.Run(runCtx) }()
	waitMetric(t, ctx, reg, "rill_stream_state_restore_total", map[string]string{"store": "counts", "task_id": "0_0"}, 50)
	if v, n := metricValue(t, reg, "rill_stream_state_restore_remaining_records", map[string]string{"store": "counts"}); v != 0 || n != 1 {
		t.Errorf("restore remaining: %v over %d series", v, n)
	}
	url := "http://" + cfg.StatusAddr
	for {
		if code, _ := httpGet(t, url+"/readyz"); code == http.StatusOK {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatal("never ready")
		case <-time.After(20 * time.Millisecond):
		}
	}
	if code, body := httpGet(t, url+"/metrics"); code != http.StatusOK || !strings.Contains(body, `rill_stream_state_restore_total{store="counts",task_id="0_0",thread_id="r1-StreamThread-1"} 50`) {
		t.Errorf("/metrics on StatusAddr: %d\n%s", code, body)
	}
	stop()
	must(t, <-done)
	if _, err := http.Get(url + "/healthz"); err == nil {
		t.Error("the status endpoint still answers after Run returned")
	}
}
