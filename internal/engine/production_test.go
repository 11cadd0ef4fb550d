package engine

import (
	"errors"
	"testing"

	"github.com/rillstreams/rill/processor"
)

// dlCollector is a memCollector that keeps dead letters apart.
type dlCollector struct {
	memCollector
	dead []OutRecord
}

func (c *dlCollector) SendDeadLetter(rec OutRecord) error {
	c.dead = append(c.dead, rec)
	return nil
}

var errTooLarge = errors.New("MESSAGE_TOO_LARGE")

func TestHandleProductionError(t *testing.T) {
	g := newGraph().add(strSource("src", "in")).add(strSink("sink", "out"), "src")
	src := raw("in", 2, 7, 100, "k", "v")
	for _, tc := range []struct {
		name      string
		h         processor.ErrorHandler
		src       *RawRecord
		fail      bool
		dropped   int64
		deadValue string
	}{
		{name: "continue", h: processor.LogAndContinue, src: &src, dropped: 1},
		{name: "continue in a punctuation", h: processor.LogAndContinue, dropped: 1},
		{name: "fail", h: processor.LogAndFail, src: &src, fail: true},
		{name: "dead letter", h: processor.DeadLetterQueue("dlq"), src: &src, dropped: 1, deadValue: "v"},
		{name: "panicking handler", h: func(*processor.ErrorContext, error) processor.Response { panic("boom") }, src: &src, fail: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			col := &dlCollector{}
			spy := &handlerSpy{h: tc.h}
			task, _ := newTask(t, g, Config{Collector: col, ProductionHandler: spy.handle})
			err := task.HandleProductionError("sink", tc.src, errTooLarge)
			if tc.fail {
				te := asTaskError(t, err)
				wantIs(t, err, processor.ErrProduction, errTooLarge)
				wantEqual(t, "node", te.Node, "sink")
			} else if err != nil {
				t.Fatalf("HandleProductionError: %v", err)
			}
			wantEqual(t, "dropped", task.Dropped(), tc.dropped)
			if len(spy.calls) != 1 {
				t.Fatalf("handler called %d times", len(spy.calls))
			}
			ec := spy.calls[0]
			wantEqual(t, "kind", ec.Kind, processor.ProductionError)
			if tc.src != nil {
				wantEqual(t, "input", [3]any{ec.Topic, ec.Partition, ec.Offset}, [3]any{"in", int32(2), int64(7)})
			}
			if tc.deadValue != "" {
				if len(col.dead) != 1 || string(col.dead[0].Value) != tc.deadValue || len(col.recs) != 0 {
					t.Fatalf("dead letters %v, sent %v: want one dead letter through SendDeadLetter", col.dead, col.recs)
				}
			}
		})
	}
}
