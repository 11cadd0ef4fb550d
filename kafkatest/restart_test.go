package kafkatest_test

import (
	"context"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rillstreams/rill/kafkatest"
)

// The embedded broker run as a child process (this test binary again) so that it can be
// SIGKILLed: a broker crash, not a clean Close.
const childEnv = "KAFKATEST_BROKER_CHILD"

func TestMain(m *testing.M) {
	if spec := os.Getenv(childEnv); spec != "" {
		port, _ := strconv.Atoi(os.Getenv(childEnv + "_PORT"))
		b, err := kafkatest.Start(kafkatest.Config{Port: port, DataDir: spec})
		if err != nil {
			panic(err)
		}
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
		defer stop()
		<-ctx.Done()
		b.Close()
		return
	}
	os.Exit(m.Run())
}

func startChild(t *testing.T, dir string, port int) *exec.Cmd {
	t.Helper()
	c := exec.Command(os.Args[0], "-test.run=^$")
	c.Env = append(os.Environ(), childEnv+"="+dir, childEnv+"_PORT="+strconv.Itoa(port))
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Process.Kill(); _ = c.Wait() })
	deadline := time.Now().Add(30 * time.Second)
	for {
		conn, err := net.Dial("tcp", "localhost:"+strconv.Itoa(port))
		if err == nil {
			conn.Close()
			return c
		}
		if time.Now().After(deadline) {
			t.Fatalf("broker child did not listen: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// A transaction open when the broker crashes must not block read_committed readers after the
// restart: Kafka aborts it (at the latest after transaction.timeout.ms), and rill's restores and
// exactly-once outputs depend on it (issue 14 found this stuck in an older kfake; this pins it).
func TestCrashedBrokersOpenTransactionIsAborted(t *testing.T) {
	l, err := net.Listen("tcp", "localhost:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	addrs := []string{"localhost:" + strconv.Itoa(port)}

	broker := startChild(t, dir, port)
	if err := kafkatest.CreateTopics(ctx, addrs, 1, "t"); err != nil {
		t.Fatal(err)
	}
	if err := kafkatest.Produce(ctx, addrs, kafkatest.Record{Topic: "t", Value: []byte("before")}); err != nil {
		t.Fatal(err)
	}
	txn, err := kgo.NewClient(kgo.SeedBrokers(addrs...), kgo.TransactionalID("crash"), kgo.TransactionTimeout(10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if err := txn.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	if err := txn.ProduceSync(ctx, &kgo.Record{Topic: "t", Value: []byte("in-txn")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	_ = broker.Process.Signal(syscall.SIGKILL)
	_ = broker.Wait()
	txn.Close()

	startChild(t, dir, port)
	if err := kafkatest.Produce(ctx, addrs, kafkatest.Record{Topic: "t", Value: []byte("after")}); err != nil {
		t.Fatal(err)
	}
	read := func(level kgo.IsolationLevel, n int) []string {
		cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...), kgo.ConsumeTopics("t"),
			kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchIsolationLevel(level))
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()
		// The transaction timeout (10 s) bounds how long the broker may keep it open.
		rctx, rcancel := context.WithTimeout(ctx, 30*time.Second)
		defer rcancel()
		var got []string
		for len(got) < n && rctx.Err() == nil {
			cl.PollFetches(rctx).EachRecord(func(r *kgo.Record) { got = append(got, string(r.Value)) })
		}
		return got
	}
	// The crashed transaction's record survived the crash (so the test is about its marker)...
	if got := read(kgo.ReadUncommitted(), 3); !slices.Equal(got, []string{"before", "in-txn", "after"}) {
		t.Fatalf("read_uncommitted after the restart: %q, want the transaction's record kept", got)
	}
	// ...and read_committed readers get past it.
	if got := read(kgo.ReadCommitted(), 2); !slices.Equal(got, []string{"before", "after"}) {
		t.Fatalf("read_committed after the restart: %q, want [before after]: the crashed broker's open transaction blocks readers", got)
	}
}
