package rill_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/rillstreams/rill"
	"github.com/rillstreams/rill/dsl"
	"github.com/rillstreams/rill/kafkatest"
	"github.com/rillstreams/rill/serde"
	"github.com/rillstreams/rill/standby"
)

// Three instances of a count app with a standby replica each settle on one active and one
// standby task apiece, and their /tasks say so: every task active on exactly one instance
// and standby on another, input offsets adding up to the records produced, no lag. The
// /tasks outputs of docs/metrics.md come from this test: RILL_TASKS_OUT=<file> writes them.
func TestTasksStatusOfThreeInstances(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	broker := newBroker(t, ctx, 3, "orders", "order-counts")
	b := dsl.NewBuilder()
	b.Stream("orders", serde.String(), serde.String()).GroupByKey().Count(dsl.Materialized("orders-per-customer")).
		ToStream().To("order-counts", dsl.WithSerdes(serde.String(), serde.Int64()))
	topo, err := b.Build()
	must(t, err)
	produce := func(from, n int) {
		recs := make([]kafkatest.Record, n)
		for i := range recs {
			recs[i] = kafkatest.Record{Topic: "orders", Key: []byte(fmt.Sprintf("customer-%d", (from+i)%50)),
				Value: []byte(fmt.Sprintf("order-%d", from+i))}
		}
		must(t, broker.Produce(ctx, recs...))
	}
	var urls []string
	start := func(n int) {
		app, err := rill.New(topo, rill.Config{ApplicationID: "order-counts", ProcessID: fmt.Sprintf("instance-%d", n),
			Bootstrap: broker.Addrs(), StateDir: t.TempDir(), CacheMaxBytes: -1, CommitInterval: 100 * time.Millisecond,
			Standby: standby.Config{Replicas: 1, ProbingRebalanceInterval: time.Second}})
		must(t, err)
		srv := httptest.NewServer(app.StatusHandler())
		t.Cleanup(srv.Close)
		urls = append(urls, srv.URL)
		done := make(chan error, 1)
		runCtx, stop := context.WithCancel(ctx)
		go func() { done <- app.Run(runCtx) }()
		t.Cleanup(func() {
			stop()
			if err := <-done; err != nil {
				t.Errorf("instance-%d: Run: %v", n, err)
			}
		})
	}
	start(1)
	produce(0, 1000)
	if got, err := broker.Consume(ctx, "order-counts", 1000, false); err != nil {
		t.Fatalf("%d counts: %v", len(got), err)
	}
	start(2)
	start(3)
	produce(1000, 2000)

	var statuses []rill.TasksStatus
	var bodies [][]byte
	var why string
	for {
		statuses, bodies, why = tasksSettled(t, urls, 3000)
		if why == "" {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the instances never settled: %s\n%s", why, bytes.Join(bodies, []byte("\n")))
		case <-time.After(100 * time.Millisecond):
		}
	}
	var out bytes.Buffer
	for i := range statuses {
		must(t, json.Compact(&out, bodies[i]))
		out.WriteString("\n")
	}
	t.Logf("/tasks of the three instances:\n%s", out.String())
	if f := os.Getenv("RILL_TASKS_OUT"); f != "" {
		must(t, os.WriteFile(f, out.Bytes(), 0o600))
	}
}

// tasksSettled reads /tasks of each instance and says why they have not settled yet ("" once
// they have): each instance RUNNING with one active and one standby task, every task active
// once and standby on another instance, no lag, and input offsets adding up to records.
func tasksSettled(t *testing.T, urls []string, records int64) (statuses []rill.TasksStatus, bodies [][]byte, why string) {
	active, standby := map[string]string{}, map[string]string{}
	var offsets int64
	for _, url := range urls {
		code, body := httpGet(t, url+"/tasks")
		bodies = append(bodies, []byte(body))
		if code != http.StatusOK {
			return nil, bodies, fmt.Sprintf("%s/tasks: %d", url, code)
		}
		var st rill.TasksStatus
		must(t, json.Unmarshal([]byte(body), &st))
		statuses = append(statuses, st)
		if st.State != "RUNNING" || len(st.Threads) != 1 {
			return nil, bodies, st.ProcessID + " is " + st.State
		}
		th := st.Threads[0]
		if len(th.Active) != 1 || len(th.Standby) != 1 {
			return nil, bodies, fmt.Sprintf("%s has %d active and %d standby tasks", st.ProcessID, len(th.Active), len(th.Standby))
		}
		a, s := th.Active[0], th.Standby[0]
		if a.State != "RUNNING" || len(a.Partitions) != 1 || a.Partitions[0].Lag == nil || *a.Partitions[0].Lag != 0 {
			return nil, bodies, fmt.Sprintf("%s: active task %+v", st.ProcessID, a)
		}
		for _, c := range s.Changelogs {
			if c.Lag != nil && *c.Lag != 0 {
				return nil, bodies, fmt.Sprintf("%s: standby %s lags %d", st.ProcessID, s.TaskID, *c.Lag)
			}
		}
		if a.TaskID == s.TaskID || active[a.TaskID] != "" || standby[s.TaskID] != "" {
			return nil, bodies, fmt.Sprintf("%s: active %s, standby %s (active elsewhere: %v, standby elsewhere: %v)",
				st.ProcessID, a.TaskID, s.TaskID, active, standby)
		}
		active[a.TaskID], standby[s.TaskID] = st.ProcessID, st.ProcessID
		offsets += a.Partitions[0].Offset
	}
	if offsets != records {
		return nil, bodies, fmt.Sprintf("input offsets add up to %d, want %d", offsets, records)
	}
	if !strings.HasPrefix(statuses[0].ApplicationID, "order-counts") {
		return nil, bodies, "application id " + statuses[0].ApplicationID
	}
	return statuses, bodies, ""
}
