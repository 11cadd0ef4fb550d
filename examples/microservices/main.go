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
	"github.com/rillstreams/rill/iq"
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
	// InventoryHTTP is the inventory service's query address when the orders service runs in
	// the same process (default: a free localhost port).
	InventoryHTTP string
	// Inventory lists inventory instances (host:port) the orders service reads stock from when
	// the inventory service runs elsewhere.
	Inventory []string
	StateDir  string
	Services  []string
	Generate  float64       // orders per second the generator places (0: none)
	Stock     int64         // units per product the generator stocks
	ExitAfter time.Duration // stop after this long (0: at Ctrl-C)
	Quiet     bool          // no line per email
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
	flag.StringVar(&o.InventoryHTTP, "inventory-http", "", "the inventory service's query address when orders runs too (default: a free port)")
	inventory := flag.String("inventory", "", "inventory instances (host:port, comma-separated) the orders service reads stock from")
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
	if *inventory != "" {
		o.Inventory = strings.Split(*inventory, ",")
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
	if o.Generate > 0 && !slices.Contains(names, "orders") {
		return errors.New("--generate places orders through the orders service: run it too")
	}
	if o.InventoryHTTP == "" {
		o.InventoryHTTP = "localhost:0"
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

	// HTTP listeners. The orders service's address (--http) serves its REST API, the web page
	// and its store's interactive queries; the inventory service's serves its stores'
	// interactive queries, on --http when it runs alone, else on --inventory-http. Each
	// listener's address is its App's ApplicationServer.
	var servers []*server
	listen := func(addr, advertise string) (*server, error) {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return nil, err
		}
		if advertise == "" {
			advertise = advertised(ln.Addr().String())
		}
		s := &server{ln: ln, mux: http.NewServeMux(), advertise: advertise}
		servers = append(servers, s)
		return s, nil
	}
	defer func() {
		for _, s := range servers {
			s.ln.Close()
		}
	}()
	var ordersSrv, inventorySrv *server
	if slices.Contains(names, "orders") {
		if ordersSrv, err = listen(o.HTTPAddr, o.Advertise); err != nil {
			return err
		}
	}
	if slices.Contains(names, "inventory") {
		addr, adv := o.HTTPAddr, o.Advertise
		if ordersSrv != nil {
			addr, adv = o.InventoryHTTP, ""
		}
		if inventorySrv, err = listen(addr, adv); err != nil {
			return err
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
		switch name {
		case "orders":
			cfg.ApplicationServer = ordersSrv.advertise
		case "inventory":
			cfg.ApplicationServer = inventorySrv.advertise
		}
		app, err := rill.New(topo, cfg)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		apps[name] = app
	}

	if inventorySrv != nil {
		h := inventoryHandler(apps["inventory"])
		inventorySrv.mux.Handle("GET /v1/", h)
	}
	if ordersSrv != nil {
		producer, err := kgo.NewClient(kgo.SeedBrokers(o.Bootstrap...), kgo.ProducerLinger(0))
		if err != nil {
			return err
		}
		defer producer.Close()
		h := ordersHandler(apps["orders"])
		ordersSrv.mux.Handle("GET /v1/metadata", h)
		ordersSrv.mux.Handle("GET /v1/stores/", h)
		front := &ordersServer{producer: producer, orders: routedOrders{iq.NewClient([]string{ordersSrv.advertise})}}
		inv := o.Inventory
		if len(inv) == 0 && inventorySrv != nil {
			inv = []string{inventorySrv.advertise}
		}
		if len(inv) > 0 {
			front.stocks = routedStocks{iq.NewClient(inv)}
		}
		front.routes(ordersSrv.mux)
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
	for _, s := range servers {
		srv := &http.Server{Handler: s.mux, ReadHeaderTimeout: 10 * time.Second}
		wg.Go(func() {
			if err := srv.Serve(s.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
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
	}
	if ordersSrv != nil {
		fmt.Printf("orders service on http://%s/\n", ordersSrv.ln.Addr())
	}
	if inventorySrv != nil {
		fmt.Printf("inventory service's queries on http://%s/v1/stores/\n", inventorySrv.ln.Addr())
	}
	if o.Generate > 0 {
		wg.Go(func() {
			if err := generate(runCtx, o, "http://"+ordersSrv.ln.Addr().String()); err != nil && runCtx.Err() == nil {
				errs <- fmt.Errorf("generator: %w", err)
				cancel()
			}
		})
	}
	if o.ready != nil && ordersSrv != nil {
		o.ready(ordersSrv.ln.Addr().String())
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

// server is one HTTP listener and its routes.
type server struct {
	ln        net.Listener
	mux       *http.ServeMux
	advertise string
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
