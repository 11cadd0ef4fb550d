package joins_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/rillstreams/rill/joins"
	"github.com/rillstreams/rill/processor"
	"github.com/rillstreams/rill/serde"
	"github.com/rillstreams/rill/state"
	"github.com/rillstreams/rill/state/memory"
	"github.com/rillstreams/rill/streamstest"
	"github.com/rillstreams/rill/topology"
)

// handBuiltJoin is the package doc's example: a left join of orders with payments within a
// minute, wired by hand.
func handBuiltJoin(t testing.TB) *topology.Topology {
	j := &joins.StreamStream[string, string, string, string]{
		Window: joins.Window{Before: 60_000, After: 60_000},
		Store:  "orders-buffer", OtherStore: "payments-buffer", OuterStore: "unpaid",
		KeySerde: serde.String(), ValueSerde: serde.String(), OtherValueSerde: serde.String(),
		Joiner:   func(k, o, p string) string { return o + " paid by " + p },
		LeftOnly: func(k, o string) string { return o + " unpaid" },
	}
	if err := j.Validate(); err != nil {
		t.Fatal(err)
	}
	topo := topology.New()
	check := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	check(topo.AddSource("orders-source", serde.String(), serde.String(), "orders"))
	check(topo.AddSource("payments-source", serde.String(), serde.String(), "payments"))
	check(topo.AddProcessor("orders-windowed", j.ThisWindowed(), "orders-source"))
	check(topo.AddProcessor("payments-windowed", j.OtherWindowed(), "payments-source"))
	check(topo.AddProcessor("orders-join", j.ThisJoin(), "orders-windowed"))
	check(topo.AddProcessor("payments-join", j.OtherJoin(), "payments-windowed"))
	ordersSB, paymentsSB := j.WindowStoreBuilders()
	check(topo.AddStore(ordersSB, "orders-windowed", "payments-join"))
	check(topo.AddStore(paymentsSB, "payments-windowed", "orders-join"))
	check(topo.AddStore(joins.NewOuterStoreBuilder("unpaid"), "orders-join", "payments-join"))
	check(topo.AddSink("out", "results", serde.String(), serde.String(), "orders-join", "payments-join"))
	check(topo.Seal())
	return topo
}

func TestHandBuiltLeftJoin(t *testing.T) {
	d := streamstest.New(t, handBuiltJoin(t))
	orders := streamstest.Input(d, "orders", serde.String(), serde.String())
	payments := streamstest.Input(d, "payments", serde.String(), serde.String())
	out := streamstest.Output(d, "results", serde.String(), serde.String())
	at := func(s int) time.Time { return time.UnixMilli(int64(s) * 1000) }

	orders.PipeAt("o1", "order 1", at(0))
	orders.PipeAt("o2", "order 2", at(10))
	payments.PipeAt("o1", "card", at(30))
	payments.PipeAt("o3", "cash", at(65)) // closes o1's... and nothing else: o2 closes at 70
	payments.PipeAt("o3", "cash", at(71)) // o2's window closed at 70
	want := []string{"o1: order 1 paid by card @30000", "o2: order 2 unpaid @10000"}
	var got []string
	for _, r := range out.ReadAll() {
		got = append(got, fmt.Sprintf("%s: %s @%d", r.Key, r.Value, r.Time.UnixMilli()))
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got %q, want %q", got, want)
	}
	store, ok := d.Store("unpaid")
	if !ok {
		t.Fatal("no unpaid store")
	}
	n, err := store.(*joins.OuterStore).ApproximateCount()
	if err != nil || n != 0 {
		t.Errorf("unpaid store holds %d records (%v) after every window closed", n, err)
	}
}

// A restored outer store (its minimum timestamp unknown) still emits what it holds.
func TestOuterStoreRestore(t *testing.T) {
	b := joins.NewOuterStoreBuilder("shared")
	s, err := b.Build(state.StoreContext{Backend: memory.Backend()})
	if err != nil {
		t.Fatal(err)
	}
	os := s.(*joins.OuterStore)
	defer os.Close()
	// One left record of key "k" at 5 with value "v": the layout written by a join.
	key := append([]byte{0, 0, 0, 0, 0, 0, 0, 5, 1}, 'k')
	if err := os.Restore(key, []byte{1, 'v'}); err != nil {
		t.Fatal(err)
	}
	j := &joins.StreamStream[string, string, string, string]{
		Window: joins.Window{Before: 10, After: 10}, Store: "l", OtherStore: "r", OuterStore: "shared",
		KeySerde: serde.String(), ValueSerde: serde.String(), OtherValueSerde: serde.String(),
		Joiner:   func(k, v, vo string) string { return v + vo },
		LeftOnly: func(k, v string) string { return v + "+none" },
	}
	lb, rb := j.WindowStoreBuilders()
	ls, _ := lb.Build(state.StoreContext{Backend: memory.Backend()})
	rs, _ := rb.Build(state.StoreContext{Backend: memory.Backend()})
	ctx := &ctxStub{stores: map[string]processor.Store{"l": ls, "r": rs, "shared": os}, streamTime: 100}
	p := j.OtherJoin()()
	if err := p.Init(ctx); err != nil {
		t.Fatal(err)
	}
	if err := p.Process(processor.Record[string, string]{Key: "x", Value: "y", Timestamp: 100}); err != nil {
		t.Fatal(err)
	}
	if len(ctx.out) != 1 || ctx.out[0].Key != "k" || ctx.out[0].Value != "v+none" || ctx.out[0].Timestamp != 5 {
		t.Errorf("emitted %+v, want k: v+none @5", ctx.out)
	}
}

type ctxStub struct {
	out        []processor.Record[string, string]
	stores     map[string]processor.Store
	streamTime int64
}

func (c *ctxStub) Forward(r processor.Record[string, string]) error {
	c.out = append(c.out, r)
	return nil
}
func (c *ctxStub) ForwardTo(_ string, r processor.Record[string, string]) error { return c.Forward(r) }
func (c *ctxStub) Schedule(time.Duration, processor.PunctuationType, processor.Punctuator) (func(), error) {
	return func() {}, nil
}
func (c *ctxStub) StateStore(name string) (processor.Store, error) {
	if s, ok := c.stores[name]; ok {
		return s, nil
	}
	return nil, processor.ErrUnknownStore
}
func (c *ctxStub) RecordMetadata() (processor.RecordMetadata, bool) {
	return processor.RecordMetadata{}, false
}
func (c *ctxStub) TaskID() processor.TaskID { return processor.TaskID{} }
func (c *ctxStub) StreamTime() int64        { return c.streamTime }
func (c *ctxStub) ApplicationID() string    { return "test" }
func (c *ctxStub) RecordDropped(string)     {}

func TestWindowValidate(t *testing.T) {
	for _, w := range []joins.Window{{Before: -5, After: 2}, {Before: 1, After: 1, Grace: -1}} {
		if err := w.Validate(); err == nil {
			t.Errorf("%+v validated", w)
		}
	}
	if err := (joins.Window{Before: -2, After: 5}).Validate(); err != nil {
		t.Errorf("a negative before with a larger after is valid: %v", err)
	}
	if r := (joins.Window{}).Retention(); r != 1 {
		t.Errorf("retention of a zero window = %d, want 1", r)
	}
}
