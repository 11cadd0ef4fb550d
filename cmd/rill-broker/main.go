// Command rill-broker runs rill's embedded Kafka-protocol broker (franz-go's kfake) as a
// process, so kcat, the Kafka CLI or any client can talk to it during development:
//
//	rill-broker --port 9092 --data-dir /tmp/rill-broker
//	kcat -b localhost:9092 -t orders -P
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/rillstreams/rill/kafkatest"
)

func main() {
	port := flag.Int("port", 9092, "port of the first broker (0: any free port)")
	brokers := flag.Int("brokers", 1, "number of brokers")
	dataDir := flag.String("data-dir", "", "directory to keep data in across restarts (default: memory only)")
	partitions := flag.Int("partitions", 1, "partitions of auto-created topics")
	compaction := flag.Duration("compaction-interval", 30*time.Second, "how often compacted topics are cleaned")
	topics := flag.String("topics", "", "comma-separated topics to create at start")
	flag.Parse()

	cfg := kafkatest.Config{NumBrokers: *brokers, Port: *port, DataDir: *dataDir,
		DefaultPartitions: *partitions, CompactionInterval: *compaction}
	if *topics != "" {
		cfg.Topics = strings.Split(*topics, ",")
	}
	b, err := kafkatest.Start(cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println("rill-broker listening on", strings.Join(b.Addrs(), ","))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	b.Close()
}
