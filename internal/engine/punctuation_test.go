package engine

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/rillstreams/rill/processor"
)

// punctProc is a processor that schedules one punctuation in Init, logs "rec <ts>" for each
// record and "punct <time>" for each punctuation, and forwards nothing unless told to.
type punctProc struct {
	*fproc[string, string, string, string]
	cancel func()
	fired  []int64
}

func newPunctProc(ev *events, interval time.Duration, typ processor.PunctuationType, fn func(p *punctProc, now int64) error) *punctProc {
	pp := &punctProc{}
	pp.fproc = &fproc[string, string, string, string]{name: "p", ev: ev,
		init: func(ctx processor.Context[string, string]) error {
			cancel, err := ctx.Schedule(interval, typ, func(now int64) error {
				ev.add("punct %d", now)
				pp.fired = append(pp.fired, now)
				if fn != nil {
					return fn(pp, now)
				}
				return nil
			})
			pp.cancel = cancel
			return err
		},
		process: func(ctx processor.Context[string, string], rec processor.Record[string, string]) error {
			ev.add("rec %d", rec.Timestamp)
			return nil
		}}
	return pp
}

func punctGraph(p *punctProc) *graph {
	return newGraph().add(strSource("src", "in")).add(procSpec(p.fproc), "src")
}

// feed queues one record per timestamp on in/0 and processes them one by one.
func feed(t *testing.T, task *Task, timestamps ...int64) {
	t.Helper()
	for _, ts := range timestamps {
		add(t, task, raw("in", 0, 0, ts, "k", "v"))
		if err := processOne(t, task); err != nil {
			t.Fatalf("record at %d: %v", ts, err)
		}
	}
}

func TestStreamTimePunctuationSchedule(t *testing.T) {
	for _, tc := range []struct {
		name       string
		interval   time.Duration
		timestamps []int64
		fires      []int64
		next       int64
	}{
		// Aligned to 0: fires with the first record, then as stream time passes 10, 20, ...;
		// a gap of several intervals fires once and realigns to the next multiple.
		{"gap realigns", 10 * time.Millisecond, []int64{3, 5, 12, 47}, []int64{3, 12, 47}, 50},
		{"first record at 0", 10 * time.Millisecond, []int64{0, 9, 10}, []int64{0, 10}, 20},
		{"first record late", 10 * time.Millisecond, []int64{25}, []int64{25}, 30},
		{"exact multiples", 5 * time.Millisecond, []int64{1, 2, 3, 4, 5, 6, 10}, []int64{1, 5, 10}, 15},
		// Out-of-order records do not move stream time back, so they fire nothing.
		{"out of order", 10 * time.Millisecond, []int64{3, 47, 20, 49, 50}, []int64{3, 47, 50}, 60},
		{"seconds", time.Second, []int64{1500, 1999, 2000, 2001}, []int64{1500, 2000}, 3000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newPunctProc(nil, tc.interval, processor.StreamTime, nil)
			task, _ := newTask(t, punctGraph(p), Config{})
			feed(t, task, tc.timestamps...)
			wantEqual(t, "fired at", p.fired, tc.fires)
			if len(task.streamSchedule.list) != 1 {
				t.Fatalf("%d stream-time schedules, want 1", len(task.streamSchedule.list))
			}
			if got := task.streamSchedule.list[0].next; got != tc.next {
				t.Errorf("next punctuation due at %d, want %d", got, tc.next)
			}
		})
	}
}

func TestStreamTimePunctuationRunsAfterTheRecordWithStreamTime(t *testing.T) {
	ev := &events{}
	var stInPunct []int64
	var mdOK []bool
	var p *punctProc
	p = newPunctProc(ev, 10*time.Millisecond, processor.StreamTime, func(pp *punctProc, now int64) error {
		stInPunct = append(stInPunct, pp.ctx.StreamTime())
		_, ok := pp.ctx.RecordMetadata()
		mdOK = append(mdOK, ok)
		return nil
	})
	task, _ := newTask(t, punctGraph(p), Config{})
	feed(t, task, 3, 5, 12, 47, 50)
	wantEqual(t, "events", ev.list, []string{"init p",
		"rec 3", "punct 3", "rec 5", "rec 12", "punct 12", "rec 47", "punct 47", "rec 50", "punct 50"})
	wantEqual(t, "stream time in punctuator", stInPunct, []int64{3, 12, 47, 50})
	wantEqual(t, "RecordMetadata ok in punctuator", mdOK, []bool{false, false, false, false})

	// Stream time does not move with the wall clock.
	if err := task.AdvanceWallClock(1_000_000); err != nil {
		t.Fatal(err)
	}
	wantEqual(t, "fired", p.fired, []int64{3, 12, 47, 50})
}

