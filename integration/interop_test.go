package integration

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/rillstreams/rill/kafkatest"
)

// Interop on real Kafka: other clients write rill's inputs and read its outputs. kcat is
// librdkafka (C), kafka-go is segmentio's pure-Go client (test-only here).
//
// Transactions: kafka-go's Reader does not implement read_committed on the client side (it
// returns transaction control records as 6-byte messages and does not drop aborted records:
// segmentio/kafka-go#1332), so it reads rill's at-least-once outputs here; exactly-once outputs
// are read with kcat, whose librdkafka filters them as Kafka's Java consumer does.
//
// Partitioning: rill, like Kafka's Java producer and Kafka Streams, puts a keyed record on
// murmur2(key) % partitions. librdkafka's default partitioner is consistent_random (CRC32 of the
// key), and kafka-go's Writer defaults to round-robin; co-partitioned inputs written by them
// would land on other partitions than rill's repartition topics and lookups expect. kcat needs
// `-X topic.partitioner=murmur2_random`, kafka-go `Balancer: &kafka.Murmur2Balancer{}`.

var (
	exampleOnce sync.Once
	exampleDir  string
	exampleErr  error
)

// exampleBinary builds the examples once.
func exampleBinary(t *testing.T, name string) string {
	t.Helper()
	exampleOnce.Do(func() {
		exampleDir, exampleErr = os.MkdirTemp("", "rill-examples")
		if exampleErr != nil {
			return
		}
		for _, ex := range []string{"orderemails", "wordcount"} {
			cmd := exec.Command("go", "build", "-o", filepath.Join(exampleDir, ex), "./examples/"+ex)
			cmd.Dir = ".."
			if out, err := cmd.CombinedOutput(); err != nil {
				exampleErr = fmt.Errorf("build %s: %v\n%s", ex, err, out)
				return
			}
		}
	})
	if exampleErr != nil {
		t.Fatal(exampleErr)
	}
	return filepath.Join(exampleDir, name)
}

func runExample(t *testing.T, ctx context.Context, name string, args ...string) string {
	t.Helper()
	cmd := exec.CommandContext(ctx, exampleBinary(t, name), args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, tail(out.String(), 4000))
	}
	return out.String()
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

var (
	predictedRe = regexp.MustCompile(`\((\d+) should become emails\)`)
	sentRe      = regexp.MustCompile(`emails sent (\d+)`)
)

// TestOrderEmailsOnRealKafka runs the email example against the container under each
// guarantee: the emails it sends and the emails kcat reads (read_committed) equal what the
// generator predicts, and so do the ones kafka-go reads of the at-least-once run.
func TestOrderEmailsOnRealKafka(t *testing.T) {
	needKafka(t)
	for _, g := range []string{"exactly-once", "at-least-once"} {
		t.Run(g, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
			defer cancel()
			c := startCluster(t, ctx, clusterOpts{nodes: 1})
			addr := c.Bootstrap()[0]
			out := runExample(t, ctx, "orderemails", "--bootstrap", addr, "--generate", "600", "--guarantee", g,
				"--exit-when-idle", "10s", "--quiet", "--state-dir", t.TempDir())
			m := predictedRe.FindStringSubmatch(out)
			s := sentRe.FindStringSubmatch(out)
			if m == nil || s == nil {
				t.Fatalf("no prediction or summary in:\n%s", tail(out, 4000))
			}
			want, _ := strconv.Atoi(m[1])
			sent, _ := strconv.Atoi(s[1])
			if want == 0 || sent != want {
				t.Fatalf("sent %d emails, the generator predicted %d\n%s", sent, want, tail(out, 2000))
			}
			if g == "at-least-once" {
				got := readAllKafkaGo(t, ctx, addr, "emails", want)
				if len(got) != want {
					t.Fatalf("kafka-go read %d emails, want %d", len(got), want)
				}
				for _, m := range got {
					var e map[string]any
					if err := json.Unmarshal(m.Value, &e); err != nil || string(m.Key) == "" {
						t.Fatalf("email %q/%q: %v", m.Key, m.Value, err)
					}
				}
			}
			if n := len(kcatConsume(t, ctx, addr, "emails", want, false)); n != want {
				t.Fatalf("kcat read %d emails, want %d", n, want)
			}
			t.Logf("%s: %d emails as predicted (rill, kafka-go, kcat agree)", g, want)
		})
	}
}

