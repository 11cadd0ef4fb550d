package kafka

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"
)

// ErrStalled is returned by ReadRange when partitions made no progress towards their end
// offsets for longer than the Stall policy allows.
var ErrStalled = errors.New("rill: changelog read made no progress")

// Stall says what ReadRange does while partitions make no progress: the broker down, a
// partition without a leader, or a transaction left open (read_committed reads stop at it)
// that the broker has not aborted yet. Reading on is the only way to a complete result, so it
// waits, logging at WARN every WarnEvery which partitions are stuck where, and gives up with
// ErrStalled after FailAfter without progress. A caller must then not use what it read: a
// partial restoration run as complete state is exactly the silent loss this exists to avoid.
type Stall struct {
	// What names the read in logs and errors ("restore task 0_1").
	What string
	// WarnEvery is how long without progress before the first warning, and between two
	// (default 10 s).
	WarnEvery time.Duration
	// FailAfter is how long without progress before ReadRange fails (required, positive).
	FailAfter time.Duration
	Logger    *zap.Logger
}

// ReadRange reads, read_committed, the records of the given partitions from their start
// offsets up to their end offsets, calling apply in offset order per partition. It returns nil
// only when every partition reached its end, compared by position, not by "last record seen":
// the last offsets before the end are often transaction markers. Markers are asked for (they
// are records of the log, just not data) and move the position without being applied; aborted
// records are filtered out but always followed by their abort marker. So every partition
// reaches its end exactly, however slow the broker. Partitions that stop progressing are
// handled as stall says. (An earlier version took a partition without progress for 15 s as
// done, for a tail compacted away; it ran tasks on partial state when a dangling transaction
// held a partition back, and lost data without a word.)
func ReadRange(ctx context.Context, cfg ClientConfig, start, end map[string]map[int32]int64, idle time.Duration,
	stall Stall, apply func(topic string, partition int32, offset int64, key, value []byte, timestamp int64) error) error {
	if stall.FailAfter <= 0 {
		return fmt.Errorf("rill: ReadRange %s: no stall bound", stall.What)
	}
	if stall.WarnEvery <= 0 {
		stall.WarnEvery = 10 * time.Second
	}
	if stall.Logger == nil {
		stall.Logger = zap.NewNop()
	}
	want := make(map[string]map[int32]kgo.Offset)
	remaining := 0
	for t, ps := range start {
		for p, o := range ps {
			if o >= end[t][p] {
				continue
			}
			if want[t] == nil {
				want[t] = make(map[int32]kgo.Offset)
			}
			want[t][p] = kgo.NewOffset().At(o)
			remaining++
		}
	}
	if remaining == 0 {
		return nil
	}
	opts, err := cfg.opts()
	if err != nil {
		return err
	}
	opts = append(opts, kgo.ConsumePartitions(want), kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.KeepControlRecords(), kgo.FetchMaxWait(100*time.Millisecond), kgo.FetchMaxBytes(64<<20))
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return err
	}
	defer cl.Close()
	next := make(map[string]map[int32]int64)
	for t, ps := range want {
		next[t] = make(map[int32]int64)
		for p := range ps {
			next[t][p] = start[t][p]
		}
	}
	lastProgress := time.Now()
	var lastWarn time.Time
	for remaining > 0 {
		pctx, cancel := context.WithTimeout(ctx, idle)
		fetches := cl.PollFetches(pctx)
		cancel()
		if err := ctx.Err(); err != nil {
			return err
		}
		var ferr error
		fetches.EachError(func(t string, p int32, err error) {
			if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
				return
			}
			ferr = fmt.Errorf("rill: read %s[%d]: %w", t, p, err)
		})
		if ferr != nil {
			return ferr
		}
		progressed := false
		var aerr error
		fetches.EachRecord(func(r *kgo.Record) {
			if aerr != nil || r.Offset >= end[r.Topic][r.Partition] {
				return
			}
			if !r.Attrs.IsControl() {
				aerr = apply(r.Topic, r.Partition, r.Offset, r.Key, r.Value, r.Timestamp.UnixMilli())
			}
			next[r.Topic][r.Partition] = r.Offset + 1
			progressed = true
		})
		if aerr != nil {
			return aerr
		}
		remaining = 0
		for t, ps := range next {
			for p, o := range ps {
				if o < end[t][p] {
					remaining++
				}
			}
		}
		if progressed || remaining == 0 {
			lastProgress, lastWarn = time.Now(), time.Time{}
			continue
		}
		stalled := time.Since(lastProgress)
		if stalled >= stall.FailAfter {
			return fmt.Errorf("%w: %s: nothing read for %v, stuck at %s", ErrStalled, stall.What,
				stalled.Round(time.Second), stuckAt(next, end))
		}
		if stalled >= stall.WarnEvery && time.Since(lastWarn) >= stall.WarnEvery {
			lastWarn = time.Now()
			stall.Logger.Warn("rill: changelog read makes no progress; waiting for it (a broker down, a partition "+
				"without leader, or a transaction left open that the broker has not aborted yet)",
				zap.String("read", stall.What), zap.String("stuckAt", stuckAt(next, end)),
				zap.Duration("stalledFor", stalled.Round(time.Second)), zap.Duration("failAfter", stall.FailAfter))
		}
	}
	return nil
}

// stuckAt describes the partitions short of their end: "topic[p] at offset o of end e, ...".
func stuckAt(next, end map[string]map[int32]int64) string {
	var parts []string
	for t, ps := range next {
		for p, o := range ps {
			if o < end[t][p] {
				parts = append(parts, fmt.Sprintf("%s[%d] at offset %d of end %d", t, p, o, end[t][p]))
			}
		}
	}
	sort.Strings(parts)
	return strings.Join(parts, ", ")
}
