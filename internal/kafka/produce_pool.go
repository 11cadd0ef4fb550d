package kafka

import (
	"context"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Promise is told the fate of a record sent with Session.ProduceTo, on a franz-go goroutine:
// its topic and offset, or the error. arg is what the sender passed along with the record.
// One Promise value serves many records, so that a send allocates no callback.
type Promise interface {
	Produced(arg any, topic string, offset int64, err error)
}

// PromiseFunc is a Promise that ignores arg.
type PromiseFunc func(offset int64, err error)

func (f PromiseFunc) Produced(_ any, _ string, offset int64, err error) { f(offset, err) }

// sendRecord is a pooled kgo.Record with what its promise needs. It is the record's context
// too (franz-go hands the promise only the *kgo.Record, and keeps Context as given): the
// promise finds it there without a closure, and a sink's custom partitioner finds its
// function in Value. franz-go does not touch a record after its promise ran, so the promise
// puts it back in the pool last.
type sendRecord struct {
	rec         kgo.Record
	s           *Session
	parent      context.Context // the produce context (the session's watch)
	partitioner func(int32) (int32, bool)
	promise     Promise
	arg         any
}

var sendRecords = sync.Pool{New: func() any { return new(sendRecord) }}

func (r *sendRecord) Deadline() (time.Time, bool) { return r.parent.Deadline() }
func (r *sendRecord) Done() <-chan struct{}       { return r.parent.Done() }
func (r *sendRecord) Err() error                  { return r.parent.Err() }
func (r *sendRecord) Value(key any) any {
	if _, ok := key.(recordPartitionerKey); ok && r.partitioner != nil {
		return r.partitioner
	}
	return r.parent.Value(key)
}

// release clears r, keeping its headers' capacity, and returns it to the pool.
func (r *sendRecord) release() {
	h := r.rec.Headers[:0]
	clear(r.rec.Headers)
	*r = sendRecord{}
	r.rec.Headers = h
	sendRecords.Put(r)
}
