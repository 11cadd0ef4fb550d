package rill_test

import (
	"context"
	"crypto/rand"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rillstreams/rill"
	"github.com/rillstreams/rill/dsl"
	"github.com/rillstreams/rill/kafkatest"
	"github.com/rillstreams/rill/processor"
	"github.com/rillstreams/rill/serde"
	"github.com/rillstreams/rill/state/memory"
)

// A 5 MB input that fails to deserialize goes to a dead-letter topic that accepts 20 MB. With
// franz-go's default producer limit (1 MB) the dead letter cannot be sent: that went unhandled
// ("dead letter lost"), stopping the app at the same offset at every restart; now the
// production handler decides. With the limit raised through ClientOptions, it is delivered.
func TestLargeDeadLetter(t *testing.T) {
	const big = 5 << 20
	for _, raise := range []bool{false, true} {
		name := map[bool]string{false: "default-limit-goes-to-handler", true: "raised-limit-delivers"}[raise]
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
			defer cancel()
			broker := kafkatest.New(t)
			large := map[string]string{"max.message.bytes": "20971520"}
			must(t, broker.CreateTopicWithConfigs(ctx, "in", 1, large))
			must(t, broker.CreateTopicWithConfigs(ctx, "dlq", 1, large))
			must(t, broker.CreateTopic(ctx, "out", 1))
			huge := make([]byte, big)
			_, _ = rand.Read(huge)
			now := time.Now()
			in := []*kgo.Record{
				{Topic: "in", Key: []byte("a"), Value: int64Bytes(1), Timestamp: now},
				{Topic: "in", Key: []byte("huge"), Value: huge, Timestamp: now},
				{Topic: "in", Key: []byte("b"), Value: int64Bytes(2), Timestamp: now},
			}
			cl, err := kgo.NewClient(kgo.SeedBrokers(broker.Addrs()...), kgo.ProducerBatchMaxBytes(20<<20))
			must(t, err)
			must(t, cl.ProduceSync(ctx, in...).FirstErr())
			cl.Close()

			b := dsl.NewBuilder()
			b.Stream("in", serde.String(), serde.Int64()).
				MapValues(func(_ string, v int64) string { return "ok" }).
				To("out")
			topo, err := b.Build()
			must(t, err)
			var mu sync.Mutex
			var asked []string
			cfg := rill.Config{ApplicationID: "large-dlq", Bootstrap: broker.Addrs(), StateDir: t.TempDir(),
				StoreBackend: memory.Backend(), CommitInterval: 50 * time.Millisecond,
				ErrorHandlers: rill.ErrorHandlers{Deserialization: processor.DeadLetterQueue("dlq"),
					Production: func(ec *processor.ErrorContext, err error) processor.Response {
						mu.Lock()
						asked = append(asked, ec.Topic+"/"+string(ec.Key)+": "+err.Error())
						mu.Unlock()
						return processor.LogAndContinue(ec, err)
					}}}
			if raise {
				cfg.ClientOptions = []kgo.Opt{kgo.ProducerBatchMaxBytes(20 << 20)}
			}
			stop := startApp(t, ctx, topo, cfg)
			out, err := broker.Consume(ctx, "out", 2, false)
			if err != nil {
				t.Fatalf("consumed %d of 2 outputs: %v", len(out), err)
			}
			if err := stop(); err != nil {
				t.Fatalf("Run: %v", err)
			}
			mu.Lock()
			defer mu.Unlock()
			if raise {
				if len(asked) != 0 {
					t.Fatalf("production handler asked %v; the dead letter should have been written", asked)
				}
				dl, err := broker.Consume(ctx, "dlq", 1, false)
				if err != nil {
					t.Fatalf("dead letter not found: %v", err)
				}
				if string(dl[0].Key) != "huge" || len(dl[0].Value) != big {
					t.Fatalf("dead letter key %q, %d bytes; want huge, %d", dl[0].Key, len(dl[0].Value), big)
				}
				return
			}
			if len(asked) != 1 || !strings.HasPrefix(asked[0], "in/huge: ") || !strings.Contains(asked[0], "MESSAGE_TOO_LARGE") {
				t.Fatalf("production handler asked %q; want once, about in/huge, MESSAGE_TOO_LARGE", asked)
			}
		})
	}
}

// TestDeadLetterAnswerToFailedDeadLetterIsLast: a production handler that answers a failed dead
// letter with another dead letter (to the same topic, which fails again) fails the app with
// the cause instead of looping.
func TestDeadLetterAnswerToFailedDeadLetterIsLast(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	broker := kafkatest.New(t)
	large := map[string]string{"max.message.bytes": "20971520"}
	must(t, broker.CreateTopicWithConfigs(ctx, "in", 1, large))
	must(t, broker.CreateTopicWithConfigs(ctx, "dlq", 1, large))
	must(t, broker.CreateTopic(ctx, "out", 1))
	huge := make([]byte, 2<<20)
	_, _ = rand.Read(huge)
	cl, err := kgo.NewClient(kgo.SeedBrokers(broker.Addrs()...), kgo.ProducerBatchMaxBytes(20<<20))
	must(t, err)
	must(t, cl.ProduceSync(ctx, &kgo.Record{Topic: "in", Key: []byte("huge"), Value: huge, Timestamp: time.Now()}).FirstErr())
	cl.Close()
	b := dsl.NewBuilder()
	b.Stream("in", serde.String(), serde.Int64()).MapValues(func(_ string, v int64) string { return "ok" }).To("out")
	topo, err := b.Build()
	must(t, err)
	var calls atomic.Int64
	app, err := rill.New(topo, rill.Config{ApplicationID: "dlq-loop", Bootstrap: broker.Addrs(), StateDir: t.TempDir(),
		StoreBackend: memory.Backend(), ErrorHandlers: rill.ErrorHandlers{Deserialization: processor.DeadLetterQueue("dlq"),
			Production: func(ec *processor.ErrorContext, err error) processor.Response {
				calls.Add(1)
				return processor.DeadLetterQueue("dlq")(ec, err)
			}}})
	must(t, err)
	err = app.Run(ctx)
	if err == nil || !errors.Is(err, processor.ErrProduction) || !strings.Contains(err.Error(), "dead letter lost") {
		t.Fatalf("Run returned %v, want a production error about the lost dead letter", err)
	}
	if n := calls.Load(); n != 1 {
		t.Fatalf("production handler asked %d times, want once", n)
	}
}
