// Command rill-bench runs Kafka Streams' SimpleBenchmark workloads on rill, next to raw
// franz-go baselines, the same workloads on Kafka Streams (the bench/kstreams jar) and goka,
// against one broker type in one run, and reports records/s, MB/s, peak RSS, CPU time, each
// workload's ratio to its raw baseline and rill's ratio to Kafka Streams.
//
// # Usage
//
//	go run ./cmd/rill-bench --workload all                       # embedded kfake broker
//	go run ./cmd/rill-bench --workload streamcount --records 1000000 --cpuprofile /tmp/prof
//	go run ./cmd/rill-bench --bootstrap localhost:9092 --out docs/benchmarks.md
//
// Every workload runs in a child process (this binary re-executed, the goka binary, or a JVM)
// so that its peak RSS, CPU time and CPU profile are its own; the parent hosts the broker,
// produces the input before the clock starts and watches the output topic to tell when every
// expected result is visible.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	if len(os.Args) > 2 && os.Args[1] == childFlag {
		// The child side: one workload, driven by the parent over stdin/stdout.
		os.Exit(runChild(os.Args[2]))
	}
	cfg, err := parseFlags(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "rill-bench:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := runSuite(ctx, cfg); err != nil {
		fmt.Fprintln(os.Stderr, "rill-bench:", err)
		os.Exit(1)
	}
}
