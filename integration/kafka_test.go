// Package integration runs rill's integration suite against a real Apache Kafka in a container
// (testcontainers-go), when Docker is available. It is a module of its own because
// testcontainers brings some ninety modules the library should not depend on.
//
// The suite is the root package's integration tests, unchanged: each runs as `go test` of the
// root package against a fresh Kafka container, pointed at it by kafkatest.ExternalEnv
// (kafkatest.New then returns the container instead of starting kfake).
//
//	make test-kafka           # one broker: the whole root suite, plus the real-Kafka-only tests
//	make test-kafka-cluster   # the same on a 3-broker cluster (replication factor 3)
//
// The image (rill-kafka:<version>) is built locally by integration/kafka-image/build.sh
// (make kafka-image): Apache Kafka's jars from Maven Central on a debootstrapped Debian base.
// Nothing is pulled from a registry; testcontainers' reaper (Ryuk) is disabled for that reason.
package integration

import (
	"context"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/testcontainers/testcontainers-go"

	"github.com/rillstreams/rill/kafkatest"
)

// suite lists the root package's tests that take their broker from kafkatest.New: every test
// of the root package but the ones that need no broker (TestCheckExactDetectsDuplicates,
// TestNewValidatesConfig).
var suite = []string{
	"TestMetricsAndStatusEndpoint",
	"TestMetricsRestoreAndStatusAddr",
	"TestDebugMetricsOfStoresAndLateness",
	"TestTasksStatusOfThreeInstances",
	"TestDeadLetterAnswerToFailedDeadLetterIsLast",
	"TestLargeDeadLetter",
	"TestClientOptionsMustNotChangeTheGroup",
	"TestStaticMemberRestartMovesNoTask",
	"TestStatelessMatchesTestDriver",
	"TestCustomPartitionerOnBroker",
	"TestRepartitionTopicsArePurged",
	"TestThreadFailureReplaceThread",
	"TestThreadFailureShutdownApplication",
	"TestShutdownStatesGoOneWay",
	"TestOffsetResetPerSource",
	"TestOffsetResetTableSource",
	"TestCogroupWindowedOnBroker",
	"TestStatefulTwoInstancesExactlyOnce",
	"TestRestartRestoresState",
	"TestVersionedTableQueryAndRestore",
	"TestCrashExactlyOnce",
	"TestCrashAtLeastOnce",
	"TestZombieExactlyOnce",
	"TestRefusedSessionTimeoutFailsRun",
	"TestFailoverWithStandbys",
	"TestFailoverWithoutStandbys",
	"TestGivenUpTaskBecomesStandby",
	"TestScaleOutWarmsUpFirst",
	"TestStandbysAcrossThreads",
	"TestTasksReportStandbyLag",
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
	"TestGroupProtocolIsClassic",
	"TestFencedProducerRecovers",
	"TestInterruptMidProcessingStopsCleanly",
	"TestStateDirReusedAgainstFreshCluster",
	"TestDeletedStoreDirectoryIsRestored",
	"TestStateAheadOfChangelogIsWiped",
	"TestSecondInstanceOnStateDirFails",
	"TestStateFilesAreOwnerOnly",
	"TestRecordCacheOneUpdatePerKeyPerCommit",
	"TestSuppressionBufferRestored",
	"TestPoisonRecordFails",
	"TestPoisonRecordsSkipped",
	"TestPoisonRecordsDeadLettered",
	"TestInteractiveQueriesRouteToOwner",
	"TestInteractiveQueriesFailover",
	"TestInteractiveQueriesWindowsAndSessions",
}

// kfakeOnly are root broker tests that cannot run against one external cluster, with why.
var kfakeOnly = map[string]string{
	// Two clusters with different cluster ids are the point of the test; the integration
	// module gives a test one cluster (wiped per kafkatest.New, so the id stays the same).
	"TestStateOfAnotherClusterIsWiped": "needs two clusters",
	// The integration image's broker has no SASL listener; kfake's is configured per test.
	"TestWrongPasswordIsAnAuthenticationError": "needs a SASL cluster with known credentials",
}

// clusterSuite are the root tests that also run on a 3-broker cluster, where internal topics
// (changelogs, repartition topics, __consumer_offsets, __transaction_state) have replication
// factor 3 and min.insync.replicas 2, as in production.
var clusterSuite = []string{
	"TestCrashExactlyOnce",
	"TestZombieExactlyOnce",
	"TestFailoverWithStandbys",
	"TestScaleOutWarmsUpFirst",
}

