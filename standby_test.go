package rill_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/rillstreams/rill"
	"github.com/rillstreams/rill/dsl"
	"github.com/rillstreams/rill/internal/partition"
	"github.com/rillstreams/rill/kafkatest"
	"github.com/rillstreams/rill/serde"
	"github.com/rillstreams/rill/standby"
	"github.com/rillstreams/rill/topology"
)

// Standby replicas and failover (issue 6), on the embedded broker: an instance holding tasks
// is SIGKILLed and the test measures what its successors restore and how long the tasks stand
// still, with and without standbys; a new instance takes tasks only after warming up.

// failoverPartitions is the partition count of the input and output topics: two active tasks
// per instance of three.
const failoverPartitions = 6

// failoverTopology is countTopology reading and writing the given topics, with a callback per
// update (nil: none), which tells the test when a key's task processes.
func failoverTopology(t testing.TB, in, out string, onUpdate func(key string)) *topology.Topology {
	type agg struct {
		Count int64 `json:"c"`
		Sum   int64 `json:"s"`
	}
	b := dsl.NewBuilder()
	s := b.Stream(in, serde.String(), serde.Int64()).
		GroupByKey().
		Aggregate(func() agg { return agg{} }, func(_ string, v int64, a agg) agg { return agg{a.Count + 1, a.Sum + v} },
			dsl.Materialized("sums"), dsl.WithSerdes(serde.String(), serde.JSON[agg]())).
		ToStream().
		MapValues(func(_ string, a agg) string { return fmt.Sprintf("%d:%d", a.Count, a.Sum) })
	if onUpdate != nil {
		s = s.Peek(func(k, _ string) { onUpdate(k) })
	}
	s.To(out)
	topo, err := b.Build()
	must(t, err)
	return topo
}

// progress records, per input partition, when an in-process instance last processed one of
// its records.
type progress struct {
	mu   sync.Mutex // protects last
	last map[int32]time.Time
}

func (p *progress) update(key string) {
	part := partition.ForKey([]byte(key), failoverPartitions)
	now := time.Now()
	p.mu.Lock()
	p.last[part] = now
	p.mu.Unlock()
}

// processedSince reports whether every partition in parts was processed after t, and when
// the last of them first was (as far as updates tell).
func (p *progress) processedSince(t time.Time, parts []int32) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, part := range parts {
		if !p.last[part].After(t) {
			return false
		}
	}
	return true
}

// restores collects the restore events of in-process instances, with when they arrived.
type restores struct {
	mu     sync.Mutex // protects events
	events []timedRestore
}

type timedRestore struct {
	at       time.Time
	instance string
	rill.RestoreEvent
}

func (r *restores) listener(instance string) func(rill.RestoreEvent) {
	return func(e rill.RestoreEvent) {
		r.mu.Lock()
		r.events = append(r.events, timedRestore{at: time.Now(), instance: instance, RestoreEvent: e})
		r.mu.Unlock()
	}
}

func (r *restores) since(t time.Time) []timedRestore {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []timedRestore
	for _, e := range r.events {
		if e.at.After(t) {
			out = append(out, e)
		}
	}
	return out
}

// trickle produces records to topic in small batches until stopped, as live traffic during a
// failover or a scale-out; stop returns what it produced.
func trickle(ctx context.Context, t *testing.T, broker *kafkatest.Broker, topic string, keys, first int) (stop func() []kafkatest.Record) {
	done := make(chan struct{})
	result := make(chan []kafkatest.Record, 1)
	go func() {
		var all []kafkatest.Record
		defer func() { result <- all }()
		i := first
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			batch := make([]kafkatest.Record, 20)
			for j := range batch {
				batch[j] = kafkatest.Record{Topic: topic, Key: []byte("k" + strconv.Itoa(i%keys)), Value: int64Bytes(i), Timestamp: time.Now()}
				i++
			}
			if err := broker.Produce(ctx, batch...); err != nil {
				t.Errorf("trickle: %v", err)
				return
			}
			all = append(all, batch...)
		}
	}()
	return func() []kafkatest.Record {
		close(done)
		return <-result
	}
}

