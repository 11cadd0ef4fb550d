// Package rill runs stream-processing topologies on Kafka: Kafka Streams for Go. Build a
// topology with package dsl, test it with streamstest, run it with an App.
//
// # Usage
//
//	b := dsl.NewBuilder()
//	b.Stream("orders", serde.String(), serde.JSON[Order]()).
//		Filter(func(_ string, o Order) bool { return o.Total > 100 }).
//		To("big-orders")
//	topo, err := b.Build()
//	if err != nil { ... }
//	app, err := rill.New(topo, rill.Config{
//		ApplicationID: "big-orders", Bootstrap: []string{"localhost:9092"},
//		ProcessingGuarantee: rill.ExactlyOnceV2,
//	})
//	if err != nil { ... }
//	err = app.Run(ctx) // until ctx is cancelled or a fatal error
//
// An App runs NumThreads stream threads, each a member of the consumer group named by the
// application id, with one task per input partition of each sub-topology; tasks keep their
// state in RocksDB (or memory) stores backed by compacted changelog topics, restored on
// start from a checkpoint. Under ExactlyOnceV2 each commit is one Kafka transaction holding
// outputs, changelog records and input offsets.
//
// # Interactive queries
//
// A running App's stores answer typed queries from any goroutine (KeyValueStore, WindowStore,
// SessionStore); QueryMetadataForKey and AllMetadata tell which instance (by its
// ApplicationServer) holds a key; package iq serves stores over HTTP and routes lookups:
//
//	counts := rill.KeyValueStore(app, "counts", serde.String(), serde.Int64())
//	row, ok, err := counts.Get(ctx, "alice") // rill.IsRetriable(err): ask md.Active
//	md, err := counts.Metadata("alice")
package rill

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/rillstreams/rill/internal/kafka"
	"github.com/rillstreams/rill/internal/runtime"
	"github.com/rillstreams/rill/internal/topoaccess"
	"github.com/rillstreams/rill/processor"
	"github.com/rillstreams/rill/state/rocksdb"
	"github.com/rillstreams/rill/topology"
)

// RestoreEvent reports one finished restoration: an active task's stores brought up to the
// end of their changelogs before it runs. Standbys tailing changelogs do not report.
type RestoreEvent struct {
	// Task is the restored task.
	Task processor.TaskID
	// Records is the number of changelog records applied.
	Records int64
	// Duration is how long the restoration took.
	Duration time.Duration
	// FromStandby tells that the task was promoted from a standby (or warm-up) replica this
	// instance kept: Records is then only the tail the standby had not applied yet.
	FromStandby bool
}

// restoreListener converts the runtime's events at the package boundary (nil: none).
func restoreListener(l func(RestoreEvent)) func(runtime.RestoreEvent) {
	if l == nil {
		return nil
	}
	return func(e runtime.RestoreEvent) {
		l(RestoreEvent{Task: e.Task, Records: e.Records, Duration: e.Duration, FromStandby: e.FromStandby})
	}
}

// Errors of New and Run.
var (
	ErrInvalidConfig = errors.New("rill: invalid config")
	ErrAlreadyRun    = errors.New("rill: app already started")
	// ErrStateDirLocked: another instance runs on the same <StateDir>/<ApplicationID>.
	ErrStateDirLocked = runtime.ErrStateDirLocked
	// ErrAuthentication: the brokers refused the SASL credentials (Config.SASL).
	ErrAuthentication = kafka.ErrAuthentication
	// ErrShutdownRequested: Run stopped because an instance of the application (this one or
	// another) had a stream thread fail and its ThreadFailureHandler answered
	// ShutdownApplication.
	ErrShutdownRequested = runtime.ErrShutdownRequested
)

// App runs a topology against Kafka.
type App struct {
	cfg     Config
	topo    *topology.Topology
	rt      *runtime.Runtime
	backend *rocksdb.Backend // owned when the default backend was made here
	// registry holds the App's metrics for StatusHandler when Config.Metrics cannot serve
	// them.
	registry *prometheus.Registry

	// mu protects started, cancel and done.
	mu      sync.Mutex
	started bool
	cancel  context.CancelFunc
	done    chan struct{}
}

