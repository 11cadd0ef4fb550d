package rocksdb

import (
	"encoding/binary"
	"testing"

	"github.com/rillstreams/rill/state"
)

// The benchmarks below model rill-bench's windowed workloads on one task's store in
// transaction mode, as the runtime drives it: 4-byte keys (10k of them), 100-byte values, a
// record per millisecond, a commit every commitEvery records (exactly-once commits every
// 100 ms; at least once the buffer fills to 100k writes first).

const txnBenchKeys = 10_000

func txnBenchKey(dst []byte, i int) []byte {
	return binary.BigEndian.AppendUint32(dst[:0], uint32(i%txnBenchKeys))
}

func benchTxnWindow(b *testing.B, dups bool) *windowStore {
	be := newTestBackend(b)
	// A 24 h grace, as rill-bench's windowed workloads: one segment for the whole run.
	s, err := be.Window("bench", b.TempDir(), state.WindowOptions{Retention: 24*3600*1000 + 20_000, RetainDuplicates: dups})
	must(b, err)
	b.Cleanup(func() { s.Close() })
	w := s.(*windowStore)
	must(b, w.BeginTransactions())
	return w
}

// BenchmarkWindowFetchMissPut is a windowed count's step: fetch a window the store does not
// hold yet, then put its first aggregate (every record of rill-bench's
// streamcountwindowed opens new windows: a key comes back every 10 s, windows are 1 s).
func BenchmarkWindowFetchMissPut(b *testing.B) {
	for _, every := range []int{250, 50_000} {
		b.Run(commitName(every), func(b *testing.B) {
			w := benchTxnWindow(b, false)
			var k []byte
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				k = txnBenchKey(k, i)
				v, err := w.Fetch(k, int64(i))
				if err != nil || v != nil {
					b.Fatal(v, err)
				}
				must(b, w.Put(k, benchValue, int64(i)))
				if i%every == every-1 {
					must(b, w.CommitTransaction(int64(i)))
				}
			}
		})
	}
}

// BenchmarkWindowJoinStep is a stream-stream join's step: buffer the record, then scan the
// other side's buffer for its key within ±10 s (join buffers retain duplicates).
func BenchmarkWindowJoinStep(b *testing.B) {
	for _, every := range []int{250, 50_000} {
		b.Run(commitName(every), func(b *testing.B) {
			this, other := benchTxnWindow(b, true), benchTxnWindow(b, true)
			var k []byte
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				k = txnBenchKey(k, i)
				t := int64(i)
				must(b, this.Put(k, benchValue, t))
				must(b, other.Put(k, benchValue, t)) // the other side's record of the key
				it, err := this.FetchRange(txnBenchKey(k, i+txnBenchKeys/2), t-10_000, t+10_000)
				must(b, err)
				for it.Next() {
				}
				must(b, it.Close())
				if i%every == every-1 {
					must(b, this.CommitTransaction(t))
					must(b, other.CommitTransaction(t))
				}
			}
		})
	}
}

func commitName(every int) string {
	if every >= 10_000 {
		return "commit=alos"
	}
	return "commit=eos"
}
