package main

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"
)

// report renders a run's results: a markdown table on stdout and, with --out, a generated
// section of docs/benchmarks.md plus its SVG chart.
type report struct {
	cfg     config
	results []result
	wall    time.Duration
	date    time.Time
	machine string
	load    loadRange // the machine's load average over the run
	java    string    // the JVM of the Kafka Streams rows ("" without them)
}

func newReport(cfg config, results []result, wall time.Duration) *report {
	return &report{cfg: cfg, results: results, wall: wall, date: time.Now().UTC(),
		machine: fmt.Sprintf("%d CPUs (%s), %s %s/%s", runtime.NumCPU(), cpuModel(), runtime.Version(), runtime.GOOS, runtime.GOARCH)}
}

// ratio is a row's throughput over its baseline's, in the same run; ok is false for
// baselines and when either row failed.
func (r *report) ratio(res result) (ratio float64, baseline string, ok bool) {
	baseline = res.row.baseline()
	if baseline == "" || res.err != nil {
		return 0, baseline, false
	}
	for _, b := range r.results {
		if b.row.name() == baseline && b.err == nil {
			return res.rate() / b.rate(), baseline, true
		}
	}
	return 0, baseline, false
}

// furthest returns the n rill workloads furthest below their baselines, each by its row with
// the lowest ratio.
func (r *report) furthest(n int) []result {
	worst := map[string]result{}
	for _, res := range r.results {
		ratio, _, ok := r.ratio(res)
		if !ok || res.row.w.kind != kindRill {
			continue
		}
		if w, seen := worst[res.row.w.name]; !seen || ratio < r.mustRatio(w) {
			worst[res.row.w.name] = res
		}
	}
	rows := make([]result, 0, len(worst))
	for _, res := range worst {
		rows = append(rows, res)
	}
	sort.Slice(rows, func(i, j int) bool { return r.mustRatio(rows[i]) < r.mustRatio(rows[j]) })
	return rows[:min(n, len(rows))]
}

// kstreamsRatio compares a row with its Kafka Streams peer (kstreamsPeer) in the same run:
// records/s over the peer's and peak RSS over the peer's. ok is false when the row has no
// peer or either failed; peer is then the peer's name, or "".
func (r *report) kstreamsRatio(res result) (rate, rss float64, peer string, ok bool) {
	peer = res.row.kstreamsPeer()
	if peer == "" || res.err != nil {
		return 0, 0, peer, false
	}
	for _, k := range r.results {
		if k.row.name() == peer && k.err == nil {
			return res.rate() / k.rate(), float64(res.peakRSSKB) / float64(k.peakRSSKB), peer, true
		}
	}
	return 0, 0, peer, false
}

// kstreamsCell is a row's "vs Kafka Streams" column.
func (r *report) kstreamsCell(res result) string {
	rate, rss, peer, ok := r.kstreamsRatio(res)
	switch {
	case ok:
		return fmt.Sprintf("%s, RSS %s", formatRatio(rate), formatRatio(rss))
	case peer == "" || res.err != nil:
		return ""
	}
	for _, k := range r.results {
		if k.row.name() == peer {
			return "kstreams failed"
		}
	}
	return "" // the peer did not run
}

func (r *report) mustRatio(res result) float64 {
	ratio, _, _ := r.ratio(res)
	return ratio
}

func (r *report) setup() string {
	broker := "an embedded kfake broker (fresh per workload, in the parent process)"
	if len(r.cfg.Bootstrap) > 0 {
		broker = "the cluster at " + strings.Join(r.cfg.Bootstrap, ",")
	}
	var ks string
	if r.java != "" {
		ks = fmt.Sprintf("Kafka Streams %s on %s, -Xmx%s. ", kstreamsVersion, r.java, r.cfg.JVMHeap)
	}
	return fmt.Sprintf("Machine: %s. Date: %s. Broker: %s; %d partitions per topic.\n"+
		"Input: %s records per workload, %s integer keys, %d-byte values; one stream thread. %s"+
		"Raw baselines: the median of %d runs.\n"+
		"Suite wall time: %s; %s.\n",
		r.machine, r.date.Format("2006-01-02"), broker, r.cfg.Partitions,
		formatCount(float64(r.cfg.Records)), formatCount(float64(r.cfg.Keys)), r.cfg.ValueSize, ks, r.cfg.BaselineRuns,
		r.wall.Round(time.Second), r.load)
}

// table is the results as a markdown table.
func (r *report) table() string {
	var b strings.Builder
	b.WriteString("| workload | guarantee | records | seconds | records/s | MB/s | peak RSS | CPU s | vs baseline | vs Kafka Streams |\n")
	b.WriteString("|---|---|--:|--:|--:|--:|--:|--:|---|---|\n")
	for _, res := range r.results {
		if res.err != nil {
			fmt.Fprintf(&b, "| %s | %s | %s | failed | | | | | %s | |\n", res.row.name(), res.row.guarantee(),
				formatCount(float64(res.records)), firstLine(res.err.Error()))
			continue
		}
		vs := "baseline"
		if ratio, base, ok := r.ratio(res); ok {
			vs = formatRatio(ratio) + " " + base
		} else if base != "" {
			vs = base + " failed"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %.2f | %s | %.1f | %s | %.2f | %s | %s |\n", res.row.name(), res.row.guarantee(),
			formatCount(float64(res.records)), res.seconds, formatCount(res.rate()), res.mbps(), formatRSS(res.peakRSSKB), res.cpu,
			vs, r.kstreamsCell(res))
	}
	return b.String()
}

