package rill_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rillstreams/rill"
	"github.com/rillstreams/rill/dsl"
	"github.com/rillstreams/rill/kafkatest"
	"github.com/rillstreams/rill/processor"
	"github.com/rillstreams/rill/serde"
	"github.com/rillstreams/rill/state/memory"
	"github.com/rillstreams/rill/topology"
)

// Production errors reported by the broker after the send (asynchronously) go to the
// production handler: the "big" topic refuses records over 1000 bytes, and the topology
// sends every input whose value starts with "big" there, padded to 2000 bytes; the rest go
// to "out".

func bigRecordsTopology(t testing.TB) *topology.Topology {
	b := dsl.NewBuilder()
	in := b.Stream("in", serde.String(), serde.String())
	in.Filter(func(_, v string) bool { return strings.HasPrefix(v, "big") }).
		MapValues(func(_, v string) string { return v + incompressible(3000) }).
		To("big")
	in.Filter(func(_, v string) bool { return !strings.HasPrefix(v, "big") }).To("out")
	topo, err := b.Build()
	must(t, err)
	return topo
}

// incompressible returns n random bytes in base64: the producer compresses batches, and the
// broker measures the compressed batch.
func incompressible(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rand.Uint32())
	}
	return base64.StdEncoding.EncodeToString(b)
}

// bigRecordsBroker creates the topics and writes n inputs, every tenth one big.
func bigRecordsBroker(t *testing.T, ctx context.Context, n int) (*kafkatest.Broker, []kafkatest.Record) {
	broker := newBroker(t, ctx, 2, "in", "out", "dlq")
	must(t, broker.CreateTopicWithConfigs(ctx, "big", 1, map[string]string{"max.message.bytes": "1000"}))
	recs := keyed(n, 7, func(i int) []byte {
		if i%10 == 0 {
			return []byte("big" + strconv.Itoa(i))
		}
		return []byte("v" + strconv.Itoa(i))
	})
	must(t, broker.Produce(ctx, recs...))
	return broker, recs
}

// handlerCalls records what a production handler was asked, then answers like next.
type handlerCalls struct {
	mu    sync.Mutex
	calls []string // input value and error, per call
	bad   []string // calls whose context or error is wrong
}

func (h *handlerCalls) handler(next processor.ErrorHandler) processor.ErrorHandler {
	return func(ec *processor.ErrorContext, err error) processor.Response {
		h.mu.Lock()
		h.calls = append(h.calls, string(ec.Value))
		if ec.Kind != processor.ProductionError || ec.Topic != "in" || ec.Offset < 0 ||
			!strings.HasPrefix(string(ec.Value), "big") || !strings.Contains(err.Error(), "MESSAGE_TOO_LARGE") ||
			!strings.Contains(err.Error(), "big") {
			h.bad = append(h.bad, fmt.Sprintf("kind %v topic %q offset %d value %q: %v", ec.Kind, ec.Topic, ec.Offset, ec.Value, err))
		}
		h.mu.Unlock()
		return next(ec, err)
	}
}

func (h *handlerCalls) values() ([]string, []string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Sorted(slices.Values(h.calls)), slices.Clone(h.bad)
}

func TestProductionErrorContinue(t *testing.T) {
	for _, eos := range []bool{false, true} {
		t.Run(fmt.Sprintf("exactlyOnce=%v", eos), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
			defer cancel()
			broker, recs := bigRecordsBroker(t, ctx, 100)
			var h handlerCalls
			cfg := rill.Config{CacheMaxBytes: -1, ApplicationID: "prod-continue", Bootstrap: broker.Addrs(), StateDir: t.TempDir(),
				CommitInterval: 50 * time.Millisecond, StoreBackend: memory.Backend(),
				ErrorHandlers: rill.ErrorHandlers{Production: h.handler(processor.LogAndContinue)}}
			if eos {
				cfg.ProcessingGuarantee = rill.ExactlyOnceV2
			}
			stop := startApp(t, ctx, bigRecordsTopology(t), cfg)
			out, err := broker.Consume(ctx, "out", 90, eos)
			if err != nil {
				t.Fatalf("consumed %d of 90: %v", len(out), err)
			}
			// The app keeps running: later input still comes out.
			more := []kafkatest.Record{{Topic: "in", Key: []byte("late"), Value: []byte("after"), Timestamp: time.Now()}}
			must(t, broker.Produce(ctx, more...))
			out, err = broker.Consume(ctx, "out", 91, eos)
			if err != nil {
				t.Fatalf("consumed %d of 91 after the drops: %v", len(out), err)
			}
			if err := stop(); err != nil {
				t.Fatalf("Run: %v", err)
			}
			var want []string
			for _, r := range recs {
				if v := string(r.Value); strings.HasPrefix(v, "big") {
					want = append(want, v)
				}
			}
			slices.Sort(want)
			got, bad := h.values()
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("handler asked about\n %v\nwant one call per big record\n %v", got, want)
			}
			for _, b := range bad {
				t.Errorf("handler context: %s", b)
			}
			// The dropped records' input offsets were committed with the rest: a new
			// instance of the app reads nothing again.
			h2 := &handlerCalls{}
			cfg.ErrorHandlers.Production = h2.handler(processor.LogAndContinue)
			cfg.StateDir = t.TempDir()
			stop = startApp(t, ctx, bigRecordsTopology(t), cfg)
			more[0].Value = []byte("after restart")
			must(t, broker.Produce(ctx, more...))
			if out, err = broker.Consume(ctx, "out", 92, eos); err != nil {
				t.Fatalf("consumed %d of 92 after a restart: %v", len(out), err)
			}
			if len(out) != 92 {
				t.Errorf("%d outputs after a restart, want 92", len(out))
			}
			if err := stop(); err != nil {
				t.Fatalf("second Run: %v", err)
			}
			if got, _ := h2.values(); len(got) != 0 {
				t.Errorf("after a restart the handler was asked again about %v: offsets not committed", got)
			}
		})
	}
}

