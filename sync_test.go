package rill_test

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rillstreams/rill"
	"github.com/rillstreams/rill/dsl"
	"github.com/rillstreams/rill/kafkatest"
	"github.com/rillstreams/rill/serde"
	"github.com/rillstreams/rill/state/memory"
	"github.com/rillstreams/rill/topology"
)

// Timestamp synchronization (MaxTaskIdle) and committing processed offsets, on the embedded
// broker. Each test merges two co-partitioned topics into one task and records the order in
// which the task sees records; values name their timestamp ("L20": left, timestamp base+20).

// seen records what the task processed, in order.
type seen struct {
	mu   sync.Mutex
	list []string
	ch   chan struct{} // signalled on each record
}

func newSeen() *seen { return &seen{ch: make(chan struct{}, 1)} }

func (s *seen) add(v string) {
	s.mu.Lock()
	s.list = append(s.list, v)
	s.mu.Unlock()
	select {
	case s.ch <- struct{}{}:
	default:
	}
}

func (s *seen) get() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.list)
}

// waitFor waits until n records were seen or ctx is done.
func (s *seen) waitFor(ctx context.Context, n int) ([]string, error) {
	for {
		if got := s.get(); len(got) >= n {
			return got, nil
		}
		select {
		case <-s.ch:
		case <-ctx.Done():
			return s.get(), fmt.Errorf("saw %d of %d records: %w", len(s.get()), n, ctx.Err())
		}
	}
}

func mergeTopology(t testing.TB, left, right string, s *seen) *topology.Topology {
	b := dsl.NewBuilder()
	l := b.Stream(left, serde.String(), serde.String())
	r := b.Stream(right, serde.String(), serde.String())
	l.Merge(r).ForEach(func(_, v string) { s.add(v) })
	topo, err := b.Build()
	must(t, err)
	return topo
}

// sideRecords makes records of topic with values "<side><ts>" at base+ts.
func sideRecords(topic, side string, base int64, tss ...int64) []kafkatest.Record {
	out := make([]kafkatest.Record, len(tss))
	for i, ts := range tss {
		out[i] = kafkatest.Record{Topic: topic, Key: []byte("k"), Value: []byte(side + strconv.FormatInt(ts, 10)),
			Timestamp: time.UnixMilli(base + ts)}
	}
	return out
}

// waitRunning returns a StateListener and a channel closed at the first RUNNING.
func waitRunning() (func(old, new rill.State), <-chan struct{}) {
	ch := make(chan struct{})
	var once sync.Once
	return func(_, s rill.State) {
		if s == rill.Running {
			once.Do(func() { close(ch) })
		}
	}, ch
}

// TestMaxTaskIdleWaitsForLateRecords: the left topic's records are there at start, the right
// topic is empty; its older records are produced later. With MaxTaskIdle the task waits for
// them and processes both topics in timestamp order; with the default (0) it does not wait
// for a caught-up partition and processes the left records first.
func TestMaxTaskIdleWaitsForLateRecords(t *testing.T) {
	for _, tc := range []struct {
		name    string
		idle    time.Duration
		ordered bool
	}{
		{"idle 3s", 3 * time.Second, true},
		{"default 0", 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			broker := newBroker(t, ctx, 1, "left", "right")
			base := time.Now().Add(-time.Hour).UnixMilli()
			must(t, broker.Produce(ctx, sideRecords("left", "L", base, 10, 20, 30, 40)...))
			s := newSeen()
			listener, running := waitRunning()
			startApp(t, ctx, mergeTopology(t, "left", "right", s), rill.Config{CacheMaxBytes: -1, ApplicationID: "idle",
				Bootstrap: broker.Addrs(), StateDir: t.TempDir(), StoreBackend: memory.Backend(),
				CommitInterval: 50 * time.Millisecond, MaxTaskIdle: tc.idle, StateListener: listener})
			select {
			case <-running:
			case <-ctx.Done():
				t.Fatal("app never ran")
			}
			// Let the task poll the left records (and, with MaxTaskIdle, start waiting).
			time.Sleep(500 * time.Millisecond)
			early := s.get()
			must(t, broker.Produce(ctx, sideRecords("right", "R", base, 5, 15, 25, 45)...))
			// The last record (L40 or R45, whichever comes last) may wait MaxTaskIdle once
			// the other side is drained: look at the first seven.
			got, err := s.waitFor(ctx, 7)
			if err != nil {
				t.Fatal(err)
			}
			got = got[:7]
			inOrder := []string{"R5", "L10", "R15", "L20", "R25", "L30", "L40"}
			if tc.ordered {
				if len(early) != 0 {
					t.Errorf("processed %v before the right records arrived; want a wait", early)
				}
				if fmt.Sprint(got) != fmt.Sprint(inOrder) {
					t.Errorf("order %v, want %v", got, inOrder)
				}
				return
			}
			if want := []string{"L10", "L20", "L30", "L40"}; fmt.Sprint(got[:4]) != fmt.Sprint(want) {
				t.Errorf("order %v: want the left records first (no wait for a caught-up partition)", got)
			}
		})
	}
}

