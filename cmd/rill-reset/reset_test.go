package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rillstreams/rill"
	"github.com/rillstreams/rill/dsl"
	"github.com/rillstreams/rill/kafkatest"
	"github.com/rillstreams/rill/serde"
	"github.com/rillstreams/rill/state/memory"
	"github.com/rillstreams/rill/topology"
)

// countByLetter re-keys by the value's first letter (a repartition topic) and counts per key
// (a changelog): both internal topics the reset must delete.
func countByLetter(t *testing.T) *topology.Topology {
	b := dsl.NewBuilder()
	b.Stream("in", serde.String(), serde.String()).
		SelectKey(func(_, v string) string { return v[:1] }).
		GroupByKey().
		Count(dsl.Materialized("counts")).
		ToStream().
		MapValues(func(_ string, n int64) string { return fmt.Sprint(n) }).
		To("out")
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	return topo
}

// TestResetReprocessesFromScratch: run the app, stop it, reset (and clean up its local state),
// run it again: the same outputs again, counts starting from 1, not carrying on.
func TestResetReprocessesFromScratch(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	broker := kafkatest.New(t)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(broker.CreateTopic(ctx, "in", 2))
	must(broker.CreateTopic(ctx, "out", 2))
	var in []kafkatest.Record
	for i := range 60 {
		in = append(in, kafkatest.Record{Topic: "in", Key: []byte(fmt.Sprint(i)), Value: []byte(string(rune('a'+i%3)) + fmt.Sprint(i)),
			Timestamp: time.Now()})
	}
	must(broker.Produce(ctx, in...))
	stateDir := t.TempDir()
	cfg := rill.Config{ApplicationID: "letters", Bootstrap: broker.Addrs(), StateDir: stateDir, CacheMaxBytes: -1,
		ProcessingGuarantee: rill.ExactlyOnceV2, StoreBackend: memory.Backend()}
	runOnce := func(want int) (app *rill.App, stop func() []kafkatest.Record) {
		running := make(chan struct{})
		var once sync.Once
		c := cfg
		c.StateListener = func(_, s rill.State) {
			if s == rill.Running {
				once.Do(func() { close(running) })
			}
		}
		app, err := rill.New(countByLetter(t), c)
		must(err)
		runCtx, cancelRun := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- app.Run(runCtx) }()
		select {
		case <-running: // a member of the group
		case err := <-done:
			t.Fatalf("Run: %v", err)
		}
		return app, func() []kafkatest.Record {
			out, err := broker.Consume(ctx, "out", want, true)
			if err != nil {
				t.Fatalf("consumed %d of %d: %v", len(out), want, err)
			}
			cancelRun()
			must(<-done)
			return out
		}
	}
	_, stop := runOnce(60)
	first := stop()

	topics := func() []string {
		// A new client each time: franz-go answers metadata requests from a cache for a
		// few seconds.
		cl, err := kgo.NewClient(kgo.SeedBrokers(broker.Addrs()...))
		must(err)
		defer cl.Close()
		td, err := kadm.NewClient(cl).ListTopics(ctx)
		must(err)
		var out []string
		for _, n := range td.Names() {
			if isInternal("letters", n) {
				out = append(out, n)
			}
		}
		return out
	}
	internal := topics()
	if len(internal) != 2 {
		t.Fatalf("internal topics before the reset %v, want a repartition topic and a changelog", internal)
	}

	args := []string{"--bootstrap", strings.Join(broker.Addrs(), ","), "--application-id", "letters", "--input-topics", "in"}
	var dry bytes.Buffer
	must(run(ctx, append(args, "--dry-run"), &dry))
	t.Logf("dry run:\n%s", dry.String())
	lines := strings.Split(strings.TrimSpace(dry.String()), "\n")
	if len(lines) != 5 || !regexp.MustCompile(`^\(dry run\) reset offset of letters in\[0\]: \d+ -> 0$`).MatchString(lines[0]) ||
		!regexp.MustCompile(`^\(dry run\) reset offset of letters in\[1\]: \d+ -> 0$`).MatchString(lines[1]) ||
		lines[2] != "(dry run) delete internal topic "+internal[0] || lines[3] != "(dry run) delete internal topic "+internal[1] ||
		lines[4] != "dry run: nothing changed" {
		t.Errorf("dry run printed\n%s", dry.String())
	}
	if got := topics(); len(got) != 2 {
		t.Fatalf("dry run deleted topics: %v left", got)
	}

	// Refused while the group has a member.
	app, stop := runOnce(60)
	var refused bytes.Buffer
	if err := run(ctx, args, &refused); err == nil || !strings.Contains(err.Error(), "active members") {
		t.Fatalf("reset with the app running: %v, want a refusal naming active members", err)
	}
	if err := app.CleanUp(); !errors.Is(err, rill.ErrAppRunning) {
		t.Fatalf("CleanUp while running: %v, want ErrAppRunning", err)
	}
	stop()
	if got := topics(); len(got) != 2 {
		t.Fatalf("a refused reset deleted topics: %v left", got)
	}

	var done bytes.Buffer
	must(run(ctx, args, &done))
	t.Logf("reset:\n%s", done.String())
	if got := topics(); len(got) != 0 {
		t.Fatalf("internal topics after the reset: %v", got)
	}
	must(app.CleanUp())
	if _, err := os.Stat(stateDir + "/letters"); !os.IsNotExist(err) {
		t.Fatalf("CleanUp left %s/letters: %v", stateDir, err)
	}

	_, stop = runOnce(120)
	all := stop()
	again := all[60:]
	perKey := func(rs []kafkatest.Record) map[string]string {
		m := map[string]string{}
		for _, r := range rs {
			m[string(r.Key)] += string(r.Value) + " "
		}
		return m
	}
	if a, b := perKey(first), perKey(again); fmt.Sprint(a) != fmt.Sprint(b) {
		t.Fatalf("after the reset the outputs differ:\nfirst %v\nagain %v", a, b)
	}
}
