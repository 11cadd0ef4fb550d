package rill

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"

	"github.com/rillstreams/rill/internal/runtime"
	"github.com/rillstreams/rill/standby"
)

// StatusHandler returns the App's status endpoint, to mount on a server of one's own
// (Config.StatusAddr serves it on its own address):
//
//   - /metrics: the metrics, in Prometheus' text format: Config.Metrics when it is also a
//     prometheus.Gatherer (a *prometheus.Registry is), else a registry of the App's own.
//   - /healthz: 200 while the process is alive, 503 once the App is in ERROR.
//   - /readyz: 200 only while the App is RUNNING with every active task restored, else 503.
//   - /topology: the topology as Kafka Streams' describe text; ?format=mermaid for a Mermaid
//     flowchart.
//   - /tasks: JSON of this instance's active and standby tasks with their partitions,
//     offsets, lags and states (see TasksStatus).
func (a *App) StatusHandler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(a.gatherer(), promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		s := a.State()
		if s == Error {
			http.Error(w, s.String(), http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, s)
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		st := a.Tasks()
		if st.State != Running.String() {
			http.Error(w, st.State, http.StatusServiceUnavailable)
			return
		}
		for _, th := range st.Threads {
			for _, t := range th.Active {
				if t.State != string(runtime.TaskRunning) {
					http.Error(w, fmt.Sprintf("task %s is %s", t.TaskID, t.State), http.StatusServiceUnavailable)
					return
				}
			}
		}
		fmt.Fprintln(w, st.State)
	})
	mux.HandleFunc("GET /topology", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if r.URL.Query().Get("format") == "mermaid" {
			fmt.Fprint(w, a.topo.DescribeMermaid())
			return
		}
		fmt.Fprint(w, a.topo.Describe())
	})
	mux.HandleFunc("GET /tasks", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		_ = enc.Encode(a.Tasks())
	})
	return mux
}

func (a *App) gatherer() prometheus.Gatherer {
	if g, ok := a.cfg.Metrics.(prometheus.Gatherer); ok {
		return g
	}
	return a.registry
}

// TasksStatus is what /tasks answers: this instance's stream threads with their tasks.
type TasksStatus struct {
	ApplicationID string         `json:"applicationId"`
	ProcessID     string         `json:"processId"`
	State         string         `json:"state"`
	Threads       []ThreadStatus `json:"threads"`
}

// ThreadStatus is a stream thread's tasks.
type ThreadStatus struct {
	ThreadID string            `json:"threadId"`
	Active   []TaskStatus      `json:"active"`
	Standby  []standby.TaskLag `json:"standby"`
}

// TaskStatus is an active task: RESTORING or RUNNING, its input partitions, what it
// processed and dropped, and its stores' restoration.
type TaskStatus struct {
	TaskID     string            `json:"taskId"`
	State      string            `json:"state"`
	Processed  int64             `json:"processed"`
	Dropped    int64             `json:"dropped"`
	Partitions []PartitionStatus `json:"partitions"`
	Restore    []RestoreStatus   `json:"restore,omitempty"`
}

// PartitionStatus is where an active task stands on an input partition: the next offset to
// process (-1: none yet) and the records left to the partition's end (absent when unknown).
// It is the report a standby gives of a changelog partition (standby.PartitionLag).
type PartitionStatus = standby.PartitionLag

// RestoreStatus is a store's restoration: records read and left.
type RestoreStatus struct {
	Store     string `json:"store"`
	Restored  int64  `json:"restored"`
	Remaining int64  `json:"remaining"`
}

// Tasks returns this instance's tasks, as its stream threads last published them (at most
// a tenth of a second old).
func (a *App) Tasks() TasksStatus {
	out := TasksStatus{ApplicationID: a.cfg.ApplicationID, ProcessID: a.cfg.ProcessID, State: a.State().String(),
		Threads: []ThreadStatus{}}
	parts := func(ps []runtime.PartitionStats) []PartitionStatus {
		out := make([]PartitionStatus, 0, len(ps))
		for _, p := range ps {
			s := PartitionStatus{Topic: p.Topic, Partition: p.Partition, Offset: p.Offset}
			if p.LagKnown {
				s.Lag = &p.Lag
			}
			out = append(out, s)
		}
		return out
	}
	for _, th := range a.rt.Stats() {
		ts := ThreadStatus{ThreadID: th.ThreadID, Active: []TaskStatus{}, Standby: []standby.TaskLag{}}
		for _, t := range th.Active {
			s := TaskStatus{TaskID: t.ID.String(), State: string(t.State), Processed: t.Processed, Dropped: t.Dropped,
				Partitions: parts(t.Inputs)}
			for _, r := range t.Restore {
				s.Restore = append(s.Restore, RestoreStatus{Store: r.Store, Restored: r.Total, Remaining: r.Remaining})
			}
			ts.Active = append(ts.Active, s)
		}
		for _, sb := range th.Standby {
			ts.Standby = append(ts.Standby, standby.TaskLag{TaskID: sb.ID.String(), Changelogs: parts(sb.Changelogs)})
		}
		out.Threads = append(out.Threads, ts)
	}
	return out
}

// serveStatus serves StatusHandler on Config.StatusAddr until ctx is done. The listener is
// open when it returns; a failure to listen fails Run before anything starts.
func (a *App) serveStatus(ctx context.Context) (stop func(), err error) {
	ln, err := net.Listen("tcp", a.cfg.StatusAddr)
	if err != nil {
		return nil, fmt.Errorf("rill: status endpoint: %w", err)
	}
	srv := &http.Server{Handler: a.StatusHandler(), ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.cfg.Logger.Warn("rill: status endpoint stopped", zap.Error(err))
		}
	}()
	a.cfg.Logger.Info("rill: status endpoint", zap.Stringer("addr", ln.Addr()))
	return func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
		<-done
	}, nil
}