// TestTimestampOrderWithLaggingPartition: both topics are full at start and polls are small
// (MaxPollRecords 7) and partitions paused early (BufferedRecordsPerPartition 5), so each poll
// brings records of one topic only. The default MaxTaskIdle (0) still waits for a partition
// with records on the broker: the task processes the interleaved timestamps in order.
func TestTimestampOrderWithLaggingPartition(t *testing.T) {
	for _, eos := range []bool{false, true} {
		t.Run(fmt.Sprintf("eos=%v", eos), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			broker := newBroker(t, ctx, 1, "left", "right")
			base := time.Now().Add(-time.Hour).UnixMilli()
			const n = 60
			var lts, rts []int64
			for i := range int64(n) {
				lts = append(lts, 2*i)
				rts = append(rts, 2*i+1)
			}
			must(t, broker.Produce(ctx, sideRecords("left", "L", base, lts...)...))
			must(t, broker.Produce(ctx, sideRecords("right", "R", base, rts...)...))
			s := newSeen()
			cfg := rill.Config{CacheMaxBytes: -1, ApplicationID: "lagging", Bootstrap: broker.Addrs(), StateDir: t.TempDir(),
				StoreBackend: memory.Backend(), CommitInterval: 50 * time.Millisecond, MaxPollRecords: 7,
				BufferedRecordsPerPartition: 5}
			if eos {
				cfg.ProcessingGuarantee = rill.ExactlyOnceV2
			}
			startApp(t, ctx, mergeTopology(t, "left", "right", s), cfg)
			// A replay (an aborted transaction, a rebalance) processes records again from the
			// last commit: that rolls back what followed it, which is fine. An order error is a
			// timestamp going back to one never processed before.
			rolled := func(got []string) []int64 {
				var tss []int64
				for _, v := range got {
					ts, _ := strconv.ParseInt(v[1:], 10, 64)
					if len(tss) > 0 && ts < tss[len(tss)-1] {
						if i := slices.Index(tss, ts); i >= 0 {
							tss = tss[:i]
						}
					}
					tss = append(tss, ts)
				}
				return tss
			}
			var got []string
			var tss []int64
			for want := 2 * n; ; want++ {
				var err error
				if got, err = s.waitFor(ctx, want); err != nil {
					t.Fatal(err)
				}
				if tss = rolled(got); len(tss) >= 2*n || !slices.IsSorted(tss) {
					break
				}
			}
			if !slices.IsSorted(tss) || len(tss) != 2*n {
				t.Errorf("processed %d records out of timestamp order: %v", len(tss), got)
			}
		})
	}
}

// TestCommitsProcessedOffsets: the task processes L10 and R15, then waits (MaxTaskIdle one
// minute) with L20 and L30 queued. A clean stop commits the offsets of what was processed,
// not of what was polled, so the next run processes L20 and L30: nothing lost, nothing twice.
func TestCommitsProcessedOffsets(t *testing.T) {
	for _, eos := range []bool{false, true} {
		t.Run(fmt.Sprintf("eos=%v", eos), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			broker := newBroker(t, ctx, 1, "left", "right")
			base := time.Now().Add(-time.Hour).UnixMilli()
			must(t, broker.Produce(ctx, sideRecords("left", "L", base, 10, 20, 30)...))
			must(t, broker.Produce(ctx, sideRecords("right", "R", base, 15)...))
			cfg := rill.Config{CacheMaxBytes: -1, ApplicationID: "processed", Bootstrap: broker.Addrs(), StateDir: t.TempDir(),
				StoreBackend: memory.Backend(), CommitInterval: 50 * time.Millisecond, MaxTaskIdle: time.Minute}
			if eos {
				cfg.ProcessingGuarantee = rill.ExactlyOnceV2
			}

			first := newSeen()
			stop := startApp(t, ctx, mergeTopology(t, "left", "right", first), cfg)
			if _, err := first.waitFor(ctx, 2); err != nil {
				t.Fatal(err)
			}
			time.Sleep(300 * time.Millisecond) // a few commit intervals, with L20 and L30 queued
			must(t, stop())
			if got := first.get(); fmt.Sprint(got) != "[L10 R15]" {
				t.Fatalf("first run processed %v, want [L10 R15] and a wait", got)
			}
			offsets, err := admin(t, broker).FetchOffsets(ctx, "processed")
			must(t, err)
			for topic, want := range map[string]int64{"left": 1, "right": 1} {
				o, ok := offsets.Lookup(topic, 0)
				if !ok || o.At != want {
					t.Errorf("committed %s[0] = %d (found %v), want %d: the offset after the last processed record", topic, o.At, ok, want)
				}
			}

			// The second run does not wait: the right topic has nothing more to say.
			cfg.MaxTaskIdle = 0
			second := newSeen()
			startApp(t, ctx, mergeTopology(t, "left", "right", second), cfg)
			wctx, wcancel := context.WithTimeout(ctx, 10*time.Second)
			defer wcancel()
			got, err := second.waitFor(wctx, 2)
			if err != nil {
				t.Fatal(err)
			}
			time.Sleep(300 * time.Millisecond) // anything repeated would show up by now
			if got = second.get(); strings.Join(got, " ") != "L20 L30" {
				t.Errorf("second run processed %v, want [L20 L30]", got)
			}
		})
	}
}

