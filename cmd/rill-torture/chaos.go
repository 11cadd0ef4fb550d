package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rillstreams/rill/kafkatest"
)

type chaosConfig struct {
	bootstrap, brokerContainer, guarantee, dir string
	kills, brokerRestarts, records, keys       int
	instances                                  int
	seed                                       uint64
	interval, timeout                          time.Duration
}

// proc is a child process: an app instance or the embedded broker.
type proc struct {
	name    string
	args    []string
	log     *os.File
	cmd     *exec.Cmd
	done    chan struct{}
	stopped bool // SIGSTOPped
	// ending is set before the driver stops or kills the process: an exit without it is an
	// instance that died of its own (a broker restart must not do that), counted in died.
	ending atomic.Bool
	died   *atomic.Int64
}

func (p *proc) start(exe string) error {
	p.cmd = exec.Command(exe, p.args...)
	p.cmd.Stdout, p.cmd.Stderr = p.log, p.log
	if err := p.cmd.Start(); err != nil {
		return err
	}
	p.done = make(chan struct{})
	p.ending.Store(false)
	go func() {
		err := p.cmd.Wait()
		if !p.ending.Load() && p.died != nil {
			p.died.Add(1)
			fmt.Printf("  %s exited on its own (%v): see its log\n", p.name, err)
		}
		close(p.done)
	}()
	return nil
}

func (p *proc) signal(s syscall.Signal) { _ = p.cmd.Process.Signal(s) }

// stop ends the process with SIGTERM, or SIGKILL after wait; it reports whether it stopped by
// itself.
func (p *proc) stop(wait time.Duration) bool {
	p.ending.Store(true)
	if p.stopped {
		p.signal(syscall.SIGCONT)
		p.stopped = false
	}
	p.signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return true
	case <-time.After(wait):
		// SIGQUIT first: the Go runtime writes every goroutine's stack to the log, which
		// shows where shutdown hung.
		p.signal(syscall.SIGQUIT)
		select {
		case <-p.done:
		case <-time.After(5 * time.Second):
			p.signal(syscall.SIGKILL)
			<-p.done
		}
		return false
	}
}

func (p *proc) kill() {
	p.ending.Store(true)
	p.signal(syscall.SIGKILL)
	<-p.done
	p.stopped = false
}

// outputs reads every output topic (read_committed) as the run goes.
type outputs struct {
	mu       sync.Mutex
	recs     map[string][]kafkatest.Record
	aggSeen  map[string]bool // distinct agg updates ("key:count")
	last     atomic.Int64    // unix nanos of the last record read
	distinct atomic.Int64
}

func (o *outputs) read(ctx context.Context, bootstrap []string) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(bootstrap...), kgo.ConsumeTopics(outputTopics...),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	if err != nil {
		return err
	}
	defer cl.Close()
	for ctx.Err() == nil {
		fs := cl.PollFetches(ctx)
		o.mu.Lock()
		fs.EachRecord(func(r *kgo.Record) {
			o.recs[r.Topic] = append(o.recs[r.Topic], kafkatest.Record{Topic: r.Topic, Partition: r.Partition,
				Offset: r.Offset, Key: r.Key, Value: r.Value, Timestamp: r.Timestamp})
			if r.Topic == topicAgg {
				c, _, _ := strings.Cut(string(r.Value), ":")
				k := string(r.Key) + ":" + c
				if !o.aggSeen[k] {
					o.aggSeen[k] = true
					o.distinct.Add(1)
				}
			}
			o.last.Store(time.Now().UnixNano())
		})
		o.mu.Unlock()
	}
	return nil
}

