package integration

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestTortureOnRealKafka is CI's short torture run on real Kafka (make torture-ci runs it on
// kfake): instances SIGKILLed, a zombie, scaling and a broker killed and started again, every
// output verified, under each guarantee. make torture BOOTSTRAP=… BROKER_CONTAINER=… runs
// long ones.
func TestTortureOnRealKafka(t *testing.T) {
	needKafka(t)
	bin := filepath.Join(t.TempDir(), "rill-torture")
	build := exec.Command("go", "build", "-o", bin, "./cmd/rill-torture")
	build.Dir = ".."
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build rill-torture: %v\n%s", err, out)
	}
	for i, g := range []string{"exactly-once", "at-least-once"} {
		t.Run(g, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
			defer cancel()
			c := startCluster(t, ctx, clusterOpts{nodes: 1})
			seed := []string{"21", "22"}[i]
			cmd := exec.CommandContext(ctx, bin, "--bootstrap", strings.Join(c.Bootstrap(), ","), "--broker-container", c.names[0],
				"--kills", "4", "--interval", "5s", "--seed", seed, "--guarantee", g, "--dir", t.TempDir())
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("rill-torture: %v\n%s", err, out)
			}
			t.Logf("%s", out)
		})
	}
}
