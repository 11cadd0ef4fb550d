package joins

import (
	"errors"
	"fmt"
	"math"
)

// ErrInvalidWindow is matched by errors about join windows that cannot work: before + after
// negative, or a negative grace period.
var ErrInvalidWindow = errors.New("rill: invalid join window")

// Window is a stream-stream join window in milliseconds (Kafka Streams' JoinWindows): a right
// record at time tr joins a left record at time tl when tl-Before <= tr <= tl+After. Grace is
// how long, in stream time, a window stays open for out-of-order records after its end.
type Window struct {
	Before, After, Grace int64
}

// Validate reports a window no join can use.
func (w Window) Validate() error {
	if w.Before+w.After < 0 || w.Grace < 0 {
		return fmt.Errorf("%w: before=%dms after=%dms grace=%dms (need before+after >= 0, grace >= 0)",
			ErrInvalidWindow, w.Before, w.After, w.Grace)
	}
	return nil
}

// Retention is how long the join buffers keep a record, in milliseconds of the buffer's stream
// time: before + after + grace, as Kafka Streams (at least 1ms, which stores need).
func (w Window) Retention() int64 { return max(1, w.Before+w.After+w.Grace) }

// side is one side's view of the window: the records of the other side it joins are in
// [ts-lookBefore, ts+lookAfter]. The left side looks Before back and After ahead; the right side
// the other way round.
type side struct {
	left                  bool
	lookBefore, lookAfter int64
	grace                 int64
}

func leftSide(w Window) side {
	return side{left: true, lookBefore: w.Before, lookAfter: w.After, grace: w.Grace}
}
func rightSide(w Window) side {
	return side{left: false, lookBefore: w.After, lookAfter: w.Before, grace: w.Grace}
}

// closed tells whether the window of a record of this side at ts has closed at stream time
// st: no record of the other side that could join it can arrive any more without being late.
// A closed window at arrival makes the record late; a closed window of a buffered unmatched
// record lets its left/outer result out.
func (s side) closed(ts, st int64) bool { return satAdd(ts, s.lookAfter+s.grace) < st }

// fetchRange is the range of other-side timestamps that join a record at ts (Kafka Streams
// clamps both ends at 0: timestamps are never negative).
func (s side) fetchRange(ts int64) (from, to int64) {
	return max(0, ts-s.lookBefore), max(0, satAdd(ts, s.lookAfter))
}

func satAdd(a, b int64) int64 {
	s := a + b
	switch {
	case b > 0 && s < a:
		return math.MaxInt64
	case b < 0 && s > a:
		return math.MinInt64
	}
	return s
}
