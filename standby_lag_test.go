package rill_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/rillstreams/rill"
	"github.com/rillstreams/rill/standby"
)

// App.Tasks reports each standby task with its offset and lag on its changelog partition
// (standby.TaskLag), the standby of every stateful task lives on the instance that is not its
// active, and /tasks keeps its JSON shape. Two instances with one replica each hold the
// standbys of each other's tasks: once every input is processed, all of them catch up to a lag
// of 0.
func TestTasksReportStandbyLag(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	broker, _, appID, in, out := standbySetup(t, ctx, "lag", "", failoverPartitions)
	apps := make([]*rill.App, 2)
	for i := range apps {
		app, err := rill.New(failoverTopology(t, in, out, nil), rill.Config{CacheMaxBytes: -1, ApplicationID: appID,
			ProcessID: fmt.Sprintf("p%d", i), Bootstrap: broker.Addrs(), StateDir: t.TempDir(),
			Standby: standby.Config{Replicas: 1}})
		must(t, err)
		apps[i] = app
		runCtx, stop := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- app.Run(runCtx) }()
		t.Cleanup(func() {
			stop()
			if err := <-done; err != nil {
				t.Errorf("instance %d: %v", i, err)
			}
		})
	}
	n := 3000
	must(t, produceAll(ctx, broker, backlog(in, n, 120)))
	if got, err := broker.Consume(ctx, out, n, false); err != nil {
		t.Fatalf("%d of %d outputs: %v", len(got), n, err)
	}
	// A standby knows its changelog's end from the fetches that return records: one that
	// (re)started after the last write reports its lag as unknown until the next. Wait for
	// every standby to exist, then write again.
	for standbys(apps) < failoverPartitions {
		select {
		case <-ctx.Done():
			t.Fatalf("standbys: %d of %d", standbys(apps), failoverPartitions)
		case <-time.After(100 * time.Millisecond):
		}
	}
	must(t, produceAll(ctx, broker, backlog(in, n, 120)))
	if got, err := broker.Consume(ctx, out, 2*n, false); err != nil {
		t.Fatalf("%d of %d outputs: %v", len(got), 2*n, err)
	}
	changelog := appID + "-sums-changelog"
	for {
		caughtUp, applied, problem := map[string]bool{}, false, ""
		for i, app := range apps {
			for _, th := range app.Tasks().Threads {
				active := map[string]bool{}
				for _, a := range th.Active {
					active[a.TaskID] = true
				}
				for _, sb := range th.Standby {
					if active[sb.TaskID] {
						t.Fatalf("instance %d holds task %s both active and standby", i, sb.TaskID)
					}
					if len(sb.Changelogs) != 1 || sb.Changelogs[0].Topic != changelog ||
						fmt.Sprintf("0_%d", sb.Changelogs[0].Partition) != sb.TaskID {
						t.Fatalf("standby %s reports changelogs %+v, want its partition of %s", sb.TaskID, sb.Changelogs, changelog)
					}
					p := sb.Changelogs[0]
					if p.Lag == nil || *p.Lag != 0 {
						problem = fmt.Sprintf("standby %s on instance %d: offset %d, lag %v", sb.TaskID, i, p.Offset, p.Lag)
						continue
					}
					caughtUp[sb.TaskID] = true
					applied = applied || p.Offset > 0
				}
			}
		}
		if len(caughtUp) == failoverPartitions && applied {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("standbys caught up: %d of %d (%s)", len(caughtUp), failoverPartitions, problem)
		case <-time.After(100 * time.Millisecond):
		}
	}
	// The JSON of /tasks: "standby": [{"taskId", "changelogs": [{"topic", "partition", "offset", "lag"}]}].
	raw, err := json.Marshal(apps[0].Tasks())
	must(t, err)
	var doc struct {
		Threads []struct {
			Standby []struct {
				TaskID     string           `json:"taskId"`
				Changelogs []map[string]any `json:"changelogs"`
			} `json:"standby"`
		} `json:"threads"`
	}
	must(t, json.Unmarshal(raw, &doc))
	seen := 0
	for _, th := range doc.Threads {
		for _, sb := range th.Standby {
			seen++
			for _, key := range []string{"topic", "partition", "offset", "lag"} {
				if _, ok := sb.Changelogs[0][key]; !ok || sb.TaskID == "" {
					t.Errorf("standby %q changelog JSON %s lacks %q", sb.TaskID, raw, key)
				}
			}
		}
	}
	if seen == 0 {
		t.Errorf("instance 0 lists no standby in %s", raw)
	}
}

// standbys counts the standby tasks of apps.
func standbys(apps []*rill.App) int {
	n := 0
	for _, app := range apps {
		for _, th := range app.Tasks().Threads {
			n += len(th.Standby)
		}
	}
	return n
}