// workloads says what each workload of the table does.
func (r *report) workloads() string {
	var b strings.Builder
	seen := map[string]bool{}
	ks := false
	for _, res := range r.results {
		w := res.row.w
		if w.kind == kindKStreams {
			ks = true
			continue
		}
		if !seen[w.name] {
			seen[w.name] = true
			fmt.Fprintf(&b, "- `%s`: %s\n", w.name, w.about)
		}
	}
	if ks {
		fmt.Fprintf(&b, "- `%s<workload>`: the rill workload of that name on Kafka Streams %s (bench/kstreams, a JVM with -Xmx%s)\n",
			ksPrefix, kstreamsVersion, r.cfg.JVMHeap)
	}
	return b.String()
}

// profiles lists the top functions of every profiled row.
func (r *report) profiles() string {
	var b strings.Builder
	for _, res := range r.results {
		if len(res.top) == 0 {
			continue
		}
		fmt.Fprintf(&b, "- **%s**: %s\n", res.row.name(), formatTop(res.top))
	}
	return b.String()
}

func (r *report) furthestText() string {
	var b strings.Builder
	for i, res := range r.furthest(3) {
		ratio, base, _ := r.ratio(res)
		fmt.Fprintf(&b, "%d. **%s**: %s of %s", i+1, res.row.name(), formatRatio(ratio), base)
		if len(res.top) > 0 {
			fmt.Fprintf(&b, "; top functions (flat / cumulative %% of CPU samples): %s", formatTop(res.top))
		}
		b.WriteString("\n")
	}
	return b.String()
}

// text is what the command prints.
func (r *report) text() string {
	var b strings.Builder
	b.WriteString("\n" + r.setup() + "\n" + r.table())
	if f := r.furthestText(); f != "" {
		b.WriteString("\nFurthest from their baselines:\n" + f)
	}
	if p := r.profiles(); p != "" {
		b.WriteString("\nTop 5 functions per workload (flat% / cum%):\n" + p)
	}
	return b.String()
}

// The generated part of the markdown file sits between these markers; the rest of the file
// (the analysis) is kept as it is.
const (
	beginMarker = "<!-- rill-bench:begin: generated by `go run ./cmd/rill-bench --out`; edits here are overwritten -->"
	endMarker   = "<!-- rill-bench:end -->"
)

// section is the generated markdown.
func (r *report) section(chart string) string {
	var b strings.Builder
	b.WriteString(beginMarker + "\n\n" + r.setup() + "\n" + r.table())
	b.WriteString("\n" + r.workloads())
	fmt.Fprintf(&b, "\n![records/s per workload](%s)\n", chart)
	if f := r.furthestText(); f != "" {
		b.WriteString("\nFurthest from their baselines:\n\n" + f)
	}
	if p := r.profiles(); p != "" {
		b.WriteString("\n<details><summary>Top 5 functions of each workload's CPU profile (flat% / cum%)</summary>\n\n" + p + "\n</details>\n")
	}
	b.WriteString("\n" + endMarker + "\n")
	return b.String()
}

// write updates the markdown file at path and writes the chart beside it.
func (r *report) write(path string) error {
	chart := strings.TrimSuffix(path, filepath.Ext(path)) + ".svg"
	if err := os.WriteFile(chart, []byte(r.svg()), 0o644); err != nil {
		return err
	}
	old, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return os.WriteFile(path, []byte(spliceSection(string(old), r.section(filepath.Base(chart)))), 0o644)
}

// spliceSection replaces the generated section of doc, or appends one (to a titled page when
// doc is empty).
func spliceSection(doc, section string) string {
	begin := strings.Index(doc, beginMarker)
	end := strings.Index(doc, endMarker)
	if begin >= 0 && end > begin {
		return doc[:begin] + section + strings.TrimPrefix(doc[end+len(endMarker):], "\n")
	}
	if doc == "" {
		return "# Benchmarks\n\n" + section
	}
	return strings.TrimRight(doc, "\n") + "\n\n" + section
}

func formatTop(top []topFunc) string {
	parts := make([]string, len(top))
	for i, f := range top {
		parts[i] = fmt.Sprintf("`%s` %.1f%% / %.1f%%", f.Name, f.FlatPct, f.CumPct)
	}
	return strings.Join(parts, ", ")
}

// formatCount writes n rounded to an integer with thousands separators: 1,234,567.
func formatCount(n float64) string {
	if math.IsNaN(n) || math.IsInf(n, 0) {
		return "-"
	}
	s := strconv.FormatInt(int64(math.Round(n)), 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

func formatRatio(x float64) string { return fmt.Sprintf("%.2f×", x) }

func formatRSS(kb int64) string {
	if kb <= 0 {
		return "-"
	}
	return fmt.Sprintf("%d MiB", (kb+512)/1024)
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return strings.ReplaceAll(line, "|", "/")
}

// cpuModel is the "model name" of /proc/cpuinfo ("unknown CPU" elsewhere).
func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown CPU"
}
