package rill_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rillstreams/rill"
	"github.com/rillstreams/rill/kafkatest"
	"github.com/rillstreams/rill/state/memory"
)

// TestWrongPasswordIsAnAuthenticationError: credentials the brokers refuse fail Run with an
// error saying so (it was a bare EOF), and the right ones run.
func TestWrongPasswordIsAnAuthenticationError(t *testing.T) {
	if os.Getenv(kafkatest.ExternalEnv) != "" {
		t.Skip("needs an embedded broker with SASL")
	}
	b := kafkatest.New(t, kafkatest.Config{Topics: []string{"in"},
		SASL: &kafkatest.SASLUser{Mechanism: "SCRAM-SHA-256", User: "rill", Password: "right"}})
	run := func(password string) error {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		app, err := rill.New(statelessTopology(t), rill.Config{ApplicationID: "sasl", Bootstrap: b.Addrs(),
			StoreBackend: memory.Backend(), StateDir: t.TempDir(),
			Security: rill.Security{SASL: &rill.SASL{Mechanism: "SCRAM-SHA-256", Username: "rill", Password: password}},
			StateListener: func(_, s rill.State) {
				if s == rill.Running {
					cancel() // authenticated, topics made, tasks assigned: enough
				}
			}})
		must(t, err)
		return app.Run(ctx)
	}
	err := run("wrong")
	t.Logf("wrong password: %v", err)
	if !errors.Is(err, rill.ErrAuthentication) {
		t.Fatalf("wrong password: Run returned %v, want ErrAuthentication", err)
	}
	if err := run("right"); err != nil {
		t.Fatalf("right password: Run returned %v", err)
	}
}

// TestClientOptionsMustNotChangeTheGroup: a franz-go option that would take over what rill
// configures fails Run instead of silently consuming another group.
func TestClientOptionsMustNotChangeTheGroup(t *testing.T) {
	b := kafkatest.New(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	must(t, b.CreateTopic(ctx, "in", 1))
	app, err := rill.New(statelessTopology(t), rill.Config{ApplicationID: "opts", Bootstrap: b.Addrs(),
		StoreBackend: memory.Backend(), StateDir: t.TempDir(),
		ClientOptions: []kgo.Opt{kgo.ProducerBatchCompression(kgo.ZstdCompression()), kgo.ConsumerGroup("other")}})
	must(t, err)
	err = app.Run(ctx)
	if err == nil || !strings.Contains(err.Error(), "ConsumerGroup") {
		t.Fatalf("Run with kgo.ConsumerGroup among ClientOptions returned %v, want an error naming it", err)
	}
}
