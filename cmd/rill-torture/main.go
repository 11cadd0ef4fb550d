// Command rill-torture runs rill under faults and checks every output exactly, as Kafka Streams'
// StreamsEosTest and smoke test do: instances of a torture app (an aggregate, windowed counts, a
// stream-stream join and a global-table join over generated input) run as child processes, a
// chaos driver SIGKILLs and restarts them, SIGSTOPs one past the session timeout (a zombie),
// adds and removes an instance and restarts the broker, while input keeps arriving; at the end
// a verifier compares every output with what the input must produce.
//
// Under exactly-once the read_committed outputs must be exact (each update once, in order,
// nothing lost) and no transaction may be left open; under at-least-once nothing may be lost,
// and duplicates are counted and reported.
//
// # Usage
//
//	go run ./cmd/rill-torture --kills 10 --seed 7                  # an embedded broker (kfake, restartable)
//	go run ./cmd/rill-torture --guarantee at-least-once --kills 10
//	go run ./cmd/rill-torture --bootstrap localhost:9092 --broker-container kafka1  # real Kafka in Docker
//
// A failing run prints its seed; the same seed replays the same input and the same faults.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"go.uber.org/zap"

	"github.com/rillstreams/rill"
	"github.com/rillstreams/rill/kafkatest"
	"github.com/rillstreams/rill/standby"
)

func main() {
	var err error
	if len(os.Args) > 1 && os.Args[1] == "app" {
		err = runApp(os.Args[2:])
	} else if len(os.Args) > 1 && os.Args[1] == "broker" {
		err = runBroker(os.Args[2:])
	} else {
		err = runDriver(os.Args[1:])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "rill-torture:", err)
		os.Exit(1)
	}
}

// runApp is one instance of the torture app (a child of the driver).
func runApp(args []string) error {
	fs := flag.NewFlagSet("app", flag.ContinueOnError)
	bootstrap := fs.String("bootstrap", "", "brokers")
	slot := fs.Int("slot", 0, "instance slot: its process id and state directory")
	stateDir := fs.String("state-dir", "", "state directory")
	guarantee := fs.String("guarantee", "exactly-once", "exactly-once or at-least-once")
	standbys := fs.Int("standbys", 1, "standby replicas")
	session := fs.Duration("session-timeout", 6*time.Second, "session timeout")
	if err := fs.Parse(args); err != nil {
		return err
	}
	topo, err := buildTopology()
	if err != nil {
		return err
	}
	logCfg := zap.NewProductionConfig()
	logCfg.Level = zap.NewAtomicLevelAt(zap.WarnLevel)
	logCfg.Sampling = nil
	log, err := logCfg.Build()
	if err != nil {
		return err
	}
	// The verifier checks every update of the counts: the record cache, which folds a key's
	// updates between commits, is off.
	cfg := rill.Config{CacheMaxBytes: -1, ApplicationID: "torture", Bootstrap: strings.Split(*bootstrap, ","), StateDir: *stateDir,
		// A stable process id per slot: a restarted instance re-initializes its transactional
		// id, which aborts the transaction its killed predecessor left open.
		ProcessID: fmt.Sprintf("slot%d", *slot),
		Standby:   standby.Config{Replicas: *standbys}, SessionTimeout: *session, Logger: log,
		StateListener: func(old, new rill.State) { fmt.Printf("state %v -> %v\n", old, new) },
	}
	if *guarantee == "exactly-once" {
		cfg.ProcessingGuarantee = rill.ExactlyOnceV2
	}
	app, err := rill.New(topo, cfg)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return app.Run(ctx)
}

// runBroker is a restartable embedded broker (kfake keeping its data in a directory).
func runBroker(args []string) error {
	fs := flag.NewFlagSet("broker", flag.ContinueOnError)
	port := fs.Int("port", 0, "port")
	dir := fs.String("data-dir", "", "data directory")
	if err := fs.Parse(args); err != nil {
		return err
	}
	b, err := kafkatest.Start(kafkatest.Config{Port: *port, DataDir: *dir, DefaultPartitions: partitions})
	if err != nil {
		return err
	}
	fmt.Println("broker", strings.Join(b.Addrs(), ","))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	b.Close()
	return nil
}

func runDriver(args []string) error {
	fs := flag.NewFlagSet("rill-torture", flag.ContinueOnError)
	var c chaosConfig
	fs.StringVar(&c.bootstrap, "bootstrap", "", "brokers of an existing cluster (default: an embedded broker the driver restarts)")
	fs.StringVar(&c.brokerContainer, "broker-container", "", "with --bootstrap: a Docker container to kill and start as a broker restart")
	fs.StringVar(&c.guarantee, "guarantee", "exactly-once", "exactly-once or at-least-once")
	fs.IntVar(&c.kills, "kills", 5, "chaos actions (SIGKILLs, zombies, scale in/out, broker restarts)")
	fs.IntVar(&c.brokerRestarts, "broker-restarts", -1, "of which broker restarts (default: about one in eight, at least one)")
	fs.IntVar(&c.records, "records", 0, "left input records (default: 4000 per chaos action, at least 20000)")
	fs.IntVar(&c.keys, "keys", 40, "distinct keys")
	fs.IntVar(&c.instances, "instances", 3, "instances")
	fs.Uint64Var(&c.seed, "seed", uint64(time.Now().UnixNano()%1e6), "seed of the input and the faults")
	fs.DurationVar(&c.interval, "interval", 6*time.Second, "time between chaos actions")
	fs.DurationVar(&c.timeout, "timeout", 10*time.Minute, "time to wait for the outputs after the last action")
	fs.StringVar(&c.dir, "dir", "", "working directory (default: a temporary one, removed on success)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if c.guarantee != "exactly-once" && c.guarantee != "at-least-once" {
		return errors.New("--guarantee must be exactly-once or at-least-once")
	}
	if c.records == 0 {
		c.records = max(20000, 4000*c.kills)
	}
	if c.brokerRestarts < 0 {
		c.brokerRestarts = max(1, c.kills/8)
		if c.kills < 2 {
			c.brokerRestarts = 0
		}
	}
	if c.brokerRestarts > 0 && c.bootstrap != "" && c.brokerContainer == "" {
		c.brokerRestarts = 0
	}
	return runChaos(c)
}
