package rill_test

import (
	"context"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rillstreams/rill"
	"github.com/rillstreams/rill/dsl"
	"github.com/rillstreams/rill/kafkatest"
	"github.com/rillstreams/rill/processor"
	"github.com/rillstreams/rill/serde"
	"github.com/rillstreams/rill/state"
	"github.com/rillstreams/rill/state/rocksdb"
	"github.com/rillstreams/rill/topology"
)

// tickStoreProc writes a counter to its RocksDB store at every wall-clock punctuation.
var lastTick atomic.Int64

type tickStoreProc struct {
	store *state.KeyValueStore[string, int64]
	n     int64
}

func (p *tickStoreProc) Init(ctx processor.Context[string, int64]) error {
	s, err := ctx.StateStore("ticks")
	if err != nil {
		return err
	}
	p.store = s.(*state.KeyValueStore[string, int64])
	_, err = ctx.Schedule(50*time.Millisecond, processor.WallClockTime, func(int64) error {
		p.n++
		lastTick.Store(p.n)
		return p.store.Put("tick", p.n)
	})
	return err
}
func (p *tickStoreProc) Process(processor.Record[string, int64]) error { return nil }
func (p *tickStoreProc) Close() error                                  { return nil }

func tickStoreTopology(t *testing.T) *topology.Topology {
	b := dsl.NewBuilder()
	b.AddStateStore(state.NewKeyValueStoreBuilder("ticks", serde.String(), serde.Int64()))
	b.Stream("in", serde.String(), serde.Int64()).
		Process(func() processor.Processor[string, int64, string, int64] { return &tickStoreProc{} }, dsl.WithStores("ticks"))
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	return topo
}

func runTicks(t *testing.T, g rill.ProcessingGuarantee) (dir string, runErr error) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	broker := kafkatest.New(t)
	if err := broker.CreateTopic(ctx, "in", 1); err != nil {
		t.Fatal(err)
	}
	dir = t.TempDir()
	stop := startApp(t, ctx, tickStoreTopology(t), rill.Config{CacheMaxBytes: -1, ApplicationID: "ticks", Bootstrap: broker.Addrs(),
		StateDir: dir, ProcessingGuarantee: g, CommitInterval: 100 * time.Millisecond})
	// One record, then only wall-clock punctuations.
	if err := broker.Produce(ctx, kafkatest.Record{Topic: "in", Key: []byte("k"), Value: int64Bytes(1), Timestamp: time.Now()}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * time.Second)
	return dir, stop()
}

// At least once, a punctuator's writes reach the store (before the write buffer, they went
// straight to RocksDB and were flushed at close).
func TestWallClockPunctuationWritesAtLeastOnce(t *testing.T) {
	dir, err := runTicks(t, rill.AtLeastOnce)
	if err != nil {
		t.Fatalf("app: %v", err)
	}
	b, err := rocksdb.NewBackend(rocksdb.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	s, err := b.KeyValue("ticks", filepath.Join(dir, "ticks", "0_0"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	v, err := s.Get([]byte("tick"))
	if err != nil || v == nil {
		t.Fatalf("after a clean stop the store has no tick (%v): the punctuator's writes were dropped", err)
	}
	got, _ := serde.Int64().Deserialize("", v)
	if want := lastTick.Load(); got != want {
		t.Fatalf("after a clean stop the store holds tick %d, the punctuator wrote up to %d: its writes since the last commit were dropped", got, want)
	}
}

// Exactly once, a wall-clock punctuation that writes a logged store when no transaction is
// open must not fail the app.
func TestWallClockPunctuationWritesExactlyOnce(t *testing.T) {
	if _, err := runTicks(t, rill.ExactlyOnceV2); err != nil {
		t.Fatalf("app failed: %v", err)
	}
}
