package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// result is one row's measurement.
type result struct {
	row       row
	records   int64 // input records: the work that was timed
	bytes     int64 // their keys and values
	seconds   float64
	peakRSSKB int64
	cpu       float64 // the child's CPU seconds over the clock
	profile   string  // CPU profile file, when --cpuprofile
	top       []topFunc
	err       error
}

func (r result) rate() float64 { return float64(r.records) / r.seconds }
func (r result) mbps() float64 { return float64(r.bytes) / 1e6 / r.seconds }

// suite is what the rows of one run share.
type suite struct {
	cfg   config
	gen   gen
	runID string
	self  string // this binary, re-executed as the child
	state string // root of the workloads' state directories

	gokaOnce sync.Once
	gokaBin  string
	gokaErr  error

	ksOnce sync.Once
	ksJar  string
	ksErr  error
}

// runSuite runs every selected row, one at a time, and reports.
func runSuite(ctx context.Context, cfg config) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	s := &suite{cfg: cfg, gen: newGen(cfg), runID: fmt.Sprintf("%06x", time.Now().UnixNano()&0xffffff), self: self, state: cfg.StateDir}
	if s.state == "" {
		if s.state, err = os.MkdirTemp("", "rill-bench-"); err != nil {
			return err
		}
		defer os.RemoveAll(s.state)
	}
	began := time.Now()
	var results []result
	var load loadRange
	for _, r := range cfg.Workloads {
		load.sample()
		fmt.Fprintf(os.Stderr, "%-36s ", r.name())
		runs := 1
		if r.w.kind == kindBaseline {
			// Every ratio divides by a baseline, and baselines are short runs: take the
			// median of a few so that one noisy run does not skew a whole column.
			runs = cfg.BaselineRuns
		}
		var tries []result
		for i := range runs {
			tries = append(tries, s.runRow(ctx, r, i == 0))
			if ctx.Err() != nil {
				return ctx.Err()
			}
		}
		res := median(tries)
		if res.err != nil {
			fmt.Fprintf(os.Stderr, "FAILED: %v\n", res.err)
		} else {
			fmt.Fprintf(os.Stderr, "%9.0f records/s  %6.2fs  peak RSS %s  CPU %.2fs\n", res.rate(), res.seconds, formatRSS(res.peakRSSKB), res.cpu)
		}
		results = append(results, res)
	}
	for i := range results {
		if results[i].profile != "" {
			results[i].top, err = topFunctions(results[i].profile, 5)
			if err != nil {
				fmt.Fprintf(os.Stderr, "profile of %s: %v\n", results[i].row.name(), err)
			}
		}
	}
	load.sample()
	rep := newReport(cfg, results, time.Since(began))
	rep.load = load
	if cfg.KStreamsDir != "" {
		rep.java = javaVersion(cfg.Java)
	}
	fmt.Print(rep.text())
	if cfg.Out != "" {
		return rep.write(cfg.Out)
	}
	return nil
}

// median returns the run of median time among the successful ones (the first failure when
// none succeeded); the profile is the first run's.
func median(runs []result) result {
	var ok []result
	for _, r := range runs {
		if r.err == nil {
			ok = append(ok, r)
		}
	}
	if len(ok) == 0 {
		return runs[0]
	}
	sort.Slice(ok, func(i, j int) bool { return ok[i].seconds < ok[j].seconds })
	m := ok[len(ok)/2]
	m.profile = runs[0].profile
	return m
}

// runRow measures one row on a fresh broker (or fresh topics of the external one), with a CPU
// profile when profile is set and --cpuprofile was given.
func (s *suite) runRow(ctx context.Context, r row, profile bool) (res result) {
	res.row = r
	addrs := s.cfg.Bootstrap
	if len(addrs) == 0 {
		b, err := startBroker(s.cfg.Partitions)
		if err != nil {
			res.err = err
			return res
		}
		defer b.Close()
		addrs = b.ListenAddrs()
	}
	slug := strings.ReplaceAll(r.name(), "/", "-")
	spec := childSpec{Workload: r.w.name, EOS: r.eos, Bootstrap: addrs, Prefix: "bench-" + s.runID + "-" + slug + "-",
		StateDir: filepath.Join(s.state, slug)}
	spec.AppID = spec.Prefix + "app"
	spec.CommitInterval = s.cfg.CommitInterval
	if s.cfg.CPUProfileDir != "" && profile && r.w.kind != kindKStreams { // the JVM writes no Go profile
		spec.CPUProfile, _ = filepath.Abs(filepath.Join(s.cfg.CPUProfileDir, slug+".pprof"))
		res.profile = spec.CPUProfile
	}
	defer os.RemoveAll(spec.StateDir)
	out := spec.topic("out")
	if r.w.kind == kindGoka {
		out = spec.AppID + "-table" // goka's group table is its output
	}

	admin, err := kgo.NewClient(kgo.SeedBrokers(addrs...))
	if err != nil {
		res.err = err
		return res
	}
	defer admin.Close()
	adm := kadm.NewClient(admin)
	if len(s.cfg.Bootstrap) > 0 {
		defer deleteTopics(adm, spec.Prefix)
	}
	if err := s.createTopics(ctx, adm, r, spec, out); err != nil {
		res.err = fmt.Errorf("create topics: %w", err)
		return res
	}
	if res.records, res.bytes, err = s.produceInput(ctx, addrs, r.w.data, spec); err != nil {
		res.err = fmt.Errorf("produce input: %w", err)
		return res
	}
	var want expectation
	switch {
	case r.w.results != nil:
		want.count = r.w.results(s.gen, s.cfg.Records)
	case r.w.finals != nil:
		want.finals = r.w.finals(s.gen, s.cfg.Records)
	default:
		spec.Target = res.records
	}
	if r.w.commitAfter != nil {
		spec.CommitAfter = r.w.commitAfter(s.gen, s.cfg.Records)
	}
	cmd, err := s.command(r, spec)
	if err != nil {
		res.err = err
		return res
	}
	var logPath string
	if s.cfg.ChildLogDir != "" {
		logPath = filepath.Join(s.cfg.ChildLogDir, slug+".log")
	}
	m, err := s.measure(ctx, cmd, addrs, out, want, r.eos, logPath)
	res.seconds, res.peakRSSKB, res.cpu, res.err = m.seconds, m.peakRSSKB, m.cpuSeconds, err
	return res
}

