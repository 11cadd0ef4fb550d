package rill_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rillstreams/rill"
	"github.com/rillstreams/rill/dsl"
	"github.com/rillstreams/rill/kafkatest"
	"github.com/rillstreams/rill/serde"
	"github.com/rillstreams/rill/topology"
)

// Lifecycle tests: what happens to the data when an instance is stopped, restarted on the
// state it left, or pointed at a cluster its state did not come from.

// globalCountTopology is countTopology behind a join with a global table "names" (every key
// has a row): the shape of the email service whose Ctrl-C failed with "store is closed",
// because the global thread closed its stores while stream tasks still read them.
func globalCountTopology(t testing.TB) *topology.Topology {
	type agg struct {
		Count int64 `json:"c"`
		Sum   int64 `json:"s"`
	}
	b := dsl.NewBuilder()
	names := b.GlobalTable("names", serde.String(), serde.String(), dsl.Materialized("names-store"))
	b.Stream("in", serde.String(), serde.Int64()).
		JoinGlobal(names, func(k string, _ int64) string { return k }, func(_ string, v int64, _ string) int64 { return v }).
		GroupByKey().
		Aggregate(func() agg { return agg{} }, func(_ string, v int64, a agg) agg { return agg{a.Count + 1, a.Sum + v} },
			dsl.Materialized("sums"), dsl.WithSerdes(serde.String(), serde.JSON[agg]())).
		ToStream().
		MapValues(func(_ string, a agg) string { return fmt.Sprintf("%d:%d", a.Count, a.Sum) }).
		To("out")
	topo, err := b.Build()
	must(t, err)
	return topo
}

// lifecycleChild runs the global-count app (RILL_LIFECYCLE_CHILD=eos or alos) until SIGINT or
// SIGTERM, exiting 0 when Run returned nil and 1 (with the error on stderr) otherwise.
func lifecycleChild() int {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	guarantee := rill.ExactlyOnceV2
	if os.Getenv("RILL_LIFECYCLE_CHILD") == "alos" {
		guarantee = rill.AtLeastOnce
	}
	app, err := rill.New(globalCountTopology(nil), rill.Config{ApplicationID: "lifecycle", ProcessID: "child",
		Bootstrap: strings.Split(os.Getenv("RILL_BOOTSTRAP"), ","), StateDir: os.Getenv("RILL_STATE_DIR"),
		ProcessingGuarantee: guarantee})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	go func() {
		sig := make(chan os.Signal, 1)
		signalNotify(sig)
		<-sig
		cancel()
	}()
	if err := app.Run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "lifecycle child: Run:", err)
		return 1
	}
	return 0
}

func startLifecycleChild(t *testing.T, broker *kafkatest.Broker, guarantee, dir string) *exec.Cmd {
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "RILL_LIFECYCLE_CHILD="+guarantee, "RILL_BOOTSTRAP="+strings.Join(broker.Addrs(), ","),
		"RILL_STATE_DIR="+dir)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	must(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return cmd
}

// stopChild signals cmd and waits for it, failing the test unless it exits 0 in time.
func stopChild(t *testing.T, cmd *exec.Cmd, sig os.Signal) {
	t.Helper()
	must(t, cmd.Process.Signal(sig))
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("the app exited with %d after %v, want 0 (a clean stop)", ee.ExitCode(), sig)
		}
		must(t, err)
	case <-time.After(60 * time.Second):
		t.Fatalf("the app did not stop within 60s of %v", sig)
	}
}

// Ctrl-C while the app is busy processing stops it cleanly: Run returns nil (exit code 0), and
// an instance started again on the same state carries on, exactly once.
func TestInterruptMidProcessingStopsCleanly(t *testing.T) {
	for _, guarantee := range []string{"eos", "alos"} {
		t.Run(guarantee, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 150*time.Second)
			defer cancel()
			broker := newBroker(t, ctx, 3, "in", "out", "names")
			recs := keyed(30000, 30, int64Bytes)
			counts, sums, n := expectedCounts(recs)
			var rows []kafkatest.Record
			for k := range counts {
				rows = append(rows, kafkatest.Record{Topic: "names", Key: []byte(k), Value: []byte("name of " + k), Timestamp: time.Now()})
			}
			must(t, broker.Produce(ctx, rows...))
			must(t, broker.Produce(ctx, recs...))
			dir := t.TempDir()
			cmd := startLifecycleChild(t, broker, guarantee, dir)
			// Interrupt it once it is well into the input, with most of it still to process.
			c, ccancel := context.WithTimeout(ctx, 60*time.Second)
			seen, err := broker.Consume(c, "out", n/20, false)
			ccancel()
			if err != nil {
				t.Fatalf("the app produced %d outputs before the interrupt: %v", len(seen), err)
			}
			stopChild(t, cmd, os.Interrupt)
			cmd = startLifecycleChild(t, broker, guarantee, dir)
			out, err := broker.Consume(ctx, "out", n, true)
			if err != nil {
				t.Fatalf("consumed %d of %d committed outputs: %v", len(out), n, err)
			}
			stopChild(t, cmd, syscall.SIGTERM)
			// A clean stop commits what it processed: even at least once nothing repeats.
			if err := checkExact(out, counts, sums); err != nil {
				t.Fatal(err)
			}
		})
	}
}