func TestStreamTimePunctuationNeedsRecords(t *testing.T) {
	p := newPunctProc(nil, time.Millisecond, processor.StreamTime, nil)
	task, _ := newTask(t, punctGraph(p), Config{})
	if ok, err := task.Process(); ok || err != nil {
		t.Fatalf("Process = %v, %v", ok, err)
	}
	// A record refused for its negative timestamp (and skipped) leaves stream time unknown.
	task.cfg.DeserializationHandler = processor.LogAndContinue
	feed(t, task, -5)
	if len(p.fired) != 0 {
		t.Errorf("fired at %v without a valid record", p.fired)
	}
}

func TestCancelPunctuation(t *testing.T) {
	t.Run("from outside", func(t *testing.T) {
		p := newPunctProc(nil, 10*time.Millisecond, processor.StreamTime, nil)
		task, _ := newTask(t, punctGraph(p), Config{})
		feed(t, task, 3, 12)
		p.cancel()
		p.cancel() // cancelling twice is harmless
		feed(t, task, 25, 100)
		wantEqual(t, "fired", p.fired, []int64{3, 12})
		if n := len(task.streamSchedule.list); n != 0 {
			t.Errorf("%d schedules left after cancel, want 0", n)
		}
	})
	t.Run("from inside the punctuator", func(t *testing.T) {
		p := newPunctProc(nil, 10*time.Millisecond, processor.StreamTime, func(pp *punctProc, now int64) error {
			if now >= 12 {
				pp.cancel()
			}
			return nil
		})
		task, _ := newTask(t, punctGraph(p), Config{})
		feed(t, task, 3, 12, 25, 100)
		wantEqual(t, "fired", p.fired, []int64{3, 12})
		if n := len(task.streamSchedule.list); n != 0 {
			t.Errorf("%d schedules left after cancel, want 0", n)
		}
	})
	t.Run("only the cancelled one", func(t *testing.T) {
		var a, b []int64
		var cancelA func()
		proc := passProc[string, string]("p", nil)
		proc.init = func(ctx processor.Context[string, string]) error {
			var err error
			cancelA, err = ctx.Schedule(10*time.Millisecond, processor.StreamTime, func(now int64) error { a = append(a, now); return nil })
			if err != nil {
				return err
			}
			_, err = ctx.Schedule(10*time.Millisecond, processor.StreamTime, func(now int64) error { b = append(b, now); return nil })
			return err
		}
		task, _ := newTask(t, newGraph().add(strSource("src", "in")).add(procSpec(proc), "src"), Config{})
		feed(t, task, 1)
		cancelA()
		feed(t, task, 11, 21)
		wantEqual(t, "fired a", a, []int64{1})
		wantEqual(t, "fired b", b, []int64{1, 11, 21})
	})
	t.Run("wall clock", func(t *testing.T) {
		p := newPunctProc(nil, 10*time.Millisecond, processor.WallClockTime, func(pp *punctProc, now int64) error {
			pp.cancel()
			return nil
		})
		task, _ := newTask(t, punctGraph(p), Config{})
		for _, now := range []int64{10, 20, 30} {
			if err := task.AdvanceWallClock(now); err != nil {
				t.Fatal(err)
			}
		}
		wantEqual(t, "fired", p.fired, []int64{10})
	})
}

