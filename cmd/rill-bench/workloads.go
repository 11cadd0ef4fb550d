package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
)

// kind says who runs a workload.
type kind int

const (
	kindBaseline kind = iota // raw franz-go, in a child process
	kindRill                 // a rill App, in a child process
	kindGoka                 // the bench/goka module's binary
	kindKStreams             // the bench/kstreams module's jar: a rill workload on Kafka Streams
)

// ksPrefix names the Kafka Streams peer of a rill workload: kstreams-streamcount.
const ksPrefix = "kstreams-"

// dataset is the input a workload reads.
type dataset int

const (
	dsSingle dataset = iota // "in": integer keys, random values
	dsTwo                   // "in" and "right": the two sides of a join, half the records each
	dsJSON                  // "in": JSON orders
	dsYahoo                 // "campaigns" (ad -> campaign), then "in": JSON ad events keyed by ad
)

// baseline names for ratios.
const (
	consumeBaseline = "consume"
	copyBaseline    = "consumeproduce"
	txBaseline      = "txcopy"
	countBaseline   = "rawcount"
)

// workload is one benchmark: its input, how to tell it finished, and how to run it.
type workload struct {
	name  string
	kind  kind
	about string
	data  dataset
	// alos and eos are the guarantees it runs under (baselines have exactly one, or none).
	alos, eos bool
	// results is how many records the output topic "out" must show when the workload is
	// done, for workloads whose output is a stream (copies, joins of streams). nil (and
	// finals nil) means it writes no output: the child reports the records it processed.
	results func(g gen, n int) int64
	// finals is, for workloads whose output is a table's changes (counts, the table-table
	// join), the final value of every key: the workload is done when the output topic's last
	// record of every key holds it. A record cache (Kafka Streams') sends fewer updates than
	// records, so their number says nothing; the last ones are the same with or without it.
	finals func(g gen, n int) finals
	// commitAfter is how many records reach the workload's cached operation (counts, table
	// joins). The Kafka Streams child asks for a commit after the last of them, which flushes
	// its cache at the end of the input instead of up to a commit interval (30 s at least
	// once) later. nil where there is no cache.
	commitAfter func(g gen, n int) int64
	// compare is the raw baseline it is measured against: consumeBaseline, countBaseline, or
	// copyBaseline (which means txcopy under exactly-once). Empty for baselines.
	compare string
	// run is the child's side; nil for goka, which is a binary of its own.
	run func(ctx context.Context, s childSpec, p *progress) error
	// gokaStorage is goka's storage: leveldb or memory.
	gokaStorage string
	// optIn rows run only when named, not with "all" (metrics twins).
	optIn bool
}

func allRecords(_ gen, n int) int64 { return int64(n) }

var catalogue = []*workload{
	{name: consumeBaseline, kind: kindBaseline, about: "raw franz-go consumer, no group", data: dsSingle, run: runConsume},
	{name: copyBaseline, kind: kindBaseline, about: "raw franz-go group consumer + producer copy, commit as rill at-least-once", data: dsSingle,
		alos: true, results: allRecords, run: runConsumeProduce},
	{name: txBaseline, kind: kindBaseline, about: "raw franz-go GroupTransactSession copy, a transaction per 100 ms", data: dsSingle,
		eos: true, results: allRecords, run: runTxCopy},
	{name: countBaseline, kind: kindBaseline, about: "raw franz-go count by key in a Go map, one output per input", data: dsSingle,
		alos: true, results: allRecords, run: runRawCount},

	{name: "streamprocess", kind: kindRill, about: "source -> foreach", data: dsSingle, compare: consumeBaseline},
	{name: "streamprocesswithsink", kind: kindRill, about: "source -> peek -> sink", data: dsSingle, results: allRecords, compare: copyBaseline},
	// The store workloads have no output topic, but their changelog is a produce per record:
	// their Kafka work is a copy's.
	{name: "streamprocesswithstatestore", kind: kindRill, about: "process: get + put on a logged RocksDB key-value store", data: dsSingle,
		compare: copyBaseline},
	{name: "streamprocesswithwindowstore", kind: kindRill, about: "process: fetch + put on a logged RocksDB window store (1 s windows, 3 s retention)",
		data: dsSingle, compare: copyBaseline},
	{name: "streamcount", kind: kindRill, about: "groupByKey().count() (RocksDB, changelog) -> sink", data: dsSingle, finals: countFinals,
		commitAfter: allRecords, compare: countBaseline},
	{name: "streamcountwindowed", kind: kindRill, about: "groupByKey(), hopping 1 s / 0.5 s windows, count() -> sink", data: dsSingle,
		finals: windowedCountFinals, commitAfter: allRecords, compare: countBaseline},
	{name: "streamtablejoin", kind: kindRill, about: "stream leftJoin table -> sink", data: dsTwo,
		results: func(_ gen, n int) int64 { l, _ := split(n); return int64(l) }, compare: copyBaseline},
	{name: "streamstreamjoin", kind: kindRill, about: "stream join stream within 10 s -> sink", data: dsTwo,
		results: streamJoinResults, compare: copyBaseline},
	{name: "tabletablejoin", kind: kindRill, about: "table outerJoin table -> sink", data: dsTwo, finals: tableJoinFinals,
		commitAfter: allRecords, compare: copyBaseline},
	{name: "yahoo", kind: kindRill, about: "Yahoo streaming benchmark: filter views, join campaigns, 10 s tumbling counts per campaign",
		data: dsYahoo, finals: yahooFinals, commitAfter: func(_ gen, n int) int64 { return yahooViews(n) }, compare: countBaseline},
	{name: "jsonpipeline", kind: kindRill, about: "stateless: JSON decode -> filter -> map -> JSON encode -> sink", data: dsJSON,
		eos: true, results: pipelineResults, compare: copyBaseline},

	{name: "goka", kind: kindGoka, about: "streamcount with goka (LevelDB)", data: dsSingle, alos: true, results: allRecords,
		compare: countBaseline, gokaStorage: "leveldb"},
	{name: "goka-memory", kind: kindGoka, about: "streamcount with goka (in-memory storage)", data: dsSingle, alos: true,
		results: allRecords, compare: countBaseline, gokaStorage: "memory"},
}

