package integration

import (
	"context"
	"errors"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/rillstreams/rill"
	"github.com/rillstreams/rill/dsl"
	"github.com/rillstreams/rill/serde"
	"github.com/rillstreams/rill/state/memory"
)

// On a real broker's SASL listener a wrong password fails Run with rill.ErrAuthentication
// (not a bare EOF), and the right one runs, for PLAIN and SCRAM-SHA-512 (a user made through
// the admin API, as an operator would with kafka-configs). The root package's
// TestWrongPasswordIsAnAuthenticationError checks SCRAM-SHA-256 on kfake.
func TestSASLOnRealKafka(t *testing.T) {
	needKafka(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	c := startCluster(t, ctx, clusterOpts{sasl: true})
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.Bootstrap()...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	if _, err := adm.CreateTopic(ctx, 1, 1, nil, "sasl-in"); err != nil {
		t.Fatal(err)
	}
	const scramUser, scramPassword = "rill-scram", "rill-scram-secret"
	res, err := adm.AlterUserSCRAMs(ctx, nil, []kadm.UpsertSCRAM{{User: scramUser, Mechanism: kadm.ScramSha512,
		Iterations: 4096, Password: scramPassword}})
	if err == nil {
		err = res.Error()
	}
	if err != nil {
		t.Fatalf("create SCRAM user: %v", err)
	}
	saslAddr := "localhost:" + strconv.Itoa(c.saslPort)
	// The broker learns the SCRAM credential from the metadata log a moment after the
	// controller accepted it: wait until a plain client authenticates with it.
	waitAuthenticates(t, ctx, saslAddr, scram.Auth{User: scramUser, Pass: scramPassword}.AsSha512Mechanism())

	b := dsl.NewBuilder()
	b.Stream("sasl-in", serde.String(), serde.String()).To("sasl-out")
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	// run runs an app until it is RUNNING (authenticated, topics made, tasks assigned), and
	// says whether it got there.
	run := func(mechanism, user, password string) (running bool, err error) {
		runCtx, stop := context.WithTimeout(ctx, time.Minute)
		defer stop()
		var reached atomic.Bool
		app, err := rill.New(topo, rill.Config{ApplicationID: "sasl-" + mechanism, Bootstrap: []string{saslAddr},
			StoreBackend: memory.Backend(), StateDir: t.TempDir(),
			Security: rill.Security{SASL: &rill.SASL{Mechanism: mechanism, Username: user, Password: password}},
			StateListener: func(_, s rill.State) {
				if s == rill.Running {
					reached.Store(true)
					stop()
				}
			}})
		if err != nil {
			t.Fatal(err)
		}
		err = app.Run(runCtx)
		return reached.Load(), err
	}
	for _, m := range []struct{ mechanism, user, password string }{
		{"PLAIN", "rill", saslPlainUsers["rill"]},
		{"SCRAM-SHA-512", scramUser, scramPassword},
	} {
		t.Run(m.mechanism, func(t *testing.T) {
			running, err := run(m.mechanism, m.user, "wrong")
			t.Logf("wrong password: %v", err)
			if running || !errors.Is(err, rill.ErrAuthentication) {
				t.Errorf("wrong password: Run returned %v (running: %v), want rill.ErrAuthentication", err, running)
			}
			if running, err := run(m.mechanism, m.user, m.password); err != nil || !running {
				t.Errorf("right password: Run returned %v (running: %v), want nil once running", err, running)
			}
		})
	}
}

// waitAuthenticates waits until a client authenticating with mech reaches the broker at addr.
func waitAuthenticates(t *testing.T, ctx context.Context, addr string, mech sasl.Mechanism) {
	t.Helper()
	for {
		err := ping(ctx, addr, mech)
		if err == nil {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s never authenticated at %s: %v", mech.Name(), addr, err)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func ping(ctx context.Context, addr string, mech sasl.Mechanism) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.SASL(mech))
	if err != nil {
		return err
	}
	defer cl.Close()
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return cl.Ping(pctx)
}