func TestWallClockPunctuation(t *testing.T) {
	ev := &events{}
	p := newPunctProc(ev, 100*time.Millisecond, processor.WallClockTime, nil)
	task, _ := newTask(t, punctGraph(p), Config{WallClock: 1000})

	// Records do not fire wall-clock punctuations.
	feed(t, task, 5000)
	for _, step := range []struct {
		now   int64
		fired []int64
	}{
		{1099, nil},                 // first due one interval after scheduling: 1100
		{1100, []int64{1100}},       // fires with the wall-clock time
		{1350, []int64{1100, 1350}}, // a gap of 2.5 intervals fires once, next due 1400
		{1000, []int64{1100, 1350}}, // the clock does not go back
		{1399, []int64{1100, 1350}},
		{1400, []int64{1100, 1350, 1400}},
		{1400, []int64{1100, 1350, 1400}}, // nothing new at the same time
		{1555, []int64{1100, 1350, 1400, 1555}},
	} {
		if err := task.AdvanceWallClock(step.now); err != nil {
			t.Fatalf("AdvanceWallClock(%d): %v", step.now, err)
		}
		wantEqual(t, "fired after AdvanceWallClock", p.fired, step.fired)
	}
	if got := task.wallSchedule.list[0].next; got != 1600 {
		t.Errorf("next wall-clock punctuation due at %d, want 1600", got)
	}
	wantEqual(t, "events", ev.list, []string{"init p", "rec 5000", "punct 1100", "punct 1350", "punct 1400", "punct 1555"})
}

func TestWallClockPunctuationAlignedToScheduling(t *testing.T) {
	var fired []int64
	proc := passProc[string, string]("p", nil)
	proc.process = func(ctx processor.Context[string, string], rec processor.Record[string, string]) error {
		_, err := ctx.Schedule(30*time.Millisecond, processor.WallClockTime, func(now int64) error { fired = append(fired, now); return nil })
		return err
	}
	task, _ := newTask(t, newGraph().add(strSource("src", "in")).add(procSpec(proc), "src"), Config{WallClock: 7})
	if err := task.AdvanceWallClock(1000); err != nil {
		t.Fatal(err)
	}
	feed(t, task, 1) // schedules at wall-clock 1000: first due 1030
	for _, now := range []int64{1029, 1030, 1059, 1061} {
		if err := task.AdvanceWallClock(now); err != nil {
			t.Fatal(err)
		}
	}
	wantEqual(t, "fired", fired, []int64{1030, 1061})
}

func TestScheduleRejectsIntervalsUnderOneMillisecond(t *testing.T) {
	intervals := []time.Duration{0, -time.Millisecond, time.Microsecond, 999 * time.Microsecond, time.Millisecond}
	errs := make([]error, len(intervals))
	cancels := make([]func(), len(intervals))
	var nilFnErr error
	proc := passProc[string, string]("p", nil)
	proc.init = func(ctx processor.Context[string, string]) error {
		for i, d := range intervals {
			cancels[i], errs[i] = ctx.Schedule(d, processor.StreamTime, func(int64) error { return nil })
		}
		_, nilFnErr = ctx.Schedule(time.Second, processor.WallClockTime, nil)
		return nil
	}
	task, _ := newTask(t, newGraph().add(strSource("src", "in")).add(procSpec(proc), "src"), Config{})
	for i, d := range intervals[:4] {
		if !errors.Is(errs[i], processor.ErrBadInterval) || cancels[i] != nil {
			t.Errorf("Schedule(%v) = %v, %v; want nil, ErrBadInterval", d, cancels[i] != nil, errs[i])
		}
	}
	if errs[4] != nil || cancels[4] == nil {
		t.Errorf("Schedule(1ms) = %v, %v; want a cancel func and no error", cancels[4] != nil, errs[4])
	}
	if nilFnErr == nil {
		t.Error("Schedule with a nil punctuator succeeded")
	}
	if n := len(task.streamSchedule.list) + len(task.wallSchedule.list); n != 1 {
		t.Errorf("%d schedules registered, want 1", n)
	}
}