// backlog makes n records over keys keys, for topic.
func backlog(topic string, n, keys int) []kafkatest.Record {
	recs := keyed(n, keys, int64Bytes)
	for i := range recs {
		recs[i].Topic = topic
	}
	return recs
}

// produceAll produces records in chunks (one big ProduceSync would hold every record twice).
func produceAll(ctx context.Context, broker *kafkatest.Broker, recs []kafkatest.Record) error {
	for len(recs) > 0 {
		n := min(len(recs), 20000)
		if err := broker.Produce(ctx, recs[:n]...); err != nil {
			return err
		}
		recs = recs[n:]
	}
	return nil
}

// admin returns a kadm client for the broker, closed with the test.
// standbySetup starts a broker whose changelogs stay uncompacted during the test (so "all of
// the state" is every record), an admin client, and an input and an output topic of
// partitions partitions; names are unique to the test run (name, tag, time).
func standbySetup(t testing.TB, ctx context.Context, name, tag string, partitions int32) (broker *kafkatest.Broker, adm *kadm.Client, app, in, out string) {
	broker = kafkatest.New(t, kafkatest.Config{CompactionInterval: time.Hour})
	adm = admin(t, broker)
	suffix := tag + strconv.FormatInt(time.Now().UnixNano(), 10)
	app, in, out = name+"-"+suffix, name+"-in-"+suffix, name+"-out-"+suffix
	for _, topic := range []string{in, out} {
		must(t, broker.CreateTopic(ctx, topic, partitions))
	}
	return broker, adm, app, in, out
}

