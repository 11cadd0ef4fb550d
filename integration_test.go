package rill_test

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/rillstreams/rill"
	"github.com/rillstreams/rill/dsl"
	"github.com/rillstreams/rill/kafkatest"
	"github.com/rillstreams/rill/serde"
	"github.com/rillstreams/rill/state/memory"
	"github.com/rillstreams/rill/streamstest"
	"github.com/rillstreams/rill/topology"
)

// Integration tests: real topologies on the embedded Kafka-protocol broker (kfake), real
// transactions, real RocksDB. They compare with the test driver, restart, and SIGKILL.

// must fails the test, or panics in the crash child, which has no test.
// newBroker starts an embedded broker (or takes the external one, see kafkatest) with topics
// of the given partition count.
func newBroker(t testing.TB, ctx context.Context, partitions int32, topics ...string) *kafkatest.Broker {
	t.Helper()
	broker := kafkatest.New(t)
	for _, topic := range topics {
		must(t, broker.CreateTopic(ctx, topic, partitions))
	}
	return broker
}

func must(t testing.TB, err error) {
	if err == nil {
		return
	}
	if t == nil {
		panic(err)
	}
	t.Fatal(err)
}

func statelessTopology(t testing.TB) *topology.Topology {
	b := dsl.NewBuilder()
	b.Stream("in", serde.String(), serde.String()).
		Filter(func(_, v string) bool { return !strings.HasPrefix(v, "drop") }).
		MapValues(func(_, v string) string { return strings.ToUpper(v) }).
		To("out")
	topo, err := b.Build()
	must(t, err)
	return topo
}

// countTopology counts records per key and sums their int64 values: Kafka Streams' EOS
// system-test shape. Outputs are "count:sum" per update.
func countTopology(t testing.TB) *topology.Topology {
	type agg struct {
		Count int64 `json:"c"`
		Sum   int64 `json:"s"`
	}
	b := dsl.NewBuilder()
	b.Stream("in", serde.String(), serde.Int64()).
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

// The integration tests that check every update of a count (exactly once, no loss, no
// duplicate) run with CacheMaxBytes: -1: the record cache would fold updates of a key between
// commits into one (cache_integration_test.go tests that).
func startApp(t testing.TB, ctx context.Context, topo *topology.Topology, cfg rill.Config) (stop func() error) {
	app, err := rill.New(topo, cfg)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	runCtx, cancel := context.WithCancel(ctx)
	go func() { done <- app.Run(runCtx) }()
	var once atomic.Bool
	stop = func() error {
		if !once.CompareAndSwap(false, true) {
			return nil
		}
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(30 * time.Second):
			return errors.New("app did not stop within 30s")
		}
	}
	t.Cleanup(func() { _ = stop() })
	return stop
}

// keyed makes n input records over keys keys. Timestamps are recent: brokers delete records
// older than the topic's retention (7 days by default), 1970 timestamps included.
func keyed(n, keys int, value func(i int) []byte) []kafkatest.Record {
	base := time.Now().Add(-time.Hour).UnixMilli()
	recs := make([]kafkatest.Record, n)
	for i := range recs {
		recs[i] = kafkatest.Record{Topic: "in", Key: []byte("k" + strconv.Itoa(i%keys)), Value: value(i),
			Timestamp: time.UnixMilli(base + int64(i))}
	}
	return recs
}

func int64Bytes(i int) []byte {
	b, _ := serde.Int64().Serialize("", int64(i))
	return b
}

