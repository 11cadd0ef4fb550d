package rill_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rillstreams/rill"
	"github.com/rillstreams/rill/dsl"
	"github.com/rillstreams/rill/kafkatest"
	"github.com/rillstreams/rill/serde"
	"github.com/rillstreams/rill/state/memory"
	"github.com/rillstreams/rill/topology"
)

// Lifecycle tests: what happens to the data when an instance is stopped, restarted on the
// state it left, or pointed at a cluster its state did not come from.

// globalCountTopology is countTopology behind a join with a global table "names" (every key
// has a row): the shape of the email service whose Ctrl-C failed with "store is closed",
// because the global thread closed its stores while stream tasks still read them.
func globalCountTopology(t testing.TB) *topology.Topology {
	type agg struct {
		Count int64 `json:"c"`
		Sum   int64 `json:"s"`
	}
	b := dsl.NewBuilder()
	names := b.GlobalTable("names", serde.String(), serde.String(), dsl.Materialized("names-store"))
	b.Stream("in", serde.String(), serde.Int64()).
		JoinGlobal(names, func(k string, _ int64) string { return k }, func(_ string, v int64, _ string) int64 { return v }).
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

// lifecycleChild runs the global-count app (RILL_LIFECYCLE_CHILD=eos or alos) until SIGINT or
// SIGTERM, exiting 0 when Run returned nil and 1 (with the error on stderr) otherwise.
func lifecycleChild() int {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	guarantee := rill.ExactlyOnceV2
	if os.Getenv("RILL_LIFECYCLE_CHILD") == "alos" {
		guarantee = rill.AtLeastOnce
	}
	app, err := rill.New(globalCountTopology(nil), rill.Config{CacheMaxBytes: -1, ApplicationID: "lifecycle", ProcessID: "child",
		Bootstrap: strings.Split(os.Getenv("RILL_BOOTSTRAP"), ","), StateDir: os.Getenv("RILL_STATE_DIR"),
		ProcessingGuarantee: guarantee})
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
		fmt.Fprintln(os.Stderr, "lifecycle child: Run:", err)
		return 1
	}
	return 0
}

func startLifecycleChild(t *testing.T, broker *kafkatest.Broker, guarantee, dir string) *exec.Cmd {
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "RILL_LIFECYCLE_CHILD="+guarantee, "RILL_BOOTSTRAP="+strings.Join(broker.Addrs(), ","),
		"RILL_STATE_DIR="+dir)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	must(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return cmd
}

// stopChild signals cmd and waits for it, failing the test unless it exits 0 in time.
func stopChild(t *testing.T, cmd *exec.Cmd, sig os.Signal) {
	t.Helper()
	must(t, cmd.Process.Signal(sig))
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("the app exited with %d after %v, want 0 (a clean stop)", ee.ExitCode(), sig)
		}
		must(t, err)
	case <-time.After(60 * time.Second):
		t.Fatalf("the app did not stop within 60s of %v", sig)
	}
}

