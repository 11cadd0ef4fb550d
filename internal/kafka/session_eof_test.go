package kafka

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rillstreams/rill/internal/engine"
)

// A broker that closes connections while it restarts fails no send. Real Kafka shutting down
// closes a new connection right after the client's first request (ApiVersions); franz-go takes
// an EOF there for a TLS or SASL misconfiguration and, by default, fails the records for good.
// Under at-least-once rill-torture on real Kafka then lost outputs whose changelog records had
// gone to another broker: the task migrated, restored that changelog and counted the replayed
// records again, so the lost updates never came back (issue 14: 929 windowed counts, 375 final
// windows). Sessions start only after the admin client reached the cluster with the same
// configuration, so such an EOF means a broker going away, and the send is retried.
func TestSessionRetriesSendsOverFirstReadEOF(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "out"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s, err := NewSession(SessionConfig{ClientConfig: ClientConfig{Bootstrap: c.ListenAddrs()}, Group: "g", Topics: []string{"out"}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	defer s.Close(ctx)

	var mu sync.Mutex
	var errs []error
	produce := func(n int) {
		for range n {
			s.ProduceTo(engine.OutRecord{Topic: "out", Partition: -1, Value: []byte("v")}, PromiseFunc(func(_ int64, err error) {
				if err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			}), nil)
		}
	}
	produce(10) // connected
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}

	// The partition's leader goes away for eight seconds (past franz-go's 5 s metadata min age): it answers a produce with
	// NOT_LEADER_OR_FOLLOWER, the metadata connection is cut, and new connections are closed on
	// their first request (ApiVersions), while records keep coming.
	back := time.Now().Add(8 * time.Second)
	c.ControlKey(int16(kmsg.Produce), func(r kmsg.Request) (kmsg.Response, error, bool) {
		req := r.(*kmsg.ProduceRequest)
		resp := req.ResponseKind().(*kmsg.ProduceResponse)
		for _, rt := range req.Topics {
			st := kmsg.NewProduceResponseTopic()
			st.Topic, st.TopicID = rt.Topic, rt.TopicID
			for _, rp := range rt.Partitions {
				sp := kmsg.NewProduceResponseTopicPartition()
				sp.Partition = rp.Partition
				sp.ErrorCode = kerr.NotLeaderForPartition.Code
				st.Partitions = append(st.Partitions, sp)
			}
			resp.Topics = append(resp.Topics, st)
		}
		return resp, nil, true
	})
	c.ControlKey(int16(kmsg.Metadata), func(kmsg.Request) (kmsg.Response, error, bool) {
		if time.Now().After(back) {
			return nil, nil, false
		}
		c.KeepControl()
		return nil, errors.New("broker shutting down"), true
	})
	var refused atomic.Int32
	c.ControlKey(int16(kmsg.ApiVersions), func(kmsg.Request) (kmsg.Response, error, bool) {
		if time.Now().After(back) {
			return nil, nil, false
		}
		c.KeepControl()
		refused.Add(1)
		return nil, errors.New("broker shutting down"), true
	})
	for time.Now().Before(back.Add(500 * time.Millisecond)) {
		produce(1)
		time.Sleep(5 * time.Millisecond)
	}
	if refused.Load() == 0 {
		t.Fatal("the broker refused no connection: the test did not cut the connections")
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(errs) > 0 {
		t.Fatalf("%d sends failed while the broker was going away, first: %v", len(errs), errs[0])
	}
}
