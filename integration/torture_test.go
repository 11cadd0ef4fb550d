package integration

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestTortureOnRealKafka is CI's short torture run on real Kafka (make torture-ci runs it on
// kfake): instances SIGKILLed, a zombie, scaling and a broker killed and started again, every
// output verified, under each guarantee. make torture-kafka KILLS=100 [GUARANTEE=…] runs long
// ones (RILL_TORTURE_KILLS, RILL_TORTURE_GUARANTEE), as does make torture BOOTSTRAP=…
// BROKER_CONTAINER=… against a cluster of your own.
func TestTortureOnRealKafka(t *testing.T) {
	needKafka(t)
	kills, guarantees := "4", []string{"exactly-once", "at-least-once"}
	if k := os.Getenv("RILL_TORTURE_KILLS"); k != "" {
		kills = k
	}
	if g := os.Getenv("RILL_TORTURE_GUARANTEE"); g != "" {
		guarantees = []string{g}
	}
	n, err := strconv.Atoi(kills)
	if err != nil || n < 1 {
		t.Fatalf("RILL_TORTURE_KILLS=%q: want a positive number", kills)
	}
	bin := filepath.Join(t.TempDir(), "rill-torture")
	build := exec.Command("go", "build", "-o", bin, "./cmd/rill-torture")
	build.Dir = ".."
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build rill-torture: %v\n%s", err, out)
	}
	for i, g := range guarantees {
		t.Run(g, func(t *testing.T) {
			// A chaos action takes about 10 s on a loaded machine; the outputs then have 10
			// minutes (rill-torture's --timeout) to complete.
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute+time.Duration(n)*15*time.Second)
			defer cancel()
			c := startCluster(t, ctx, clusterOpts{nodes: 1})
			seed := strconv.Itoa(21 + i)
			dir, err := os.MkdirTemp("", "rill-torture-kafka-")
			if err != nil {
				t.Fatal(err)
			}
			defer func() {
				if !t.Failed() {
					_ = os.RemoveAll(dir)
				}
			}()
			cmd := exec.CommandContext(ctx, bin, "--bootstrap", strings.Join(c.Bootstrap(), ","), "--broker-container", c.names[0],
				"--kills", kills, "--interval", "5s", "--seed", seed, "--guarantee", g, "--dir", dir)
			out, err := cmd.CombinedOutput()
			if err != nil {
				// The instances' logs (with the goroutine dumps of any that did not stop)
				// outlive a failed run.
				t.Fatalf("rill-torture: %v\n%s\nlogs kept in %s", err, out, dir)
			}
			t.Logf("%s", out)
		})
	}
}
