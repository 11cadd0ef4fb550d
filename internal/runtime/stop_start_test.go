package runtime

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/rillstreams/rill/state/memory"
)

// A stop that comes while the instance is still starting (before its first assignment, here
// before it even reached the brokers) is a clean stop: Run returns nil, as after any stop.
func TestStopWhileStartingIsClean(t *testing.T) {
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(2, "in", "out"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cluster.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	run := startCountApp(t, ctx, cluster.ListenAddrs(), "stop-start", true, memory.Backend())
	run.stop() // at once: the instance is asking for the cluster's metadata, or about to
	select {
	case err := <-run.done:
		if err != nil {
			t.Fatalf("Run stopped while starting returned %v, want nil", err)
		}
	case <-ctx.Done():
		t.Fatal("Run did not return")
	}
}
