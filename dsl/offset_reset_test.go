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
