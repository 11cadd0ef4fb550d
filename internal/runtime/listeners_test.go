package runtime

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/rillstreams/rill/changelog"
	"github.com/rillstreams/rill/processor"
	"github.com/rillstreams/rill/standby"
	"github.com/rillstreams/rill/state/rocksdb"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// events records what the restore and standby listeners hear, one line per call.
type events struct {
	mu    sync.Mutex
	lines []string
}

func (e *events) add(format string, args ...any) {
	e.mu.Lock()
	e.lines = append(e.lines, fmt.Sprintf(format, args...))
	e.mu.Unlock()
}

func (e *events) snapshot() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.lines)
}

func (e *events) OnRestoreStart(store string, tp changelog.TopicPartition, start, end int64) {
	e.add("restore-start %s %d %d..%d", store, tp.Partition, start, end)
}
func (e *events) OnBatchRestored(store string, tp changelog.TopicPartition, batchEnd, n int64) {
	e.add("restore-batch %s %d end=%d n=%d", store, tp.Partition, batchEnd, n)
}
func (e *events) OnRestoreEnd(store string, tp changelog.TopicPartition, total int64) {
	e.add("restore-end %s %d total=%d", store, tp.Partition, total)
}
func (e *events) OnRestoreSuspended(store string, tp changelog.TopicPartition, total int64) {
	e.add("restore-suspended %s %d total=%d", store, tp.Partition, total)
}
func (e *events) OnUpdateStart(store string, tp changelog.TopicPartition, start int64) {
	e.add("standby-start %s %d %d", store, tp.Partition, start)
}
func (e *events) OnBatchLoaded(store string, tp changelog.TopicPartition, task processor.TaskID, batchEnd, n, end int64) {
	e.add("standby-batch %s %d end=%d n=%d", store, tp.Partition, batchEnd, n)
}
func (e *events) OnUpdateSuspended(store string, tp changelog.TopicPartition, storeOffset, end int64, reason standby.SuspendReason) {
	e.add("standby-suspended %s %d %s", store, tp.Partition, reason)
}

// The state restore listener hears a restoration's start, batches and end with the records
// it restored; the standby update listener hears a standby start, load batches, and stop
// (Kafka Streams' StateRestoreListener and StandbyUpdateListener).
func TestRestoreAndStandbyListeners(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(2, "in", "out"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cluster.Close)
	addrs := cluster.ListenAddrs()
	backend, err := rocksdb.NewBackend(rocksdb.Config{})
	if err != nil {
		t.Fatal(err)
	}
	const n, keys = 400, 10
	// A first instance counts everything and stops.
	first := startCountApp(t, ctx, addrs, "listeners", false, backend)
	produceCountInput(t, ctx, addrs, n, keys)
	waitOutputs(t, ctx, addrs, n)
	first.stop()
	if err := <-first.done; err != nil {
		t.Fatal(err)
	}
	// A second, with a fresh state directory, restores both partitions' changelogs; a third
	// keeps a standby of them.
	var restores, standbys events
	second := startCountApp(t, ctx, addrs, "listeners", false, backend, func(c *Config) {
		c.StateRestoreListener = &restores
		c.Standby.Replicas = 1
	})
	defer func() {
		second.stop()
		<-second.done
	}()
	waitFor(t, ctx, "both restorations ended", func() bool {
		return countPrefix(restores.snapshot(), "restore-end counts") == 2
	})
	var total int
	for _, l := range restores.snapshot() {
		var p, got int
		if _, err := fmt.Sscanf(l, "restore-end counts %d total=%d", &p, &got); err == nil {
			total += got
		}
	}
	if total != n {
		t.Fatalf("restore-end totals %d, want %d (every changelog record); events %v", total, n, restores.snapshot())
	}
	if countPrefix(restores.snapshot(), "restore-start counts") != 2 || countPrefix(restores.snapshot(), "restore-batch counts") < 2 {
		t.Fatalf("restore events %v: want a start and a batch per partition", restores.snapshot())
	}
	third := startCountApp(t, ctx, addrs, "listeners", false, backend, func(c *Config) {
		c.StandbyUpdateListener = &standbys
		c.Standby.Replicas = 1
		c.ProcessID = "p3"
	})
	produceCountInput(t, ctx, addrs, 100, keys)
	waitFor(t, ctx, "a standby loaded a batch", func() bool {
		return countPrefix(standbys.snapshot(), "standby-start counts") > 0 && countPrefix(standbys.snapshot(), "standby-batch counts") > 0
	})
	third.stop()
	if err := <-third.done; err != nil {
		t.Fatal(err)
	}
	if countPrefix(standbys.snapshot(), "standby-suspended counts") == 0 {
		t.Fatalf("standby events %v: want a suspension when the instance stopped", standbys.snapshot())
	}
}

// waitOutputs waits until topic "out" holds n records.
func waitOutputs(t *testing.T, ctx context.Context, addrs []string, n int) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...), kgo.ConsumeTopics("out"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	for got := 0; got < n; {
		fetches := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("%d of %d outputs", got, n)
		}
		got += fetches.NumRecords()
	}
}

func countPrefix(lines []string, prefix string) int {
	n := 0
	for _, l := range lines {
		if len(l) >= len(prefix) && l[:len(prefix)] == prefix {
			n++
		}
	}
	return n
}

func waitFor(t *testing.T, ctx context.Context, what string, cond func() bool) {
	t.Helper()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("timed out waiting: %s", what)
		case <-time.After(50 * time.Millisecond):
		}
	}
}