// TestMain checks for a Docker engine and the locally built image before anything runs: without
// them the suite skips on a developer's machine (with the command that builds them) and fails
// under CI, where a skipped real-Kafka suite would be a silent hole.
func TestMain(m *testing.M) {
	// Ryuk, testcontainers' reaper, is an image from a registry: there is none here. Every test
	// terminates its containers itself.
	os.Setenv("TESTCONTAINERS_RYUK_DISABLED", "true")
	if reason := dockerUnavailable(); reason != "" {
		if os.Getenv("CI") != "" {
			fmt.Fprintf(os.Stderr, "integration: %s (CI=%s: failing instead of skipping)\n", reason, os.Getenv("CI"))
			os.Exit(1)
		}
		skipReason = reason + "; run `make test-kafka` (it starts dockerd and builds the image)"
	}
	os.Exit(m.Run())
}

// skipReason is set when the real-Kafka tests cannot run here.
var skipReason string

func needKafka(t testing.TB) {
	t.Helper()
	if skipReason != "" {
		t.Skip(skipReason)
	}
}

func dockerUnavailable() string {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cli, err := testcontainers.NewDockerClientWithOpts(ctx)
	if err != nil {
		return "no Docker client: " + err.Error()
	}
	defer cli.Close()
	if _, err := cli.Ping(ctx); err != nil {
		return "no Docker engine answers: " + err.Error()
	}
	if _, err := cli.ImageInspect(ctx, kafkaImage); err != nil {
		return "image " + kafkaImage + " missing (make kafka-image builds it): " + err.Error()
	}
	return ""
}

func TestSuiteOnRealKafka(t *testing.T) {
	needKafka(t)
	for _, name := range suite {
		t.Run(name, func(t *testing.T) { runRootTest(t, name, clusterOpts{nodes: 1}) })
	}
}

func TestSuiteOnKafkaCluster(t *testing.T) {
	needKafka(t)
	if skipCluster() {
		t.Skip("RILL_SKIP_CLUSTER set: the 3-broker tests run in make test-kafka-cluster")
	}
	for _, name := range clusterSuite {
		t.Run(name, func(t *testing.T) { runRootTest(t, name, clusterOpts{nodes: 3}) })
	}
}

// skipCluster says whether the 3-broker tests are left to make test-kafka-cluster.
func skipCluster() bool { return os.Getenv("RILL_SKIP_CLUSTER") != "" }

// runRootTest runs one root-package test against a fresh cluster, pointed at it by
// kafkatest.ExternalEnv (kafkatest.New then returns the cluster instead of starting kfake).
func runRootTest(t *testing.T, name string, o clusterOpts) {
	bin := rootTestBinary(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	c := startCluster(t, ctx, o)
	start := time.Now()
	cmd := exec.CommandContext(ctx, bin, "-test.count=1", "-test.v", "-test.run", "^"+name+"$")
	cmd.Dir = ".."
	cmd.Env = append(os.Environ(), kafkatest.ExternalEnv+"="+strings.Join(c.Bootstrap(), ","), kafkatest.WipeEnv+"=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s against Kafka %v: %v\n%s", name, c.Bootstrap(), err, out)
	}
	if !strings.Contains(string(out), "--- PASS: "+name) {
		t.Fatalf("%s did not run:\n%s", name, out)
	}
	t.Logf("%s on %d broker(s): %s", name, len(c.ports), time.Since(start).Round(time.Second))
}

var (
	rootBinOnce sync.Once
	rootBin     string
	rootBinErr  error
)

// rootTestBinary compiles the root package's tests once (with the race detector, as make test
// runs them) for every runRootTest.
func rootTestBinary(t *testing.T) string {
	t.Helper()
	rootBinOnce.Do(func() {
		dir, err := os.MkdirTemp("", "rill-root-test")
		if err != nil {
			rootBinErr = err
			return
		}
		rootBin = filepath.Join(dir, "rill.test")
		cmd := exec.Command("go", "test", "-c", "-race", "-o", rootBin, ".")
		cmd.Dir = ".."
		if out, err := cmd.CombinedOutput(); err != nil {
			rootBinErr = fmt.Errorf("go test -c: %v\n%s", err, out)
		}
	})
	if rootBinErr != nil {
		t.Fatal(rootBinErr)
	}
	return rootBin
}

// noBroker are the root package's tests that need no broker.
var noBroker = map[string]bool{"TestCheckExactDetectsDuplicates": true, "TestNewValidatesConfig": true, "TestMain": true,
	"TestStateOfEveryRuntimeState": true, "TestRestoreListenerConverts": true}

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
			if !listed[fn.Name.Name] && kfakeOnly[fn.Name.Name] == "" {
				t.Errorf("%s (%s) is not in suite: add it, or to noBroker if it needs no broker", fn.Name.Name, f)
			}
		}
	}
}
