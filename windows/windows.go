package windows

import (
	"fmt"
	"time"
)

// All times below are int64 milliseconds (record timestamps, stream time, sizes, grace), the
// unit of Kafka record timestamps: window arithmetic on the hot path stays integer arithmetic.
// Constructors take time.Duration for readability at the call site.

// Window is a time interval of a windowed key. For time windows End is exclusive,
// [Start, End); for sliding and session windows both ends are inclusive, as in Kafka Streams.
type Window struct {
	Start, End int64
}

// Spec is a time-based window definition that dsl.WindowedBy accepts: TimeWindows (tumbling
// and hopping) or SlidingWindows. Both give a windowed table keyed by Windowed[K] whose windows
// have a fixed size; session windows, whose size depends on the data, have their own entry
// point (dsl.SessionWindowedBy). The interface is sealed: only this package implements it.
type Spec interface {
	// Err is the definition's validation error, nil when valid.
	Err() error
	// Size is the length of every window, in milliseconds.
	Size() int64
	// Grace is the grace period, in milliseconds.
	Grace() int64
	spec()
}

// TimeWindows are fixed-size windows aligned to the epoch (Kafka Streams' TimeWindows):
// tumbling windows when they advance by their size, hopping (overlapping) windows when they
// advance by less. A window is [start, start+size) with start a multiple of the advance.
//
// A definition is a value; invalid arguments do not panic but make Err non-nil, and the DSL
// reports that error from Builder.Build with the other wiring errors.
type TimeWindows struct {
	size, advance, grace int64
	err                  error
}

// Tumbling returns non-overlapping windows of the given size: every record falls in exactly
// one window, [n*size, (n+1)*size).
func Tumbling(size time.Duration, opts ...Option) TimeWindows {
	return Hopping(size, size, opts...)
}

// Hopping returns windows of the given size starting every advance: a record falls in
// size/advance windows (rounded up). Advance must be positive and at most size.
func Hopping(size, advance time.Duration, opts ...Option) TimeWindows {
	c := windowOptions(opts)
	w := TimeWindows{size: size.Milliseconds(), advance: advance.Milliseconds(), grace: c.grace, err: c.err}
	switch {
	case w.size <= 0:
		w.err = fmt.Errorf("%w: window size must be at least 1ms, got %v", ErrInvalidWindow, size)
	case w.advance <= 0 || w.advance > w.size:
		w.err = fmt.Errorf("%w: window advance must be at least 1ms and at most the size %v, got %v",
			ErrInvalidWindow, size, advance)
	}
	return w
}

func (w TimeWindows) spec() {}

// Err is the definition's validation error, nil when valid.
func (w TimeWindows) Err() error { return w.err }

// Size is the window length in milliseconds.
func (w TimeWindows) Size() int64 { return w.size }

// Advance is the distance between window starts in milliseconds (the size for tumbling
// windows).
func (w TimeWindows) Advance() int64 { return w.advance }

// Grace is the grace period in milliseconds.
func (w TimeWindows) Grace() int64 { return w.grace }

// Starts returns the start of the first and of the last window that timestamp ts falls in;
// the windows start at first, first+Advance(), ..., last (Kafka Streams'
// TimeWindows.windowsFor, without building a map). ok is false when there is none: for a
// negative timestamp or an invalid definition. Windows never start before 0.
//
//	first, last, ok := w.Starts(ts)
//	for start := first; ok; start += w.Advance() {
//		end := w.End(start)
//		...
//		if start == last {
//			break // stop here rather than compare after the add, which may overflow
//		}
//	}
func (w TimeWindows) Starts(ts int64) (first, last int64, ok bool) {
	if w.err != nil || ts < 0 {
		return 0, 0, false
	}
	last = ts - ts%w.advance
	first = max(0, ts-w.size+w.advance) / w.advance * w.advance
	return first, last, true
}

// End is the (exclusive) end of the window starting at start, bounded to the largest int64.
func (w TimeWindows) End(start int64) int64 { return addSat(start, w.size) }

// WindowsFor returns the windows timestamp ts falls in, by start time. It allocates; the
// aggregation uses Starts.
func (w TimeWindows) WindowsFor(ts int64) []Window {
	first, last, ok := w.Starts(ts)
	if !ok {
		return nil
	}
	out := make([]Window, 0, (last-first)/w.advance+1)
	for s := first; ; s += w.advance {
		out = append(out, Window{Start: s, End: w.End(s)})
		if s == last {
			return out
		}
	}
}

// Closed reports whether the window ending (exclusively) at end is closed at the given stream
// time: stream time has reached end + grace. A closed window takes no more records (Kafka
// Streams' KStreamWindowAggregate drops a record for a window with end <= stream time -
// grace) and its result is final.
func (w TimeWindows) Closed(end, streamTime int64) bool {
	return addSat(end, w.grace) <= streamTime
}

// String describes the definition, e.g. "TimeWindows{size=10000ms, advance=5000ms, grace=0ms}".
func (w TimeWindows) String() string {
	return fmt.Sprintf("TimeWindows{size=%dms, advance=%dms, grace=%dms}", w.size, w.advance, w.grace)
}

// SlidingWindows are the windows of Kafka Streams' SlidingWindows, for aggregation: windows
// of a fixed size maxDifference, both ends inclusive, that exist only where records are. Each
// record creates its left window [ts-maxDifference, ts] (the record is its last) and, when a
// later record falls within maxDifference of it, its right window [ts+1, ts+1+maxDifference]
// (the records just after it). So every distinct set of records no further apart than
// maxDifference is aggregated exactly once, with fewer windows than hopping windows by 1ms.
type SlidingWindows struct {
	diff, grace int64
	err         error
}

