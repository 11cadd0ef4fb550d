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
)

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
	// done. nil means it writes no output: the child reports the records it processed.
	results func(g gen, n int) int64
	// compare is the raw baseline it is measured against: consumeBaseline, countBaseline, or
	// copyBaseline (which means txcopy under exactly-once). Empty for baselines.
	compare string
	// run is the child's side; nil for goka, which is a binary of its own.
	run func(ctx context.Context, s childSpec, p *progress) error
	// gokaStorage is goka's storage: leveldb or memory.
	gokaStorage string
	// noCache runs the rill App with the record cache off (CacheMaxBytes: -1).
	noCache bool
	// drained marks rill workloads whose output is folded by the record cache, so that its
	// size is unknown: the child counts its input records as its sources read them and, once
	// it has read them all, stops the App, whose last commit flushes the caches; the clock
	// stops when the App has stopped, every result written and committed.
	drained bool
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
	{name: "streamcount", kind: kindRill, about: "groupByKey().count() (RocksDB, changelog, record cache) -> sink", data: dsSingle,
		drained: true, compare: countBaseline},
	{name: "streamcount-nocache", kind: kindRill, about: "streamcount with the record cache off: one output per input", data: dsSingle,
		results: allRecords, noCache: true, compare: countBaseline},
	{name: "streamcountwindowed", kind: kindRill, about: "groupByKey(), hopping 1 s / 0.5 s windows, count() -> sink (record cache)", data: dsSingle,
		drained: true, compare: countBaseline},
	{name: "streamcountwindowed-nocache", kind: kindRill, about: "streamcountwindowed with the record cache off", data: dsSingle,
		results: func(_ gen, n int) int64 { return 2 * int64(n) }, noCache: true, compare: countBaseline},
	{name: "streamtablejoin", kind: kindRill, about: "stream leftJoin table -> sink", data: dsTwo,
		results: func(_ gen, n int) int64 { l, _ := split(n); return int64(l) }, compare: copyBaseline},
	{name: "streamstreamjoin", kind: kindRill, about: "stream join stream within 10 s -> sink", data: dsTwo,
		results: streamJoinResults, compare: copyBaseline},
	{name: "tabletablejoin", kind: kindRill, about: "table outerJoin table -> sink (record cache)", data: dsTwo, drained: true,
		compare: copyBaseline},
	{name: "tabletablejoin-nocache", kind: kindRill, about: "tabletablejoin with the record cache off", data: dsTwo, results: allRecords,
		noCache: true, compare: copyBaseline},
	{name: "yahoo", kind: kindRill, about: "Yahoo streaming benchmark: filter views, join campaigns, 10 s tumbling counts per campaign (record cache)",
		data: dsYahoo, drained: true, compare: countBaseline},
	{name: "yahoo-nocache", kind: kindRill, about: "yahoo with the record cache off",
		data: dsYahoo, results: func(_ gen, n int) int64 { return yahooResults(n) }, noCache: true, compare: countBaseline},
	{name: "jsonpipeline", kind: kindRill, about: "stateless: JSON decode -> filter -> map -> JSON encode -> sink", data: dsJSON,
		eos: true, results: pipelineResults, compare: copyBaseline},

	{name: "goka", kind: kindGoka, about: "streamcount with goka (LevelDB)", data: dsSingle, alos: true, results: allRecords,
		compare: countBaseline, gokaStorage: "leveldb"},
	{name: "goka-memory", kind: kindGoka, about: "streamcount with goka (in-memory storage)", data: dsSingle, alos: true,
		results: allRecords, compare: countBaseline, gokaStorage: "memory"},
}

func init() {
	for _, w := range catalogue {
		if w.kind == kindRill {
			w.run = runRill
			if !w.eos {
				w.alos, w.eos = true, true // every rill workload runs under both guarantees
			}
		}
	}
}

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
	if r.w.kind != kindRill {
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
// are added, and rows come in catalogue order (baselines first).
func selectRows(spec string, goka bool) ([]row, error) {
	want := map[string]bool{}
	for _, item := range strings.Split(spec, ",") {
		item = strings.TrimSpace(item)
		if item == "all" {
			for _, w := range catalogue {
				if w.kind != kindGoka || goka {
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
