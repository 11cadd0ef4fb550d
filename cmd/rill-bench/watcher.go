package main

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// watcher counts the records of a workload's output topic (read_committed under exactly-once:
// a result counts once its transaction committed) and reports when it reaches want.
type watcher struct {
	cl      *kgo.Client
	cancel  context.CancelFunc
	count   atomic.Int64
	reached chan time.Time
}

func startWatcher(addrs []string, topic string, committed bool, want int64) (*watcher, error) {
	opts := []kgo.Opt{kgo.SeedBrokers(addrs...), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(50 * time.Millisecond)}
	if committed {
		opts = append(opts, kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	w := &watcher{cl: cl, cancel: cancel, reached: make(chan time.Time, 1)}
	go func() {
		for ctx.Err() == nil {
			n := w.count.Add(int64(cl.PollFetches(ctx).NumRecords()))
			if n >= want {
				w.reached <- time.Now()
				return
			}
		}
	}()
	return w, nil
}

func (w *watcher) close() {
	w.cancel()
	w.cl.Close()
}
