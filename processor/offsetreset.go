package processor

import (
	"fmt"
	"time"
)

// OffsetReset is where a source starts reading a partition for which its application has no
// committed offset (Kafka Streams' AutoOffsetReset, KIP-1106): from the earliest record (the
// default, as Kafka Streams' auto.offset.reset=earliest), from the end (only records produced
// from then on), or from the first record written at most a duration ago. A partition with a
// committed offset always goes on from it. The zero value is OffsetResetEarliest.
type OffsetReset struct {
	kind offsetResetKind
	back time.Duration
}

type offsetResetKind uint8

const (
	resetEarliest offsetResetKind = iota
	resetLatest
	resetByDuration
)

// OffsetResetEarliest starts at the earliest record still in the partition.
func OffsetResetEarliest() OffsetReset { return OffsetReset{} }

// OffsetResetLatest starts at the end of the partition: records written before the
// application first read it are skipped.
func OffsetResetLatest() OffsetReset { return OffsetReset{kind: resetLatest} }

// OffsetResetByDuration starts at the first record whose timestamp is at most d before the
// moment the partition is assigned (Kafka's ListOffsets by timestamp); at the end when there
// is none. d must be positive.
func OffsetResetByDuration(d time.Duration) OffsetReset {
	return OffsetReset{kind: resetByDuration, back: d}
}

// IsEarliest tells whether r is the default policy.
func (r OffsetReset) IsEarliest() bool { return r.kind == resetEarliest }

// Latest tells whether r starts at the end of the partition.
func (r OffsetReset) Latest() bool { return r.kind == resetLatest }

// ByDuration returns the duration of an OffsetResetByDuration policy (ok false for the others).
func (r OffsetReset) ByDuration() (d time.Duration, ok bool) {
	return r.back, r.kind == resetByDuration
}

// Validate reports a by-duration policy without a positive duration.
func (r OffsetReset) Validate() error {
	if r.kind == resetByDuration && r.back <= 0 {
		return fmt.Errorf("rill: offset reset by duration needs a positive duration, got %v", r.back)
	}
	return nil
}

func (r OffsetReset) String() string {
	switch r.kind {
	case resetLatest:
		return "latest"
	case resetByDuration:
		return "by-duration:" + r.back.String()
	default:
		return "earliest"
	}
}
