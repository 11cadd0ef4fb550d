package runtime

import (
	"context"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/rillstreams/rill/internal/engine"
	"github.com/rillstreams/rill/processor"
)

// Per-source offset reset (Kafka Streams' Consumed.withOffsetResetPolicy). The group consumer
// starts every partition without a committed offset at the earliest record (franz-go has one
// reset policy per client, and rill's is Kafka Streams' default, earliest). For the partitions
// of a source with another policy, the thread asks, after each assignment, which of them the
// group has no committed offset for and where the policy starts them, and drops the records
// before that start as they arrive (skipBelow). The first record at or past it is processed
// and, once committed, the group's offset takes over. Nothing is lost that the policy keeps:
// the start is taken when the partition is assigned, so records produced after that are read.

// offsetResets returns the reset policy of every source topic whose source has one other than
// earliest. Call after the pattern sources are resolved.
func (r *Runtime) offsetResets() map[string]processor.OffsetReset {
	out := map[string]processor.OffsetReset{}
	for _, sub := range r.subs {
		for _, n := range sub.Nodes {
			if n.Kind != engine.SourceNode || n.Internal || n.OffsetReset.IsEarliest() {
				continue
			}
			for _, t := range r.resolvedTopics(n.Name, n.Topics) {
				out[t] = n.OffsetReset
			}
		}
	}
	return out
}

// planResetsLocked works out, after an assignment, where the partitions of the thread's active
// tasks that read a source with a reset policy start (skipBelow). th.mu must be held.
func (th *thread) planResetsLocked(ctx context.Context) error {
	clear(th.skipBelow)
	if len(th.rt.resets) == 0 {
		return nil
	}
	byPolicy := map[processor.OffsetReset]map[string][]int32{}
	for id := range th.tasks {
		for _, t := range th.rt.taskTopics[id.Subtopology] {
			r, ok := th.rt.resets[t]
			if !ok {
				continue
			}
			if byPolicy[r] == nil {
				byPolicy[r] = map[string][]int32{}
			}
			byPolicy[r][t] = append(byPolicy[r][t], id.Partition)
		}
	}
	now := time.Now()
	for r, tps := range byPolicy {
		starts, err := th.rt.admin.ResetStarts(ctx, th.rt.cfg.ApplicationID, tps, r, now)
		if err != nil {
			return fmt.Errorf("rill: offset reset %s: %w", r, err)
		}
		for t, ps := range starts {
			for p, o := range ps {
				// A partition planned before and still without a commit (a rebalance came
				// before the first commit) keeps its first start: "latest" must not move
				// past records that arrived since.
				if prev, ok := th.resetStart[t][p]; ok {
					o = min(o, prev)
				}
				th.resetStart.Set(t, p, o)
				if o <= 0 {
					continue
				}
				th.skipBelow.Set(t, p, o)
				th.log.Info("rill: no committed offset: the partition starts where its source's offset reset policy says",
					zap.String("topic", t), zap.Int32("partition", p), zap.Stringer("policy", r), zapInt64("offset", o))
			}
		}
	}
	return nil
}

// skipResetLocked drops the records before their partition's start (planResetsLocked); a
// partition's first record at or past it ends the skipping. th.mu must be held.
func (th *thread) skipResetLocked(recs []engine.RawRecord) []engine.RawRecord {
	if len(th.skipBelow) == 0 {
		return recs
	}
	kept := recs[:0]
	for _, rec := range recs {
		ps := th.skipBelow[rec.Topic]
		start, ok := ps[rec.Partition]
		if ok && rec.Offset < start {
			continue
		}
		if ok {
			delete(ps, rec.Partition)
			if len(ps) == 0 {
				delete(th.skipBelow, rec.Topic)
			}
		}
		kept = append(kept, rec)
	}
	return kept
}
