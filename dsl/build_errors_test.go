package dsl_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/rillstreams/rill/dsl"
	"github.com/rillstreams/rill/processor"
	"github.com/rillstreams/rill/serde"
	"github.com/rillstreams/rill/streamstest"
	"github.com/rillstreams/rill/topology"
)

func toOrders(s *dsl.Stream[string, string]) *dsl.Stream[string, Order] {
	return s.MapValues(func(k, v string) Order { return Order{ID: k} })
}

func TestBuildErrors(t *testing.T) {
	tests := []struct {
		name     string
		build    func(b *dsl.Builder)
		want     error
		contains []string // in the message
	}{
		{"missing value serde at To", func(b *dsl.Builder) {
			toOrders(b.Stream("in", serde.String(), serde.String())).To("out")
		}, dsl.ErrMissingSerde, []string{"KSTREAM-SINK-0000000002", "value serde", "dsl_test.Order"}},
		{"missing key serde at To", func(b *dsl.Builder) {
			b.Stream("in", serde.String(), serde.String()).
				SelectKey(func(k, _ string) Order { return Order{ID: k} }).
				To("out", dsl.Named("sink"))
		}, dsl.ErrMissingSerde, []string{"sink", "key serde", "dsl_test.Order"}},
		{"missing serde at ToTopicFunc", func(b *dsl.Builder) {
			toOrders(b.Stream("in", serde.String(), serde.String())).
				ToTopicFunc(func(string, Order, processor.RecordMetadata) string { return "out" })
		}, dsl.ErrMissingSerde, nil},
		{"WithSerdes of a nil value serde does not help", func(b *dsl.Builder) {
			toOrders(b.Stream("in", serde.String(), serde.String())).To("out", dsl.WithSerdes[string, Order](nil, nil))
		}, dsl.ErrMissingSerde, nil},
		{"WithSerdes with the wrong value type", func(b *dsl.Builder) {
			b.Stream("in", serde.String(), serde.String()).To("out", dsl.WithSerdes(serde.String(), serde.Int64()))
		}, dsl.ErrSerdeType, []string{"KSTREAM-SINK-0000000001"}},
		{"WithSerdes with the wrong key type", func(b *dsl.Builder) {
			toOrders(b.Stream("in", serde.String(), serde.String())).
				To("out", dsl.WithSerdes(serde.Int32(), serde.JSON[Order]()))
		}, dsl.ErrSerdeType, nil},
		{"WithSerdes with the wrong types at ToTopicFunc", func(b *dsl.Builder) {
			b.Stream("in", serde.String(), serde.String()).
				ToTopicFunc(func(string, string, processor.RecordMetadata) string { return "out" },
					dsl.WithSerdes(serde.Bytes(), serde.Bytes()))
		}, dsl.ErrSerdeType, nil},
		{"duplicate Named processors", func(b *dsl.Builder) {
			s := b.Stream("in", serde.String(), serde.String())
			s.Filter(func(string, string) bool { return true }, dsl.Named("x"))
			s.Peek(func(string, string) {}, dsl.Named("x"))
		}, topology.ErrDuplicateName, []string{`"x"`}},
		{"Named sink colliding with the source", func(b *dsl.Builder) {
			b.Stream("in", serde.String(), serde.String(), dsl.Named("in")).To("out", dsl.Named("in"))
		}, topology.ErrDuplicateName, nil},
		{"two Named sources", func(b *dsl.Builder) {
			b.Stream("a", serde.String(), serde.String(), dsl.Named("src")).To("out")
			b.Stream("b", serde.String(), serde.String(), dsl.Named("src")).To("out")
		}, topology.ErrDuplicateName, nil},
		{"Named processor colliding with a generated name", func(b *dsl.Builder) {
			s := b.Stream("in", serde.String(), serde.String())
			s.Filter(func(string, string) bool { return true }, dsl.Named("KSTREAM-PEEK-0000000001"))
			s.Peek(func(string, string) {}) // generated: KSTREAM-PEEK-0000000001
		}, topology.ErrDuplicateName, nil},
		{"two repartitions with one name", func(b *dsl.Builder) {
			s := b.Stream("in", serde.String(), serde.String())
			s.Repartition(dsl.Named("r")).To("a")
			s.Repartition(dsl.Named("r")).To("b")
		}, topology.ErrDuplicateName, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := dsl.NewBuilder()
			tc.build(b)
			err := buildErr(t, b)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Build error %v, want %v", err, tc.want)
			}
			for _, s := range tc.contains {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("Build error %q does not mention %q", err, s)
				}
			}
		})
	}
}

