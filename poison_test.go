package rill_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/rillstreams/rill"
	"github.com/rillstreams/rill/dsl"
	"github.com/rillstreams/rill/kafkatest"
	"github.com/rillstreams/rill/processor"
	"github.com/rillstreams/rill/serde"
	"github.com/rillstreams/rill/topology"
)

// The poison-record suite: garbage on an input topic, under each error handler and both
// guarantees. The topology reads int64 keys and JSON values, writes each value's n to "out"
// and counts records per key to "counts". The poisons:
//   - malformed JSON, and an empty value: the value serde fails (deserialization);
//   - a null value: the serde gives a nil *payload, which the MapValues function dereferences
//     and panics on (processing);
//   - a 3-byte key: the int64 key serde fails (deserialization);
//   - a negative timestamp: the default timestamp extractor fails it (deserialization).

type payload struct {
	N int64 `json:"n"`
}

func poisonTopology(t testing.TB) *topology.Topology {
	b := dsl.NewBuilder()
	in := b.Stream("in", serde.Int64(), serde.JSON[*payload]())
	in.MapValues(func(_ int64, p *payload) int64 { return p.N }).
		To("out", dsl.WithSerdes(serde.Int64(), serde.Int64()))
	in.GroupByKey().Count(dsl.Materialized("poison-counts")).ToStream().
		To("counts", dsl.WithSerdes(serde.Int64(), serde.Int64()))
	topo, err := b.Build()
	must(t, err)
	return topo
}

type poison struct {
	name string
	rec  func(ts time.Time) kafkatest.Record
	kind processor.ErrorKind
}

var poisons = []poison{
	{"malformed JSON", func(ts time.Time) kafkatest.Record {
		return kafkatest.Record{Key: int64Bytes(1), Value: []byte(`{"n":`), Timestamp: ts}
	}, processor.DeserializationError},
	{"empty value", func(ts time.Time) kafkatest.Record {
		return kafkatest.Record{Key: int64Bytes(2), Value: []byte{}, Timestamp: ts}
	}, processor.DeserializationError},
	{"null value", func(ts time.Time) kafkatest.Record {
		return kafkatest.Record{Key: int64Bytes(3), Value: nil, Timestamp: ts}
	}, processor.ProcessingError},
	{"garbage key", func(ts time.Time) kafkatest.Record {
		return kafkatest.Record{Key: []byte{0xde, 0xad, 0x00}, Value: []byte(`{"n":1}`), Timestamp: ts}
	}, processor.DeserializationError},
	{"negative timestamp", func(time.Time) kafkatest.Record {
		return kafkatest.Record{Key: int64Bytes(4), Value: []byte(`{"n":1}`), Timestamp: time.UnixMilli(-5)}
	}, processor.DeserializationError},
}

// poisonInput is good records 0..good-1 (value {"n":i}, key i%5) with the given poisons at
// the given positions (offsets: the input topic has one partition).
func poisonInput(good int, at map[int]poison) (recs []kafkatest.Record, poisonAt map[int64]poison) {
	base := time.Now().Add(-time.Hour)
	poisonAt = map[int64]poison{}
	for i := 0; i < good; i++ {
		if p, ok := at[i]; ok {
			poisonAt[int64(len(recs))] = p
			recs = append(recs, p.rec(base.Add(time.Duration(len(recs))*time.Millisecond)))
		}
		recs = append(recs, kafkatest.Record{Key: int64Bytes(i % 5), Value: []byte(`{"n":` + strconv.Itoa(i) + `}`),
			Timestamp: base.Add(time.Duration(len(recs)) * time.Millisecond)})
	}
	for i := range recs {
		recs[i].Topic = "in"
	}
	return recs, poisonAt
}

func poisonBroker(t *testing.T, ctx context.Context, recs []kafkatest.Record) *kafkatest.Broker {
	broker := newBroker(t, ctx, 1, "in", "out", "counts", "dlq")
	must(t, broker.Produce(ctx, recs...))
	return broker
}

// handled records what error handlers were asked about, then answers like next.
type handled struct {
	mu    sync.Mutex
	calls map[int64]processor.ErrorKind // input offset -> kind
	bad   []string
}