// Ctrl-C while the app is busy processing stops it cleanly: Run returns nil (exit code 0), and
// an instance started again on the same state carries on, exactly once.
func TestInterruptMidProcessingStopsCleanly(t *testing.T) {
	for _, guarantee := range []string{"eos", "alos"} {
		t.Run(guarantee, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 150*time.Second)
			defer cancel()
			broker := newBroker(t, ctx, 3, "in", "out", "names")
			recs := keyed(30000, 30, int64Bytes)
			counts, sums, n := expectedCounts(recs)
			var rows []kafkatest.Record
			for k := range counts {
				rows = append(rows, kafkatest.Record{Topic: "names", Key: []byte(k), Value: []byte("name of " + k), Timestamp: time.Now()})
			}
			must(t, broker.Produce(ctx, rows...))
			must(t, broker.Produce(ctx, recs...))
			dir := t.TempDir()
			cmd := startLifecycleChild(t, broker, guarantee, dir)
			// Interrupt it once it is well into the input, with most of it still to process.
			c, ccancel := context.WithTimeout(ctx, 60*time.Second)
			seen, err := broker.Consume(c, "out", n/20, false)
			ccancel()
			if err != nil {
				t.Fatalf("the app produced %d outputs before the interrupt: %v", len(seen), err)
			}
			stopChild(t, cmd, os.Interrupt)
			cmd = startLifecycleChild(t, broker, guarantee, dir)
			out, err := broker.Consume(ctx, "out", n, true)
			if err != nil {
				t.Fatalf("consumed %d of %d committed outputs: %v", len(out), n, err)
			}
			stopChild(t, cmd, syscall.SIGTERM)
			// A clean stop commits what it processed: even at least once nothing repeats.
			if err := checkExact(out, counts, sums); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// runCounts runs countTopology with cfg on broker until n outputs are committed (read_committed
// under exactly-once), stops it and returns them.
func runCounts(t *testing.T, ctx context.Context, broker *kafkatest.Broker, cfg rill.Config, n int) []kafkatest.Record {
	t.Helper()
	cfg.Bootstrap = broker.Addrs()
	stop := startApp(t, ctx, countTopology(t), cfg)
	out, err := broker.Consume(ctx, "out", n, cfg.ProcessingGuarantee == rill.ExactlyOnceV2)
	if err != nil {
		t.Fatalf("consumed %d of %d outputs: %v", len(out), n, err)
	}
	must(t, stop())
	return out
}

func guarantees() map[string]rill.ProcessingGuarantee {
	return map[string]rill.ProcessingGuarantee{"eos": rill.ExactlyOnceV2, "alos": rill.AtLeastOnce}
}

// A state directory reused against a fresh cluster (a new development broker, say) holds
// counts the new cluster's changelogs know nothing of: the app must start from the new
// cluster's state, not count on top of the old one's. It doubled every count before.
func TestStateDirReusedAgainstFreshCluster(t *testing.T) {
	for name, g := range guarantees() {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
			defer cancel()
			recs := keyed(600, 10, int64Bytes)
			counts, sums, n := expectedCounts(recs)
			cfg := rill.Config{CacheMaxBytes: -1, ApplicationID: "reused", StateDir: t.TempDir(), ProcessID: "same",
				ProcessingGuarantee: g, CommitInterval: 100 * time.Millisecond}
			for run := 1; run <= 2; run++ {
				broker := newBroker(t, ctx, 2, "in", "out")
				must(t, broker.Produce(ctx, recs...))
				out := runCounts(t, ctx, broker, cfg, n)
				if err := checkExact(out, counts, sums); err != nil {
					t.Fatalf("run %d on a fresh broker: %v", run, err)
				}
				broker.Close()
			}
		})
	}
}

// A state directory last used against another cluster whose changelogs are shorter than
// this one's: no checkpoint is past a changelog's end, only the cluster id tells the state
// is foreign. Keys only the other cluster saw must not carry their counts over.
func TestStateOfAnotherClusterIsWiped(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	named := func(prefix string, recs []kafkatest.Record) []kafkatest.Record {
		for i := range recs {
			recs[i].Key = []byte(prefix + string(recs[i].Key))
		}
		return recs
	}
	cfg := func(dir string) rill.Config {
		return rill.Config{CacheMaxBytes: -1, ApplicationID: "foreign", StateDir: dir, ProcessID: "same",
			ProcessingGuarantee: rill.ExactlyOnceV2}
	}
	stale := t.TempDir()
	other := newBroker(t, ctx, 2, "in", "out")
	recsA := named("a", keyed(200, 5, int64Bytes))
	must(t, other.Produce(ctx, recsA...))
	runCounts(t, ctx, other, cfg(stale), len(recsA))
	other.Close()

	broker := newBroker(t, ctx, 2, "in", "out")
	recsB := named("b", keyed(1000, 10, int64Bytes))
	must(t, broker.Produce(ctx, recsB...))
	runCounts(t, ctx, broker, cfg(t.TempDir()), len(recsB))
	// The same keys as on the other cluster, and the ones this cluster knows.
	recsC := append(named("a", keyed(100, 5, int64Bytes)), named("b", keyed(100, 10, int64Bytes))...)
	must(t, broker.Produce(ctx, recsC...))
	all := append(append([]kafkatest.Record{}, recsB...), recsC...)
	counts, sums, n := expectedCounts(all)
	out := runCounts(t, ctx, broker, cfg(stale), n)
	if err := checkExact(out, counts, sums); err != nil {
		t.Fatal(err)
	}
}

