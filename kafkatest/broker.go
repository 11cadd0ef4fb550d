// Package kafkatest runs a Kafka-protocol broker in process (franz-go's kfake) for tests,
// examples and development: every integration test and every example without --bootstrap
// talks to one.
//
// # Usage
//
//	b := kafkatest.New(t) // closed when the test ends
//	app, err := rill.New(topo, rill.Config{ApplicationID: "app", Bootstrap: b.Addrs()})
//
// Outside tests, Start returns a broker to Close yourself; cmd/rill-broker runs one as a process.
package kafkatest

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
)

// Config configures an embedded broker. The zero value is one broker on a random free port,
// in memory.
type Config struct {
	// NumBrokers is the number of brokers in the cluster (default 1).
	NumBrokers int
	// Port is the first broker's port; 0 picks free ports. With several brokers, ports
	// Port, Port+1, ... are used.
	Port int
	// DataDir keeps the cluster's data on disk across restarts (default: memory only).
	DataDir string
	// DefaultPartitions is the partition count of auto-created topics (default 1); topics are
	// auto-created on first use so kcat and examples can produce without setup.
	DefaultPartitions int
	// CompactionInterval is how often compacted topics are cleaned (default 30s; kfake's own
	// default is an hour, which leaves changelogs uncompacted in development). The broker
	// compacts only while no transaction is open (compaction.go): kfake's cleaner would
	// clean past open transactions and lose committed values when they abort.
	CompactionInterval time.Duration
	// Topics are created at start with DefaultPartitions partitions.
	Topics []string
	// SASL, when set, makes the cluster require SASL authentication, with this one
	// superuser. The package's own helpers (CreateTopic, Produce, Consume) do not
	// authenticate: use them on clusters without SASL.
	SASL *SASLUser
}

// SASLUser is a SASL user of an embedded cluster.
type SASLUser struct {
	// Mechanism is PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512.
	Mechanism, User, Password string
}

// Broker is a running embedded cluster, or an external one New was pointed at.
type Broker struct {
	cluster   *kfake.Cluster
	compactor *compactor
	external  []string
}

// ExternalEnv names the environment variable that points New at an existing cluster instead
// of starting kfake: the integration module sets it to a Kafka container's address, so the same
// tests run against real Kafka.
const ExternalEnv = "RILL_TEST_BOOTSTRAP"

// WipeEnv, set beside ExternalEnv, makes New delete every topic and consumer group of the
// external cluster first, so each test (and subtest) starts from an empty cluster as it does
// on kfake. The integration module sets it for its throwaway containers; never set it for a
// cluster whose data matters.
const WipeEnv = "RILL_TEST_BOOTSTRAP_WIPE"

// Start starts a cluster.
func Start(cfg Config) (*Broker, error) {
	if cfg.NumBrokers == 0 {
		cfg.NumBrokers = 1
	}
	if cfg.DefaultPartitions == 0 {
		cfg.DefaultPartitions = 1
	}
	if cfg.CompactionInterval == 0 {
		cfg.CompactionInterval = 30 * time.Second
	}
	if cfg.NumBrokers < 1 || cfg.DefaultPartitions < 1 || cfg.Port < 0 || cfg.CompactionInterval < 0 {
		return nil, fmt.Errorf("rill: invalid broker config %+v", cfg)
	}
	opts := []kfake.Opt{
		// Every new cluster gets its own id, as Kafka's do (kfake's default is one fixed id):
		// apps tell by it that local state came from another cluster. A cluster restarted on
		// its DataDir keeps the id it was created with.
		kfake.ClusterID(newClusterID()),
		kfake.NumBrokers(cfg.NumBrokers),
		kfake.AllowAutoTopicCreation(),
		kfake.DefaultNumPartitions(cfg.DefaultPartitions),
		kfake.BrokerConfigs(map[string]string{
			"log.cleaner.backoff.ms": strconv.FormatInt(neverMillis, 10), // compaction.go compacts
		}),
	}
	if cfg.Port > 0 {
		ports := make([]int, cfg.NumBrokers)
		for i := range ports {
			ports[i] = cfg.Port + i
		}
		opts = append(opts, kfake.Ports(ports...))
	}
	if cfg.DataDir != "" {
		opts = append(opts, kfake.DataDir(cfg.DataDir))
	}
	if cfg.SASL != nil {
		opts = append(opts, kfake.EnableSASL(), kfake.Superuser(cfg.SASL.Mechanism, cfg.SASL.User, cfg.SASL.Password))
	}
	if len(cfg.Topics) > 0 {
		opts = append(opts, kfake.SeedTopics(int32(cfg.DefaultPartitions), cfg.Topics...))
	}
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		return nil, fmt.Errorf("rill: start embedded broker: %w", err)
	}
	comp, err := startCompactor(c, cfg.CompactionInterval, cfg.SASL)
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("rill: start embedded broker: %w", err)
	}
	return &Broker{cluster: c, compactor: comp}, nil
}

// newClusterID returns a random cluster id in Kafka's form (a base64url UUID, 22 characters).
func newClusterID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// New starts a cluster for a test and closes it when the test ends. With RILL_TEST_BOOTSTRAP
// set, it returns that cluster instead (and closes nothing).
func New(t testing.TB, cfg ...Config) *Broker {
	t.Helper()
	if addrs := os.Getenv(ExternalEnv); addrs != "" {
		b := &Broker{external: strings.Split(addrs, ",")}
		if os.Getenv(WipeEnv) != "" {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if err := wipe(ctx, b.external); err != nil {
				t.Fatalf("kafkatest: wipe %v: %v", b.external, err)
			}
		}
		return b
	}
	var c Config
	if len(cfg) > 1 {
		t.Fatal(errors.New("kafkatest: at most one Config"))
	}
	if len(cfg) == 1 {
		c = cfg[0]
	}
	b, err := Start(c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	return b
}

// Addrs returns the brokers' host:port addresses, for Config.Bootstrap.
func (b *Broker) Addrs() []string {
	if b.external != nil {
		return b.external
	}
	return b.cluster.ListenAddrs()
}

// Close stops the cluster (an external one is left running).
func (b *Broker) Close() {
	if b.compactor != nil {
		b.compactor.close()
	}
	if b.cluster != nil {
		b.cluster.Close()
	}
}
