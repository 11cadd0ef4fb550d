package runtime

import (
	"context"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rillstreams/rill/internal/engine"
	"github.com/rillstreams/rill/internal/kafka"
)

// ProduceTo sends as kafka.Session does (the collector as the promise), but allocates a record
// and a callback per send: the session's own pooling is kafka's, tested there.
func (f *fakeSession) ProduceTo(rec engine.OutRecord, p kafka.Promise, arg any) {
	r := &kgo.Record{Topic: rec.Topic, Partition: rec.Partition, Key: rec.Key, Value: rec.Value, Timestamp: time.UnixMilli(rec.Timestamp)}
	f.cl.Produce(context.Background(), r, func(r *kgo.Record, err error) { p.Produced(arg, r.Topic, r.Offset, err) })
}