// New checks cfg and prepares an App for topo (a sealed topology, from dsl.Builder.Build).
func New(topo *topology.Topology, cfg Config) (*App, error) {
	if topo == nil || len(topoaccess.Subtopologies(topo)) == 0 {
		return nil, fmt.Errorf("%w: topology is nil or not built", ErrInvalidConfig)
	}
	cfg.defaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	a := &App{cfg: cfg, topo: topo, done: make(chan struct{})}
	backend := cfg.StoreBackend
	if backend == nil {
		b, err := rocksdb.NewBackend(rocksdb.Config{})
		if err != nil {
			return nil, err
		}
		a.backend, backend = b, b
	}
	var sasl *kafka.SASL
	if cfg.Security.SASL != nil {
		sasl = &kafka.SASL{Mechanism: cfg.Security.SASL.Mechanism, Username: cfg.Security.SASL.Username, Password: cfg.Security.SASL.Password,
			Token: cfg.Security.SASL.Token}
	}
	var last State
	var stMu sync.Mutex
	rt, err := runtime.New(topo, runtime.Config{
		ApplicationID: cfg.ApplicationID,
		Client: kafka.ClientConfig{Bootstrap: cfg.Bootstrap, ClientID: cfg.ApplicationID, TLS: cfg.Security.TLS, SASL: sasl,
			Logger: cfg.Logger, GroupInstanceID: cfg.GroupInstanceID, Opts: slices.Clone(cfg.ClientOptions)},
		StateDir: cfg.StateDir, ProcessID: cfg.ProcessID, NumThreads: cfg.NumThreads,
		ExactlyOnce: cfg.ProcessingGuarantee == ExactlyOnceV2, CommitInterval: cfg.CommitInterval,
		MaxPollRecords: cfg.MaxPollRecords, Standby: cfg.Standby,
		ApplicationServer: cfg.ApplicationServer, ReplicationFactor: int16(cfg.ReplicationFactor),
		Backend: backend, Logger: cfg.Logger,
		DeserializationHandler: cfg.ErrorHandlers.Deserialization, ProcessingHandler: cfg.ErrorHandlers.Processing,
		ProductionHandler: cfg.ErrorHandlers.Production,
		SessionTimeout:    cfg.SessionTimeout, RestoreStallTimeout: cfg.RestoreStallTimeout,
		MaxTaskIdle: cfg.MaxTaskIdle, BufferedRecordsPerPartition: cfg.BufferedRecordsPerPartition,
		RestoreListener: restoreListener(cfg.RestoreListener), CacheMaxBytes: cfg.CacheMaxBytes,
		DebugMetrics: cfg.MetricsLevel >= MetricsDebug, StateRestoreListener: cfg.StateRestoreListener,
		StandbyUpdateListener: cfg.StandbyUpdateListener,
		TimestampExtractor:    cfg.TimestampExtractor, RepartitionPurgeInterval: cfg.RepartitionPurgeInterval,
		OnThreadFailure: threadFailure(cfg.ErrorHandlers.ThreadFailure),
		OnState: func(rs runtime.State) {
			s := stateOf(rs)
			stMu.Lock()
			old := last
			last = s
			stMu.Unlock()
			cfg.Logger.Info("rill: state", zap.Stringer("from", old), zap.Stringer("to", s))
			if cfg.StateListener != nil {
				cfg.StateListener(old, s)
			}
		},
	})
	if err != nil {
		if a.backend != nil {
			a.backend.Close()
		}
		return nil, err
	}
	a.rt = rt
	c := &collector{rt: rt, level: cfg.MetricsLevel}
	a.registry = prometheus.NewRegistry()
	a.registry.MustRegister(c)
	if cfg.Metrics != nil {
		if err := cfg.Metrics.Register(c); err != nil {
			if a.backend != nil {
				a.backend.Close()
			}
			return nil, fmt.Errorf("%w: register metrics: %w", ErrInvalidConfig, err)
		}
	}
	return a, nil
}

// Run runs the app until ctx is cancelled (returning nil) or a fatal error (returning it).
// Tasks are committed and closed cleanly, and the instance leaves the group, either way. An
// App runs once.
func (a *App) Run(ctx context.Context) error {
	a.mu.Lock()
	if a.started {
		a.mu.Unlock()
		return ErrAlreadyRun
	}
	a.started = true
	ctx, a.cancel = context.WithCancel(ctx)
	a.mu.Unlock()
	defer close(a.done)
	defer func() {
		if a.backend != nil {
			a.backend.Close()
		}
	}()
	if a.cfg.StatusAddr != "" {
		stop, err := a.serveStatus(ctx)
		if err != nil {
			return err
		}
		defer stop()
	}
	return a.rt.Run(ctx)
}

// Close stops a running app and waits until it has stopped or ctx is done.
func (a *App) Close(ctx context.Context) error {
	a.mu.Lock()
	started, cancel := a.started, a.cancel
	a.mu.Unlock()
	if !started {
		if a.backend != nil {
			a.backend.Close()
		}
		return nil
	}
	cancel()
	select {
	case <-a.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// State returns the app's state.
func (a *App) State() State { return stateOf(a.rt.State()) }

// threadFailure adapts the user's ThreadFailureHandler to the runtime's.
func threadFailure(h func(error) ThreadFailureResponse) func(int, error) runtime.FailureResponse {
	if h == nil {
		return nil
	}
	return func(_ int, err error) runtime.FailureResponse {
		switch h(err) {
		case ReplaceThread:
			return runtime.ReplaceThread
		case ShutdownApplication:
			return runtime.ShutdownApplication
		default:
			return runtime.ShutdownClient
		}
	}
}