func (s *suite) createTopics(ctx context.Context, adm *kadm.Client, r row, spec childSpec, out string) error {
	roles := map[dataset][]string{dsSingle: {"in"}, dsJSON: {"in"}, dsTwo: {"in", "right"}, dsYahoo: {"campaigns", "in"}}[r.w.data]
	topics := make([]string, 0, len(roles))
	for _, role := range roles {
		topics = append(topics, spec.topic(role))
	}
	if r.w.hasOutput() && r.w.kind != kindGoka {
		topics = append(topics, out)
	}
	resp, err := adm.CreateTopics(ctx, int32(s.cfg.Partitions), -1, nil, topics...)
	if err == nil {
		err = resp.Error()
	}
	if err != nil || r.w.kind != kindGoka {
		return err
	}
	compact := "compact"
	tr, err := adm.CreateTopic(ctx, int32(s.cfg.Partitions), -1, map[string]*string{"cleanup.policy": &compact}, out)
	if err == nil {
		err = tr.Err
	}
	return err
}

// produceInput writes the workload's input, before the clock starts. It returns the number
// and size of the records whose processing is timed.
func (s *suite) produceInput(ctx context.Context, addrs []string, data dataset, spec childSpec) (records, bytes int64, err error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...),
		kgo.RecordPartitioner(kgo.StickyKeyPartitioner(nil)), // Kafka's murmur2: inputs co-partitioned as rill expects
		kgo.ProducerBatchCompression(kgo.NoCompression()),    // as SimpleBenchmark's Java producer
		kgo.MaxBufferedRecords(1<<16))
	if err != nil {
		return 0, 0, err
	}
	defer cl.Close()
	var perr produceErrs
	send := func(topic string, key, value []byte, ts int64, timed bool) {
		if timed {
			records++
			bytes += int64(len(key) + len(value))
		}
		cl.Produce(ctx, &kgo.Record{Topic: topic, Key: key, Value: value, Timestamp: time.UnixMilli(ts)}, perr.callback)
	}
	g, n := s.gen, s.cfg.Records
	switch data {
	case dsSingle:
		for i := range n {
			send(spec.topic("in"), keyBytes(g.key(sideLeft, i)), g.value(sideLeft, i), g.ts(i), true)
		}
	case dsTwo:
		// Interleaved by timestamp, as two live streams would arrive.
		nl, nr := split(n)
		for i := range nl {
			send(spec.topic("in"), keyBytes(g.key(sideLeft, i)), g.value(sideLeft, i), g.ts(i), true)
			if i < nr {
				send(spec.topic("right"), keyBytes(g.key(sideRight, i)), g.value(sideRight, i), g.ts(i), true)
			}
		}
	case dsJSON:
		for i := range n {
			send(spec.topic("in"), keyBytes(g.key(sideLeft, i)), g.orderValue(i), g.ts(i), true)
		}
	case dsYahoo:
		// The campaigns first and older, so the table is there before the events.
		for ad := range yahooCampaigns * yahooAdsPerCamp {
			send(spec.topic("campaigns"), []byte(yahooAd(ad)), []byte(yahooCampaign(ad)), g.base-1000, false)
		}
		if err := cl.Flush(ctx); err != nil {
			return 0, 0, err
		}
		for i := range n {
			k, v := g.yahooEvent(i)
			send(spec.topic("in"), []byte(k), v, g.ts(i), true)
		}
	}
	if err := cl.Flush(ctx); err != nil {
		return 0, 0, err
	}
	return records, bytes, perr.first()
}

// deleteTopics removes a row's topics from an external cluster, internal ones included.
func deleteTopics(adm *kadm.Client, prefix string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	topics, err := adm.ListTopics(ctx)
	if err != nil {
		return
	}
	var mine []string
	for _, t := range topics.Names() {
		if strings.HasPrefix(t, prefix) {
			mine = append(mine, t)
		}
	}
	if len(mine) > 0 {
		_, _ = adm.DeleteTopics(ctx, mine...)
	}
}