// Sliding returns sliding windows whose records are at most maxDifference apart. The
// difference must be at least 1ms.
func Sliding(maxDifference time.Duration, opts ...Option) SlidingWindows {
	c := windowOptions(opts)
	w := SlidingWindows{diff: maxDifference.Milliseconds(), grace: c.grace, err: c.err}
	if w.diff <= 0 {
		// Kafka Streams accepts 0, but a zero-size window holds only records of one timestamp
		// and makes a record's left and right windows meet; nobody means that.
		w.err = fmt.Errorf("%w: sliding window time difference must be at least 1ms, got %v", ErrInvalidWindow, maxDifference)
	}
	return w
}

func (w SlidingWindows) spec() {}

// Err is the definition's validation error, nil when valid.
func (w SlidingWindows) Err() error { return w.err }

// Size is the maximum time difference in milliseconds: every window is [start, start+Size()],
// both inclusive.
func (w SlidingWindows) Size() int64 { return w.diff }

// TimeDifference is Size, under Kafka Streams' name.
func (w SlidingWindows) TimeDifference() int64 { return w.diff }

// Grace is the grace period in milliseconds.
func (w SlidingWindows) Grace() int64 { return w.grace }

// Closed reports whether the window ending (inclusively) at end is closed at the given stream
// time: end + grace < stream time (Kafka Streams' KStreamSlidingWindowAggregate keeps windows
// with end >= stream time - grace). Because the end is inclusive, this is the time-window
// rule with end+1.
func (w SlidingWindows) Closed(end, streamTime int64) bool {
	return addSat(end, w.grace) < streamTime
}

// String describes the definition.
func (w SlidingWindows) String() string {
	return fmt.Sprintf("SlidingWindows{timeDifference=%dms, grace=%dms}", w.diff, w.grace)
}

// SessionWindows group a key's records into sessions of activity (Kafka Streams'
// SessionWindows): records no more than the inactivity gap apart belong to one session,
// [first record, last record], both inclusive. A record that falls within the gap of two
// sessions merges them into one. Sessions never split.
type SessionWindows struct {
	gap, grace int64
	err        error
}

// Session returns session windows with the given inactivity gap (at least 1ms).
func Session(inactivityGap time.Duration, opts ...Option) SessionWindows {
	c := windowOptions(opts)
	w := SessionWindows{gap: inactivityGap.Milliseconds(), grace: c.grace, err: c.err}
	if w.gap <= 0 {
		w.err = fmt.Errorf("%w: session inactivity gap must be at least 1ms, got %v", ErrInvalidWindow, inactivityGap)
	}
	return w
}

// Err is the definition's validation error, nil when valid.
func (w SessionWindows) Err() error { return w.err }

// Gap is the inactivity gap in milliseconds.
func (w SessionWindows) Gap() int64 { return w.gap }

// Grace is the grace period in milliseconds.
func (w SessionWindows) Grace() int64 { return w.grace }

// Closed reports whether the session ending (inclusively) at end is closed at the given
// stream time: no record can extend it any more, even with the grace period, i.e.
// end + gap + grace < stream time (Kafka Streams' KStreamSessionWindowAggregate).
func (w SessionWindows) Closed(end, streamTime int64) bool {
	return addSat(addSat(end, w.gap), w.grace) < streamTime
}

// String describes the definition.
func (w SessionWindows) String() string {
	return fmt.Sprintf("SessionWindows{gap=%dms, grace=%dms}", w.gap, w.grace)
}

// JoinWindows say which records of two streams join (Kafka Streams' JoinWindows): a
// right-side record at time tr joins a left-side record at time tl when
// tl - Before() <= tr <= tl + After(). Stream-stream joins (package joins) buffer records in
// window stores for that long plus the grace period.
//
// Before, After and Grace return int64 milliseconds, like record timestamps.
type JoinWindows struct {
	before, after, grace int64
	err                  error
}

// JoinWithin returns join windows in which records of both sides join when their timestamps
// are at most d apart, in either direction (Kafka Streams' ofTimeDifferenceWithNoGrace, or
// ofTimeDifferenceAndGrace with Grace). Before and After override either side.
func JoinWithin(d time.Duration, opts ...JoinOption) JoinWindows {
	c := joinConfig{before: d.Milliseconds(), after: d.Milliseconds()}
	for _, o := range opts {
		if o != nil {
			o.applyJoin(&c)
		}
	}
	w := JoinWindows{before: c.before, after: c.after, grace: c.grace, err: c.err}
	if w.err == nil && w.before+w.after < 0 {
		w.err = fmt.Errorf("%w: join window before+after must not be negative, got before=%dms after=%dms",
			ErrInvalidWindow, w.before, w.after)
	}
	return w
}

// Err is the definition's validation error, nil when valid.
func (w JoinWindows) Err() error { return w.err }

// Before is how much earlier (ms) than a left-side record a right-side record may be.
func (w JoinWindows) Before() int64 { return w.before }

// After is how much later (ms) than a left-side record a right-side record may be.
func (w JoinWindows) After() int64 { return w.after }

// Grace is the grace period in milliseconds.
func (w JoinWindows) Grace() int64 { return w.grace }

// Size is Before() + After(), in milliseconds.
func (w JoinWindows) Size() int64 { return w.before + w.after }

// String describes the definition.
func (w JoinWindows) String() string {
	return fmt.Sprintf("JoinWindows{before=%dms, after=%dms, grace=%dms}", w.before, w.after, w.grace)
}