func init() {
	var all []*workload
	for _, w := range catalogue {
		all = append(all, w)
		if w.kind == kindRill {
			w.run = runRill
			if !w.eos {
				w.alos, w.eos = true, true // every rill workload runs under both guarantees
			}
			// Its Kafka Streams peer comes right after it: same input, output, guarantees and
			// end rule, run by the bench/kstreams jar.
			ks := *w
			ks.name, ks.kind, ks.run = ksPrefix+w.name, kindKStreams, nil
			ks.about = "`" + w.name + "` on Kafka Streams " + kstreamsVersion
			all = append(all, &ks)
		}
	}
	catalogue = all
	addMetricsTwins()
	addNocacheTwins()
}

// hasOutput says whether the workload writes results to "out" (else its child counts what it
// processed).
func (w *workload) hasOutput() bool { return w.results != nil || w.finals != nil }

func workloadNames() []string {
	names := make([]string, len(catalogue))
	for i, w := range catalogue {
		names[i] = w.name
	}
	return names
}

func lookup(name string) *workload {
	for _, w := range catalogue {
		if w.name == name {
			return w
		}
	}
	return nil
}

// row is one line of the report: a workload under one guarantee.
type row struct {
	w   *workload
	eos bool
}

// name is the row's name: the workload's, with /alos or /eos for rill workloads.
func (r row) name() string {
	if r.w.kind != kindRill && r.w.kind != kindKStreams {
		return r.w.name
	}
	if r.eos {
		return r.w.name + "/eos"
	}
	return r.w.name + "/alos"
}

// guarantee is the row's processing guarantee, for the report.
func (r row) guarantee() string {
	switch {
	case r.w.name == consumeBaseline:
		return "-"
	case r.eos:
		return "exactly-once"
	default:
		return "at-least-once"
	}
}

// kstreamsPeer is the name of the Kafka Streams row this row is compared with: the same
// workload and guarantee for rill rows, streamcount at least once for goka; "" for others.
func (r row) kstreamsPeer() string {
	switch r.w.kind {
	case kindRill:
		return ksPrefix + r.name()
	case kindGoka:
		return ksPrefix + "streamcount/alos"
	}
	return ""
}

// baseline is the name of the row the ratio is taken against ("" for baselines).
func (r row) baseline() string {
	if r.w.compare == copyBaseline && r.eos {
		return txBaseline
	}
	return r.w.compare
}

// rowsOf expands a workload into its rows, at-least-once first.
func rowsOf(w *workload) []row {
	var rows []row
	if w.alos || !w.eos {
		rows = append(rows, row{w: w})
	}
	if w.eos {
		rows = append(rows, row{w: w, eos: true})
	}
	return rows
}

// selectRows parses --workload: "all" or a comma-separated list of workload names, each
// optionally suffixed with /alos or /eos. The baselines the selected rows are compared with
// are added, and so are the Kafka Streams peers of rill rows when kstreams is set; rows come
// in catalogue order (baselines first).
func selectRows(spec string, goka, kstreams bool) ([]row, error) {
	want := map[string]bool{}
	for _, item := range strings.Split(spec, ",") {
		item = strings.TrimSpace(item)
		if item == "all" {
			for _, w := range catalogue {
				if (w.kind != kindGoka || goka) && (w.kind != kindKStreams || kstreams) && !w.optIn {
					for _, r := range rowsOf(w) {
						want[r.name()] = true
					}
				}
			}
			continue
		}
		name, guarantee, hasGuarantee := strings.Cut(item, "/")
		w := lookup(name)
		if w == nil {
			return nil, fmt.Errorf("unknown workload %q (known: %s)", name, strings.Join(workloadNames(), ", "))
		}
		matched := false
		for _, r := range rowsOf(w) {
			if !hasGuarantee || strings.HasSuffix(r.name(), "/"+guarantee) {
				want[r.name()] = true
				matched = true
			}
		}
		if !matched {
			return nil, fmt.Errorf("workload %q: no guarantee %q (use alos or eos)", name, guarantee)
		}
	}
	var rows []row
	for _, w := range catalogue {
		for _, r := range rowsOf(w) {
			if want[r.name()] && kstreams && r.w.kind == kindRill {
				want[r.kstreamsPeer()] = true
			}
		}
	}
	for _, w := range catalogue {
		for _, r := range rowsOf(w) {
			if want[r.name()] && r.baseline() != "" {
				want[r.baseline()] = true
			}
		}
	}
	for _, w := range catalogue {
		for _, r := range rowsOf(w) {
			if want[r.name()] {
				rows = append(rows, r)
			}
		}
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("no workload selected by %q", spec)
	}
	return slices.Clip(rows), nil
}