func (h *handled) wrap(next processor.ErrorHandler) processor.ErrorHandler {
	return func(ec *processor.ErrorContext, err error) processor.Response {
		h.mu.Lock()
		defer h.mu.Unlock()
		if h.calls == nil {
			h.calls = map[int64]processor.ErrorKind{}
		}
		if _, dup := h.calls[ec.Offset]; dup {
			h.bad = append(h.bad, fmt.Sprintf("asked twice about offset %d", ec.Offset))
		}
		h.calls[ec.Offset] = ec.Kind
		if ec.Topic != "in" || ec.Partition != 0 || err == nil {
			h.bad = append(h.bad, fmt.Sprintf("context topic %q partition %d offset %d: %v", ec.Topic, ec.Partition, ec.Offset, err))
		}
		return next(ec, err)
	}
}

// goodValues reads the n values written to out, read_committed under exactly-once.
func goodValues(t *testing.T, ctx context.Context, broker *kafkatest.Broker, n int, eos bool) []int64 {
	t.Helper()
	out, err := broker.Consume(ctx, "out", n, eos)
	if err != nil {
		t.Fatalf("out: %d of %d records: %v", len(out), n, err)
	}
	var vs []int64
	for _, r := range out {
		v, err := serde.Int64().Deserialize("out", r.Value)
		must(t, err)
		vs = append(vs, v)
	}
	return vs
}

// checkGood checks that values holds each of 0..good-1: exactly once under exactly-once, at
// least once otherwise.
func checkGood(t *testing.T, values []int64, good int, eos bool) {
	t.Helper()
	seen := map[int64]int{}
	for _, v := range values {
		seen[v]++
	}
	for i := range int64(good) {
		switch c := seen[i]; {
		case c == 0:
			t.Errorf("good record %d lost", i)
		case c > 1 && eos:
			t.Errorf("good record %d written %d times under exactly-once", i, c)
		}
		delete(seen, i)
	}
	for v, c := range seen {
		t.Errorf("unexpected output value %d (%d times)", v, c)
	}
}

// checkCounts reads the counts topic until every key's latest count is the expected one
// (exactly-once), or at least it (at-least-once: a replay after the failure counts records
// again).
func checkCounts(t *testing.T, ctx context.Context, broker *kafkatest.Broker, good int, eos bool) {
	t.Helper()
	want := map[int64]int64{}
	for i := range good {
		want[int64(i%5)]++
	}
	opts := []kgo.Opt{kgo.SeedBrokers(broker.Addrs()...), kgo.ConsumeTopics("counts"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart())}
	if eos {
		opts = append(opts, kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	}
	cl, err := kgo.NewClient(opts...)
	must(t, err)
	defer cl.Close()
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	got := map[int64]int64{}
	for {
		done := true
		for k, w := range want {
			if got[k] < w || (eos && got[k] != w) {
				done = false
			}
		}
		if done {
			return
		}
		fs := cl.PollFetches(cctx)
		if cctx.Err() != nil {
			t.Fatalf("latest counts %v, want %v", got, want)
		}
		fs.EachRecord(func(r *kgo.Record) {
			k, err1 := serde.Int64().Deserialize("counts", r.Key)
			c, err2 := serde.Int64().Deserialize("counts", r.Value)
			if err := errors.Join(err1, err2); err != nil {
				t.Errorf("counts record: %v", err)
				return
			}
			got[k] = c
		})
	}
}

func committedOffset(t *testing.T, ctx context.Context, broker *kafkatest.Broker, group string) int64 {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(broker.Addrs()...))
	must(t, err)
	defer cl.Close()
	offs, err := kadm.NewClient(cl).FetchOffsets(ctx, group)
	must(t, err)
	o, ok := offs.Lookup("in", 0)
	if !ok {
		return 0
	}
	return o.At
}

