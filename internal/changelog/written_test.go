package changelog

import (
	"sync"
	"testing"

	cl "github.com/rillstreams/rill/changelog"
)

// Acks come from the producer's goroutines in any order; the checkpoint takes the offset
// after the highest, per partition, and only for partitions acknowledged.
func TestAckedKeepsTheHighestOffsetUnderConcurrentAcks(t *testing.T) {
	a := cl.TopicPartition{Topic: "app-a-changelog", Partition: 3}
	b := cl.TopicPartition{Topic: "app-b-changelog", Partition: 3}
	m := NewManager(t.TempDir(), map[string]cl.TopicPartition{"a": a, "b": b}, true)
	if cp := m.Checkpoint(); len(cp) != 0 {
		t.Fatalf("checkpoint before any ack: %v", cp)
	}
	w := m.WrittenTo(a)
	if w == nil || m.WrittenTo(cl.TopicPartition{Topic: "other"}) != nil {
		t.Fatal("WrittenTo: want the logged partition's counter, nil for others")
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int64(0); i < 1000; i++ {
				off := i*4 + int64(g)
				if off%2 == 0 {
					w.Acked(off)
				} else {
					m.Acked(a, off)
				}
			}
		}()
	}
	wg.Wait()
	m.Restored[b] = 7
	cp := m.Checkpoint()
	if cp[a] != 4000 || cp[b] != 7 || len(cp) != 2 {
		t.Fatalf("checkpoint: %v, want %v: 4000, %v: 7", cp, a, b)
	}
	m.Acked(a, 10) // a late, lower ack moves nothing
	if got := m.Checkpoint()[a]; got != 4000 {
		t.Fatalf("after a lower ack: %d, want 4000", got)
	}
}
