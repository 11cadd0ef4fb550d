package dsl_test

import (
	"errors"
	"testing"

	"github.com/rillstreams/rill/dsl"
	"github.com/rillstreams/rill/processor"
	"github.com/rillstreams/rill/serde"
	"github.com/rillstreams/rill/topology"
)

// A by-duration offset reset needs a positive duration: the topology does not build without.
func TestOffsetResetByDurationMustBePositive(t *testing.T) {
	for _, r := range []processor.OffsetReset{processor.OffsetResetByDuration(0), processor.OffsetResetByDuration(-1)} {
		b := dsl.NewBuilder()
		b.Stream("in", serde.String(), serde.String(), dsl.WithOffsetReset(r)).To("out")
		if _, err := b.Build(); !errors.Is(err, topology.ErrInvalidTopology) {
			t.Errorf("%v: Build = %v, want ErrInvalidTopology", r, err)
		}
	}
	b := dsl.NewBuilder()
	b.Stream("in", serde.String(), serde.String(), dsl.WithOffsetReset(processor.OffsetResetLatest())).To("out")
	if _, err := b.Build(); err != nil {
		t.Fatal(err)
	}
}

// WithOffsetReset reaches a table's source (an invalid policy fails the build there, as for
// streams); a global table, which always reads from the earliest offset, and table operations
// without a source of their own refuse it.
func TestOffsetResetTableSources(t *testing.T) {
	b := dsl.NewBuilder()
	b.Table("prices", serde.String(), serde.String(), dsl.WithOffsetReset(processor.OffsetResetLatest())).ToStream().To("out")
	if _, err := b.Build(); err != nil {
		t.Fatal(err)
	}
	b = dsl.NewBuilder()
	b.Table("prices", serde.String(), serde.String(), dsl.WithOffsetReset(processor.OffsetResetByDuration(0))).ToStream().To("out")
	if _, err := b.Build(); !errors.Is(err, topology.ErrInvalidTopology) {
		t.Errorf("table with a zero duration: Build = %v, want ErrInvalidTopology", err)
	}
	b = dsl.NewBuilder()
	b.GlobalTable("rates", serde.String(), serde.String(), dsl.WithOffsetReset(processor.OffsetResetLatest()))
	if _, err := b.Build(); !errors.Is(err, dsl.ErrOffsetResetPlacement) {
		t.Errorf("global table: Build = %v, want ErrOffsetResetPlacement", err)
	}
	b = dsl.NewBuilder()
	b.Stream("in", serde.String(), serde.String()).GroupByKey().Count(dsl.WithOffsetReset(processor.OffsetResetLatest()))
	if _, err := b.Build(); !errors.Is(err, dsl.ErrOffsetResetPlacement) {
		t.Errorf("count: Build = %v, want ErrOffsetResetPlacement", err)
	}
}