// Under the default handler (LogAndFail) each poison fails Run with an error naming the record;
// nothing past it is committed or (under exactly-once) visible; an operator who switches to
// LogAndContinue gets every good record once the app runs again.
func TestPoisonRecordFails(t *testing.T) {
	for _, p := range poisons {
		for gname, g := range guarantees() {
			t.Run(p.name+"/"+gname, func(t *testing.T) {
				ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
				defer cancel()
				const good, bad = 40, 20
				recs, _ := poisonInput(good, map[int]poison{bad: p})
				broker := poisonBroker(t, ctx, recs)
				cfg := rill.Config{CacheMaxBytes: -1, ApplicationID: "poison-fail", Bootstrap: broker.Addrs(),
					StateDir: t.TempDir(), ProcessID: "one", CommitInterval: 50 * time.Millisecond, ProcessingGuarantee: g}
				app, err := rill.New(poisonTopology(t), cfg)
				must(t, err)
				err = app.Run(ctx)
				if ctx.Err() != nil {
					t.Fatal("Run did not fail on the poison record")
				}
				var te *processor.TaskError
				if !errors.As(err, &te) {
					t.Fatalf("Run: %v, want a *processor.TaskError", err)
				}
				if te.Kind != p.kind || te.Topic != "in" || te.Partition != 0 || te.Offset != bad {
					t.Errorf("Run: %v (kind %v at in[%d]@%d), want a %v error at in[0]@%d", err, te.Kind, te.Partition, te.Offset, p.kind, bad)
				}
				if c := committedOffset(t, ctx, broker, cfg.ApplicationID); c > bad {
					t.Errorf("committed offset %d is past the poison record at %d", c, bad)
				}
				// Nothing after the poison record was written (visibly, under exactly-once).
				cctx, ccancel := context.WithTimeout(ctx, time.Second)
				out, _ := broker.Consume(cctx, "out", good, g == rill.ExactlyOnceV2)
				ccancel()
				for _, r := range out {
					if v, _ := serde.Int64().Deserialize("out", r.Value); v >= bad {
						t.Errorf("output %d of an input after the poison record was written", v)
					}
				}

				// The operator switches to LogAndContinue: every good record comes out.
				var h handled
				cfg.ErrorHandlers.Deserialization = h.wrap(processor.LogAndContinue)
				cfg.ErrorHandlers.Processing = h.wrap(processor.LogAndContinue)
				stop := startApp(t, ctx, poisonTopology(t), cfg)
				checkGood(t, goodValues(t, ctx, broker, good, g == rill.ExactlyOnceV2), good, g == rill.ExactlyOnceV2)
				checkCounts(t, ctx, broker, good, g == rill.ExactlyOnceV2)
				if err := stop(); err != nil {
					t.Fatalf("Run after switching handlers: %v", err)
				}
				h.mu.Lock()
				defer h.mu.Unlock()
				if k, ok := h.calls[bad]; len(h.calls) != 1 || !ok || k != p.kind {
					t.Errorf("handler asked about %v, want only offset %d as %v", h.calls, bad, p.kind)
				}
				for _, b := range h.bad {
					t.Error(b)
				}
			})
		}
	}
}

// mixedPoisons spreads every poison over 100 good records.
func mixedPoisons() ([]kafkatest.Record, map[int64]poison) {
	at := map[int]poison{}
	for i, p := range poisons {
		at[7+i*19] = p
	}
	return poisonInput(100, at)
}

// LogAndContinue skips each poison record, logs it, and loses nothing else.
func TestPoisonRecordsSkipped(t *testing.T) {
	for gname, g := range guarantees() {
		t.Run(gname, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
			defer cancel()
			recs, poisonAt := mixedPoisons()
			broker := poisonBroker(t, ctx, recs)
			core, logs := observer.New(zapcore.WarnLevel)
			var h handled
			cfg := rill.Config{CacheMaxBytes: -1, ApplicationID: "poison-skip", Bootstrap: broker.Addrs(),
				StateDir: t.TempDir(), CommitInterval: 50 * time.Millisecond, ProcessingGuarantee: g,
				Logger: zap.New(core), ErrorHandlers: rill.ErrorHandlers{Deserialization: h.wrap(processor.LogAndContinue),
					Processing: h.wrap(processor.LogAndContinue)}}
			stop := startApp(t, ctx, poisonTopology(t), cfg)
			checkGood(t, goodValues(t, ctx, broker, 100, g == rill.ExactlyOnceV2), 100, g == rill.ExactlyOnceV2)
			checkCounts(t, ctx, broker, 100, g == rill.ExactlyOnceV2)
			if err := stop(); err != nil {
				t.Fatalf("Run: %v", err)
			}
			h.mu.Lock()
			defer h.mu.Unlock()
			checkHandled(t, h.calls, poisonAt)
			for _, b := range h.bad {
				t.Error(b)
			}
			var skipped []int64
			for _, e := range logs.FilterMessageSnippet("skipping record").All() {
				if o, ok := e.ContextMap()["offset"].(int64); ok {
					skipped = append(skipped, o)
				}
			}
			slices.Sort(skipped)
			if want := slices.Sorted(maps.Keys(poisonAt)); fmt.Sprint(skipped) != fmt.Sprint(want) {
				t.Errorf("skips logged at offsets %v, want %v", skipped, want)
			}
		})
	}
}

