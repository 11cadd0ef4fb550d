package runtime

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	ichangelog "github.com/rillstreams/rill/internal/changelog"

	"github.com/rillstreams/rill/changelog"
	"github.com/rillstreams/rill/internal/assign"
	"github.com/rillstreams/rill/internal/engine"
	"github.com/rillstreams/rill/processor"
	"github.com/rillstreams/rill/serde"
	"github.com/rillstreams/rill/state"
	"github.com/rillstreams/rill/state/memory"
)

func TestTaskDirsOneOwner(t *testing.T) {
	var d taskDirs
	id := processor.TaskID{Subtopology: 0, Partition: 1}
	ctx := context.Background()
	if err := d.acquire(ctx, id, 0); err != nil {
		t.Fatal(err)
	}
	if err := d.acquire(ctx, id, 0); err != nil {
		t.Fatalf("the owner cannot take its directory again: %v", err)
	}
	got := make(chan error, 1)
	go func() { got <- d.acquire(ctx, id, 1) }()
	select {
	case err := <-got:
		t.Fatalf("thread 1 took a directory thread 0 holds (err %v)", err)
	case <-time.After(50 * time.Millisecond):
	}
	d.release(id, 1) // not its owner: no effect
	select {
	case <-got:
		t.Fatal("a release by a thread that does not hold the directory freed it")
	case <-time.After(20 * time.Millisecond):
	}
	d.release(id, 0)
	if err := <-got; err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if err := d.acquire(short, id, 0); err == nil {
		t.Fatal("thread 0 took a directory thread 1 holds")
	}
}

// diskOffsetSums reports checkpointed task directories of stateful sub-topologies, and
// nothing else.
func TestDiskOffsetSums(t *testing.T) {
	dir := t.TempDir()
	sb := state.NewKeyValueStoreBuilder("counts", serde.String(), serde.Int64()).WithLogging(true)
	r := &Runtime{cfg: Config{ApplicationID: "app", StateDir: dir},
		subs:     map[int]*engine.Subtopology{0: {ID: 0, Stores: []state.StoreBuilder{sb}}, 1: {ID: 1}},
		stateful: map[int]bool{0: true}}
	tp := func(p int32) changelog.TopicPartition {
		return changelog.TopicPartition{Topic: "app-counts-changelog", Partition: p}
	}
	write := func(task string, cp changelog.Checkpoint) {
		if err := changelog.WriteCheckpoint(filepath.Join(dir, "app", task), cp); err != nil {
			t.Fatal(err)
		}
	}
	write("0_0", changelog.Checkpoint{tp(0): 120})
	write("0_1", changelog.Checkpoint{tp(1): 7, {Topic: "other", Partition: 1}: 1000})
	write("0_2", changelog.Checkpoint{}) // under exactly-once: no usable state
	write("1_0", changelog.Checkpoint{tp(0): 5})
	if err := os.MkdirAll(filepath.Join(dir, "app", "global"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "app", "0_3"), nil, 0o644); err != nil { // not a directory
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "app", "0_4"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "app", "0_4", changelog.FileName), []byte("garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	got := r.diskOffsetSums()
	want := map[assign.TaskID]int64{{Subtopology: 0, Partition: 0}: 120, {Subtopology: 0, Partition: 1}: 7,
		{Subtopology: 0, Partition: 4}: assign.OffsetSumUnknown}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Fatalf("got %v, want %v", got, want)
		}
	}
}

func TestPersistent(t *testing.T) {
	sb := state.NewKeyValueStoreBuilder("counts", serde.String(), serde.Int64()).WithBackend(memory.Backend())
	s, err := sb.Build(state.StoreContext{ApplicationID: "app", Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if ichangelog.Persistent(s) {
		t.Fatal("an in-memory store counts as persistent")
	}
}
