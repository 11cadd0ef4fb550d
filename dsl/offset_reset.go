package dsl

import (
	"errors"
	"fmt"
)

// ErrOffsetResetPlacement is matched by the Build error of WithOffsetReset given where no
// source reads a user topic: to a global table (which, as in Kafka Streams, always reads from
// the earliest offset), or to a table operation other than Builder.Table.
var ErrOffsetResetPlacement = errors.New("rill: offset reset policy only applies to Builder.Stream, Streams, StreamPattern and Table sources")

// applyTable makes WithOffsetReset a TableOption for Builder.Table: the table's source starts,
// in partitions the application has no committed offset for, where r says (Kafka Streams'
// StreamsBuilder.table with Consumed.withOffsetResetPolicy):
//
//	b.Table("prices", serde.String(), serde.Float64(), dsl.WithOffsetReset(processor.OffsetResetLatest()))
func (o OffsetResetOption) applyTable(c *tableConfig) { c.reset = &o.r }

// checkResetPlacement fails the build when an offset reset reached a table operation that has
// no source of its own.
func (b *Builder) checkResetPlacement(c tableConfig) {
	if c.reset != nil && !c.tableSource {
		b.errs = append(b.errs, fmt.Errorf("%w: given to a table operation", ErrOffsetResetPlacement))
	}
}