func TestProductionErrorDeadLetter(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	broker, _ := bigRecordsBroker(t, ctx, 50)
	stop := startApp(t, ctx, bigRecordsTopology(t), rill.Config{CacheMaxBytes: -1, ApplicationID: "prod-dlq", Bootstrap: broker.Addrs(),
		StateDir: t.TempDir(), CommitInterval: 50 * time.Millisecond, StoreBackend: memory.Backend(),
		ErrorHandlers: rill.ErrorHandlers{Production: processor.DeadLetterQueue("dlq")}})
	dlq, err := broker.Consume(ctx, "dlq", 5, false)
	if err != nil {
		t.Fatalf("dead letters: got %d of 5: %v", len(dlq), err)
	}
	if _, err := broker.Consume(ctx, "out", 45, false); err != nil {
		t.Fatal(err)
	}
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	var got []string
	for _, r := range dlq {
		got = append(got, string(r.Value))
	}
	slices.Sort(got)
	// The dead letters are the input records, unchanged (not the padded outputs).
	if want := "[big0 big10 big20 big30 big40]"; fmt.Sprint(got) != want {
		t.Errorf("dead letters %v, want %s", got, want)
	}
}

func TestProductionErrorFail(t *testing.T) {
	for _, eos := range []bool{false, true} {
		t.Run(fmt.Sprintf("exactlyOnce=%v", eos), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			broker, _ := bigRecordsBroker(t, ctx, 100)
			cfg := rill.Config{CacheMaxBytes: -1, ApplicationID: "prod-fail", Bootstrap: broker.Addrs(), StateDir: t.TempDir(),
				CommitInterval: 50 * time.Millisecond, StoreBackend: memory.Backend()} // default: LogAndFail
			if eos {
				cfg.ProcessingGuarantee = rill.ExactlyOnceV2
			}
			app, err := rill.New(bigRecordsTopology(t), cfg)
			must(t, err)
			err = app.Run(ctx)
			if ctx.Err() != nil {
				t.Fatal("Run did not fail")
			}
			if !errors.Is(err, processor.ErrProduction) {
				t.Fatalf("Run: %v, want an error matching processor.ErrProduction", err)
			}
			var te *processor.TaskError
			if !errors.As(err, &te) || te.Topic != "in" || te.Node == "" {
				t.Errorf("Run: %#v, want a TaskError naming the input record and the sink", te)
			}
			if eos {
				// The failed transaction was aborted: nothing of it is visible.
				cctx, ccancel := context.WithTimeout(ctx, 2*time.Second)
				defer ccancel()
				out, _ := broker.Consume(cctx, "out", 90, true)
				if len(out) >= 90 {
					t.Errorf("read_committed saw all %d outputs of a transaction that failed", len(out))
				}
			}
		})
	}
}

// A changelog record the broker refuses is fatal whatever the handler says: the store holds
// the write, its changelog would not.
func TestProductionErrorChangelogIsFatal(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	broker := kafkatest.New(t)
	must(t, broker.CreateTopic(ctx, "in", 1))
	must(t, broker.CreateTopic(ctx, "out", 1))
	// The changelog exists before the app creates it, with a limit no aggregate fits in.
	must(t, broker.CreateTopicWithConfigs(ctx, "prod-changelog-lists-changelog", 1, map[string]string{
		"max.message.bytes": "200", "cleanup.policy": "compact"}))
	must(t, broker.Produce(ctx, keyed(20, 1, func(i int) []byte { return []byte(strings.Repeat("v", 50)) })...))
	b := dsl.NewBuilder()
	b.Stream("in", serde.String(), serde.String()).GroupByKey().
		Reduce(func(a, v string) string { return a + v }, dsl.Materialized("lists")).
		ToStream().To("out")
	topo, err := b.Build()
	must(t, err)
	var h handlerCalls
	app, err := rill.New(topo, rill.Config{CacheMaxBytes: -1, ApplicationID: "prod-changelog", Bootstrap: broker.Addrs(),
		StateDir: t.TempDir(), CommitInterval: 50 * time.Millisecond, StoreBackend: memory.Backend(),
		ErrorHandlers: rill.ErrorHandlers{Production: h.handler(processor.LogAndContinue)}})
	must(t, err)
	err = app.Run(ctx)
	if ctx.Err() != nil {
		t.Fatal("Run did not fail")
	}
	if !errors.Is(err, processor.ErrProduction) || !strings.Contains(err.Error(), "changelog") {
		t.Fatalf("Run: %v, want a changelog production error", err)
	}
	if got, _ := h.values(); len(got) != 0 {
		t.Errorf("the handler was asked about changelog records: %v", got)
	}
}