func admin(t testing.TB, broker *kafkatest.Broker) *kadm.Client {
	cl, err := kgo.NewClient(kgo.SeedBrokers(broker.Addrs()...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return kadm.NewClient(cl)
}

// waitStable waits until the app's group is stable with the given number of members, and
// returns each member's input partitions by client id.
func waitStable(ctx context.Context, t *testing.T, adm *kadm.Client, group, topic string, members int) map[string][]int32 {
	for {
		described, err := adm.DescribeGroups(ctx, group)
		if err == nil {
			g := described[group]
			if g.Err == nil && g.State == "Stable" && len(g.Members) == members {
				out := map[string][]int32{}
				for _, m := range g.Members {
					if c, ok := m.Assigned.AsConsumer(); ok {
						for _, tp := range c.Topics {
							if tp.Topic == topic {
								out[m.ClientID] = append(out[m.ClientID], tp.Partitions...)
							}
						}
					}
				}
				return out
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("group %s not stable with %d members: %v", group, members, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// changelogSize returns the committed end offsets (the last stable offsets) of the given
// partitions of a changelog, summed: the records a restore from scratch reads, markers aside.
func changelogSize(ctx context.Context, t *testing.T, adm *kadm.Client, topic string, parts []int32) int64 {
	lo, err := adm.ListCommittedOffsets(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	var sum int64
	for _, p := range parts {
		o, ok := lo.Lookup(topic, p)
		if !ok || o.Err != nil {
			t.Fatalf("end offset of %s[%d]: %v", topic, p, o.Err)
		}
		sum += o.Offset
	}
	return sum
}

// startStandbyChild runs an instance of failoverTopology in a child process (this test binary,
// see TestMain), to be SIGKILLed.
func startStandbyChild(t *testing.T, broker *kafkatest.Broker, app, in, out, process, dir string, standbys int) *exec.Cmd {
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "RILL_STANDBY_CHILD=1", "RILL_BOOTSTRAP="+strings.Join(broker.Addrs(), ","),
		"RILL_STATE_DIR="+dir, "RILL_APP="+app, "RILL_IN="+in, "RILL_OUT="+out, "RILL_PROCESS="+process,
		"RILL_STANDBYS="+strconv.Itoa(standbys))
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	return cmd
}

// standbyChild is the child of startStandbyChild: it runs until SIGTERM (or SIGKILL).
func standbyChild() int {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	standbys, _ := strconv.Atoi(os.Getenv("RILL_STANDBYS"))
	app, err := rill.New(failoverTopology(nil, os.Getenv("RILL_IN"), os.Getenv("RILL_OUT"), nil), rill.Config{CacheMaxBytes: -1,
		ApplicationID: os.Getenv("RILL_APP"), ProcessID: os.Getenv("RILL_PROCESS"),
		Bootstrap: strings.Split(os.Getenv("RILL_BOOTSTRAP"), ","), StateDir: os.Getenv("RILL_STATE_DIR"),
		ProcessingGuarantee: rill.ExactlyOnceV2, Standby: standby.Config{Replicas: standbys}})
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
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// failoverResult is what one failover run measured.
type failoverResult struct {
	tasks    []int32       // the partitions of the killed instance's tasks
	state    int64         // their changelog records at the kill
	restored int64         // changelog records their new owners restored
	promoted int           // of their restores, how many came from a standby
	resume   time.Duration // from the kill until all of them processed again
	records  int           // input records in all
}

// runFailover runs three exactly-once instances of failoverTopology (one a child process),
// builds n records of state, SIGKILLs the child under live traffic and measures the takeover
// of its tasks. Every per-key update must still appear exactly once.
func runFailover(t *testing.T, standbys, n int) failoverResult {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	broker, adm, app, in, out := standbySetup(t, ctx, "failover", strconv.Itoa(standbys), failoverPartitions)
	prog := &progress{last: map[int32]time.Time{}}
	rest := &restores{}
	cfg := func(process string) rill.Config {
		return rill.Config{CacheMaxBytes: -1, ApplicationID: app, ProcessID: process, Bootstrap: broker.Addrs(), StateDir: t.TempDir(),
			ProcessingGuarantee: rill.ExactlyOnceV2, Standby: standby.Config{Replicas: standbys}, RestoreListener: rest.listener(process)}
	}
	child := startStandbyChild(t, broker, app, in, out, "victim", t.TempDir(), standbys)
	stops := []func() error{
		startApp(t, ctx, failoverTopology(t, in, out, prog.update), cfg("survivor-a")),
		startApp(t, ctx, failoverTopology(t, in, out, prog.update), cfg("survivor-b")),
	}
	waitStable(ctx, t, adm, app, in, 3)

	// State: n records over n/2 keys, processed by all three.
	keys := n / 2
	recs := backlog(in, n, keys)
	began := time.Now()
	if err := produceAll(ctx, broker, recs); err != nil {
		t.Fatal(err)
	}
	if got, err := broker.Consume(ctx, out, n, true); err != nil {
		t.Fatalf("backlog: %d of %d outputs: %v", len(got), n, err)
	}
	t.Logf("standbys=%d: %d records of state processed by 3 instances in %v", standbys, n, time.Since(began).Round(time.Millisecond))

	stopTrickle := trickle(ctx, t, broker, in, keys, n)
	time.Sleep(time.Second)
	owners := waitStable(ctx, t, adm, app, in, 3)
	var res failoverResult
	for client, parts := range owners {
		if strings.Contains(client, "-victim-") {
			res.tasks = append(res.tasks, parts...)
		}
	}
	if len(res.tasks) == 0 {
		t.Fatalf("the child holds no task: %v", owners)
	}
	killed := time.Now()
	_ = child.Process.Signal(syscall.SIGKILL)
	_ = child.Wait()
	res.state = changelogSize(ctx, t, adm, app+"-sums-changelog", res.tasks)
	for !prog.processedSince(killed, res.tasks) {
		select {
		case <-ctx.Done():
			t.Fatalf("tasks %v of the killed instance did not resume", res.tasks)
		case <-time.After(20 * time.Millisecond):
		}
	}
	res.resume = time.Since(killed)
	time.Sleep(500 * time.Millisecond)
	more := stopTrickle()

	for _, e := range rest.since(killed) {
		for _, p := range res.tasks {
			if e.Task.Partition == p {
				res.restored += e.Records
				if e.FromStandby {
					res.promoted++
				}
				t.Logf("standbys=%d: %s took over task %s: restored %d records in %v (from standby: %v)",
					standbys, e.instance, e.Task, e.Records, e.Duration.Round(time.Millisecond), e.FromStandby)
			}
		}
	}

	all := append(recs, more...)
	res.records = len(all)
	counts, sums, total := expectedCounts(all)
	got, err := broker.Consume(ctx, out, total, true)
	if err != nil {
		t.Fatalf("consumed %d of %d committed outputs: %v", len(got), total, err)
	}
	if err := checkExact(got, counts, sums); err != nil {
		t.Fatal(err)
	}
	for _, stop := range stops {
		if err := stop(); err != nil {
			t.Error(err)
		}
	}
	return res
}

// failoverRecords is the records of state the failover tests build: 200k+ as the issue asks,
// fewer with -short, or RILL_FAILOVER_RECORDS to measure larger states.
func failoverRecords() int {
	if n, err := strconv.Atoi(os.Getenv("RILL_FAILOVER_RECORDS")); err == nil && n > 0 {
		return n
	}
	if testing.Short() {
		return 30000
	}
	return 210000
}

// With one standby replica, the instance that takes over a killed instance's tasks has their
// state already: it restores a small tail, not the changelog. Without standbys it restores it
// all. Either way every update appears exactly once.
func TestFailoverWithStandbys(t *testing.T) {
	n := failoverRecords()
	with := runFailover(t, 1, n)
	t.Logf("with 1 standby: tasks %v of %d changelog records; restored %d (%.2f%%), %d of %d takeovers from a standby; resumed %v after the kill",
		with.tasks, with.state, with.restored, 100*float64(with.restored)/float64(with.state), with.promoted, len(with.tasks), with.resume.Round(time.Millisecond))
	if with.restored*20 >= with.state {
		t.Errorf("with a standby the new owner restored %d of %d changelog records; want under 5%%", with.restored, with.state)
	}
	if with.promoted != len(with.tasks) {
		t.Errorf("%d of %d killed tasks were taken over by a standby", with.promoted, len(with.tasks))
	}
}

func TestFailoverWithoutStandbys(t *testing.T) {
	n := failoverRecords()
	without := runFailover(t, 0, n)
	t.Logf("without standbys: tasks %v of %d changelog records; restored %d (%.2f%%); resumed %v after the kill",
		without.tasks, without.state, without.restored, 100*float64(without.restored)/float64(without.state), without.resume.Round(time.Millisecond))
	// Everything committed before the kill, less what was still in the killed instance's
	// open transaction (aborted, and so not state).
	if without.restored*10 < without.state*9 {
		t.Errorf("without standbys the new owner restored %d of %d changelog records; want nearly all", without.restored, without.state)
	}
}

// A fourth instance joining three that hold the state gets warm-up replicas first; the tasks
// move to it at a probing rebalance once it has caught up, so that its restores (on the
// critical path of processing) are only tails.
func TestScaleOutWarmsUpFirst(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	broker, adm, app, in, out := standbySetup(t, ctx, "scaleout", "", failoverPartitions)
	const acceptable = 1000
	rest := &restores{}
	cfg := func(process string) rill.Config {
		return rill.Config{CacheMaxBytes: -1, ApplicationID: app, ProcessID: process, Bootstrap: broker.Addrs(), StateDir: t.TempDir(),
			ProcessingGuarantee: rill.ExactlyOnceV2, Standby: standby.Config{Replicas: 1, AcceptableRecoveryLag: acceptable,
				ProbingRebalanceInterval: 2 * time.Second}, RestoreListener: rest.listener(process)}
	}
	var stops []func() error
	for _, p := range []string{"a", "b", "c"} {
		stops = append(stops, startApp(t, ctx, failoverTopology(t, in, out, nil), cfg(p)))
	}
	waitStable(ctx, t, adm, app, in, 3)
	n := 60000
	if testing.Short() {
		n = 30000
	}
	keys := n / 2
	recs := backlog(in, n, keys)
	if err := produceAll(ctx, broker, recs); err != nil {
		t.Fatal(err)
	}
	if got, err := broker.Consume(ctx, out, n, true); err != nil {
		t.Fatalf("backlog: %d of %d outputs: %v", len(got), n, err)
	}
	perTask := changelogSize(ctx, t, adm, app+"-sums-changelog", []int32{0, 1, 2, 3, 4, 5}) / failoverPartitions
	stopTrickle := trickle(ctx, t, broker, in, keys, n)

	joined := time.Now()
	stops = append(stops, startApp(t, ctx, failoverTopology(t, in, out, nil), cfg("d")))
	var taken []timedRestore
	for {
		taken = nil
		for _, e := range rest.since(joined) {
			if e.instance == "d" {
				taken = append(taken, e)
			}
		}
		if len(taken) > 0 {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatal("the fourth instance never took an active task")
		case <-time.After(50 * time.Millisecond):
		}
	}
	time.Sleep(500 * time.Millisecond) // the rest of that rebalance
	for _, e := range rest.since(joined) {
		if e.instance == "d" {
			t.Logf("instance d took task %s %v after joining: restored %d records (task state ~%d) in %v, from its warm-up: %v",
				e.Task, e.at.Sub(joined).Round(time.Millisecond), e.Records, perTask, e.Duration.Round(time.Millisecond), e.FromStandby)
			if !e.FromStandby || e.Records > acceptable {
				t.Errorf("instance d restored task %s with %d records (from a warm-up: %v); want a warmed-up tail of at most %d",
					e.Task, e.Records, e.FromStandby, acceptable)
			}
		}
	}
	more := stopTrickle()
	all := append(recs, more...)
	counts, sums, total := expectedCounts(all)
	got, err := broker.Consume(ctx, out, total, true)
	if err != nil {
		t.Fatalf("consumed %d of %d committed outputs: %v", len(got), total, err)
	}
	if err := checkExact(got, counts, sums); err != nil {
		t.Fatal(err)
	}
	var errs []error
	for _, stop := range stops {
		errs = append(errs, stop())
	}
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
}

// Two instances of two stream threads each, one standby: when one instance stops, the other
// takes its tasks over from its standbys, whichever of its threads kept them, restoring little.
func TestStandbysAcrossThreads(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	broker, adm, app, in, out := standbySetup(t, ctx, "threads", "", failoverPartitions)
	rest := &restores{}
	cfg := func(process string) rill.Config {
		return rill.Config{CacheMaxBytes: -1, ApplicationID: app, ProcessID: process, Bootstrap: broker.Addrs(), StateDir: t.TempDir(),
			NumThreads: 2, ProcessingGuarantee: rill.ExactlyOnceV2, Standby: standby.Config{Replicas: 1}, RestoreListener: rest.listener(process)}
	}
	stopA := startApp(t, ctx, failoverTopology(t, in, out, nil), cfg("a"))
	stopB := startApp(t, ctx, failoverTopology(t, in, out, nil), cfg("b"))
	owners := waitStable(ctx, t, adm, app, in, 4)
	n := 40000
	keys := n / 2
	recs := backlog(in, n, keys)
	if err := produceAll(ctx, broker, recs); err != nil {
		t.Fatal(err)
	}
	if got, err := broker.Consume(ctx, out, n, true); err != nil {
		t.Fatalf("backlog: %d of %d outputs: %v", len(got), n, err)
	}
	var moved []int32
	for client, parts := range owners {
		if strings.Contains(client, "-a-StreamThread-") {
			moved = append(moved, parts...)
		}
	}
	state := changelogSize(ctx, t, adm, app+"-sums-changelog", moved)
	stopTrickle := trickle(ctx, t, broker, in, keys, n)
	time.Sleep(500 * time.Millisecond)
	stopped := time.Now()
	if err := stopA(); err != nil {
		t.Fatal(err)
	}
	waitStable(ctx, t, adm, app, in, 2)
	time.Sleep(500 * time.Millisecond)
	more := stopTrickle()
	var restored int64
	for _, e := range rest.since(stopped) {
		if e.instance == "b" {
			t.Logf("b took over task %s: restored %d records (from its standby: %v)", e.Task, e.Records, e.FromStandby)
			restored += e.Records
		}
	}
	if restored*20 >= state {
		t.Errorf("b restored %d of the %d changelog records of the tasks it took over; want under 5%%", restored, state)
	}
	all := append(recs, more...)
	counts, sums, total := expectedCounts(all)
	got, err := broker.Consume(ctx, out, total, true)
	if err != nil {
		t.Fatalf("consumed %d of %d committed outputs: %v", len(got), total, err)
	}
	if err := checkExact(got, counts, sums); err != nil {
		t.Fatal(err)
	}
	if err := stopB(); err != nil {
		t.Fatal(err)
	}
}

// An instance that gives a task up to an instance it then keeps a standby for keeps the
// task's stores: they become the standby's, from where the active left them. One instance
// holds all the state; a second joins, warms up and takes half the tasks, and the first keeps
// standbys of those (the only other copies).
func TestGivenUpTaskBecomesStandby(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	const partitions = 4
	broker, adm, app, in, out := standbySetup(t, ctx, "demote", "", partitions)
	rest := &restores{}
	logCore, logs := observer.New(zapcore.InfoLevel)
	cfg := func(process string) rill.Config {
		return rill.Config{CacheMaxBytes: -1, ApplicationID: app, ProcessID: process, Bootstrap: broker.Addrs(), StateDir: t.TempDir(),
			ProcessingGuarantee: rill.ExactlyOnceV2, Standby: standby.Config{Replicas: 1, AcceptableRecoveryLag: 500,
				ProbingRebalanceInterval: time.Second}, RestoreListener: rest.listener(process),
			Logger: zap.New(logCore).With(zap.String("instance", process))}
	}
	stopA := startApp(t, ctx, failoverTopology(t, in, out, nil), cfg("a"))
	waitStable(ctx, t, adm, app, in, 1)
	n := 20000
	recs := backlog(in, n, n/2)
	if err := produceAll(ctx, broker, recs); err != nil {
		t.Fatal(err)
	}
	if got, err := broker.Consume(ctx, out, n, true); err != nil {
		t.Fatalf("backlog: %d of %d outputs: %v", len(got), n, err)
	}
	joined := time.Now()
	stopB := startApp(t, ctx, failoverTopology(t, in, out, nil), cfg("b"))
	var taken []timedRestore
	for len(taken) < partitions/2 {
		taken = nil
		for _, e := range rest.since(joined) {
			if e.instance == "b" {
				taken = append(taken, e)
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("b took %d tasks, want %d", len(taken), partitions/2)
		case <-time.After(50 * time.Millisecond):
		}
	}
	for _, e := range taken {
		if !e.FromStandby || e.Records > 500 {
			t.Errorf("b took task %s restoring %d records (from its warm-up: %v); want a warmed-up tail", e.Task, e.Records, e.FromStandby)
		}
		// a had no standby before b joined (a single instance keeps none): a standby of the
		// task that a opened since is the one it demoted its active to. Its rebalance
		// callback runs when it runs, before or after b's restoration ends: wait for it.
		var sum any
		for deadline := time.Now().Add(30 * time.Second); sum == nil && time.Now().Before(deadline); {
			for _, l := range logs.FilterMessage("rill: standby task opened").All() {
				if m := l.ContextMap(); l.Time.After(joined) && m["instance"] == "a" && m["task"] == e.Task.String() {
					sum = m["offsetSum"]
				}
			}
			if sum == nil {
				time.Sleep(50 * time.Millisecond)
			}
		}
		t.Logf("b took task %s; a keeps it as a standby from offset sum %v", e.Task, sum)
		if s, ok := sum.(int64); !ok || s < int64(n/partitions/2) {
			t.Errorf("a did not keep its state of task %s as a standby (offset sum %v)", e.Task, sum)
		}
	}
	counts, sums, total := expectedCounts(recs)
	got, err := broker.Consume(ctx, out, total, true)
	if err != nil {
		t.Fatalf("consumed %d of %d committed outputs: %v", len(got), total, err)
	}
	if err := checkExact(got, counts, sums); err != nil {
		t.Fatal(err)
	}
	if err := errors.Join(stopB(), stopA()); err != nil {
		t.Fatal(err)
	}
}
