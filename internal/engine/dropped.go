package engine

import (
	"go.uber.org/zap"

	"github.com/rillstreams/rill/processor"
)

// dropLogInterval is how often, at most, a processor node logs the records it drops on purpose,
// in milliseconds of the task's wall clock: a stream of late records must not flood the log,
// and the count of those not logged goes with the next line.
const dropLogInterval = 10_000

// dropLog is a processor node's count of the records it dropped on purpose (Kafka Streams'
// dropped-records sensor, per node) and the state of its rate-limited warning.
type dropLog struct {
	count      int64
	logged     bool  // a drop was logged already
	lastLogged int64 // wall clock of that line
	suppressed int64 // drops since, not logged
}

// droppedCounter is a node that counts the records it drops.
type droppedCounter interface {
	droppedRecords() int64
}

// recordDropped counts a record a processor dropped on purpose — late for its window, without
// the key an operation needs — and logs it at WARN, at most once per dropLogInterval per node
// (with how many were not logged since): topic, partition and offset of the input record, its
// timestamp and how far behind stream time it is.
func (t *Task) recordDropped(node, reason string, l *dropLog) {
	t.dropped++
	l.count++
	if l.logged && t.wallClock-l.lastLogged < dropLogInterval {
		l.suppressed++
		return
	}
	if ce := t.log.Check(zap.WarnLevel, "rill: record dropped"); ce != nil {
		md, _ := t.RecordMetadata()
		fields := []zap.Field{zap.Stringer("task", t.id), zap.String("node", node), zap.String("reason", reason),
			zap.String("topic", md.Topic), zap.Int32("partition", md.Partition), zap.Int64("offset", md.Offset),
			zap.Int64("timestamp", t.recTS), zap.Int64("streamTime", t.streamTime)}
		if late := t.streamTime - t.recTS; late > 0 {
			fields = append(fields, zap.Int64("lateByMs", late))
		}
		if l.suppressed > 0 {
			fields = append(fields, zap.Int64("droppedSinceLastLog", l.suppressed))
		}
		fields = append(fields, zap.Int64("droppedByNode", l.count))
		ce.Write(fields...)
	}
	l.logged, l.lastLogged, l.suppressed = true, t.wallClock, 0
}

// DroppedByNode returns, for each processor node of the task that dropped records on purpose,
// how many (the per-node dropped-records count the metrics export). Records skipped by error
// handlers are not in it: Dropped counts those too.
func (t *Task) DroppedByNode() map[string]int64 {
	out := make(map[string]int64)
	for name, l := range t.sourceDrops {
		if l.count > 0 {
			out[name] = l.count
		}
	}
	for _, n := range t.nodes {
		if c, ok := n.(droppedCounter); ok {
			if d := c.droppedRecords(); d > 0 {
				out[n.Name()] = d
			}
		}
	}
	return out
}

// extract gives r the timestamp ex extracts (Kafka Streams' RecordQueue does it as records
// reach the head of their queue; here as they are queued, which is the same order), keeping
// q's partition time. A failure or a negative timestamp is marked on r for Process to handle
// in turn, so the record's offset is consumed like any other's.
func (t *Task) extract(ex processor.TimestampExtractor, q *recordQueue, r *RawRecord) {
	ts, err := ex(processor.ConsumedRecord{Topic: r.Topic, Partition: r.Partition, Offset: r.Offset,
		Timestamp: r.Timestamp, Key: r.Key, Value: r.Value, Headers: r.Headers}, q.partitionTime)
	switch {
	case err != nil:
		r.extractErr = err
	case ts < 0:
		r.skip = true
	default:
		r.Timestamp = ts
		q.partitionTime = max(q.partitionTime, ts)
	}
}