func TestStatelessMatchesTestDriver(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	broker := newBroker(t, ctx, 4, "in", "out")
	recs := keyed(300, 17, func(i int) []byte {
		if i%5 == 0 {
			return []byte("drop" + strconv.Itoa(i))
		}
		return []byte("v" + strconv.Itoa(i))
	})
	if err := broker.Produce(ctx, recs...); err != nil {
		t.Fatal(err)
	}
	// The driver's answer for the same input, with the same partitioning.
	d := streamstest.New(t, statelessTopology(t), streamstest.WithPartitions(4))
	in := streamstest.Input(d, "in", serde.String(), serde.String())
	for _, r := range recs {
		in.PipeAt(string(r.Key), string(r.Value), r.Timestamp)
	}
	want := perKey(func(yield func(k, v string)) {
		for _, r := range streamstest.Output(d, "out", serde.String(), serde.String()).ReadAll() {
			yield(r.Key, r.Value)
		}
	})
	stop := startApp(t, ctx, statelessTopology(t), rill.Config{CacheMaxBytes: -1, ApplicationID: "stateless", Bootstrap: broker.Addrs(),
		StateDir: t.TempDir(), CommitInterval: 50 * time.Millisecond, StoreBackend: memory.Backend()})
	out, err := broker.Consume(ctx, "out", 240, false)
	if err != nil {
		t.Fatalf("consumed %d of 240: %v", len(out), err)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	got := perKey(func(yield func(k, v string)) {
		for _, r := range out {
			yield(string(r.Key), string(r.Value))
		}
	})
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("per-key outputs differ from the driver's\n got %v\nwant %v", got, want)
	}
}

func perKey(each func(func(k, v string))) map[string][]string {
	m := map[string][]string{}
	each(func(k, v string) { m[k] = append(m[k], v) })
	return m
}

// checkExact verifies a count/sum output stream: per key, counts go 1, 2, 3, ... with no
// repeat and no gap (kafkatest.CheckCounts), and the last sum is the sum of the key's inputs.
// It is what detects a duplicate or lost update under exactly-once.
func checkExact(out []kafkatest.Record, wantCount map[string]int64, wantSum map[string]int64) error {
	if err := kafkatest.CheckCounts(out, wantCount, true, countOf).Err(true); err != nil {
		return err
	}
	return checkFinalSums(out, wantCount, wantSum)
}

// countOf reads the count of a "count:sum" output.
func countOf(v []byte) (int64, error) {
	c, _, _ := strings.Cut(string(v), ":")
	return strconv.ParseInt(c, 10, 64)
}

// checkFinalSums checks the sum of each key's last "count:sum" output.
func checkFinalSums(out []kafkatest.Record, wantCount, wantSum map[string]int64) error {
	last := map[string]string{}
	for _, r := range out {
		last[string(r.Key)] = string(r.Value)
	}
	for k, n := range wantCount {
		if want := fmt.Sprintf("%d:%d", n, wantSum[k]); last[k] != want {
			return fmt.Errorf("key %s: final %q, want %q", k, last[k], want)
		}
	}
	return nil
}

func expectedCounts(recs []kafkatest.Record) (map[string]int64, map[string]int64, int) {
	counts, sums := map[string]int64{}, map[string]int64{}
	for _, r := range recs {
		v, _ := serde.Int64().Deserialize("", r.Value)
		counts[string(r.Key)]++
		sums[string(r.Key)] += v
	}
	return counts, sums, len(recs)
}

func TestCheckExactDetectsDuplicates(t *testing.T) {
	out := []kafkatest.Record{{Key: []byte("a"), Value: []byte("1:5")}, {Key: []byte("a"), Value: []byte("2:7")}}
	if err := checkExact(out, map[string]int64{"a": 2}, map[string]int64{"a": 7}); err != nil {
		t.Fatalf("clean stream rejected: %v", err)
	}
	dup := append(out[:1:1], out[0], out[1])
	if err := checkExact(dup, map[string]int64{"a": 2}, map[string]int64{"a": 7}); err == nil {
		t.Fatal("an injected duplicate update went unnoticed")
	}
	lost := out[1:]
	if err := checkExact(lost, map[string]int64{"a": 2}, map[string]int64{"a": 7}); err == nil {
		t.Fatal("a lost update went unnoticed")
	}
}

// Two instances of a stateful exactly-once app in one process share the partitions; every
// per-key update appears exactly once in the read_committed output.
func TestStatefulTwoInstancesExactlyOnce(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	broker := newBroker(t, ctx, 4, "in", "out")
	recs := keyed(2000, 40, int64Bytes)
	counts, sums, n := expectedCounts(recs)
	cfg := func(id string) rill.Config {
		return rill.Config{CacheMaxBytes: -1, ApplicationID: "counts", Bootstrap: broker.Addrs(), StateDir: t.TempDir(), ProcessID: id,
			ProcessingGuarantee: rill.ExactlyOnceV2}
	}
	stop1 := startApp(t, ctx, countTopology(t), cfg("one"))
	stop2 := startApp(t, ctx, countTopology(t), cfg("two"))
	if err := broker.Produce(ctx, recs[:n/2]...); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	if err := broker.Produce(ctx, recs[n/2:]...); err != nil {
		t.Fatal(err)
	}
	out, err := broker.Consume(ctx, "out", n, true)
	if err != nil {
		t.Fatalf("consumed %d of %d: %v", len(out), n, err)
	}
	if err := checkExact(out, counts, sums); err != nil {
		t.Fatal(err)
	}
	if err := errors.Join(stop1(), stop2()); err != nil {
		t.Fatal(err)
	}
}