func TestPunctuatorErrorGoesToProcessingHandler(t *testing.T) {
	errPunct := errors.New("flush to remote failed")
	failing := func(*punctProc, int64) error { return errPunct }

	t.Run("fail", func(t *testing.T) {
		p := newPunctProc(nil, 10*time.Millisecond, processor.StreamTime, failing)
		task, _ := newTask(t, punctGraph(p), Config{})
		add(t, task, raw("in", 0, 6, 3, "k", "v"))
		err := processOne(t, task)
		wantIs(t, err, processor.ErrProcessing, errPunct)
		te := asTaskError(t, err)
		// Not on a record: no topic, partition and offset -1.
		wantEqual(t, "task error", *te, processor.TaskError{Kind: processor.ProcessingError, TaskID: testTaskID,
			Node: "p", Partition: -1, Offset: -1, Err: errPunct})
	})
	t.Run("continue", func(t *testing.T) {
		spy := &handlerSpy{h: processor.LogAndContinue}
		p := newPunctProc(nil, 10*time.Millisecond, processor.StreamTime, failing)
		task, _ := newTask(t, punctGraph(p), Config{ProcessingHandler: spy.handle})
		feed(t, task, 3, 15)
		wantEqual(t, "fired", p.fired, []int64{3, 15}) // the schedule goes on
		if len(spy.calls) != 2 {
			t.Fatalf("handler called %d times, want 2", len(spy.calls))
		}
		wantEqual(t, "error context", spy.calls[0], processor.ErrorContext{Kind: processor.ProcessingError,
			TaskID: testTaskID, Node: "p", Partition: -1, Offset: -1})
		wantIs(t, spy.errs[0], errPunct)
	})
	t.Run("wall clock", func(t *testing.T) {
		p := newPunctProc(nil, 10*time.Millisecond, processor.WallClockTime, failing)
		task, _ := newTask(t, punctGraph(p), Config{})
		err := task.AdvanceWallClock(10)
		wantIs(t, err, processor.ErrProcessing, errPunct)
		if te := asTaskError(t, err); te.Node != "p" || te.Topic != "" {
			t.Errorf("task error node %q topic %q, want p and none", te.Node, te.Topic)
		}
	})
	t.Run("dead letter queue sends nothing", func(t *testing.T) {
		p := newPunctProc(nil, 10*time.Millisecond, processor.StreamTime, failing)
		task, col := newTask(t, punctGraph(p), Config{ProcessingHandler: processor.DeadLetterQueue("dlq")})
		feed(t, task, 3)
		if len(col.recs) != 0 {
			t.Errorf("sent %v; there is no input record to dead-letter in a punctuation", col.values())
		}
	})
}

func TestPunctuatorPanicIsHandled(t *testing.T) {
	boom := func(_ *punctProc, now int64) error {
		if now < 10 {
			panic("boom")
		}
		return nil
	}
	t.Run("fail", func(t *testing.T) {
		p := newPunctProc(nil, 10*time.Millisecond, processor.StreamTime, boom)
		task, _ := newTask(t, punctGraph(p), Config{})
		add(t, task, raw("in", 0, 0, 3, "k", "v"))
		err := processOne(t, task) // a panic escaping here fails the whole test binary
		wantIs(t, err, processor.ErrProcessing)
		te := asTaskError(t, err)
		if te.Node != "p" || te.Kind != processor.ProcessingError || !strings.Contains(err.Error(), "boom") {
			t.Errorf("task error = %+v, want a processing error of node p mentioning the panic", te)
		}
	})
	t.Run("continue", func(t *testing.T) {
		spy := &handlerSpy{h: processor.LogAndContinue}
		p := newPunctProc(nil, 10*time.Millisecond, processor.StreamTime, boom)
		task, _ := newTask(t, punctGraph(p), Config{ProcessingHandler: spy.handle})
		feed(t, task, 3, 5, 12)
		wantEqual(t, "fired", p.fired, []int64{3, 12})
		if len(spy.calls) != 1 || spy.calls[0].Node != "p" || !strings.Contains(spy.errs[0].Error(), "boom") {
			t.Errorf("handler calls %+v, errors %v; want one for node p about the panic", spy.calls, spy.errs)
		}
	})
	t.Run("wall clock", func(t *testing.T) {
		p := newPunctProc(nil, 5*time.Millisecond, processor.WallClockTime, boom)
		task, _ := newTask(t, punctGraph(p), Config{})
		wantIs(t, task.AdvanceWallClock(5), processor.ErrProcessing)
	})
}

func TestPunctuatorForwardsDownstream(t *testing.T) {
	p := newPunctProc(nil, 10*time.Millisecond, processor.WallClockTime, func(pp *punctProc, now int64) error {
		return pp.ctx.Forward(processor.Record[string, string]{Key: "tick", Value: "t", Timestamp: now})
	})
	task, col := newTask(t, punctGraph(p).add(strSink("sink", "out"), "p"), Config{})
	if err := task.AdvanceWallClock(25); err != nil {
		t.Fatal(err)
	}
	wantEqual(t, "sent", col.recs, []OutRecord{{Topic: "out", Partition: -1, Timestamp: 25, Key: []byte("tick"), Value: []byte("t")}})
}
