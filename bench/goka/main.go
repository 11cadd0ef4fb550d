// Command goka-bench is rill-bench's streamcount written with goka (github.com/lovoo/goka): a
// processor group that counts the records of each key in its group table. It is a module of
// its own so that rill's module does not depend on goka and sarama.
//
// # Usage
//
// rill-bench builds and runs it as a workload's child process; by hand:
//
//	cd bench/goka && go run . --brokers localhost:9092 --input in --group count --storage memory
//
// It speaks rill-bench's child protocol (bench/protocol): "started" as the processor is being
// created, "exit" with the peak RSS once stdin closes, which stops it. The results are the
// updates of the group table, topic "<group>-table", which rill-bench counts.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/IBM/sarama"
	"github.com/lovoo/goka"
	"github.com/lovoo/goka/codec"
	"github.com/lovoo/goka/storage"

	"github.com/rillstreams/rill/bench/protocol"
)

var out = protocol.NewWriter(os.Stdout)

func main() {
	brokers := flag.String("brokers", "localhost:9092", "comma-separated brokers")
	input := flag.String("input", "", "input topic")
	group := flag.String("group", "goka-count", "processor group (its table is <group>-table)")
	store := flag.String("storage", "leveldb", "leveldb (goka's default) or memory")
	dir := flag.String("dir", os.TempDir(), "storage directory (leveldb)")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile here")
	flag.Parse()
	if err := run(*brokers, *input, *group, *store, *dir, *cpuprofile); err != nil {
		out.Write(protocol.Event{Event: protocol.Exit, PeakRSSKB: protocol.PeakRSSKB(), Error: err.Error()})
		os.Exit(1)
	}
}

func run(brokers, input, group, store, dir, cpuprofile string) error {
	cfg := goka.DefaultConfig()
	cfg.Consumer.Offsets.Initial = sarama.OffsetOldest // read the input from the start, as rill does
	goka.ReplaceGlobalConfig(cfg)

	tm := goka.NewTopicManagerConfig()
	tm.Table.Replication, tm.Stream.Replication = 1, 1
	builder := storage.DefaultBuilder(dir)
	if store == "memory" {
		builder = storage.MemoryBuilder()
	}
	graph := goka.DefineGroup(goka.Group(group),
		goka.Input(goka.Stream(input), new(codec.Bytes), func(ctx goka.Context, _ any) {
			var n int64
			if v := ctx.Value(); v != nil {
				n = v.(int64)
			}
			ctx.SetValue(n + 1)
		}),
		goka.Persist(new(codec.Int64)),
	)
	if cpuprofile != "" {
		f, err := os.Create(cpuprofile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
	}
	out.Write(protocol.Event{Event: protocol.Started, Time: time.Now().UnixNano()})
	p, err := goka.NewProcessor(strings.Split(brokers, ","), graph,
		goka.WithStorageBuilder(builder),
		goka.WithTopicManagerBuilder(goka.TopicManagerBuilderWithTopicManagerConfig(tm)),
		goka.WithLogger(log.New(io.Discard, "", 0)))
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ran := make(chan error, 1)
	go func() { ran <- p.Run(ctx) }()
	stop := protocol.StdinClosed()
	select {
	case err := <-ran:
		pprof.StopCPUProfile()
		return fmt.Errorf("processor stopped: %v", err)
	case <-stop:
	}
	rss := protocol.PeakRSSKB()
	pprof.StopCPUProfile()
	cancel()
	ev := protocol.Event{Event: protocol.Exit, PeakRSSKB: rss}
	if err := <-ran; err != nil {
		ev.Error = err.Error()
	}
	out.Write(ev)
	return nil
}
