package fkjoin

import (
	"time"

	"github.com/rillstreams/rill/processor"
)

// fakeCtx is a processor.Context for driving one processor by hand.
type fakeCtx[K, V any] struct {
	out        []processor.Record[K, V]
	stores     map[string]processor.Store
	streamTime int64
	dropped    []string
	partition  int32
}

func (c *fakeCtx[K, V]) Forward(r processor.Record[K, V]) error {
	c.out = append(c.out, r)
	return nil
}
func (c *fakeCtx[K, V]) ForwardTo(_ string, r processor.Record[K, V]) error { return c.Forward(r) }
func (c *fakeCtx[K, V]) Schedule(time.Duration, processor.PunctuationType, processor.Punctuator) (func(), error) {
	return func() {}, nil
}
func (c *fakeCtx[K, V]) StateStore(name string) (processor.Store, error) {
	if s, ok := c.stores[name]; ok {
		return s, nil
	}
	return nil, processor.ErrUnknownStore
}
func (c *fakeCtx[K, V]) RecordMetadata() (processor.RecordMetadata, bool) {
	return processor.RecordMetadata{Topic: "t", Partition: c.partition}, true
}
func (c *fakeCtx[K, V]) TaskID() processor.TaskID       { return processor.TaskID{} }
func (c *fakeCtx[K, V]) StreamTime() int64              { return c.streamTime }
func (c *fakeCtx[K, V]) ApplicationID() string          { return "test" }
func (c *fakeCtx[K, V]) RecordDropped(reason string)    { c.dropped = append(c.dropped, reason) }
func (c *fakeCtx[K, V]) take() []processor.Record[K, V] { out := c.out; c.out = nil; return out }