// TestRebalanceDropsQueuedRecords: instance a processes L10 and R15 and waits with L20 and
// L30 queued when instance b joins. The rebalance drops the queued records (the consumer
// starts again from the committed offsets); whichever instance gets the task reads them
// again, and once the right records arrive every record has been processed exactly once.
// (Without the drop, the queued records would be processed twice, or, had the offsets of
// polled records been committed, lost when the task moves.)
func TestRebalanceDropsQueuedRecords(t *testing.T) {
	for _, eos := range []bool{false, true} {
		t.Run(fmt.Sprintf("eos=%v", eos), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			broker := newBroker(t, ctx, 1, "left", "right")
			base := time.Now().Add(-time.Hour).UnixMilli()
			must(t, broker.Produce(ctx, sideRecords("left", "L", base, 10, 20, 30)...))
			must(t, broker.Produce(ctx, sideRecords("right", "R", base, 15)...))
			cfg := func(process string, listener func(old, new rill.State)) rill.Config {
				c := rill.Config{CacheMaxBytes: -1, ApplicationID: "rebalance", ProcessID: process, Bootstrap: broker.Addrs(),
					StateDir: t.TempDir(), StoreBackend: memory.Backend(), CommitInterval: 50 * time.Millisecond,
					MaxTaskIdle: time.Minute, StateListener: listener}
				if eos {
					c.ProcessingGuarantee = rill.ExactlyOnceV2
				}
				return c
			}
			all := newSeen()
			a, b := newSeen(), newSeen()
			tee := func(s *seen) *seen {
				out := newSeen()
				go func() {
					for {
						select {
						case <-out.ch:
						case <-ctx.Done():
							return
						}
						for _, v := range out.get()[len(s.get()):] {
							s.add(v)
							all.add(v)
						}
					}
				}()
				return out
			}
			startApp(t, ctx, mergeTopology(t, "left", "right", tee(a)), cfg("a", nil))
			if _, err := a.waitFor(ctx, 2); err != nil {
				t.Fatal(err)
			}
			time.Sleep(200 * time.Millisecond) // a commits, with L20 and L30 queued
			listener, running := waitRunning()
			startApp(t, ctx, mergeTopology(t, "left", "right", tee(b)), cfg("b", listener))
			select {
			case <-running:
			case <-ctx.Done():
				t.Fatal("instance b never ran")
			}
			must(t, broker.Produce(ctx, sideRecords("right", "R", base, 25, 35)...))
			// R35 waits MaxTaskIdle once L30 drained the left topic: look at the first five.
			got, err := all.waitFor(ctx, 5)
			if err != nil {
				t.Fatal(err)
			}
			time.Sleep(300 * time.Millisecond) // anything repeated would show up by now
			got = all.get()
			sorted := slices.Clone(got)
			slices.SortFunc(sorted, func(x, y string) int {
				xi, _ := strconv.Atoi(x[1:])
				yi, _ := strconv.Atoi(y[1:])
				return xi - yi
			})
			if want := "[L10 R15 L20 R25 L30]"; fmt.Sprint(sorted) != want {
				t.Errorf("processed %v (a %v, b %v), want each of %s once", got, a.get(), b.get(), want)
			}
		})
	}
}
