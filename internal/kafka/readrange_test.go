package kafka

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/rillstreams/rill/kafkatest"
)

// A read whose end cannot be reached (here an end offset past the log, as a partition held
// back by a transaction the broker never aborts looks to a read_committed reader) must not
// pass for complete: it waits, warns naming the partition and offsets, and fails after the
// bound. It used to give up after 15 s and return nil, and the task ran on partial state.
func TestReadRangeStallFails(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	broker := kafkatest.New(t)
	if err := broker.CreateTopic(ctx, "log", 1); err != nil {
		t.Fatal(err)
	}
	var recs []kafkatest.Record
	for i := 0; i < 10; i++ {
		recs = append(recs, kafkatest.Record{Topic: "log", Key: []byte{byte('a' + i)}, Value: []byte("v"), Timestamp: time.Now()})
	}
	if err := broker.Produce(ctx, recs...); err != nil {
		t.Fatal(err)
	}
	core, logs := observer.New(zapcore.WarnLevel)
	start := map[string]map[int32]int64{"log": {0: 0}}
	end := map[string]map[int32]int64{"log": {0: 15}}
	applied := 0
	began := time.Now()
	err := ReadRange(ctx, ClientConfig{Bootstrap: broker.Addrs()}, start, end, 100*time.Millisecond,
		Stall{What: "restore task 0_0", WarnEvery: 300 * time.Millisecond, FailAfter: 2 * time.Second, Logger: zap.New(core)},
		func(string, int32, int64, []byte, []byte, int64) error { applied++; return nil })
	if !errors.Is(err, ErrStalled) {
		t.Fatalf("ReadRange = %v after %v, want ErrStalled", err, time.Since(began))
	}
	if !strings.Contains(err.Error(), "log[0] at offset 10 of end 15") || !strings.Contains(err.Error(), "restore task 0_0") {
		t.Errorf("error %q does not name the read, the partition and its offsets", err)
	}
	if applied != 10 {
		t.Errorf("applied %d records, want the 10 the log has", applied)
	}
	warns := logs.FilterMessageSnippet("no progress").All()
	if len(warns) == 0 {
		t.Fatal("no warning while the read was stalled")
	}
	if got := warns[0].ContextMap()["stuckAt"]; got != "log[0] at offset 10 of end 15" {
		t.Errorf("warning names %v, want log[0] at offset 10 of end 15", got)
	}
	// Rate-limited: about one per WarnEvery over the 2 s, never one per poll.
	if len(warns) > 8 {
		t.Errorf("%d warnings in 2 s with WarnEvery 300ms: not rate-limited", len(warns))
	}
}

// A read that reaches its end returns nil and applies everything, with a stall bound far
// shorter than the read would take if it waited on anything.
func TestReadRangeCompletes(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	broker := kafkatest.New(t)
	if err := broker.CreateTopic(ctx, "log", 1); err != nil {
		t.Fatal(err)
	}
	var recs []kafkatest.Record
	for i := 0; i < 100; i++ {
		recs = append(recs, kafkatest.Record{Topic: "log", Key: []byte{byte(i)}, Value: []byte("v"), Timestamp: time.Now()})
	}
	if err := broker.Produce(ctx, recs...); err != nil {
		t.Fatal(err)
	}
	applied := 0
	err := ReadRange(ctx, ClientConfig{Bootstrap: broker.Addrs()}, map[string]map[int32]int64{"log": {0: 0}},
		map[string]map[int32]int64{"log": {0: 100}}, 100*time.Millisecond, Stall{What: "test", FailAfter: time.Minute},
		func(string, int32, int64, []byte, []byte, int64) error { applied++; return nil })
	if err != nil || applied != 100 {
		t.Fatalf("ReadRange = %v with %d applied, want nil and 100", err, applied)
	}
}
