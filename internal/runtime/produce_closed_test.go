package runtime

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"

	"github.com/rillstreams/rill/dsl"
	"github.com/rillstreams/rill/internal/engine"
	"github.com/rillstreams/rill/internal/topoaccess"
	"github.com/rillstreams/rill/processor"
	"github.com/rillstreams/rill/serde"
)

// A send that fails for a task closed since (a migration closed it, and its session with it,
// failing its sends with "client closed"; or its partitions went to another instance) says
// nothing about the session running now: it is ignored, whatever the error, where the same
// failure of a running task stops the thread. rill-torture on real Kafka: 7 instances died of
// "client closed" after migrations, before the check came first.
func TestFailedSendOfClosedTaskIsIgnored(t *testing.T) {
	b := dsl.NewBuilder()
	b.Stream("in", serde.String(), serde.String()).To("out")
	topo, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	id := processor.TaskID{Subtopology: 0, Partition: 0}
	newTask := func() *runningTask {
		task, err := engine.New(engine.Config{ID: id, Topology: topoaccess.Subtopologies(topo)[0], Collector: &taskCollector{}})
		if err != nil {
			t.Fatal(err)
		}
		return &runningTask{task: task}
	}
	closed, reopened := newTask(), newTask()
	th := &thread{rt: &Runtime{}, log: zap.NewNop(), tasks: map[processor.TaskID]*runningTask{id: reopened}}
	for _, cause := range []error{kgo.ErrClientClosed, kerr.ProducerFenced, kerr.MessageTooLarge} {
		f := produceFailure{origin: sendOrigin{rt: closed, kind: sendChangelog}, topic: "out", err: cause}
		if err := th.handleProduceFailureLocked(f); err != nil {
			t.Errorf("%v for a closed task: %v, want it ignored", cause, err)
		}
	}
	f := produceFailure{origin: sendOrigin{rt: reopened, kind: sendOutput}, topic: "out", err: kgo.ErrClientClosed}
	if err := th.handleProduceFailureLocked(f); err == nil {
		t.Error("client closed for the running task: ignored, want the thread stopped")
	}
}
