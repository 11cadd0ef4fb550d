package rill_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/rillstreams/rill"
	"github.com/rillstreams/rill/kafkatest"
	"github.com/rillstreams/rill/state/rocksdb"
)

// BenchmarkRestoreThroughput measures restoration: a changelog of n records is written straight
// to the broker, then an app with no local state starts and restores it into RocksDB; the
// restore listener times it. For comparison the same number of puts go straight into a RocksDB
// store. Restoration under exactly-once commits the stores every 10,000 records with their
// changelog offsets (WAL-protected batches); at least once it writes batches without the WAL.
// Run: go test -run '^$' -bench RestoreThroughput -benchtime 1x .
func BenchmarkRestoreThroughput(b *testing.B) {
	for _, g := range []rill.ProcessingGuarantee{rill.AtLeastOnce, rill.ExactlyOnceV2} {
		name := "alos"
		if g == rill.ExactlyOnceV2 {
			name = "eos"
		}
		b.Run(name, func(b *testing.B) { benchmarkRestore(b, g) })
	}
}

func benchmarkRestore(b *testing.B, guarantee rill.ProcessingGuarantee) {
	const n = 1_000_000
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	broker := kafkatest.New(b)
	must(b, broker.CreateTopic(ctx, "in", 1))
	must(b, broker.CreateTopic(ctx, "out", 1))
	must(b, broker.CreateTopic(ctx, "restore-sums-changelog", 1))
	value := func(i int) []byte { // a timestamped store value: 8-byte timestamp, then JSON
		v := []byte(`{"c":1,"s":` + strconv.Itoa(i) + `}`)
		out := make([]byte, 8, 8+len(v))
		binary.BigEndian.PutUint64(out, uint64(time.Now().UnixMilli()))
		return append(out, v...)
	}
	const batch = 50_000
	for i := 0; i < n; i += batch {
		recs := make([]kafkatest.Record, 0, batch)
		for j := i; j < i+batch && j < n; j++ {
			recs = append(recs, kafkatest.Record{Topic: "restore-sums-changelog", Key: []byte(fmt.Sprintf("key-%08d", j)), Value: value(j), Timestamp: time.Now()})
		}
		must(b, broker.Produce(ctx, recs...))
	}
	b.ResetTimer()
	restored := make(chan rill.RestoreEvent, 1)
	stop := startApp(b, ctx, countTopology(b), rill.Config{CacheMaxBytes: -1, ApplicationID: "restore", Bootstrap: broker.Addrs(), StateDir: b.TempDir(),
		ProcessingGuarantee: guarantee, RestoreListener: func(e rill.RestoreEvent) { restored <- e }})
	e := <-restored
	b.StopTimer()
	must(b, stop())
	if e.Records != n {
		b.Fatalf("restored %d records, want %d", e.Records, n)
	}
	restoreRate := float64(e.Records) / e.Duration.Seconds()

	// The same puts, straight into a RocksDB store of the same backend settings.
	backend, err := rocksdb.NewBackend(rocksdb.Config{})
	must(b, err)
	defer backend.Close()
	store, err := backend.KeyValue("direct", b.TempDir())
	must(b, err)
	start := time.Now()
	for j := 0; j < n; j++ {
		must(b, store.Put([]byte(fmt.Sprintf("key-%08d", j)), value(j)))
	}
	must(b, store.Flush())
	putRate := float64(n) / time.Since(start).Seconds()
	must(b, store.Close())
	b.ReportMetric(restoreRate, "restored-records/s")
	b.ReportMetric(putRate, "rocksdb-puts/s")
	b.ReportMetric(restoreRate/putRate, "ratio")
}
