// Package processor is rill's low-level processing API (Kafka Streams' Processor API): the
// Processor interface every DSL operator is built from, the typed Record that flows between
// nodes, the Context a processor forwards through, punctuation, state store access, and the
// error handlers that decide what happens to records that fail.
//
// # Usage
//
// A processor that forwards the running count of records per key, in a store it was connected
// to, and emits a heartbeat every minute of stream time:
//
//	type counter struct {
//		ctx   processor.Context[string, int64]
//		store *CountStore // a store added with dsl.Builder.AddStateStore
//	}
//
//	func (c *counter) Init(ctx processor.Context[string, int64]) error {
//		c.ctx = ctx
//		s, err := ctx.StateStore("counts")
//		if err != nil {
//			return err
//		}
//		c.store = s.(*CountStore)
//		_, err = ctx.Schedule(time.Minute, processor.StreamTime, func(ts int64) error {
//			return ctx.Forward(processor.Record[string, int64]{Key: "heartbeat", Timestamp: ts})
//		})
//		return err
//	}
//
//	func (c *counter) Process(r processor.Record[string, Order]) error {
//		n := c.store.Incr(r.Key)
//		return c.ctx.Forward(processor.WithValue(r, n))
//	}
//
//	func (c *counter) Close() error { return nil }
//
//	// in the DSL:
//	counts := orders.Process(func() processor.Processor[string, Order, string, int64] {
//		return &counter{}
//	}, dsl.WithStores("counts"))
//
// A task calls Init, Process, punctuators and Close from one goroutine, so processors and
// their stores need no locks. Processors must not read clocks or start goroutines: stream time
// comes from records and wall-clock punctuations from the task, which keeps them
// deterministic under the test driver.
//
// Errors returned from Process go to the processing error handler; records that fail to
// deserialize go to the deserialization handler; records that fail at a sink to the production
// handler. Each handler logs and fails (LogAndFail, the default), logs and skips
// (LogAndContinue), or sends the record to a dead-letter topic (DeadLetterQueue). A task that
// fails returns a *TaskError, which matches ErrDeserialization, ErrProcessing or ErrProduction
// with errors.Is.
package processor
