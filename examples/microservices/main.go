// Command microservices is the event-driven orders application of the seed talk ("Commit Logs
// in an Age of Microservices"), each service a rill App:
//
//   - orders: REST front (POST /v1/orders, GET /v1/orders/{id}?wait=10s) and a web page; orders
//     are written to the orders topic and read back from a state store through interactive
//     queries, on whichever instance holds them
//
//   - inventory: reserves stock per product in a state store, under exactly-once
//
//   - fraud: per-customer totals in one-hour windows, failing orders above a limit
//
//   - details: checks the order itself
//
//   - validator: all three checks PASS -> VALIDATED, any FAIL -> FAILED
//
//   - emails: validated orders joined with payments and customers
//
//     go run ./examples/microservices all --generate 2     # embedded broker, web page on :8080
//     go run ./examples/microservices --bootstrap localhost:9092 --http :8081 orders
//
// docs/microservices.md describes the topics and their JSON.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/rillstreams/rill"
	"github.com/rillstreams/rill/kafkatest"
	"github.com/rillstreams/rill/topology"
	"github.com/twmb/franz-go/pkg/kgo"
)

// services in start order, by subcommand name.
var services = []string{"orders", "inventory", "fraud", "details", "validator", "emails"}

// appIDs are the services' application ids.
var appIDs = map[string]string{
	"orders":    "orders-service",
	"inventory": "inventory-service",
	"fraud":     "fraud-service",
	"details":   "order-details-service",
	"validator": "validations-service",
	"emails":    "email-service",
}

// options configure a run.
type options struct {
	Bootstrap  []string // empty: start an embedded broker
	Partitions int
	HTTPAddr   string // the orders and inventory services' HTTP address (also their interactive-query address)
	Advertise  string // host:port other instances reach HTTPAddr at (default: HTTPAddr, with localhost for an empty host)
	StateDir   string
	Services   []string
	Generate   float64       // orders per second the generator places (0: none)
	Stock      int64         // units per product the generator stocks
	ExitAfter  time.Duration // stop after this long (0: at Ctrl-C)
	Quiet      bool          // no line per email
	// ready, when set, is called with the HTTP server's address once everything runs.
	ready func(addr string)
}

func main() {
	if err := mainErr(); err != nil {
		fmt.Fprintln(os.Stderr, "microservices:", err)
		os.Exit(1)
	}
}

func mainErr() error {
	var o options
	bootstrap := flag.String("bootstrap", "", "Kafka brokers (comma-separated); empty starts an embedded broker")
	flag.IntVar(&o.Partitions, "partitions", 3, "partitions of the topics the application creates")
	flag.StringVar(&o.HTTPAddr, "http", "localhost:8080", "HTTP address of the orders and inventory services")
	flag.StringVar(&o.Advertise, "advertise", "", "host:port other instances reach --http at (default: --http)")
	flag.StringVar(&o.StateDir, "state-dir", "", "state directory (default: a temporary one)")
	flag.Float64Var(&o.Generate, "generate", 0, "orders per second to generate, with stock, customers and payments (0: none)")
	flag.Int64Var(&o.Stock, "stock", 100, "units per product the generator puts in the warehouse")
	flag.DurationVar(&o.ExitAfter, "exit-after", 0, "stop after this long (0: run until Ctrl-C)")
	flag.BoolVar(&o.Quiet, "quiet", false, "do not print a line per email")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: microservices [flags] all | %s...\n", strings.Join(services, " | "))
		flag.PrintDefaults()
	}
	flag.Parse()
	if *bootstrap != "" {
		o.Bootstrap = strings.Split(*bootstrap, ",")
	}
	o.Services = flag.Args()
	if len(o.Services) == 0 {
		flag.Usage()
		return errors.New("name the services to run, or all")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return run(ctx, o)
}

