package kafkatest

import (
	"context"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

// Compaction only where no transaction ever wrote.
//
// kfake's log cleaner mishandles transactional data in two ways, each of which made a store
// restored from its changelog silently miss committed updates (rill-torture's exactly-once
// runs on the embedded broker: key-value counts fell back, window counts repeated, join
// results went missing, while the runs on real Kafka were exact; issue 14):
//
//   - It compacts every batch of a partition but its last, open transactions included: a
//     record of a transaction still open supersedes its key's committed record, which is
//     dropped; when the transaction then aborts, readers find the key's older value, or none.
//     Kafka's cleaner stops at the first unstable offset.
//   - It drops the control batches (the transaction markers) of a producer with no data left
//     in the cleaned range, but keeps the producer's aborted-transaction entries, which fetch
//     responses still carry. A read_committed client skips that producer's batches from the
//     aborted transaction's first offset until its abort marker, which is gone: every later
//     batch of the producer, committed ones included, is skipped. With exactly-once v2 a
//     stream thread keeps its producer id, so a task that came back to a thread that once
//     aborted on the partition lost everything it committed there since.
//
// So the embedded broker never lets kfake compact on its own (its cleaner interval is set
// beyond any run) and compacts itself every CompactionInterval, but only while no
// transactional id exists in the cluster: applications at least once and plain producers get
// compacted changelogs; exactly-once applications get uncompacted ones, which only cost
// disk and restore time, in development and tests.

// neverMillis is kfake's cleaner interval when the broker compacts itself: a century.
const neverMillis = 100 * 365 * 24 * 3600 * 1000

// compactor runs the embedded broker's compactions.
type compactor struct {
	cluster *kfake.Cluster
	adm     *kadm.Client

	mu         sync.Mutex
	compacting bool
	done       chan struct{} // closed when the current compaction ends

	ctx  context.Context // cancelled by close
	stop context.CancelFunc
	wg   sync.WaitGroup
}

// startCompactor starts compacting cluster every interval; close stops it.
func startCompactor(cluster *kfake.Cluster, interval time.Duration, sasl *SASLUser) (*compactor, error) {
	opts := []kgo.Opt{kgo.SeedBrokers(cluster.ListenAddrs()...)}
	if sasl != nil {
		switch sasl.Mechanism {
		case "PLAIN":
			opts = append(opts, kgo.SASL(plain.Auth{User: sasl.User, Pass: sasl.Password}.AsMechanism()))
		case "SCRAM-SHA-256":
			opts = append(opts, kgo.SASL(scram.Auth{User: sasl.User, Pass: sasl.Password}.AsSha256Mechanism()))
		case "SCRAM-SHA-512":
			opts = append(opts, kgo.SASL(scram.Auth{User: sasl.User, Pass: sasl.Password}.AsSha512Mechanism()))
		}
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, err
	}
	ctx, stop := context.WithCancel(context.Background())
	c := &compactor{cluster: cluster, adm: kadm.NewClient(cl), ctx: ctx, stop: stop}
	cluster.ControlKey(kmsg.Produce.Int16(), func(req kmsg.Request) (kmsg.Response, error, bool) {
		if r, ok := req.(*kmsg.ProduceRequest); ok && r.TransactionID != nil {
			c.mu.Lock()
			compacting, done := c.compacting, c.done
			c.mu.Unlock()
			if compacting {
				// Other requests go on meanwhile (the check and the compaction among them).
				cluster.SleepControl(func() { <-done })
			}
		}
		return nil, nil, false // kept, and the cluster handles the request
	})
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-c.ctx.Done():
				return
			case <-t.C:
				c.compactOnce()
			}
		}
	}()
	return c, nil
}

// compactOnce compacts the cluster unless some transactional id exists; it tells whether it
// did.
func (c *compactor) compactOnce() bool {
	c.mu.Lock()
	c.compacting, c.done = true, make(chan struct{})
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		c.compacting = false
		close(c.done)
		c.mu.Unlock()
	}()
	ctx, cancel := context.WithTimeout(c.ctx, 10*time.Second)
	defer cancel()
	txns, err := c.adm.ListTransactions(ctx, nil, nil)
	if err != nil || ctx.Err() != nil {
		return false // the next round tries again
	}
	if len(txns) > 0 {
		return false // transactional data: kfake's cleaner cannot be trusted with it
	}
	c.cluster.Compact()
	return true
}

func (c *compactor) close() {
	c.stop()
	c.wg.Wait()
	c.adm.Close()
}
