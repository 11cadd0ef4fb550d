package windows

import (
	"errors"
	"reflect"
	"testing"
	"time"
)

const ms = time.Millisecond

// The first three cases are Kafka Streams' TimeWindowsTest
// (shouldComputeWindowsForHoppingWindows, ...BarelyOverlappingHoppingWindows,
// ...TumblingWindows).
func TestWindowsForKafkaCases(t *testing.T) {
	for _, c := range []struct {
		name string
		w    TimeWindows
		ts   int64
		want []Window
	}{
		{"hopping", Hopping(12*ms, 5*ms), 21, []Window{{10, 22}, {15, 27}, {20, 32}}},
		{"barely overlapping", Hopping(6*ms, 5*ms), 7, []Window{{5, 11}}},
		{"tumbling", Tumbling(12 * ms), 21, []Window{{12, 24}}},
		{"tumbling at start", Tumbling(10 * ms), 10, []Window{{10, 20}}},
		{"tumbling just before end", Tumbling(10 * ms), 9, []Window{{0, 10}}},
		{"hopping near zero", Hopping(10*ms, 3*ms), 2, []Window{{0, 10}}},
		{"zero", Hopping(10*ms, 5*ms), 0, []Window{{0, 10}}},
		{"negative", Tumbling(10 * ms), -1, nil},
	} {
		if got := c.w.WindowsFor(c.ts); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: WindowsFor(%d) = %v, want %v", c.name, c.ts, got, c.want)
		}
	}
}

// TestWindowsForModel checks Starts against the definition: every window [s, s+size) with s
// a non-negative multiple of advance that contains ts, and nothing else.
func TestWindowsForModel(t *testing.T) {
	for size := int64(1); size <= 13; size++ {
		for adv := int64(1); adv <= size; adv++ {
			w := Hopping(time.Duration(size)*ms, time.Duration(adv)*ms)
			if w.Err() != nil {
				t.Fatal(w.Err())
			}
			for ts := int64(0); ts < 60; ts++ {
				var want []Window
				for s := int64(0); s <= ts; s += adv {
					if ts < s+size {
						want = append(want, Window{s, s + size})
					}
				}
				if got := w.WindowsFor(ts); !reflect.DeepEqual(got, want) {
					t.Fatalf("size %d advance %d ts %d: got %v, want %v", size, adv, ts, got, want)
				}
			}
		}
	}
}

func TestWindowEndSaturates(t *testing.T) {
	w := Tumbling(10 * ms)
	if got := w.End(maxTime - 5); got != maxTime {
		t.Fatalf("End near max = %d, want %d", got, maxTime)
	}
	if got := w.WindowsFor(maxTime); len(got) != 1 || got[0].End != maxTime {
		t.Fatalf("WindowsFor(max) = %v", got)
	}
}

// Close rules, each as Kafka Streams compares: time windows drop at end + grace <=
// streamTime (KStreamWindowAggregate: windowEnd > closeTime keeps), sliding windows at
// end + grace < streamTime (KStreamSlidingWindowAggregate: windowEnd >= closeTime keeps),
// sessions at end + gap + grace < streamTime (KStreamSessionWindowAggregate).
func TestClosed(t *testing.T) {
	tw := Tumbling(10*ms, Grace(5*ms))
	if tw.Closed(10, 14) || !tw.Closed(10, 15) {
		t.Error("time window [0,10) grace 5 must close exactly at stream time 15")
	}
	sw := Sliding(10*ms, Grace(5*ms))
	if sw.Closed(10, 15) || !sw.Closed(10, 16) {
		t.Error("sliding window [0,10] grace 5 must close exactly at stream time 16")
	}
	ss := Session(10*ms, Grace(5*ms))
	if ss.Closed(10, 25) || !ss.Closed(10, 26) {
		t.Error("session ending 10, gap 10, grace 5 must close exactly at stream time 26")
	}
	if !Tumbling(10*ms).Closed(10, 10) {
		t.Error("no grace: a time window closes when stream time reaches its end")
	}
	if Tumbling(10*ms, Grace(time.Duration(maxTime))).Closed(maxTime, maxTime-1) {
		t.Error("close time must saturate, not wrap")
	}
}

func TestValidation(t *testing.T) {
	for _, c := range []struct {
		name string
		err  error
	}{
		{"zero size", Tumbling(0).Err()},
		{"negative size", Tumbling(-ms).Err()},
		{"sub-millisecond size", Tumbling(time.Microsecond).Err()},
		{"zero advance", Hopping(10*ms, 0).Err()},
		{"advance > size", Hopping(10*ms, 11*ms).Err()},
		{"negative grace", Tumbling(10*ms, Grace(-ms)).Err()},
		{"sliding zero", Sliding(0).Err()},
		{"sliding negative grace", Sliding(ms, Grace(-ms)).Err()},
		{"session zero gap", Session(0).Err()},
		{"session negative grace", Session(ms, Grace(-ms)).Err()},
		{"join before+after negative", JoinWithin(ms, Before(-5*ms)).Err()},
		{"join negative grace", JoinWithin(ms, Grace(-ms)).Err()},
	} {
		if !errors.Is(c.err, ErrInvalidWindow) {
			t.Errorf("%s: err = %v, want ErrInvalidWindow", c.name, c.err)
		} else if c.err.Error()[:5] != "rill:" {
			t.Errorf("%s: error %q is not rill:-prefixed", c.name, c.err)
		}
	}
	for _, err := range []error{Tumbling(ms).Err(), Hopping(10*ms, 10*ms).Err(), Sliding(ms).Err(),
		Session(ms, Grace(0)).Err(), JoinWithin(0).Err(), JoinWithin(ms, Before(-ms)).Err()} {
		if err != nil {
			t.Errorf("valid definition: %v", err)
		}
	}
}

func TestAccessors(t *testing.T) {
	j := JoinWithin(time.Minute, After(2*time.Minute), Grace(time.Second))
	if j.Before() != 60000 || j.After() != 120000 || j.Grace() != 1000 || j.Size() != 180000 {
		t.Errorf("join window %v", j)
	}
	h := Hopping(time.Second, 500*ms, Grace(ms))
	if h.Size() != 1000 || h.Advance() != 500 || h.Grace() != 1 {
		t.Errorf("hopping %v", h)
	}
	if s := Tumbling(time.Second); s.Grace() != 0 || s.Advance() != 1000 {
		t.Errorf("tumbling %v: no grace means zero (ofSizeWithNoGrace)", s)
	}
	if s := Sliding(time.Second, Grace(ms)); s.Size() != 1000 || s.TimeDifference() != 1000 || s.Grace() != 1 {
		t.Errorf("sliding %v", s)
	}
	if s := Session(time.Second, Grace(ms)); s.Gap() != 1000 || s.Grace() != 1 {
		t.Errorf("session %v", s)
	}
	var _ Spec = Tumbling(ms)
	var _ Spec = Sliding(ms)
}

func BenchmarkStarts(b *testing.B) {
	w := Hopping(1000*ms, 500*ms)
	b.ReportAllocs()
	var n int64
	for i := 0; b.Loop(); i++ {
		first, last, ok := w.Starts(int64(i))
		for s := first; ok; s += w.Advance() {
			n += w.End(s)
			if s == last {
				break
			}
		}
	}
	_ = n
}
