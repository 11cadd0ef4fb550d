package kafka

import (
	"context"
	"errors"
	"fmt"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
)

// WaitStableOffsets waits until group has no transactional offset commit pending for the
// partitions in tps (topic → partitions): until the transaction of their previous owner, if
// one committed their offsets in a transaction it has not ended, commits or aborts (KIP-447's
// UNSTABLE_OFFSET_COMMIT). It tells whether it had to wait. Like the other admin calls, it
// gives up after a.Patience.FailAfter.
//
// Exactly once, a task's stores must be restored only after that: what the transaction wrote
// to their changelogs becomes readable (read_committed) when it commits, and the consumer,
// which waits for the same offsets, then starts after the transaction's input.
func (a *Admin) WaitStableOffsets(ctx context.Context, group string, tps map[string][]int32) (waited bool, err error) {
	if len(tps) == 0 {
		return false, nil
	}
	_, err = retry(ctx, a, "stable offsets", func(ctx context.Context) (struct{}, error) {
		fetched, err := a.adm.FetchOffsets(kadm.RequireStable(ctx), group)
		if errors.Is(err, kerr.UnstableOffsetCommit) {
			waited = true
		}
		if err != nil {
			return struct{}{}, fmt.Errorf("rill: committed offsets of group %s: %w", group, err)
		}
		for t, ps := range tps {
			for _, p := range ps {
				if o, ok := fetched.Lookup(t, p); ok && o.Err != nil {
					if errors.Is(o.Err, kerr.UnstableOffsetCommit) {
						waited = true
					}
					return struct{}{}, fmt.Errorf("rill: committed offset of %s[%d]: %w", t, p, o.Err)
				}
			}
		}
		return struct{}{}, nil
	})
	return waited, err
}
