package kafka

import (
	"context"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/rillstreams/rill/processor"
)

// ResetStarts returns, for the partitions in tps (topic → partitions) that group has no
// committed offset for, where a source with policy reset starts reading them: the end of the
// partition (its last stable offset) for OffsetResetLatest, the first record at most the
// policy's duration old (or the end) for OffsetResetByDuration, as of now. Partitions with a
// committed offset are absent: they go on from it. An earliest policy returns nothing.
func (a *Admin) ResetStarts(ctx context.Context, group string, tps map[string][]int32, reset processor.OffsetReset, now time.Time) (Offsets, error) {
	if reset.IsEarliest() || len(tps) == 0 {
		return nil, nil
	}
	return retry(ctx, a, "offset reset", func(ctx context.Context) (Offsets, error) {
		committed, err := a.adm.FetchOffsets(ctx, group)
		if err != nil {
			return nil, fmt.Errorf("rill: committed offsets of group %s: %w", group, err)
		}
		var topics []string
		for t, ps := range tps {
			for _, p := range ps {
				o, ok := committed.Lookup(t, p)
				if ok && o.Err != nil {
					// UNSTABLE_OFFSET_COMMIT (a transaction's offsets pending), say: the
					// partition may well have a commit; taking it for none would skip records.
					return nil, fmt.Errorf("rill: committed offset of %s[%d]: %w", t, p, o.Err)
				}
				if !ok || o.At < 0 {
					topics = append(topics, t)
					break
				}
			}
		}
		if len(topics) == 0 {
			return nil, nil
		}
		ends, err := a.adm.ListCommittedOffsets(ctx, topics...)
		if err != nil {
			return nil, err
		}
		var at kadm.ListedOffsets
		if d, ok := reset.ByDuration(); ok {
			if at, err = a.adm.ListOffsetsAfterMilli(ctx, now.Add(-d).UnixMilli(), topics...); err != nil {
				return nil, err
			}
		}
		out := Offsets{}
		for _, t := range topics {
			for _, p := range tps[t] {
				if o, ok := committed.Lookup(t, p); ok && o.At >= 0 {
					continue
				}
				end, ok := ends.Lookup(t, p)
				if !ok || end.Err != nil {
					return nil, fmt.Errorf("rill: end offset of %s[%d]: %v", t, p, end.Err)
				}
				start := end.Offset
				if lo, ok := at.Lookup(t, p); ok && lo.Err == nil && lo.Offset >= 0 && lo.Offset < start {
					start = lo.Offset
				}
				out.Set(t, p, start)
			}
		}
		return out, nil
	})
}
