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

// Compaction that never cleans past an open transaction.
//
// kfake's log cleaner compacts every batch but a partition's last, open transactions included:
// a record of a transaction still open supersedes the earlier, committed records of its key,
// which are dropped; when that transaction then aborts, read_committed readers find the key's
// older value, or none. Kafka's cleaner stops at the first unstable offset. rill's changelogs
// are compacted and written in transactions under exactly-once, so a store restored from such
// a changelog silently lost updates: rill-torture's exactly-once runs on the embedded broker
// saw the key-value stores' counts fall back by hundreds after aborts under load, while the
// real Kafka runs were exact (issue 14).
//
// So the embedded broker never lets kfake compact on its own (its cleaner interval is set
// beyond any run) and compacts itself, every CompactionInterval, only while no transaction is
// open. Transactional produces wait while a compaction is being decided and done, so that no
// transaction begins between the check and the cleaning.

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

// compactOnce compacts the cluster unless a transaction is open; it tells whether it did.
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
	for _, t := range txns.Sorted() {
		switch t.State {
		case "Empty", "CompleteCommit", "CompleteAbort", "Dead":
		default:
			return false // an open transaction: its records must not supersede anything yet
		}
	}
	c.cluster.Compact()
	return true
}

func (c *compactor) close() {
	c.stop()
	c.wg.Wait()
	c.adm.Close()
}