// run runs the services o names until ctx ends (or o.ExitAfter), each as its own rill App.
func run(ctx context.Context, o options) error {
	names, err := serviceNames(o.Services)
	if err != nil {
		return err
	}
	if o.Partitions <= 0 {
		o.Partitions = 3
	}
	if o.ExitAfter > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.ExitAfter)
		defer cancel()
	}
	if o.StateDir == "" {
		dir, err := os.MkdirTemp("", "microservices-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		o.StateDir = dir
	}
	if len(o.Bootstrap) == 0 {
		b, err := kafkatest.Start(kafkatest.Config{DefaultPartitions: o.Partitions})
		if err != nil {
			return err
		}
		defer b.Close()
		o.Bootstrap = b.Addrs()
		fmt.Println("embedded broker on", strings.Join(o.Bootstrap, ","))
	}
	if err := kafkatest.CreateTopics(ctx, o.Bootstrap, int32(o.Partitions), allTopics...); err != nil {
		return err
	}

	// The HTTP server, when a service needs one: its address is also the interactive-query
	// address (ApplicationServer) of the orders and inventory Apps.
	var ln net.Listener
	mux := http.NewServeMux()
	needHTTP := slices.Contains(names, "orders") || slices.Contains(names, "inventory")
	if needHTTP {
		if ln, err = net.Listen("tcp", o.HTTPAddr); err != nil {
			return err
		}
		defer ln.Close()
		if o.Advertise == "" {
			o.Advertise = advertised(ln.Addr().String())
		}
	}

	var emails emailPrinter
	emails.quiet = o.Quiet
	apps := make(map[string]*rill.App, len(names))
	for _, name := range names {
		topo, err := buildService(name, emails.send)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		cfg := rill.Config{
			ApplicationID:       appIDs[name],
			Bootstrap:           o.Bootstrap,
			StateDir:            o.StateDir,
			ProcessingGuarantee: rill.ExactlyOnceV2,
		}
		if name == "orders" || name == "inventory" {
			cfg.ApplicationServer = o.Advertise
		}
		app, err := rill.New(topo, cfg)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		apps[name] = app
	}

	var producer *kgo.Client
	if needHTTP {
		producer, err = kgo.NewClient(kgo.SeedBrokers(o.Bootstrap...), kgo.ProducerLinger(0))
		if err != nil {
			return err
		}
		defer producer.Close()
		if err := mountQueries(mux, apps, producer); err != nil {
			return err
		}
	}

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, len(apps)+2)
	for _, name := range names {
		app := apps[name]
		wg.Go(func() {
			if err := app.Run(runCtx); err != nil {
				errs <- fmt.Errorf("%s: %w", name, err)
				cancel()
			}
		})
	}
	if needHTTP {
		srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		wg.Go(func() {
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				errs <- err
				cancel()
			}
		})
		wg.Go(func() {
			<-runCtx.Done()
			shut, c := context.WithTimeout(context.Background(), 5*time.Second)
			defer c()
			_ = srv.Shutdown(shut)
		})
		fmt.Printf("%s on http://%s/\n", strings.Join(names, ", "), ln.Addr())
	}
	if o.Generate > 0 {
		if !needHTTP {
			return errors.New("--generate places orders through the orders service: run it too")
		}
		wg.Go(func() {
			if err := generate(runCtx, o, "http://"+ln.Addr().String()); err != nil && runCtx.Err() == nil {
				errs <- fmt.Errorf("generator: %w", err)
				cancel()
			}
		})
	}
	if o.ready != nil && needHTTP {
		o.ready(ln.Addr().String())
	}
	wg.Wait()
	close(errs)
	var all []error
	for err := range errs {
		all = append(all, err)
	}
	if n := expiredOrders.Load(); n > 0 {
		slog.Warn("orders whose validation window closed undecided", "count", n)
	}
	return errors.Join(all...)
}

// serviceNames expands "all" and checks the names.
func serviceNames(args []string) ([]string, error) {
	var names []string
	for _, a := range args {
		switch {
		case a == "all":
			names = append(names, services...)
		case slices.Contains(services, a):
			names = append(names, a)
		default:
			return nil, fmt.Errorf("unknown service %q (want all or %s)", a, strings.Join(services, ", "))
		}
	}
	slices.Sort(names)
	return slices.Compact(names), nil
}

func buildService(name string, send func(Email)) (*topology.Topology, error) {
	switch name {
	case "orders":
		return ordersTopology()
	case "inventory":
		return inventoryTopology()
	case "fraud":
		return fraudTopology()
	case "details":
		return detailsTopology()
	case "validator":
		return validatorTopology()
	case "emails":
		return emailsTopology(send)
	}
	return nil, fmt.Errorf("unknown service %q", name)
}

// advertised turns a listener address into one other processes can dial.
func advertised(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "localhost"
	}
	return net.JoinHostPort(host, port)
}

// emailPrinter "sends" an email by printing a line.
type emailPrinter struct {
	mu    sync.Mutex
	quiet bool
	sent  int64
}

func (p *emailPrinter) send(e Email) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.sent++
	if !p.quiet {
		fmt.Printf("email to %-32s order %s %3d x %-10s %8.2f %s\n", e.Email, e.OrderID, e.Quantity, e.Product, e.Amount, e.Ccy)
	}
}
