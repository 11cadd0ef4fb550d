package runtime

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/rillstreams/rill/internal/engine"
	"github.com/rillstreams/rill/internal/kafka"
	"github.com/rillstreams/rill/processor"
)

// globalThread keeps global tables: it reads every partition of their topics into the global
// task's stores, first up to the end (bootstrap, before any stream task runs) and then as they
// grow. The stores are built shared, so stream tasks on other goroutines can read them.
type globalThread struct {
	rt     *Runtime
	task   *engine.Task
	topics []string
	next   map[string]map[int32]int64
}

func newGlobalThread(r *Runtime) (*globalThread, error) {
	id := processor.TaskID{Subtopology: r.globalSub.ID, Partition: -1}
	task, err := engine.New(engine.Config{
		ID: id, ApplicationID: r.cfg.ApplicationID, Topology: r.globalSub, Collector: noCollector{},
		StateDir: filepath.Join(r.cfg.StateDir, r.cfg.ApplicationID, "global"), Logger: r.cfg.Logger,
		Backend: r.cfg.Backend, Shared: true,
		DeserializationHandler: r.cfg.DeserializationHandler, ProcessingHandler: r.cfg.ProcessingHandler,
		ProductionHandler: r.cfg.ProductionHandler,
	})
	if err != nil {
		return nil, err
	}
	g := &globalThread{rt: r, task: task, next: map[string]map[int32]int64{}}
	for _, n := range r.globalSub.Nodes {
		g.topics = append(g.topics, n.Topics...)
	}
	return g, nil
}

// noCollector: global processors update stores and forward nothing.
type noCollector struct{}

func (noCollector) Send(rec engine.OutRecord) error {
	return fmt.Errorf("rill: a global store processor tried to produce to %s", rec.Topic)
}

func (g *globalThread) apply(recs ...engine.RawRecord) error {
	if err := g.task.AddRecords(recs...); err != nil {
		return err
	}
	for {
		ok, err := g.task.Process()
		if err != nil || !ok {
			return err
		}
	}
}

// bootstrap reads every global topic from the start to its current end.
func (g *globalThread) bootstrap(ctx context.Context) error {
	counts, err := g.rt.admin.PartitionCounts(ctx, g.topics...)
	if err != nil {
		return err
	}
	start := map[string]map[int32]int64{}
	for _, t := range g.topics {
		if counts[t] == 0 {
			return fmt.Errorf("rill: global table topic %s does not exist", t)
		}
		start[t] = map[int32]int64{}
		for p := int32(0); p < counts[t]; p++ {
			start[t][p] = 0
		}
	}
	end, err := g.rt.admin.EndOffsets(ctx, g.topics...)
	if err != nil {
		return err
	}
	began := time.Now()
	var n int64
	err = kafka.ReadRange(ctx, g.rt.cfg.Client, start, end, 500*time.Millisecond,
		func(topic string, p int32, offset int64, key, value []byte, ts int64) error {
			n++
			return g.apply(engine.RawRecord{Topic: topic, Partition: p, Offset: offset, Timestamp: ts, Key: key, Value: value})
		})
	if err != nil {
		return fmt.Errorf("rill: bootstrap global tables: %w", err)
	}
	g.next = end
	g.rt.cfg.Logger.Info("rill: global tables bootstrapped")
	_ = n
	_ = began
	return nil
}

// tail keeps the global stores up to date until ctx is done.
func (g *globalThread) tail(ctx context.Context) error {
	t, err := kafka.NewTailer(g.rt.cfg.Client, g.next)
	if err != nil {
		return err
	}
	defer t.Close()
	for ctx.Err() == nil {
		recs, err := t.Poll(ctx)
		if errors.Is(err, kafka.ErrClosed) || ctx.Err() != nil {
			return nil
		}
		if err != nil {
			g.rt.cfg.Logger.Warn("rill: global poll")
		}
		if len(recs) > 0 {
			if err := g.apply(recs...); err != nil {
				return fmt.Errorf("rill: global thread: %w", err)
			}
		}
	}
	return nil
}

func (g *globalThread) close() { _ = g.task.Close() }
