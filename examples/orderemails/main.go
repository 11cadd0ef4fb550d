// Command orderemails is rill's canonical program, the email service of the event-driven
// microservices pattern: orders are joined with their payments within one minute, then with the
// customers global table, and an email goes out for each paid order. Orders joined with their
// customer also go to a topic named by the customer's level.
//
//	go run ./examples/orderemails                          # embedded broker, 1000 generated orders
//	go run ./examples/orderemails --bootstrap localhost:9092 --generate 0
//	go run ./examples/orderemails --status-addr localhost:8080 # /metrics, /readyz, /tasks ...
//
// See docs/tutorial.md for a walk through the code.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/rillstreams/rill"
	"github.com/rillstreams/rill/kafkatest"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "orderemails:", err)
		os.Exit(1)
	}
}

// consoleEmailer "sends" an email by printing one line; the topology also writes it to the
// emails topic.
type consoleEmailer struct {
	mu    sync.Mutex // serializes lines from several stream threads
	sent  atomic.Int64
	quiet bool
}

func (c *consoleEmailer) Send(e Email) {
	c.sent.Add(1)
	if c.quiet {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	fmt.Printf("email to %-32s order %-6s %3d x %-10s %8.2f %s\n", e.Email, e.OrderID, e.Quantity, e.Product, e.Amount, e.Ccy)
}

func run() error {
	bootstrap := flag.String("bootstrap", "", "Kafka brokers (comma-separated); empty starts an embedded broker")
	nGenerate := flag.Int("generate", 1000, "orders to generate first, with their payments and customers (0: none)")
	idle := flag.Duration("exit-when-idle", 0, "exit when no input arrived for this long (0: run until Ctrl-C)")
	guarantee := flag.String("guarantee", "exactly-once", "at-least-once or exactly-once")
	stateDir := flag.String("state-dir", "", "state directory (default: a temporary one)")
	appID := flag.String("app-id", "email-service", "application id")
	partitions := flag.Int("partitions", 3, "partitions of the topics the example creates")
	describe := flag.Bool("describe", false, "print the topology at start")
	quiet := flag.Bool("quiet", false, "do not print a line per email")
	mermaid := flag.Bool("mermaid", false, "print the topology as a Mermaid flowchart and exit")
	statusAddr := flag.String("status-addr", "", "serve /metrics, /healthz, /readyz, /topology and /tasks on this host:port (docs/metrics.md)")
	flag.Parse()
	if *mermaid {
		topo, err := buildTopology(&consoleEmailer{}, Counters{Order: func() {}, Payment: func() {}})
		if err != nil {
			return err
		}
		fmt.Print(topo.DescribeMermaid())
		return nil
	}

	cfg := rill.Config{ApplicationID: *appID, StateDir: *stateDir, StatusAddr: *statusAddr}
	if *statusAddr != "" {
		// Go runtime and process metrics beside rill's, on the same /metrics.
		reg := prometheus.NewRegistry()
		reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
		cfg.Metrics = reg
	}
	switch *guarantee {
	case "exactly-once":
		cfg.ProcessingGuarantee = rill.ExactlyOnceV2
	case "at-least-once":
		cfg.ProcessingGuarantee = rill.AtLeastOnce
	default:
		return fmt.Errorf("--guarantee must be at-least-once or exactly-once, not %q", *guarantee)
	}
	if cfg.StateDir == "" {
		dir, err := os.MkdirTemp("", "orderemails-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		cfg.StateDir = dir
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	if *bootstrap == "" {
		b, err := kafkatest.Start(kafkatest.Config{DefaultPartitions: *partitions})
		if err != nil {
			return err
		}
		defer b.Close()
		cfg.Bootstrap = b.Addrs()
		fmt.Println("embedded broker on", strings.Join(cfg.Bootstrap, ","))
	} else {
		cfg.Bootstrap = strings.Split(*bootstrap, ",")
	}
	if err := kafkatest.CreateTopics(ctx, cfg.Bootstrap, int32(*partitions), append(inputTopics, outputTopics...)...); err != nil {
		return err
	}
	var gen generated
	if *nGenerate > 0 {
		recs, g := generate(*nGenerate, uint64(time.Now().UnixNano()))
		if err := kafkatest.Produce(ctx, cfg.Bootstrap, recs...); err != nil {
			return err
		}
		gen = g
		fmt.Printf("generated %d customers, %d orders, %d payments (%d should become emails)\n",
			g.Customers, g.Orders, g.Payments, g.Expected)
	}

	emailer := &consoleEmailer{quiet: *quiet}
	var orders, payments atomic.Int64
	var lastInput atomic.Int64
	lastInput.Store(time.Now().UnixNano())
	topo, err := buildTopology(emailer, Counters{
		Order:   func() { orders.Add(1); lastInput.Store(time.Now().UnixNano()) },
		Payment: func() { payments.Add(1); lastInput.Store(time.Now().UnixNano()) },
	})
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
	progress := isTerminal(os.Stdout) && *quiet
	var runErr error
loop:
	for {
		select {
		case runErr = <-done:
			break loop
		case <-tick.C:
			n := orders.Load() + payments.Load()
			if progress {
				fmt.Printf("\rprocessed %d records, %.0f/s, %d emails ", n, float64(n)/time.Since(start).Seconds(), emailer.sent.Load())
			}
			if *idle > 0 && app.State() == rill.Running && time.Since(time.Unix(0, lastInput.Load())) > *idle {
				cancel()
			}
		}
	}
	elapsed := time.Since(start)
	if progress {
		fmt.Println()
	}
	n := orders.Load() + payments.Load()
	fmt.Printf("summary: orders %d, payments %d, customers %d, emails sent %d, elapsed %s, %.0f records/s\n",
		orders.Load(), payments.Load(), gen.Customers, emailer.sent.Load(), elapsed.Round(time.Millisecond),
		float64(n)/elapsed.Seconds())
	return runErr
}

func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
