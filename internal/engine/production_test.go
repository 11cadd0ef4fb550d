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

// lastDLCollector also tells a record's last dead letters apart.
type lastDLCollector struct {
	dlCollector
	last []OutRecord
}

func (c *lastDLCollector) SendLastDeadLetter(rec OutRecord) error {
	c.last = append(c.last, rec)
	return nil
}

// A dead letter the producer failed to write goes to the production handler: Continue does
// not count the record as dropped again, and a dead-letter answer is sent as the last one.
func TestHandleDeadLetterError(t *testing.T) {
	g := newGraph().add(strSource("src", "in")).add(strSink("sink", "out"), "src")
	src := raw("in", 2, 7, 100, "k", "v")
	for _, tc := range []struct {
		name       string
		h          processor.ErrorHandler
		fail       bool
		last, dead int
	}{
		{name: "continue", h: processor.LogAndContinue},
		{name: "fail", h: processor.LogAndFail, fail: true},
		{name: "dead letter again", h: processor.DeadLetterQueue("dlq2"), last: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			col := &lastDLCollector{}
			spy := &handlerSpy{h: tc.h}
			task, _ := newTask(t, g, Config{Collector: col, ProductionHandler: spy.handle})
			err := task.HandleDeadLetterError(&src, errTooLarge)
			if tc.fail {
				wantIs(t, err, processor.ErrProduction, errTooLarge)
			} else if err != nil {
				t.Fatalf("HandleDeadLetterError: %v", err)
			}
			wantEqual(t, "dropped", task.Dropped(), int64(0))
			wantEqual(t, "last dead letters", len(col.last), tc.last)
			wantEqual(t, "ordinary dead letters", len(col.dead), tc.dead)
			if len(spy.calls) != 1 {
				t.Fatalf("handler called %d times", len(spy.calls))
			}
			// Afterwards a dead letter is an ordinary one again.
			col.last, col.dead = nil, nil
			spy.h = processor.DeadLetterQueue("dlq")
			if err := task.HandleProductionError("sink", &src, errTooLarge); err != nil {
				t.Fatal(err)
			}
			wantEqual(t, "dead letters after", [2]int{len(col.dead), len(col.last)}, [2]int{1, 0})
		})
	}
}
