package kafka

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// maxBufferedRecords is the producer's buffer (franz-go's default, named so that the watch
// can tell a full buffer).
const maxBufferedRecords = 50_000

// ErrProduceStuck fails the records of a session whose producer buffer stayed full with no
// record acknowledged for its BlockTimeout: the brokers take nothing.
var ErrProduceStuck = errors.New("rill: producer blocked: its buffer is full and no record was acknowledged")

// produceWatch bounds franz-go's Produce, which blocks while the producer's buffer is full
// for as long as its context lives. A context per record would cost an allocation on the hot
// path; instead every record of the session shares one context, and a goroutine cancels it
// (with ErrProduceStuck as the cause) when the buffer has been full and no record was
// acknowledged for the bound. The stream thread then sees its sends fail, a fatal produce
// error, and stops instead of hanging with the app's shutdown behind it (issue 14).
type produceWatch struct {
	ctx    context.Context
	cancel context.CancelCauseFunc
	// acked counts the records acknowledged (or failed): progress.
	acked atomic.Int64
	done  chan struct{}
	once  sync.Once
}

// start arms the watch over cl's producer; without a bound the context never ends.
func (w *produceWatch) start(cl *kgo.Client, bound time.Duration) {
	w.ctx, w.cancel = context.WithCancelCause(context.Background())
	w.done = make(chan struct{})
	if bound <= 0 {
		return
	}
	go w.run(cl, bound)
}

func (w *produceWatch) run(cl *kgo.Client, bound time.Duration) {
	tick := time.NewTicker(min(bound/4, time.Second))
	defer tick.Stop()
	last := w.acked.Load()
	var stuckSince time.Time
	for {
		select {
		case <-w.done:
			return
		case now := <-tick.C:
			acked := w.acked.Load()
			if acked != last || cl.BufferedProduceRecords() < maxBufferedRecords {
				last, stuckSince = acked, time.Time{}
				continue
			}
			if stuckSince.IsZero() {
				stuckSince = now
				continue
			}
			if now.Sub(stuckSince) >= bound {
				w.cancel(ErrProduceStuck)
				return
			}
		}
	}
}

// stop ends the watch.
func (w *produceWatch) stop() {
	w.once.Do(func() {
		if w.done != nil {
			close(w.done)
			w.cancel(context.Canceled)
		}
	})
}