// DSL methods never fail on the spot: Build reports every wiring error at once, in program
// order, in one error that matches each of them.
func TestBuildReportsAllErrorsAtOnce(t *testing.T) {
	b := dsl.NewBuilder()
	s := b.Stream("in", serde.String(), serde.String())
	toOrders(s).To("orders")                                                             // 1: missing serde
	s.Filter(func(string, string) bool { return true }, dsl.Named("dup"))                // fine
	s.Peek(func(string, string) {}, dsl.Named("dup")).To("x")                            // 2: duplicate name
	s.To("ints", dsl.WithSerdes(serde.String(), serde.Int64()))                          // 3: wrong serde types
	s.MapValues(func(_, v string) string { return v }, dsl.Named("fine")).To("fine-out") // fine, chain goes on
	err := buildErr(t, b)
	for _, want := range []error{dsl.ErrMissingSerde, topology.ErrDuplicateName, dsl.ErrSerdeType} {
		if !errors.Is(err, want) {
			t.Errorf("Build error does not match %v:\n%v", want, err)
		}
	}
	parts := joinedErrors(err)
	if len(parts) != 3 {
		t.Fatalf("Build error holds %d errors, want 3:\n%v", len(parts), err)
	}
	for i, want := range []error{dsl.ErrMissingSerde, topology.ErrDuplicateName, dsl.ErrSerdeType} {
		if !errors.Is(parts[i], want) {
			t.Errorf("error %d is %v, want one matching %v", i, parts[i], want)
		}
	}
}

func TestBuildTwice(t *testing.T) {
	b := dsl.NewBuilder()
	b.Stream("in", serde.String(), serde.String()).To("out")
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	again, err := b.Build()
	if err == nil || again != nil {
		t.Fatalf("second Build returned %v, %v; want an error", again, err)
	}
	if !strings.Contains(err.Error(), "twice") {
		t.Errorf("second Build error %q", err)
	}
	// The first topology still runs.
	d := streamstest.New(t, topo)
	strIn(d, "in").PipeAt("k", "v", at(1))
	expectRecords(t, strOut(d, "out"), rec("k", "v", 1))

	// A failed Build counts too.
	b = dsl.NewBuilder()
	toOrders(b.Stream("in", serde.String(), serde.String())).To("out")
	if _, err := b.Build(); !errors.Is(err, dsl.ErrMissingSerde) {
		t.Fatalf("first Build error %v, want ErrMissingSerde", err)
	}
	if _, err := b.Build(); err == nil || errors.Is(err, dsl.ErrMissingSerde) {
		t.Errorf("second Build after a failed one returned %v, want the build-twice error", err)
	}
}

// The topology of a successful Build is sealed: wiring more with the builder fails Build, and
// does not change the topology.
func TestBuilderAfterBuild(t *testing.T) {
	b := dsl.NewBuilder()
	s := b.Stream("in", serde.String(), serde.String())
	s.To("out")
	topo := mustBuild(t, b)
	before := topo.Describe().String()
	s.Filter(func(string, string) bool { return true }).To("late")
	if after := topo.Describe().String(); after != before {
		t.Errorf("topology changed after Build:\n%s\nwas:\n%s", after, before)
	}
	if _, err := b.Build(); err == nil {
		t.Error("Build after more wiring succeeded")
	}
}