// A store directory deleted while the task's checkpoint stays (by hand, a lost volume): the
// store opens empty and must be restored from the changelog's start, not from the offset the
// checkpoint claims. Before, the counts silently restarted from 1.
func TestDeletedStoreDirectoryIsRestored(t *testing.T) {
	for name, g := range guarantees() {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
			defer cancel()
			broker := newBroker(t, ctx, 2, "in", "out")
			recs := keyed(600, 10, int64Bytes)
			counts, sums, n := expectedCounts(recs)
			dir := t.TempDir()
			cfg := rill.Config{CacheMaxBytes: -1, ApplicationID: "deleted", StateDir: dir, ProcessID: "same", ProcessingGuarantee: g,
				CommitInterval: 100 * time.Millisecond}
			must(t, broker.Produce(ctx, recs[:n/2]...))
			runCounts(t, ctx, broker, cfg, n/2)
			for _, task := range []string{"0_0", "0_1"} {
				taskDir := filepath.Join(dir, "deleted", task)
				if _, err := os.Stat(filepath.Join(taskDir, ".checkpoint")); err != nil {
					t.Fatalf("task %s: no checkpoint after a clean stop: %v", task, err)
				}
				must(t, os.RemoveAll(filepath.Join(taskDir, "rocksdb")))
			}
			must(t, broker.Produce(ctx, recs[n/2:]...))
			out := runCounts(t, ctx, broker, cfg, n)
			if err := checkExact(out, counts, sums); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// A changelog deleted (and recreated empty by the next start) while the state directory
// stays: the local state is ahead of the changelog, so the task is wiped and restored from
// what the changelog holds, instead of carrying counts nothing backs any more.
func TestStateAheadOfChangelogIsWiped(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	broker := newBroker(t, ctx, 2, "in", "out")
	adm := admin(t, broker)
	cfg := rill.Config{CacheMaxBytes: -1, ApplicationID: "ahead", StateDir: t.TempDir(), ProcessID: "same", CommitInterval: 100 * time.Millisecond}
	first := keyed(300, 10, int64Bytes)
	must(t, broker.Produce(ctx, first...))
	runCounts(t, ctx, broker, cfg, len(first))
	resp, err := adm.DeleteTopics(ctx, "ahead-sums-changelog")
	must(t, errors.Join(err, resp.Error()))
	// Consume only what the second run writes: new input, read from the input's end.
	second := keyed(200, 10, int64Bytes)
	before, _, already := expectedCounts(first)
	must(t, broker.Produce(ctx, second...))
	counts, sums, n := expectedCounts(second)
	cfg.Bootstrap = broker.Addrs()
	stop := startApp(t, ctx, countTopology(t), cfg)
	out, err := broker.Consume(ctx, "out", already+n, false)
	if err != nil {
		t.Fatalf("consumed %d of %d outputs: %v", len(out), already+n, err)
	}
	must(t, stop())
	// Per key (one partition each, so in order), the second run's outputs follow the first's.
	seen := map[string]int64{}
	var later []kafkatest.Record
	for _, r := range out {
		if k := string(r.Key); seen[k] < before[k] {
			seen[k]++
			continue
		}
		later = append(later, r)
	}
	if err := checkExact(later, counts, sums); err != nil {
		t.Fatal(err)
	}
}

// Two instances of one app on one state directory would open the same RocksDB files and
// overwrite each other's checkpoints: the second fails at once with a clear error, and the
// directory is free again once the first has stopped.
func TestSecondInstanceOnStateDirFails(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	broker := newBroker(t, ctx, 2, "in", "out")
	recs := keyed(200, 10, int64Bytes)
	counts, sums, n := expectedCounts(recs)
	must(t, broker.Produce(ctx, recs[:n/2]...))
	dir := t.TempDir()
	cfg := func(process string) rill.Config {
		return rill.Config{CacheMaxBytes: -1, ApplicationID: "locked", Bootstrap: broker.Addrs(), StateDir: dir, ProcessID: process,
			CommitInterval: 100 * time.Millisecond}
	}
	onState, running := waitRunning()
	first := cfg("first")
	first.StateListener = onState
	stop := startApp(t, ctx, countTopology(t), first)
	select {
	case <-running:
	case <-ctx.Done():
		t.Fatal("the first instance never ran")
	}
	second, err := rill.New(countTopology(t), cfg("second"))
	must(t, err)
	rctx, rcancel := context.WithTimeout(ctx, 20*time.Second)
	err = second.Run(rctx)
	rcancel()
	if !errors.Is(err, rill.ErrStateDirLocked) || !strings.HasPrefix(err.Error(), "rill: ") {
		t.Fatalf("second instance on the same state directory: Run = %v, want rill.ErrStateDirLocked", err)
	}
	t.Logf("second instance: %v", err)
	if _, err := broker.Consume(ctx, "out", n/2, false); err != nil {
		t.Fatal(err)
	}
	must(t, stop())
	must(t, broker.Produce(ctx, recs[n/2:]...))
	out := runCounts(t, ctx, broker, cfg("third"), n)
	if err := checkExact(out, counts, sums); err != nil {
		t.Fatal(err)
	}
}

// Everything under the state directory is the owner's only, as Kafka Streams keeps its
// state: directories 0700 and the files rill writes 0600 (checkpoints, the lock, the cluster
// id). RocksDB creates its files 0644 whatever it is told (7.8's POSIX file system ignores
// Env::SetAllowNonOwnerAccess); they are only reachable through 0700 directories.
func TestStateFilesAreOwnerOnly(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	broker := newBroker(t, ctx, 2, "in", "out")
	recs := keyed(200, 10, int64Bytes)
	must(t, broker.Produce(ctx, recs...))
	root := filepath.Join(t.TempDir(), "state") // created by the app
	runCounts(t, ctx, broker, rill.Config{CacheMaxBytes: -1, ApplicationID: "modes", StateDir: root, ProcessID: "p",
		CommitInterval: 100 * time.Millisecond}, len(recs))
	var files, dirs int
	var open []string
	must(t, filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		want := os.FileMode(0o600)
		switch {
		case d.IsDir():
			want, dirs = 0o700, dirs+1
		case strings.Contains(path, string(filepath.Separator)+"rocksdb"+string(filepath.Separator)):
			files++
			return nil // RocksDB's: inside a 0700 directory, checked as such
		default:
			files++
		}
		if info.Mode().Perm() != want {
			open = append(open, fmt.Sprintf("%s %v", strings.TrimPrefix(path, root), info.Mode().Perm()))
		}
		return nil
	}))
	if _, err := os.Stat(filepath.Join(root, "modes", "0_0", ".checkpoint")); err != nil {
		t.Fatalf("no checkpoint written: %v", err)
	}
	if len(open) > 0 {
		t.Errorf("%d of %d files and directories are not owner-only:\n%s", len(open), files+dirs, strings.Join(open, "\n"))
	}
	t.Logf("%d files and %d directories checked", files, dirs)
}

