package kafka

import (
	"context"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rillstreams/rill/kafkatest"
)

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "localhost:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// An admin call made while the broker is down (restarting) waits for it instead of failing the
// instance: rill-torture saw instances go to ERROR on "connection refused" from a task's
// changelog end offsets and from the cluster id check at start.
func TestAdminWaitsForBrokerToComeBack(t *testing.T) {
	port := freePort(t)
	adm, err := NewAdmin(ClientConfig{Bootstrap: []string{"localhost:" + strconv.Itoa(port)}})
	if err != nil {
		t.Fatal(err)
	}
	defer adm.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	// Without patience, the first refusal fails the call (the behaviour before the fix).
	if _, err := adm.HighWatermarks(ctx, "t"); err == nil {
		t.Fatal("HighWatermarks answered with no broker")
	}

	adm.Patience = Stall{What: "admin", FailAfter: 45 * time.Second}
	started := make(chan *kafkatest.Broker, 1)
	go func() {
		time.Sleep(1500 * time.Millisecond)
		b, err := kafkatest.Start(kafkatest.Config{Port: port, Topics: []string{"t"}})
		if err != nil {
			t.Error(err)
		}
		started <- b
	}()
	id, err := adm.ClusterID(ctx)
	if b := <-started; b != nil {
		defer b.Close()
	}
	if err != nil || id == "" {
		t.Fatalf("ClusterID while the broker came up: %q, %v", id, err)
	}
	hw, err := adm.HighWatermarks(ctx, "t")
	if err != nil || len(hw["t"]) == 0 {
		t.Fatalf("HighWatermarks: %v, %v", hw, err)
	}
}

// The wait is bounded: brokers that stay away fail the call after FailAfter, saying so.
func TestAdminGivesUpAfterPatience(t *testing.T) {
	adm, err := NewAdmin(ClientConfig{Bootstrap: []string{"localhost:" + strconv.Itoa(freePort(t))}})
	if err != nil {
		t.Fatal(err)
	}
	defer adm.Close()
	adm.Patience = Stall{What: "admin", FailAfter: 2 * time.Second}
	t0 := time.Now()
	_, err = adm.EndOffsets(context.Background(), "t")
	if err == nil || !strings.Contains(err.Error(), "brokers failed it") {
		t.Fatalf("EndOffsets with no broker: %v", err)
	}
	if d := time.Since(t0); d < 2*time.Second {
		t.Fatalf("gave up after %v, before its 2 s patience", d)
	}
}