// Stop an instance after part of the input, start it again on the same state directory: the
// store is restored from checkpoint and changelog, and counts carry on.
func TestRestartRestoresState(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	broker := newBroker(t, ctx, 2, "in", "out")
	recs := keyed(600, 10, int64Bytes)
	counts, sums, n := expectedCounts(recs)
	dir := t.TempDir()
	var restored atomic.Int64
	cfg := rill.Config{CacheMaxBytes: -1, ApplicationID: "restart", Bootstrap: broker.Addrs(), StateDir: dir, ProcessID: "same",
		CommitInterval:  100 * time.Millisecond,
		RestoreListener: func(e rill.RestoreEvent) { restored.Add(e.Records) }}
	if err := broker.Produce(ctx, recs[:n/2]...); err != nil {
		t.Fatal(err)
	}
	stop := startApp(t, ctx, countTopology(t), cfg)
	if _, err := broker.Consume(ctx, "out", n/2, false); err != nil {
		t.Fatal(err)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	firstRestore := restored.Load()
	if err := broker.Produce(ctx, recs[n/2:]...); err != nil {
		t.Fatal(err)
	}
	stop = startApp(t, ctx, countTopology(t), cfg)
	out, err := broker.Consume(ctx, "out", n, false)
	if err != nil {
		t.Fatalf("consumed %d of %d: %v", len(out), n, err)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if err := checkExact(out, counts, sums); err != nil {
		t.Fatal(err)
	}
	// A clean stop checkpoints: the restart restores nothing it already had.
	if got := restored.Load() - firstRestore; got != 0 {
		t.Errorf("restart restored %d changelog records; with a clean checkpoint it needs none", got)
	}
}

// The crash test runs the app in a child process (this test binary, re-executed) and SIGKILLs
// it mid-stream three times; read_committed output must still hold every update exactly once.
func TestCrashExactlyOnce(t *testing.T) {
	out, restored, counts, sums, n := runCrash(t, true)
	if err := checkExact(out, counts, sums); err != nil {
		t.Fatal(err)
	}
	// Transactional stores (KIP-892): a killed instance's stores are at their last commit
	// and know its changelog offset, so restarts restore only what a commit of the stores
	// missed (a kill between the Kafka commit and the stores' own), not the whole changelog.
	// That window is one commit, which on a loaded machine carries over a thousand records
	// (1,000 restored once, beside CPU hogs, with n/20 as the bound: a flake); wiping at each
	// of the three kills restores the changelog as it stands each time, about
	// n/8 + 3n/8 + 5n/8 records, over n.
	t.Logf("restarts restored %d changelog records in all (%d records processed)", restored, n)
	if restored > int64(n/2) {
		t.Errorf("restarts restored %d changelog records, want at most %d: killed instances' stores were not kept", restored, n/2)
	}
}

// TestCrashAtLeastOnce is the crash test at least once: updates may repeat (records processed
// again after the last commit), none may be lost, though the stores lose the writes they
// buffered for the next commit when the process dies (restoration brings back what reached
// the changelog, reprocessing the rest).
func TestCrashAtLeastOnce(t *testing.T) {
	out, _, counts, sums, _ := runCrash(t, false)
	if err := checkAtLeastOnce(out, counts, sums); err != nil {
		t.Fatal(err)
	}
}

// checkAtLeastOnce checks that every key's output reached at least its expected count and sum.
func checkAtLeastOnce(out []kafkatest.Record, wantCount, wantSum map[string]int64) error {
	maxCount, maxSum := map[string]int64{}, map[string]int64{}
	for _, r := range out {
		var c, s int64
		if _, err := fmt.Sscanf(string(r.Value), "%d:%d", &c, &s); err != nil {
			return fmt.Errorf("bad output %q: %v", r.Value, err)
		}
		k := string(r.Key)
		maxCount[k], maxSum[k] = max(maxCount[k], c), max(maxSum[k], s)
	}
	for k, n := range wantCount {
		if maxCount[k] < n || maxSum[k] < wantSum[k] {
			return fmt.Errorf("key %s: count %d sum %d at most, want at least %d and %d (lost update)", k, maxCount[k], maxSum[k], n, wantSum[k])
		}
	}
	return nil
}

// runCrash runs the count app in a child process (this test binary, re-executed), SIGKILLs it
// mid-stream three times and lets a fourth finish. It returns the output (read_committed under
// exactly-once), the changelog records restarts restored, and what to expect.
func runCrash(t *testing.T, eos bool) (out []kafkatest.Record, restored int64, counts, sums map[string]int64, n int) {
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Second)
	defer cancel()
	broker := newBroker(t, ctx, 3, "in", "out")
	recs := keyed(6000, 30, int64Bytes)
	counts, sums, n = expectedCounts(recs)
	dir := t.TempDir()
	restoreLog := filepath.Join(t.TempDir(), "restored")
	guarantee := "alos"
	if eos {
		guarantee = "eos"
	}
	child := func() *exec.Cmd {
		cmd := exec.Command(os.Args[0])
		cmd.Env = append(os.Environ(), "RILL_CRASH_CHILD="+guarantee, "RILL_BOOTSTRAP="+strings.Join(broker.Addrs(), ","), "RILL_STATE_DIR="+dir,
			"RILL_RESTORE_LOG="+restoreLog)
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd
	}
	produced := 0
	for kill := 0; kill < 3; kill++ {
		cmd := child()
		next := produced + n/4
		if err := broker.Produce(ctx, recs[produced:next]...); err != nil {
			t.Fatal(err)
		}
		produced = next
		// Let it get part way, then kill it without warning.
		seen, _ := func() ([]kafkatest.Record, error) {
			c, cancel := context.WithTimeout(ctx, 20*time.Second)
			defer cancel()
			return broker.Consume(c, "out", produced-n/8, false)
		}()
		t.Logf("kill %d after %d uncommitted-visible outputs", kill+1, len(seen))
		_ = cmd.Process.Signal(syscall.SIGKILL)
		_ = cmd.Wait()
	}
	cmd := child()
	if err := broker.Produce(ctx, recs[produced:]...); err != nil {
		t.Fatal(err)
	}
	var err error
	if eos {
		out, err = broker.Consume(ctx, "out", n, true)
	} else {
		// Repeated updates make the output longer than n: read until every key is complete.
		for {
			c, cancel := context.WithTimeout(ctx, 2*time.Second)
			out, _ = broker.Consume(c, "out", 10*n, false)
			cancel()
			if checkAtLeastOnce(out, counts, sums) == nil || ctx.Err() != nil {
				break
			}
		}
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	_ = cmd.Wait()
	if err != nil {
		t.Fatalf("consumed %d of %d committed outputs: %v", len(out), n, err)
	}
	logged, err := os.ReadFile(restoreLog)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	for _, line := range strings.Fields(string(logged)) {
		v, err := strconv.ParseInt(line, 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		restored += v
	}
	return out, restored, counts, sums, n
}

// TestZombieExactlyOnce: an instance frozen (SIGSTOP) mid-stream past its session timeout is
// a zombie: another instance takes its tasks over. When the zombie thaws, whatever it still
// tries to commit must not show: read_committed output stays exact.
func TestZombieExactlyOnce(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	broker := newBroker(t, ctx, 3, "in", "out")
	recs := keyed(4000, 20, int64Bytes)
	counts, sums, n := expectedCounts(recs)
	child := func(process string) *exec.Cmd {
		cmd := exec.Command(os.Args[0])
		cmd.Env = append(os.Environ(), "RILL_CRASH_CHILD=eos", "RILL_BOOTSTRAP="+strings.Join(broker.Addrs(), ","),
			"RILL_STATE_DIR="+t.TempDir(), "RILL_RESTORE_LOG="+filepath.Join(t.TempDir(), "restored"),
			"RILL_PROCESS_ID="+process, "RILL_SESSION_TIMEOUT=6s")
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
		return cmd
	}
	zombie := child("zombie")
	must(t, broker.Produce(ctx, recs[:n/2]...))
	c, ccancel := context.WithTimeout(ctx, 30*time.Second)
	seen, _ := broker.Consume(c, "out", n/4, false)
	ccancel()
	// Freeze it mid-stream, with records left to process and probably a transaction open.
	must(t, zombie.Process.Signal(syscall.SIGSTOP))
	t.Logf("froze the zombie after %d visible outputs", len(seen))
	heir := child("heir")
	must(t, broker.Produce(ctx, recs[n/2:]...))
	c, ccancel = context.WithTimeout(ctx, 60*time.Second)
	out, err := broker.Consume(c, "out", n, true)
	ccancel()
	if err != nil {
		t.Fatalf("the heir committed %d of %d outputs: %v", len(out), n, err)
	}
	// Thaw the zombie: it wakes up to a group that moved on.
	must(t, zombie.Process.Signal(syscall.SIGCONT))
	time.Sleep(3 * time.Second)
	must(t, heir.Process.Signal(syscall.SIGTERM))
	_ = heir.Wait()
	c, ccancel = context.WithTimeout(ctx, 5*time.Second)
	out, _ = broker.Consume(c, "out", n+1, true) // everything committed, whoever committed it
	ccancel()
	if err := checkExact(out, counts, sums); err != nil {
		t.Fatal(err)
	}
	if len(out) != n {
		t.Fatalf("%d committed outputs, want %d", len(out), n)
	}
}

// TestMain doubles as the crash test's child: with RILL_CRASH_CHILD set, the binary runs the
// exactly-once count app until SIGTERM (or SIGKILL) instead of the tests.
func TestMain(m *testing.M) {
	if os.Getenv("RILL_CRASH_CHILD") != "" {
		os.Exit(crashChild())
	}
	if os.Getenv("RILL_STANDBY_CHILD") != "" {
		os.Exit(standbyChild()) // standby_test.go
	}
	if os.Getenv("RILL_LIFECYCLE_CHILD") != "" {
		os.Exit(lifecycleChild()) // lifecycle_test.go
	}
	os.Exit(m.Run())
}

func crashChild() int {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	guarantee := rill.ExactlyOnceV2
	if os.Getenv("RILL_CRASH_CHILD") == "alos" {
		guarantee = rill.AtLeastOnce
	}
	process := cmp.Or(os.Getenv("RILL_PROCESS_ID"), "child")
	var session time.Duration
	if v := os.Getenv("RILL_SESSION_TIMEOUT"); v != "" {
		session, _ = time.ParseDuration(v)
	}
	app, err := rill.New(countTopology(nil), rill.Config{CacheMaxBytes: -1, ApplicationID: "crash", ProcessID: process,
		Bootstrap: strings.Split(os.Getenv("RILL_BOOTSTRAP"), ","), StateDir: os.Getenv("RILL_STATE_DIR"),
		ProcessingGuarantee: guarantee, SessionTimeout: session,
		RestoreListener: func(e rill.RestoreEvent) {
			f, err := os.OpenFile(os.Getenv("RILL_RESTORE_LOG"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
			if err == nil {
				fmt.Fprintln(f, e.Records)
				_ = f.Close()
			}
		}})
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

// A session timeout the broker refuses (Kafka's default range is 6 s to 30 min) fails Run with
// the broker's error instead of retrying the join for ever.
func TestRefusedSessionTimeoutFailsRun(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	broker := newBroker(t, ctx, 1, "in", "out")
	app, err := rill.New(countTopology(t), rill.Config{CacheMaxBytes: -1, ApplicationID: "refused", Bootstrap: broker.Addrs(),
		StateDir: t.TempDir(), SessionTimeout: 2 * time.Second})
	must(t, err)
	err = app.Run(ctx)
	if err == nil || ctx.Err() != nil || !strings.Contains(err.Error(), "INVALID_SESSION_TIMEOUT") {
		t.Fatalf("Run = %v (ctx %v), want the broker's INVALID_SESSION_TIMEOUT", err, ctx.Err())
	}
}
