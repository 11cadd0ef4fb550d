// Package integration runs rill's integration suite against a real Apache Kafka in a container
// (testcontainers-go), when Docker is available. It is a module of its own because
// testcontainers brings some ninety modules the library should not depend on.
//
// The suite is the root package's integration tests, unchanged: each runs as `go test` of the
// root package against a fresh Kafka container, pointed at it by kafkatest.ExternalEnv
// (kafkatest.New then returns the container instead of starting kfake).
//
//	make test-docker
package integration

import (
	"context"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/modules/kafka"

	"github.com/rillstreams/rill/kafkatest"
)

// suite lists the root package's tests that take their broker from kafkatest.New: every test
// of the root package but the ones that need no broker (TestCheckExactDetectsDuplicates,
// TestNewValidatesConfig).
var suite = []string{
	"TestStatelessMatchesTestDriver",
	"TestStatefulTwoInstancesExactlyOnce",
	"TestRestartRestoresState",
	"TestCrashExactlyOnce",
	"TestCrashAtLeastOnce",
	"TestZombieExactlyOnce",
	"TestRefusedSessionTimeoutFailsRun",
	"TestFailoverWithStandbys",
	"TestFailoverWithoutStandbys",
	"TestGivenUpTaskBecomesStandby",
	"TestScaleOutWarmsUpFirst",
	"TestStandbysAcrossThreads",
	"TestMaxTaskIdleWaitsForLateRecords",
	"TestTimestampOrderWithLaggingPartition",
	"TestCommitsProcessedOffsets",
	"TestRebalanceDropsQueuedRecords",
	"TestProductionErrorContinue",
	"TestProductionErrorDeadLetter",
	"TestProductionErrorFail",
	"TestProductionErrorChangelogIsFatal",
	"TestTwoGlobalTables",
	"TestPatternSource",
	"TestPatternSourceErrors",
	"TestWallClockPunctuationWritesAtLeastOnce",
	"TestWallClockPunctuationWritesExactlyOnce",
}

func TestSuiteOnRealKafka(t *testing.T) {
	testcontainers.SkipIfProviderIsNotHealthy(t)
	for _, name := range suite {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
			defer cancel()
			kc, err := kafka.Run(ctx, "confluentinc/confluent-local:7.6.1", kafka.WithClusterID("rill-integration"))
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = testcontainers.TerminateContainer(kc) }()
			brokers, err := kc.Brokers(ctx)
			if err != nil {
				t.Fatal(err)
			}
			cmd := exec.CommandContext(ctx, "go", "test", "-count=1", "-race", "-run", "^"+name+"$", ".")
			cmd.Dir = ".."
			cmd.Env = append(os.Environ(), kafkatest.ExternalEnv+"="+strings.Join(brokers, ","))
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("%s against Kafka %v: %v\n%s", name, brokers, err, out)
			}
			t.Logf("%s", out)
		})
	}
}

// noBroker are the root package's tests that need no broker.
var noBroker = map[string]bool{"TestCheckExactDetectsDuplicates": true, "TestNewValidatesConfig": true, "TestMain": true}

// TestSuiteListsEveryRootTest keeps suite complete: a new integration test in the root package
// that is not listed would silently never run against real Kafka.
func TestSuiteListsEveryRootTest(t *testing.T) {
	files, err := filepath.Glob("../*_test.go")
	if err != nil || len(files) == 0 {
		t.Fatalf("root test files: %v, %v", files, err)
	}
	listed := map[string]bool{}
	for _, n := range suite {
		listed[n] = true
	}
	fset := token.NewFileSet()
	for _, f := range files {
		af, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range af.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok || fn.Recv != nil || !strings.HasPrefix(fn.Name.Name, "Test") || noBroker[fn.Name.Name] {
				continue
			}
			if !listed[fn.Name.Name] {
				t.Errorf("%s (%s) is not in suite: add it, or to noBroker if it needs no broker", fn.Name.Name, f)
			}
		}
	}
}
