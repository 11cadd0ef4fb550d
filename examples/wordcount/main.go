// Command wordcount is Kafka Streams' WordCount demo in rill: lines are split into lowercase
// words, grouped by word and counted; every count update goes to word-counts (key: the word,
// value: an int64 count).
//
//	go run ./examples/wordcount --generate 1000 --exit-when-idle 5s
package main

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/signal"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/rillstreams/rill"
	"github.com/rillstreams/rill/dsl"
	"github.com/rillstreams/rill/kafkatest"
	"github.com/rillstreams/rill/serde"
	"github.com/rillstreams/rill/topology"
)

// buildTopology is WordCount; seen is called for each line read.
func buildTopology(seen func()) (*topology.Topology, error) {
	b := dsl.NewBuilder()
	b.Stream("lines", serde.String(), serde.String()).
		Peek(func(string, string) { seen() }).
		FlatMapValues(func(_ string, line string) []string { return strings.Fields(strings.ToLower(line)) }).
		GroupBy(func(_ string, word string) string { return word }).
		Count(dsl.Materialized("counts-store")).
		ToStream().
		To("word-counts")
	return b.Build()
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "wordcount:", err)
		os.Exit(1)
	}
}

func run() error {
	bootstrap := flag.String("bootstrap", "", "Kafka brokers (comma-separated); empty starts an embedded broker")
	nGenerate := flag.Int("generate", 1000, "lines to generate first (0: none)")
	idle := flag.Duration("exit-when-idle", 0, "exit when no input arrived for this long (0: run until Ctrl-C)")
	guarantee := flag.String("guarantee", "exactly-once", "at-least-once or exactly-once")
	stateDir := flag.String("state-dir", "", "state directory (default: a temporary one)")
	appID := flag.String("app-id", "wordcount", "application id")
	describe := flag.Bool("describe", false, "print the topology at start")
	flag.Parse()

	cfg := rill.Config{ApplicationID: *appID, StateDir: *stateDir}
	switch *guarantee {
	case "exactly-once":
		cfg.ProcessingGuarantee = rill.ExactlyOnceV2
	case "at-least-once":
	default:
		return fmt.Errorf("--guarantee must be at-least-once or exactly-once, not %q", *guarantee)
	}
	if cfg.StateDir == "" {
		dir, err := os.MkdirTemp("", "wordcount-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		cfg.StateDir = dir
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *bootstrap == "" {
		b, err := kafkatest.Start(kafkatest.Config{DefaultPartitions: 3})
		if err != nil {
			return err
		}
		defer b.Close()
		cfg.Bootstrap = b.Addrs()
	} else {
		cfg.Bootstrap = strings.Split(*bootstrap, ",")
	}
	if err := kafkatest.CreateTopics(ctx, cfg.Bootstrap, 3, "lines", "word-counts"); err != nil {
		return err
	}
	words := strings.Fields("the quick brown fox jumps over the lazy dog kafka streams in go rill")
	var recs []kafkatest.Record
	base := time.Now()
	for i := 0; i < *nGenerate; i++ {
		n := 3 + rand.IntN(8)
		line := make([]string, n)
		for j := range line {
			line[j] = words[rand.IntN(len(words))]
		}
		recs = append(recs, kafkatest.Record{Topic: "lines", Value: []byte(strings.Join(line, " ")), Timestamp: base})
	}
	if err := kafkatest.Produce(ctx, cfg.Bootstrap, recs...); err != nil {
		return err
	}
	var lines, last atomic.Int64
	last.Store(time.Now().UnixNano())
	topo, err := buildTopology(func() { lines.Add(1); last.Store(time.Now().UnixNano()) })
	if err != nil {
		return err
	}
	if *describe {
		fmt.Print(topo.Describe())
	}
	app, err := rill.New(topo, cfg)
	if err != nil {
		return err
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	start := time.Now()
	done := make(chan error, 1)
	go func() { done <- app.Run(runCtx) }()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			el := time.Since(start)
			fmt.Printf("summary: lines %d, elapsed %s, %.0f lines/s\n", lines.Load(), el.Round(time.Millisecond), float64(lines.Load())/el.Seconds())
			return err
		case <-tick.C:
			if *idle > 0 && app.State() == rill.Running && time.Since(time.Unix(0, last.Load())) > *idle {
				cancel()
			}
		}
	}
}
