package main

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// expectation is what a workload's output topic shows when the workload is done: count records
// (a stream's output), or the final value of every key of finals (a table's changes: a record
// cache sends fewer updates than records, but the last one of every key is the same).
type expectation struct {
	count  int64
	finals finals
}

func (e expectation) none() bool { return e.count == 0 && e.finals == nil }

// watcher reads a workload's output topic (read_committed under exactly-once: a result counts
// once its transaction committed) and reports when it shows what is expected.
type watcher struct {
	cl      *kgo.Client
	cancel  context.CancelFunc
	count   atomic.Int64 // output records read
	final   atomic.Int64 // keys whose last record holds their final value
	strange atomic.Int64 // records of keys with no final value: wrong results
	want    expectation
	reached chan time.Time
}

func startWatcher(addrs []string, topic string, committed bool, want expectation) (*watcher, error) {
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
	w := &watcher{cl: cl, cancel: cancel, want: want, reached: make(chan time.Time, 1)}
	if want.finals != nil {
		go w.watchFinals(ctx)
	} else {
		go w.watchCount(ctx)
	}
	return w, nil
}

func (w *watcher) watchCount(ctx context.Context) {
	for ctx.Err() == nil {
		n := w.count.Add(int64(w.cl.PollFetches(ctx).NumRecords()))
		if n >= w.want.count {
			w.reached <- time.Now()
			return
		}
	}
}

// watchFinals follows the last value of every key. A key's records are in one partition, in
// order, so the last one read is the key's current value; a key can leave the final state
// again (a replayed older update at least once) and is then counted out.
func (w *watcher) watchFinals(ctx context.Context) {
	idx := make(map[string]int32, len(w.want.finals))
	want := make([]uint64, 0, len(w.want.finals))
	for k, h := range w.want.finals {
		idx[k] = int32(len(want))
		want = append(want, h)
	}
	isFinal := make([]bool, len(want))
	missing := len(want)
	for ctx.Err() == nil {
		fs := w.cl.PollFetches(ctx)
		fs.EachRecord(func(r *kgo.Record) {
			w.count.Add(1)
			i, ok := idx[string(r.Key)]
			if !ok {
				w.strange.Add(1)
				return
			}
			if f := valueHash(r.Value) == want[i]; f != isFinal[i] {
				isFinal[i] = f
				if f {
					missing--
				} else {
					missing++
				}
			}
		})
		w.final.Store(int64(len(want) - missing))
		if missing == 0 {
			w.reached <- time.Now()
			return
		}
	}
}

// status describes how far the output got, for a stall or timeout.
func (w *watcher) status() string {
	if w.want.finals == nil {
		return fmt.Sprintf("%d of %d results", w.count.Load(), w.want.count)
	}
	return fmt.Sprintf("%d of %d keys at their final value (%d results read, %d of unexpected keys)",
		w.final.Load(), len(w.want.finals), w.count.Load(), w.strange.Load())
}

func (w *watcher) close() {
	w.cancel()
	w.cl.Close()
}
