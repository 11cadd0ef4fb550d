package runtime

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"time"

	"go.uber.org/zap"

	"github.com/rillstreams/rill/internal/engine"
	"github.com/rillstreams/rill/internal/kafka"
	"github.com/rillstreams/rill/processor"
)

// globalThread keeps global tables: it reads every partition of their topics into the global
// tasks' stores, first up to the end (bootstrap, before any stream task runs) and then as they
// grow. Like Kafka Streams' GlobalStreamThread it is one goroutine with one consumer for every
// global sub-topology (each global store has its own, a source and the processor updating
// the store), running one task per sub-topology. The stores are built shared, so stream tasks
// on other goroutines can read them.
type globalThread struct {
	rt      *Runtime
	tasks   []*engine.Task
	byTopic map[string]*engine.Task // each global topic to the task reading it
	topics  []string
	next    map[string]map[int32]int64
}

func newGlobalThread(r *Runtime) (*globalThread, error) {
	g := &globalThread{rt: r, byTopic: map[string]*engine.Task{}, next: map[string]map[int32]int64{}}
	for _, sub := range r.globalSubs {
		task, err := engine.New(engine.Config{
			ID: processor.TaskID{Subtopology: sub.ID, Partition: -1}, ApplicationID: r.cfg.ApplicationID,
			Topology: sub, Collector: noCollector{},
			// One directory for every global store, as Kafka Streams' global state
			// directory: stores keep their files under their own names in it.
			StateDir: r.globalDir(), Logger: r.cfg.Logger,
			Backend: r.cfg.Backend, Shared: true,
			DeserializationHandler: r.cfg.DeserializationHandler, ProcessingHandler: r.cfg.ProcessingHandler,
			ProductionHandler: r.cfg.ProductionHandler,
		})
		if err != nil {
			g.close()
			return nil, err
		}
		g.tasks = append(g.tasks, task)
		for _, n := range sub.Nodes {
			for _, t := range n.Topics {
				g.topics = append(g.topics, t)
				g.byTopic[t] = task
			}
		}
	}
	return g, nil
}

// stores returns the stores of every global task by name: what stream tasks may read.
func (g *globalThread) stores() map[string]processor.Store {
	out := map[string]processor.Store{}
	for _, t := range g.tasks {
		maps.Copy(out, t.Stores())
	}
	return out
}

// noCollector: global processors update stores and forward nothing.
type noCollector struct{}

func (noCollector) Send(rec engine.OutRecord) error {
	return fmt.Errorf("rill: a global store processor tried to produce to %s", rec.Topic)
}

// apply hands records to the tasks of their topics and processes them.
func (g *globalThread) apply(recs ...engine.RawRecord) error {
	for i := range recs {
		t := g.byTopic[recs[i].Topic]
		if t == nil {
			return fmt.Errorf("rill: global record of unknown topic %s", recs[i].Topic)
		}
		if err := t.AddRecords(recs[i]); err != nil {
			return err
		}
	}
	for _, t := range g.tasks {
		for {
			ok, err := t.Process()
			if err != nil {
				return err
			}
			if !ok {
				break
			}
		}
	}
	return nil
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
		kafka.Stall{What: "bootstrap global tables", FailAfter: g.rt.cfg.RestoreStallTimeout, Logger: g.rt.cfg.Logger},
		func(topic string, p int32, offset int64, key, value []byte, ts int64) error {
			n++
			return g.apply(engine.RawRecord{Topic: topic, Partition: p, Offset: offset, Timestamp: ts, Key: key, Value: value})
		})
	if err != nil {
		return fmt.Errorf("rill: bootstrap global tables: %w", err)
	}
	g.next = end
	g.rt.cfg.Logger.Info("rill: global tables bootstrapped", zap.Int("stores", len(g.stores())),
		zapInt64("records", n), zapDur("took", time.Since(began)))
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
			g.rt.cfg.Logger.Warn("rill: global poll", zapErr(err))
		}
		if len(recs) > 0 {
			if err := g.apply(recs...); err != nil {
				return fmt.Errorf("rill: global thread: %w", err)
			}
		}
	}
	return nil
}

func (g *globalThread) close() {
	for _, t := range g.tasks {
		_ = t.Close()
	}
}
