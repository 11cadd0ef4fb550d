package kafka

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rillstreams/rill/internal/engine"
	"github.com/rillstreams/rill/processor"
)

type recordingPromise struct {
	mu   sync.Mutex
	seen map[int]int64 // arg → offset
	errs []error
}

func (p *recordingPromise) Produced(arg any, topic string, offset int64, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err != nil || topic != "out" {
		p.errs = append(p.errs, err)
		return
	}
	p.seen[*arg.(*int)] = offset
}

// Pooled records are reused across sends: every promise gets its own send's arg and offset,
// and a record's headers, partition and partitioner never leak into the next send that reuses it.
func TestProduceToReusesRecordsWithoutLeaks(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(4, "out"))
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
	p := &recordingPromise{seen: map[int]int64{}}
	const n = 3000
	args := make([]int, n)
	for round := range 3 { // rounds reuse the records the previous ones released
		for i := range n / 3 {
			k := round*n/3 + i
			args[k] = k
			rec := engine.OutRecord{Topic: "out", Partition: int32(k % 4), Key: []byte("k"), Value: []byte(strconv.Itoa(k)), Timestamp: int64(k)}
			switch k % 3 {
			case 1:
				rec.Headers = []processor.Header{{Key: "h", Value: []byte(strconv.Itoa(k))}}
			case 2:
				rec.Partition = -1
				rec.Partitioner = func(int32) (int32, bool) { return 3, true }
			}
			s.ProduceTo(rec, p, &args[k])
		}
		if err := s.Flush(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if len(p.errs) > 0 || len(p.seen) != n {
		t.Fatalf("%d promised of %d, errors %v", len(p.seen), n, p.errs)
	}

	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.ConsumeTopics("out"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	got := 0
	for got < n {
		fs := cl.PollFetches(ctx)
		if err := fs.Err(); err != nil {
			t.Fatal(err)
		}
		fs.EachRecord(func(r *kgo.Record) {
			got++
			k, _ := strconv.Atoi(string(r.Value))
			wantPart := int32(k % 4)
			if k%3 == 2 {
				wantPart = 3
			}
			if r.Partition != wantPart || r.Offset != p.seen[k] || r.Timestamp.UnixMilli() != int64(k) {
				t.Errorf("record %d: partition %d offset %d ts %d, want partition %d offset %d ts %d",
					k, r.Partition, r.Offset, r.Timestamp.UnixMilli(), wantPart, p.seen[k], k)
			}
			wantHeaders := 0
			if k%3 == 1 {
				wantHeaders = 1
			}
			if len(r.Headers) != wantHeaders || wantHeaders == 1 && string(r.Headers[0].Value) != strconv.Itoa(k) {
				t.Errorf("record %d: headers %v", k, r.Headers)
			}
		})
	}
}
