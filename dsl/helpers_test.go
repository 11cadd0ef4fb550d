package dsl_test

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/rillstreams/rill/dsl"
	"github.com/rillstreams/rill/processor"
	"github.com/rillstreams/rill/serde"
	"github.com/rillstreams/rill/streamstest"
	"github.com/rillstreams/rill/topology"
)

// Shared helpers of the dsl tests. Every test builds a topology with the DSL, runs it in the
// broker-less driver and checks keys, values and timestamps of what comes out.

// at is a record timestamp in milliseconds since the epoch.
func at(ms int64) time.Time { return time.UnixMilli(ms) }

// kvt is one output record reduced to what the tests compare: key, value, timestamp (ms).
type kvt[K, V any] struct {
	K  K
	V  V
	TS int64
}

func (r kvt[K, V]) String() string { return fmt.Sprintf("(%v, %v, @%d)", r.K, r.V, r.TS) }

func rec[K, V any](k K, v V, ts int64) kvt[K, V] { return kvt[K, V]{K: k, V: v, TS: ts} }

// expectRecords reads every unread record of out and compares keys, values and timestamps,
// in order, with want.
func expectRecords[K, V any](t *testing.T, out *streamstest.OutputTopic[K, V], want ...kvt[K, V]) {
	t.Helper()
	var got []kvt[K, V]
	for _, r := range out.ReadAll() {
		got = append(got, kvt[K, V]{K: r.Key, V: r.Value, TS: r.Time.UnixMilli()})
	}
	if len(got) == 0 && len(want) == 0 {
		return
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("records:\n got %v\nwant %v", got, want)
	}
}

// mustBuild builds b or fails the test.
func mustBuild(t *testing.T, b *dsl.Builder) *topology.Topology {
	t.Helper()
	topo, err := b.Build()
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	return topo
}

// buildErr builds b and returns the error it must fail with.
func buildErr(t *testing.T, b *dsl.Builder) error {
	t.Helper()
	topo, err := b.Build()
	if err == nil {
		t.Fatalf("Build succeeded, want an error; topology:\n%s", topo.Describe())
	}
	if topo != nil {
		t.Errorf("Build returned a topology along with error %v", err)
	}
	return err
}

// joinedErrors returns the errors an errors.Join error holds (or err alone), so tests can
// count the distinct problems a Build reported.
func joinedErrors(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// strIn and strOut are the usual string/string input and output topics.
func strIn(d *streamstest.Driver, topic string) *streamstest.InputTopic[string, string] {
	return streamstest.Input(d, topic, serde.String(), serde.String())
}

func strOut(d *streamstest.Driver, topic string) *streamstest.OutputTopic[string, string] {
	return streamstest.Output(d, topic, serde.String(), serde.String())
}

// hdrs makes headers from key, value pairs.
func hdrs(kv ...string) []processor.Header {
	var h []processor.Header
	for i := 0; i+1 < len(kv); i += 2 {
		h = append(h, processor.Header{Key: kv[i], Value: []byte(kv[i+1])})
	}
	return h
}

// headerValue returns the value of the last header named key, and whether there is one.
func headerValue(h []processor.Header, key string) (string, bool) {
	v, ok := "", false
	for _, x := range h {
		if x.Key == key {
			v, ok = string(x.Value), true
		}
	}
	return v, ok
}

// prefixSerde is a string serde that writes prefix+value and reads only data with that prefix:
// it makes visible which serde wrote a record.
func prefixSerde(prefix string) serde.Serde[string] {
	return serde.New(
		func(_ string, v string) ([]byte, error) { return []byte(prefix + v), nil },
		func(_ string, data []byte) (string, error) {
			s, ok := strings.CutPrefix(string(data), prefix)
			if !ok {
				return "", fmt.Errorf("prefixSerde: %q lacks prefix %q", data, prefix)
			}
			return s, nil
		})
}

// rawOut reads a topic's records as the bytes that were written (as strings, which print
// readably and compare with ==).
func rawOut(d *streamstest.Driver, topic string) *streamstest.OutputTopic[string, string] {
	return streamstest.Output(d, topic, serde.String(), serde.String())
}

// describeNode returns the node called name in the description, and the sub-topology id.
func describeNode(t *testing.T, topo *topology.Topology, name string) (topology.NodeDescription, int) {
	t.Helper()
	for _, sub := range topo.Describe().Subtopologies {
		for _, n := range sub.Nodes {
			if n.Name == name {
				return n, sub.ID
			}
		}
	}
	t.Fatalf("no node %q in\n%s", name, topo.Describe())
	return topology.NodeDescription{}, -1
}

// nodeNames lists every node name of the description, sub-topology by sub-topology.
func nodeNames(topo *topology.Topology) []string {
	var names []string
	for _, sub := range topo.Describe().Subtopologies {
		for _, n := range sub.Nodes {
			names = append(names, n.Name)
		}
	}
	return names
}

// Order is a user type with no stock serde.
type Order struct {
	ID     string  `json:"id"`
	Amount float64 `json:"amount"`
}

var errBoom = errors.New("boom")

// funcProcessor is a processor.Processor made of functions, for tests that need a small one.
type funcProcessor[KIn, VIn, KOut, VOut any] struct {
	ctx     processor.Context[KOut, VOut]
	init    func(ctx processor.Context[KOut, VOut]) error
	process func(ctx processor.Context[KOut, VOut], r processor.Record[KIn, VIn]) error
}

func (p *funcProcessor[KIn, VIn, KOut, VOut]) Init(ctx processor.Context[KOut, VOut]) error {
	p.ctx = ctx
	if p.init != nil {
		return p.init(ctx)
	}
	return nil
}

func (p *funcProcessor[KIn, VIn, KOut, VOut]) Process(r processor.Record[KIn, VIn]) error {
	if p.process != nil {
		return p.process(p.ctx, r)
	}
	return nil
}

func (p *funcProcessor[KIn, VIn, KOut, VOut]) Close() error { return nil }