// Stopping is one way, as in Kafka Streams: after PENDING_SHUTDOWN the only transition is to
// NOT_RUNNING. The group leave revoked the tasks while the thread stopped, and the revoke
// callback reported REBALANCING (rill-torture: PENDING_SHUTDOWN -> REBALANCING -> NOT_RUNNING).
func TestShutdownStatesGoOneWay(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	broker := newBroker(t, ctx, 2, "in", "out")
	var mu sync.Mutex
	var states []string
	running := make(chan struct{})
	var once sync.Once
	stop := startApp(t, ctx, statelessTopology(t), rill.Config{CacheMaxBytes: -1, ApplicationID: "one-way", Bootstrap: broker.Addrs(),
		StateDir: t.TempDir(), StoreBackend: memory.Backend(),
		StateListener: func(_, s rill.State) {
			mu.Lock()
			states = append(states, s.String())
			mu.Unlock()
			if s == rill.Running {
				once.Do(func() { close(running) })
			}
		}})
	select {
	case <-running:
	case <-ctx.Done():
		t.Fatal("never RUNNING")
	}
	must(t, stop())
	mu.Lock()
	defer mu.Unlock()
	i := slices.Index(states, rill.PendingShutdown.String())
	if i < 0 || !slices.Equal(states[i:], []string{rill.PendingShutdown.String(), rill.NotRunning.String()}) {
		t.Fatalf("states %v: after PENDING_SHUTDOWN want only NOT_RUNNING", states)
	}
}
