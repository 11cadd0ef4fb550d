package rill_test

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rillstreams/rill"
)

// TestGroupProtocolIsClassic pins the consumer-group protocol rill speaks, on kfake and on real
// Kafka alike: the classic protocol (JoinGroup/SyncGroup, protocol type "consumer") with rill's
// own client-side assignor, "rill". Kafka 4.x serves classic groups beside KIP-848's
// "consumer" protocol, whose assignment is computed by the broker and so cannot place tasks,
// standbys and warm-ups as rill's assignor (like Kafka Streams' StreamsPartitionAssignor) does.
func TestGroupProtocolIsClassic(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	broker := newBroker(t, ctx, 2, "in", "out")
	stop := startApp(t, ctx, statelessTopology(t), rill.Config{ApplicationID: "group-protocol",
		Bootstrap: broker.Addrs(), StateDir: t.TempDir()})
	defer stop()

	cl, err := kgo.NewClient(kgo.SeedBrokers(broker.Addrs()...))
	must(t, err)
	defer cl.Close()
	adm := kadm.NewClient(cl)
	var last kadm.DescribedGroup
	var lastErr error
	for ctx.Err() == nil {
		// A fresh Kafka broker answers COORDINATOR_NOT_AVAILABLE until __consumer_offsets
		// exists (kfake never does): ask again.
		groups, err := adm.DescribeGroups(ctx, "group-protocol")
		if lastErr = err; err == nil {
			last = groups["group-protocol"]
			if lastErr = last.Err; lastErr == nil && last.State == "Stable" && len(last.Members) == 1 {
				break
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	if lastErr != nil {
		t.Fatalf("describe group: %v", lastErr)
	}
	if last.State != "Stable" || last.ProtocolType != "consumer" || last.Protocol != "rill" || len(last.Members) != 1 {
		t.Fatalf("group %+v: want a Stable classic group (protocol type consumer) with protocol rill and one member",
			last)
	}
	m := last.Members[0]
	if _, ok := m.Assigned.AsConsumer(); !ok {
		t.Fatalf("member assignment is not a consumer-protocol assignment: %+v", m.Assigned)
	}
}
