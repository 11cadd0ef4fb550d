package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"
)

// config is the suite's configuration, from the command line.
type config struct {
	// Records is the number of input records of each workload (the two inputs of a join
	// share them).
	Records int
	// ValueSize is the size of each random value, in bytes.
	ValueSize int
	// Keys is the size of the integer key space.
	Keys int
	// Partitions of every input and output topic.
	Partitions int
	// Bootstrap is an external cluster to use; empty starts an embedded kfake broker per
	// workload.
	Bootstrap []string
	// Workloads are the selected rows, baselines first (see selectRows).
	Workloads []row
	// CPUProfileDir receives one CPU profile per workload when set.
	CPUProfileDir string
	// Out is the markdown report to update (its chart goes beside it, as .svg); empty
	// prints the table only.
	Out string
	// BaselineRuns is how many times each raw baseline runs; the median counts.
	BaselineRuns int
	// Timeout bounds each workload; Stall fails one whose progress stops for this long once
	// it made some.
	Timeout, Stall time.Duration
	// GokaDir is the bench/goka module, built and run as the goka workloads' child.
	GokaDir string
	// KStreamsDir is the bench/kstreams Maven module, built and run as the Kafka Streams
	// peers' child; empty skips them.
	KStreamsDir string
	// Java is the java command; JVMHeap its -Xmx; JVMArgs more options for it.
	Java, JVMHeap, JVMArgs string
	// ChildLogDir receives each child's stderr, one file per row, when set.
	ChildLogDir string
	// StateDir holds the workloads' state directories (default: a fresh temp dir).
	StateDir string
	// CommitInterval, when set, is the commit interval of the rill children (default: rill's,
	// 30 s at least once, 100 ms exactly once). A cached workload's final results wait for a
	// commit: at least once, its clock then measures the commit interval, where the Kafka
	// Streams child asks for a commit at the end of the input (rill has no such request).
	CommitInterval time.Duration
}

// defaultRecords is the size of DESIGN.md's performance targets; the whole suite (50 rows:
// baselines, rill and Kafka Streams under both guarantees, goka) took 29 minutes at this size
// on the project's loaded 2-core machine (2026-12-03), most of it the Kafka Streams rows.
const defaultRecords = 1_000_000

func parseFlags(args []string) (config, error) {
	fs := flag.NewFlagSet("rill-bench", flag.ContinueOnError)
	var cfg config
	var workload, bootstrap string
	fs.IntVar(&cfg.Records, "records", defaultRecords, "input records per workload")
	fs.IntVar(&cfg.ValueSize, "value-size", 100, "bytes per value")
	fs.IntVar(&cfg.Keys, "keys", 10_000, "size of the integer key space")
	fs.IntVar(&cfg.Partitions, "partitions", 8, "partitions of input and output topics")
	fs.StringVar(&workload, "workload", "all", "all, or a comma-separated list of workloads; name/alos or name/eos picks one guarantee. "+
		"The baselines a selected workload is compared with run too. Workloads: "+strings.Join(workloadNames(), ", "))
	fs.StringVar(&bootstrap, "bootstrap", "", "comma-separated brokers of an existing cluster (default: an embedded kfake broker per workload)")
	fs.StringVar(&cfg.CPUProfileDir, "cpuprofile", "", "directory to write one CPU profile per workload to (and print each one's top 5 functions)")
	fs.StringVar(&cfg.Out, "out", "", "markdown file to write the results into (e.g. docs/benchmarks.md); the chart goes beside it as .svg")
	fs.IntVar(&cfg.BaselineRuns, "baseline-runs", 3, "runs of each raw baseline; the median run counts")
	fs.DurationVar(&cfg.Timeout, "timeout", 5*time.Minute, "time limit of one workload")
	fs.DurationVar(&cfg.Stall, "stall", 30*time.Second, "fail a workload whose progress stops for this long once it started")
	fs.StringVar(&cfg.GokaDir, "goka-dir", "bench/goka", "the bench/goka module (empty: skip goka)")
	fs.StringVar(&cfg.KStreamsDir, "kstreams-dir", "bench/kstreams", "the bench/kstreams Maven module, whose jar runs each rill workload on Kafka Streams (empty: skip Kafka Streams)")
	fs.StringVar(&cfg.Java, "java", "java", "the java command that runs the Kafka Streams jar")
	fs.StringVar(&cfg.JVMHeap, "jvm-heap", "1g", "maximum heap of the Kafka Streams JVM (-Xmx)")
	fs.StringVar(&cfg.JVMArgs, "jvm-args", "", "more JVM options for the Kafka Streams child, space-separated")
	fs.StringVar(&cfg.ChildLogDir, "child-log-dir", "", "directory to write each child's stderr to (one file per row)")
	fs.StringVar(&cfg.StateDir, "state-dir", "", "where workloads keep their state (default: a fresh temporary directory)")
	fs.DurationVar(&cfg.CommitInterval, "commit-interval", 0, "commit interval of the rill workloads (default: rill's per guarantee)")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if bootstrap != "" {
		cfg.Bootstrap = strings.Split(bootstrap, ",")
	}
	rows, err := selectRows(workload, cfg.GokaDir != "", cfg.KStreamsDir != "")
	if err != nil {
		return cfg, err
	}
	cfg.Workloads = rows
	return cfg, cfg.validate()
}

func (c config) validate() error {
	var errs []error
	if c.Records < 2 {
		errs = append(errs, errors.New("--records must be at least 2"))
	}
	if c.ValueSize < 1 || c.Keys < 1 || c.Partitions < 1 || c.BaselineRuns < 1 {
		errs = append(errs, errors.New("--value-size, --keys, --partitions and --baseline-runs must be positive"))
	}
	if c.Timeout <= 0 || c.Stall <= 0 {
		errs = append(errs, errors.New("--timeout and --stall must be positive"))
	}
	for _, dir := range []string{c.CPUProfileDir, c.ChildLogDir} {
		if dir != "" {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}
