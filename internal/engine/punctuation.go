package engine

import (
	"fmt"
	"runtime/debug"
	"time"

	"github.com/rillstreams/rill/processor"
)

// schedule is one registered punctuation.
type schedule struct {
	node      string
	interval  int64 // milliseconds
	next      int64
	fn        processor.Punctuator
	cancelled bool
}

// punctuationQueue holds a task's punctuations of one type. A task has a handful of them, so a
// slice scanned in registration order is simpler and faster than a heap, and it fires ties in a
// stable order.
type punctuationQueue struct {
	list []*schedule
}

func (t *Task) schedule(node string, interval time.Duration, typ processor.PunctuationType, fn processor.Punctuator) (func(), error) {
	ms := interval.Milliseconds()
	if ms < 1 {
		return nil, fmt.Errorf("%w: got %v", processor.ErrBadInterval, interval)
	}
	if fn == nil {
		return nil, fmt.Errorf("rill: %s scheduled a nil punctuator", node)
	}
	s := &schedule{node: node, interval: ms, fn: fn}
	q := &t.streamSchedule
	if typ == processor.WallClockTime {
		// As Kafka Streams: wall-clock punctuations are aligned to now and first fire one
		// interval later; stream-time ones are aligned to 0 and fire with the first record.
		s.next = t.wallClock + ms
		q = &t.wallSchedule
	}
	q.list = append(q.list, s)
	return func() { s.cancelled = true }, nil
}

// due tells whether a punctuation of q would run at now.
func (q *punctuationQueue) due(now int64) bool {
	if now == processor.UnknownTime {
		return false
	}
	for _, s := range q.list {
		if !s.cancelled && s.next <= now {
			return true
		}
	}
	return false
}

// WallClockDue tells whether AdvanceWallClock(now) would run a punctuation: the owner opens
// a transaction first, since a punctuator may write stores and produce.
func (t *Task) WallClockDue(now int64) bool {
	return t.wallSchedule.due(max(now, t.wallClock))
}

// punctuate runs every due schedule with now, then moves it to its next aligned time,
// skipping the intervals that passed without a punctuation (Kafka Streams'
// PunctuationSchedule.next).
func (t *Task) punctuate(q *punctuationQueue, now int64) error {
	if now == processor.UnknownTime || len(q.list) == 0 {
		return nil
	}
	for i := 0; i < len(q.list); i++ { // the list may grow while punctuating
		s := q.list[i]
		if s.cancelled || s.next > now {
			continue
		}
		if err := t.runPunctuator(s, now); err != nil {
			return err
		}
		next := s.next + s.interval
		if now >= next {
			next = s.next + ((now-s.next)/s.interval+1)*s.interval
		}
		s.next = next
	}
	q.list = compactCancelled(q.list)
	return nil
}

func (t *Task) runPunctuator(s *schedule, now int64) (err error) {
	t.node = s.node
	t.punctuated++
	t.recTS, t.recHeaders = now, nil // a punctuation's record context, as Kafka Streams'
	defer func() {
		t.node = ""
		if p := recover(); p != nil {
			err = t.handle(processor.ProcessingError, s.node, nil, &processor.PanicError{Value: p, Stack: debug.Stack()})
		}
	}()
	if err := s.fn(now); err != nil {
		return t.handle(processor.ProcessingError, s.node, nil, err)
	}
	return nil
}

func compactCancelled(list []*schedule) []*schedule {
	out := list[:0]
	for _, s := range list {
		if !s.cancelled {
			out = append(out, s)
		}
	}
	clear(list[len(out):])
	return out
}