func runChaos(c chaosConfig) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	dir := c.dir
	if dir == "" {
		if dir, err = os.MkdirTemp("", "rill-torture-"); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	fmt.Printf("rill-torture: seed %d, %s, %d records, %d keys, %d instances, %d chaos actions (%d broker restarts), dir %s\n",
		c.seed, c.guarantee, c.records, c.keys, c.instances, c.kills, c.brokerRestarts, dir)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	logFile := func(name string) (*os.File, error) {
		return os.OpenFile(filepath.Join(dir, name+".log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	}

	// The broker.
	var broker *proc
	bootstrap := c.bootstrap
	if bootstrap == "" {
		port, err := freePort()
		if err != nil {
			return err
		}
		lf, err := logFile("broker")
		if err != nil {
			return err
		}
		broker = &proc{name: "broker", log: lf, args: []string{"broker", "--port", strconv.Itoa(port), "--data-dir", filepath.Join(dir, "broker")}}
		if err := broker.start(exe); err != nil {
			return err
		}
		defer broker.stop(10 * time.Second)
		bootstrap = "localhost:" + strconv.Itoa(port)
	}
	addrs := strings.Split(bootstrap, ",")
	if err := retry(ctx, time.Minute, func() error {
		return kafkatest.CreateTopics(ctx, addrs, partitions, append(slices.Clone(inputTopics), outputTopics...)...)
	}); err != nil {
		return fmt.Errorf("create topics: %w", err)
	}
	in := generate(c.records, c.keys, c.seed)
	// The tables are stamped before the first input record: a task joins in timestamp order,
	// and a label stamped later would rightly be missing for the records before it.
	tablesAt := time.UnixMilli(in.base - 1000)
	if err := kafkatest.Produce(ctx, addrs, append(globals(c.keys, tablesAt), fkTable(tablesAt)...)...); err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(c.seed+1, c.seed^0x5851f42d4c957f2d))

	out := &outputs{recs: map[string][]kafkatest.Record{}, aggSeen: map[string]bool{}}
	readCtx, stopReading := context.WithCancel(ctx)
	defer stopReading()
	go func() { _ = out.read(readCtx, addrs) }()

	// The instances.
	var instances []*proc
	var died atomic.Int64
	startInstance := func(slot int) (*proc, error) {
		lf, err := logFile("instance" + strconv.Itoa(slot))
		if err != nil {
			return nil, err
		}
		p := &proc{name: "instance" + strconv.Itoa(slot), log: lf, args: []string{"app", "--bootstrap", bootstrap,
			"--slot", strconv.Itoa(slot), "--state-dir", filepath.Join(dir, "state", strconv.Itoa(slot)), "--guarantee", c.guarantee}, died: &died}
		return p, p.start(exe)
	}
	for slot := range c.instances {
		p, err := startInstance(slot)
		if err != nil {
			return err
		}
		instances = append(instances, p)
	}

	// The input arrives over the whole run.
	var produced, actions atomic.Int64
	prodDone := make(chan error, 1)
	span := time.Duration(c.kills+1) * c.interval
	fmt.Printf("input: 200 chunks over %s, one every %s\n", span, (span / 200).Round(time.Millisecond))
	go func() {
		const chunks = 200
		per := max(1, c.records/chunks)
		tick := span / chunks
		for from := 0; from < c.records; from += per {
			to := min(c.records, from+per)
			// The input must last as long as the chaos, or the late faults would find nothing
			// to disturb and time no recovery: a chunk waits for its share of the actions
			// (faults take longer than the interval when restarts are slow).
			for int64(from/per)*int64(c.kills) > actions.Load()*chunks && ctx.Err() == nil {
				time.Sleep(50 * time.Millisecond)
			}
			if err := retry(ctx, 2*time.Minute, func() error { return kafkatest.Produce(ctx, addrs, in.records(from, to)...) }); err != nil {
				prodDone <- err
				return
			}
			produced.Store(int64(to))
			time.Sleep(tick)
		}
		prodDone <- nil
	}()

	// The chaos.
	var stats struct {
		sync.Mutex
		kills, zombies, scales, brokerRestarts int
		recoveries                             []time.Duration
		unrecovered                            int
	}
	recovery := func(what string) {
		// Recovered: the input produced after the fault is out in full. The input produced
		// before it may already be out when the fault strikes (a SIGKILL stalls only the
		// records that follow it), so the target is the first chunk produced after the fault;
		// the time includes waiting for that chunk, at most one production tick.
		t0, p0 := time.Now(), produced.Load()
		if p0 >= int64(c.records) {
			fmt.Printf("  (the input is all produced: recovery from %s not timed)\n", what)
			return
		}
		go func() {
			target := int64(-1)
			for time.Since(t0) < c.timeout {
				if target < 0 {
					if p := produced.Load(); p > p0 {
						target = p
					}
				}
				if target >= 0 && out.distinct.Load() >= target {
					d := time.Since(t0)
					stats.Lock()
					stats.recoveries = append(stats.recoveries, d)
					stats.Unlock()
					fmt.Printf("  recovered from %s in %s\n", what, d.Round(time.Millisecond))
					return
				}
				time.Sleep(50 * time.Millisecond)
			}
			stats.Lock()
			stats.unrecovered++
			stats.Unlock()
		}()
	}
	brokerAt := map[int]bool{}
	for i := 1; i <= c.brokerRestarts; i++ {
		brokerAt[i*c.kills/(c.brokerRestarts+1)] = true
	}
	var extra *proc
	for a := range c.kills {
		time.Sleep(c.interval)
		actions.Store(int64(a))
		switch r := rng.IntN(100); {
		case brokerAt[a]:
			fmt.Printf("[%d] broker restart\n", a)
			if err := restartBroker(ctx, c, broker, exe); err != nil {
				return fmt.Errorf("broker restart: %w", err)
			}
			stats.brokerRestarts++
			recovery("a broker restart")
		case r < 55:
			i := rng.IntN(len(instances))
			fmt.Printf("[%d] SIGKILL %s\n", a, instances[i].name)
			if instances[i].stopped {
				instances[i].signal(syscall.SIGCONT)
			}
			instances[i].kill()
			time.Sleep(time.Second)
			p, err := startInstance(i)
			if err != nil {
				return err
			}
			instances[i] = p
			stats.kills++
			recovery("a SIGKILL")
		case r < 75:
			i := rng.IntN(len(instances))
			if instances[i].stopped {
				continue
			}
			fmt.Printf("[%d] SIGSTOP %s past the session timeout\n", a, instances[i].name)
			instances[i].signal(syscall.SIGSTOP)
			instances[i].stopped = true
			time.Sleep(10 * time.Second)
			instances[i].signal(syscall.SIGCONT)
			instances[i].stopped = false
			stats.zombies++
			recovery("a zombie")
		default:
			if extra == nil {
				fmt.Printf("[%d] scale out: instance%d\n", a, c.instances)
				if extra, err = startInstance(c.instances); err != nil {
					return err
				}
			} else {
				fmt.Printf("[%d] scale in: stop instance%d\n", a, c.instances)
				if !extra.stop(time.Minute) {
					return errors.New("the extra instance did not stop within a minute of SIGTERM")
				}
				extra = nil
			}
			stats.scales++
			recovery("scaling")
		}
	}
	actions.Store(int64(c.kills)) // the chaos is over: the rest of the input may go
	if err := <-prodDone; err != nil {
		return fmt.Errorf("produce input: %w", err)
	}
	fmt.Printf("all %d input records produced; waiting for the outputs\n", c.records)
	exact := c.guarantee == "exactly-once"
	wantJoins := 0
	for _, n := range in.expectedJoins(c.records) {
		wantJoins += n
	}
	deadline := time.Now().Add(c.timeout)
	for time.Now().Before(deadline) {
		out.mu.Lock()
		done := out.distinct.Load() >= int64(c.records) && len(out.recs[topicGJoin]) >= c.records && len(out.recs[topicJoin]) >= wantJoins &&
			in.ttReady(c.records, out.recs[topicTT]) && in.finalReady(c.records, out.recs[topicFinal]) &&
			in.fkReady(c.records, out.recs[topicFK])
		out.mu.Unlock()
		if done {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	// Stop the instances; shutdown must always finish.
	var stuck []string
	for _, p := range append(instances, extra) {
		if p != nil && !p.stop(time.Minute) {
			stuck = append(stuck, p.name)
		}
	}
	// Read what is left: until nothing new arrives for 5 s.
	for time.Since(time.Unix(0, out.last.Load())) < 5*time.Second {
		time.Sleep(500 * time.Millisecond)
	}
	stopReading()

	out.mu.Lock()
	reps := verify(in, c.records, out.recs, exact)
	out.mu.Unlock()
	rebalances := countRebalances(dir)
	stats.Lock()
	recs := slices.Clone(stats.recoveries)
	unrecovered := stats.unrecovered
	stats.Unlock()
	slices.Sort(recs)
	p50, pmax := time.Duration(0), time.Duration(0)
	if len(recs) > 0 {
		p50, pmax = recs[len(recs)/2], recs[len(recs)-1]
	}
	fmt.Printf("summary: seed %d, %s, records %d, SIGKILLs %d, zombies %d, scalings %d, broker restarts %d, rebalances %d, "+
		"recovery p50 %s max %s (%d never recovered)\n",
		c.seed, c.guarantee, c.records, stats.kills, stats.zombies, stats.scales, stats.brokerRestarts, rebalances,
		p50.Round(time.Millisecond), pmax.Round(time.Millisecond), unrecovered)
	failed := false
	var lost, dups, recounted int
	for _, r := range reps {
		fmt.Println("  " + r.String())
		lost += r.lost
		dups += r.duplicates
		recounted += r.recounted
		if !r.ok(exact) {
			failed = true
		}
	}
	fmt.Printf("summary: lost %d, duplicates %d, recounted %d\n", lost, dups, recounted)
	if n := died.Load(); n > 0 {
		fmt.Printf("instances that exited on their own: %d\n", n)
		failed = true
	}
	if len(stuck) > 0 {
		fmt.Printf("instances that did not stop within a minute of SIGTERM: %v\n", stuck)
		failed = true
	}
	if exact {
		if open, err := openTransactions(ctx, addrs); err != nil {
			fmt.Printf("open transactions: not checked (%v)\n", err)
		} else if len(open) > 0 {
			fmt.Printf("open transactions left: %v\n", open)
			failed = true
		}
	}
	if failed {
		return fmt.Errorf("FAILED (seed %d; logs in %s)", c.seed, dir)
	}
	fmt.Println("PASS")
	if c.dir == "" {
		_ = os.RemoveAll(dir)
	}
	return nil
}

func restartBroker(ctx context.Context, c chaosConfig, broker *proc, exe string) error {
	if broker != nil {
		// kfake keeps its data on a clean stop; a SIGKILL may lose what it had not written.
		broker.stop(30 * time.Second)
		time.Sleep(2 * time.Second)
		return broker.start(exe)
	}
	if err := exec.CommandContext(ctx, "docker", "kill", c.brokerContainer).Run(); err != nil {
		return fmt.Errorf("docker kill %s: %w", c.brokerContainer, err)
	}
	time.Sleep(2 * time.Second)
	if out, err := exec.CommandContext(ctx, "docker", "start", c.brokerContainer).CombinedOutput(); err != nil {
		return fmt.Errorf("docker start %s: %v: %s", c.brokerContainer, err, out)
	}
	return nil
}

func countRebalances(dir string) int {
	n := 0
	logs, _ := filepath.Glob(filepath.Join(dir, "instance*.log"))
	for _, f := range logs {
		b, err := os.ReadFile(f)
		if err == nil {
			n += strings.Count(string(b), "-> REBALANCING")
		}
	}
	return n
}

func openTransactions(ctx context.Context, addrs []string) ([]string, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...))
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	var open []string
	for range 30 {
		txns, err := adm.ListTransactions(ctx, nil, []string{"Ongoing", "PrepareCommit", "PrepareAbort"})
		if err != nil {
			return nil, err
		}
		open = open[:0]
		for _, t := range txns.Sorted() {
			open = append(open, t.TxnID+" "+t.State)
		}
		if len(open) == 0 {
			return nil, nil
		}
		time.Sleep(time.Second)
	}
	return open, nil
}

func retry(ctx context.Context, d time.Duration, f func() error) error {
	deadline := time.Now().Add(d)
	for {
		err := f()
		if err == nil || time.Now().After(deadline) || ctx.Err() != nil {
			return err
		}
		time.Sleep(time.Second)
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