// TestWordCountInterop: kcat writes lines, rill counts them at least once, kafka-go reads the
// counts; then kafka-go writes more lines (murmur2), rill counts on from the same state
// directory under exactly-once, and kcat reads the final counts (read_committed).
func TestWordCountInterop(t *testing.T) {
	needKafka(t)
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	c := startCluster(t, ctx, clusterOpts{nodes: 1})
	addr := c.Bootstrap()[0]
	stateDir := t.TempDir()
	want := map[string]int64{}
	var first []string
	for i := range 300 {
		line := fmt.Sprintf("the quick fox %d jumps over the lazy dog %d", i%7, i%11)
		first = append(first, line)
		for _, w := range strings.Fields(line) {
			want[w]++
		}
	}
	// The topics exist before kcat writes, with the partitions the example creates.
	if err := kafkatest.CreateTopics(ctx, c.Bootstrap(), 3, "lines", "word-counts"); err != nil {
		t.Fatal(err)
	}
	kcat := exec.CommandContext(ctx, "kcat", "-P", "-b", addr, "-t", "lines", "-X", "topic.partitioner=murmur2_random")
	kcat.Stdin = strings.NewReader(strings.Join(first, "\n") + "\n")
	if out, err := kcat.CombinedOutput(); err != nil {
		t.Fatalf("kcat -P: %v\n%s", err, out)
	}
	runExample(t, ctx, "wordcount", "--bootstrap", addr, "--generate", "0", "--exit-when-idle", "10s", "--state-dir", stateDir,
		"--guarantee", "at-least-once")
	counts := map[string]int64{}
	for _, m := range readAllKafkaGo(t, ctx, addr, "word-counts", len(want)) {
		counts[string(m.Key)] = int64(binary.BigEndian.Uint64(m.Value))
	}
	if err := sameCounts(counts, want); err != nil {
		t.Fatalf("after kcat's lines (kafka-go reading): %v", err)
	}

	w := &kafkago.Writer{Addr: kafkago.TCP(addr), Topic: "lines", Balancer: &kafkago.Murmur2Balancer{}, RequiredAcks: kafkago.RequireAll}
	defer w.Close()
	var msgs []kafkago.Message
	for i := range 200 {
		line := fmt.Sprintf("lazy dog %d again", i%5)
		msgs = append(msgs, kafkago.Message{Key: []byte(strconv.Itoa(i)), Value: []byte(line)})
		for _, w := range strings.Fields(line) {
			want[w]++
		}
	}
	if err := w.WriteMessages(ctx, msgs...); err != nil {
		t.Fatalf("kafka-go write: %v", err)
	}
	runExample(t, ctx, "wordcount", "--bootstrap", addr, "--generate", "0", "--exit-when-idle", "10s", "--state-dir", stateDir,
		"--guarantee", "exactly-once")
	counts = map[string]int64{}
	for _, r := range kcatConsume(t, ctx, addr, "word-counts", 0, true) {
		n, err := strconv.ParseInt(r.Value, 10, 64)
		if err != nil {
			t.Fatalf("kcat count %q: %v", r.Value, err)
		}
		counts[r.Key] = n
	}
	if err := sameCounts(counts, want); err != nil {
		t.Fatalf("after kafka-go's lines (kcat reading): %v", err)
	}
}

func sameCounts(got, want map[string]int64) error {
	for k, n := range want {
		if got[k] != n {
			return fmt.Errorf("word %q counted %d, want %d", k, got[k], n)
		}
	}
	if len(got) != len(want) {
		return fmt.Errorf("%d words counted, want %d", len(got), len(want))
	}
	return nil
}

// readAllKafkaGo reads a topic from the start with kafka-go (read_committed), every partition,
// until it has at least min messages and the partitions are exhausted.
func readAllKafkaGo(t *testing.T, ctx context.Context, addr, topic string, min int) []kafkago.Message {
	t.Helper()
	conn, err := kafkago.DialContext(ctx, "tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	parts, err := conn.ReadPartitions(topic)
	conn.Close()
	if err != nil {
		t.Fatal(err)
	}
	var out []kafkago.Message
	for _, p := range parts {
		pc, err := kafkago.DialLeader(ctx, "tcp", addr, topic, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		end, err := pc.ReadLastOffset()
		pc.Close()
		if err != nil {
			t.Fatal(err)
		}
		if end == 0 {
			continue
		}
		r := kafkago.NewReader(kafkago.ReaderConfig{Brokers: []string{addr}, Topic: topic, Partition: p.ID,
			IsolationLevel: kafkago.ReadCommitted, MaxWait: 200 * time.Millisecond})
		for {
			rctx, cancel := context.WithTimeout(ctx, 3*time.Second)
			m, err := r.ReadMessage(rctx)
			cancel()
			if err != nil {
				break // no more committed messages within 3 s: the partition is read
			}
			out = append(out, m)
			if m.Offset >= end-1 {
				break
			}
		}
		r.Close()
	}
	if len(out) < min {
		t.Fatalf("kafka-go read %d messages of %s, want at least %d", len(out), topic, min)
	}
	return out
}

type kcatRecord struct{ Key, Value string }

// kcatConsume reads a whole topic with kcat (-e: exit at its end), read_committed; with int64s
// the values are decoded by kcat as big-endian int64 (-s value=q).
func kcatConsume(t *testing.T, ctx context.Context, addr, topic string, min int, int64s bool) []kcatRecord {
	t.Helper()
	args := []string{"-C", "-b", addr, "-t", topic, "-o", "beginning", "-e", "-q",
		"-X", "isolation.level=read_committed", "-f", "%k\t%s\n"}
	if int64s {
		args = append(args, "-s", "value=q")
	}
	out, err := exec.CommandContext(ctx, "kcat", args...).Output()
	if err != nil {
		t.Fatalf("kcat -C %s: %v", topic, err)
	}
	var recs []kcatRecord
	for _, line := range strings.Split(strings.TrimSuffix(string(out), "\n"), "\n") {
		if line == "" {
			continue
		}
		k, v, ok := strings.Cut(line, "\t")
		if !ok {
			t.Fatalf("kcat record %q", line)
		}
		recs = append(recs, kcatRecord{Key: k, Value: v})
	}
	if len(recs) < min {
		t.Fatalf("kcat read %d records of %s, want at least %d", len(recs), topic, min)
	}
	return recs
}
