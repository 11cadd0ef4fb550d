package windows

import (
	"errors"
	"fmt"
	"time"
)

// ErrInvalidWindow is matched (errors.Is) by every validation error of a window definition: a
// non-positive size, an advance larger than the size, a negative grace period, ...
var ErrInvalidWindow = errors.New("rill: invalid window")

// Option configures a time, sliding or session window definition. Grace is the only one.
type Option interface{ applyWindow(*windowConfig) }

// JoinOption configures join windows (JoinWithin): Grace, Before and After. Before and After
// are not Options, so passing them to Tumbling or Session does not compile.
type JoinOption interface{ applyJoin(*joinConfig) }

type windowConfig struct {
	grace int64
	err   error
}

type joinConfig struct {
	before, after int64
	grace         int64
	err           error
}

// GraceOption is what Grace returns; every window definition accepts it.
type GraceOption struct{ d time.Duration }

// Grace lets records arrive up to d (of stream time) after their window's end and still be
// counted (Kafka Streams' ofSizeAndGrace / afterWindowEnd). Without it the grace period is
// zero, as Kafka Streams' ofSizeWithNoGrace: a window closes as soon as stream time reaches its
// end. A longer grace tolerates more disorder at the price of later final results (EmitFinal,
// Suppress) and longer store retention. It must not be negative.
func Grace(d time.Duration) GraceOption { return GraceOption{d: d} }

func (o GraceOption) applyWindow(c *windowConfig) {
	c.grace = o.d.Milliseconds()
	if o.d < 0 {
		c.err = fmt.Errorf("%w: grace period must not be negative, got %v", ErrInvalidWindow, o.d)
	}
}

func (o GraceOption) applyJoin(c *joinConfig) {
	c.grace = o.d.Milliseconds()
	if o.d < 0 {
		c.err = fmt.Errorf("%w: grace period must not be negative, got %v", ErrInvalidWindow, o.d)
	}
}

// BeforeOption is what Before returns.
type BeforeOption struct{ d time.Duration }

// Before sets how much earlier than a left-side record a right-side record may be and still
// join (Kafka Streams' JoinWindows.before). It may be negative as long as before + after is
// not.
func Before(d time.Duration) BeforeOption { return BeforeOption{d: d} }

func (o BeforeOption) applyJoin(c *joinConfig) { c.before = o.d.Milliseconds() }

// AfterOption is what After returns.
type AfterOption struct{ d time.Duration }

// After sets how much later than a left-side record a right-side record may be and still join
// (Kafka Streams' JoinWindows.after). It may be negative as long as before + after is not.
func After(d time.Duration) AfterOption { return AfterOption{d: d} }

func (o AfterOption) applyJoin(c *joinConfig) { c.after = o.d.Milliseconds() }

func windowOptions(opts []Option) windowConfig {
	var c windowConfig
	for _, o := range opts {
		if o != nil {
			o.applyWindow(&c)
		}
	}
	return c
}

// addSat adds two non-negative millisecond values, saturating at the largest int64 instead
// of wrapping (Kafka Streams bounds window ends to Long.MAX_VALUE the same way).
func addSat(a, b int64) int64 {
	s := a + b
	if b > 0 && s < a {
		return maxTime
	}
	if b < 0 && s > a {
		return minTime
	}
	return s
}

const (
	maxTime = int64(^uint64(0) >> 1)
	minTime = -maxTime - 1
)
