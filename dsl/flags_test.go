package dsl_test

import (
	"testing"

	"github.com/rillstreams/rill/dsl"
	"github.com/rillstreams/rill/serde"
)

// RepartitionRequired follows Kafka Streams' KStreamImpl: key-changing operations (Map,
// SelectKey, FlatMap, Process) set it, the others keep what they got, Merge ors its inputs,
// Repartition clears it.
func TestRepartitionRequired(t *testing.T) {
	type S = *dsl.Stream[string, string]
	keep := func(k, _ string) bool { return true }
	rekey := func(s S) S { return s.SelectKey(func(k, _ string) string { return k }) }
	tests := []struct {
		name string
		op   func(b *dsl.Builder, s S) bool
		want bool
	}{
		{"source", func(_ *dsl.Builder, s S) bool { return s.RepartitionRequired() }, false},
		{"Filter", func(_ *dsl.Builder, s S) bool { return s.Filter(keep).RepartitionRequired() }, false},
		{"FilterNot", func(_ *dsl.Builder, s S) bool { return s.FilterNot(keep).RepartitionRequired() }, false},
		{"MapValues", func(_ *dsl.Builder, s S) bool {
			return s.MapValues(func(_, v string) int64 { return 0 }).RepartitionRequired()
		}, false},
		{"FlatMapValues", func(_ *dsl.Builder, s S) bool {
			return s.FlatMapValues(func(_, v string) []string { return nil }).RepartitionRequired()
		}, false},
		{"Peek", func(_ *dsl.Builder, s S) bool { return s.Peek(func(string, string) {}).RepartitionRequired() }, false},
		{"Map", func(_ *dsl.Builder, s S) bool {
			return s.Map(func(k, v string) (string, string) { return k, v }).RepartitionRequired()
		}, true},
		{"SelectKey", func(_ *dsl.Builder, s S) bool { return rekey(s).RepartitionRequired() }, true},
		{"FlatMap", func(_ *dsl.Builder, s S) bool {
			return s.FlatMap(func(k, v string) []dsl.KeyValue[string, string] { return nil }).RepartitionRequired()
		}, true},
		{"Process", func(_ *dsl.Builder, s S) bool { return s.Process(passThrough).RepartitionRequired() }, true},
		{"Filter after SelectKey", func(_ *dsl.Builder, s S) bool { return rekey(s).Filter(keep).RepartitionRequired() }, true},
		{"FilterNot after SelectKey", func(_ *dsl.Builder, s S) bool { return rekey(s).FilterNot(keep).RepartitionRequired() }, true},
		{"MapValues after Map", func(_ *dsl.Builder, s S) bool {
			return s.Map(func(k, v string) (string, string) { return k, v }).
				MapValues(func(_, v string) string { return v }).RepartitionRequired()
		}, true},
		{"FlatMapValues after SelectKey", func(_ *dsl.Builder, s S) bool {
			return rekey(s).FlatMapValues(func(_, v string) []string { return nil }).RepartitionRequired()
		}, true},
		{"Peek after Process", func(_ *dsl.Builder, s S) bool {
			return s.Process(passThrough).Peek(func(string, string) {}).RepartitionRequired()
		}, true},
		{"branch of a clean stream", func(_ *dsl.Builder, s S) bool {
			return s.Split(dsl.Named("s-")).Branch(keep).NoDefaultBranch()["s-1"].RepartitionRequired()
		}, false},
		{"branch of a rekeyed stream", func(_ *dsl.Builder, s S) bool {
			return rekey(s).Split(dsl.Named("s-")).Branch(keep).DefaultBranch()["s-0"].RepartitionRequired()
		}, true},
		{"Merge clean with clean", func(b *dsl.Builder, s S) bool {
			return s.Merge(b.Stream("other", serde.String(), serde.String())).RepartitionRequired()
		}, false},
		{"Merge clean with rekeyed", func(b *dsl.Builder, s S) bool {
			return s.Merge(rekey(b.Stream("other", serde.String(), serde.String()))).RepartitionRequired()
		}, true},
		{"Merge rekeyed with clean", func(b *dsl.Builder, s S) bool {
			return rekey(s).Merge(b.Stream("other", serde.String(), serde.String())).RepartitionRequired()
		}, true},
		{"Repartition clears it", func(_ *dsl.Builder, s S) bool { return rekey(s).Repartition().RepartitionRequired() }, false},
		{"Repartition of a clean stream", func(_ *dsl.Builder, s S) bool { return s.Repartition().RepartitionRequired() }, false},
		{"SelectKey after Repartition", func(_ *dsl.Builder, s S) bool {
			return rekey(rekey(s).Repartition()).RepartitionRequired()
		}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := dsl.NewBuilder()
			if got := tc.op(b, b.Stream("in", serde.String(), serde.String())); got != tc.want {
				t.Errorf("RepartitionRequired() = %v, want %v", got, tc.want)
			}
		})
	}
}

// NodeName names the node a stream's records come out of.
func TestNodeName(t *testing.T) {
	b := dsl.NewBuilder()
	s := b.Stream("in", serde.String(), serde.String())
	if s.NodeName() != "KSTREAM-SOURCE-0000000000" {
		t.Errorf("source NodeName %q", s.NodeName())
	}
	f := s.Filter(func(string, string) bool { return true })
	if f.NodeName() != "KSTREAM-FILTER-0000000001" {
		t.Errorf("filter NodeName %q", f.NodeName())
	}
	if r := f.Repartition(dsl.Named("r")); r.NodeName() != "r-repartition-source" {
		t.Errorf("repartitioned stream NodeName %q, want the repartition source", r.NodeName())
	}
}