func checkHandled(t *testing.T, calls map[int64]processor.ErrorKind, poisonAt map[int64]poison) {
	t.Helper()
	for off, p := range poisonAt {
		if k, ok := calls[off]; !ok || k != p.kind {
			t.Errorf("%s at offset %d: handler asked %v (%v), want a %v error", p.name, off, ok, k, p.kind)
		}
	}
	for off := range calls {
		if _, ok := poisonAt[off]; !ok {
			t.Errorf("handler asked about good record at offset %d", off)
		}
	}
}

// DeadLetterQueue sends each poison record, unchanged, to the dead-letter topic with the
// error headers (KIP-1034), and loses nothing else.
func TestPoisonRecordsDeadLettered(t *testing.T) {
	for gname, g := range guarantees() {
		t.Run(gname, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
			defer cancel()
			recs, poisonAt := mixedPoisons()
			broker := poisonBroker(t, ctx, recs)
			cfg := rill.Config{CacheMaxBytes: -1, ApplicationID: "poison-dlq", Bootstrap: broker.Addrs(),
				StateDir: t.TempDir(), CommitInterval: 50 * time.Millisecond, ProcessingGuarantee: g,
				ErrorHandlers: rill.ErrorHandlers{Deserialization: processor.DeadLetterQueue("dlq"), Processing: processor.DeadLetterQueue("dlq")}}
			stop := startApp(t, ctx, poisonTopology(t), cfg)
			checkGood(t, goodValues(t, ctx, broker, 100, g == rill.ExactlyOnceV2), 100, g == rill.ExactlyOnceV2)
			checkCounts(t, ctx, broker, 100, g == rill.ExactlyOnceV2)
			if err := stop(); err != nil {
				t.Fatalf("Run: %v", err)
			}
			dlq := consumeWithHeaders(t, ctx, broker, "dlq", len(poisonAt), g == rill.ExactlyOnceV2)
			seen := map[int64]bool{}
			for _, r := range dlq {
				h := map[string]string{}
				for _, kv := range r.Headers {
					h[kv.Key] = string(kv.Value)
				}
				off, err := strconv.ParseInt(h[processor.HeaderErrorOffset], 10, 64)
				p, ok := poisonAt[off]
				if err != nil || !ok || h[processor.HeaderErrorTopic] != "in" || h[processor.HeaderErrorPartition] != "0" ||
					h[processor.HeaderErrorException] == "" || h[processor.HeaderErrorMessage] == "" {
					t.Errorf("dead letter with headers %v: not one of the poison records", h)
					continue
				}
				if seen[off] {
					t.Errorf("%s (offset %d) dead-lettered twice", p.name, off)
				}
				seen[off] = true
				want := recs[off]
				if string(r.Key) != string(want.Key) || string(r.Value) != string(want.Value) || (r.Value == nil) != (want.Value == nil) {
					t.Errorf("%s: dead letter key %x value %q, want the raw input key %x value %q", p.name, r.Key, r.Value, want.Key, want.Value)
				}
			}
			if len(seen) != len(poisonAt) {
				t.Errorf("%d of %d poison records dead-lettered", len(seen), len(poisonAt))
			}
		})
	}
}

func consumeWithHeaders(t *testing.T, ctx context.Context, broker *kafkatest.Broker, topic string, n int, committed bool) []*kgo.Record {
	t.Helper()
	opts := []kgo.Opt{kgo.SeedBrokers(broker.Addrs()...), kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart())}
	if committed {
		opts = append(opts, kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	}
	cl, err := kgo.NewClient(opts...)
	must(t, err)
	defer cl.Close()
	var out []*kgo.Record
	for len(out) < n {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("%s: %d of %d records", topic, len(out), n)
		}
		out = append(out, fs.Records()...)
	}
	// More than n would be a duplicate: wait a little for one.
	cctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	out = append(out, cl.PollFetches(cctx).Records()...)
	return out
}
