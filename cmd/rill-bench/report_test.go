package main

import (
	"errors"
	"strings"
	"testing"
)

// Fast checks of the report's arithmetic and formatting; the suite itself is run by hand
// (go run ./cmd/rill-bench), never by go test.

func TestFormatCount(t *testing.T) {
	for n, want := range map[float64]string{0: "0", 999: "999", 1000: "1,000", 1234567.4: "1,234,567", -45678: "-45,678"} {
		if got := formatCount(n); got != want {
			t.Errorf("formatCount(%v) = %q, want %q", n, got, want)
		}
	}
}

func TestRatioToBaseline(t *testing.T) {
	rows := func(name string, eos bool) row { return row{w: lookup(name), eos: eos} }
	rep := &report{results: []result{
		{row: rows(copyBaseline, false), records: 1000, seconds: 1},
		{row: rows(txBaseline, true), records: 1000, seconds: 2},
		{row: rows("streamprocesswithsink", false), records: 1000, seconds: 4},
		{row: rows("streamprocesswithsink", true), records: 1000, seconds: 4},
		{row: rows("streamcount", false), records: 1000, seconds: 1, err: errors.New("boom")},
	}}
	for i, want := range []struct {
		ratio    float64
		baseline string
		ok       bool
	}{{0, "", false}, {0, "", false}, {0.25, copyBaseline, true}, {0.5, txBaseline, true}, {0, countBaseline, false}} {
		ratio, base, ok := rep.ratio(rep.results[i])
		if ratio != want.ratio || base != want.baseline || ok != want.ok {
			t.Errorf("ratio of %s = %v, %q, %v; want %v, %q, %v", rep.results[i].row.name(), ratio, base, ok, want.ratio, want.baseline, want.ok)
		}
	}
	if f := rep.furthest(3); len(f) != 1 || f[0].row.name() != "streamprocesswithsink/alos" {
		t.Errorf("furthest = %v, want the workload once, by its alos row (0.25×, below the eos row's 0.5×)", f)
	}
	table := rep.table()
	for _, want := range []string{"| streamprocesswithsink/eos | exactly-once | 1,000 | 4.00 | 250 | 0.0 | - | 0.00 | 0.50× txcopy |  |",
		"| streamcount/alos | at-least-once | 1,000 | failed | | | | | boom | |"} {
		if !strings.Contains(table, want) {
			t.Errorf("table lacks %q:\n%s", want, table)
		}
	}
}

func TestParseTop(t *testing.T) {
	out := `File: rill-bench
Type: cpu
Showing nodes accounting for 2.80s, 73.49% of 3.81s total
      flat  flat%   sum%        cum   cum%
     1.33s 34.91% 34.91%      1.37s 35.96%  github.com/rillstreams/rill/state/rocksdb.(*store).write.func1
     0.05s  1.31% 36.22%      0.06s  1.57%  encoding/binary.bigEndian.Uint32 (inline)
`
	top, err := parseTop([]byte(out))
	if err != nil {
		t.Fatal(err)
	}
	want := []topFunc{{"github.com/rillstreams/rill/state/rocksdb.(*store).write.func1", 34.91, 35.96},
		{"encoding/binary.bigEndian.Uint32 (inline)", 1.31, 1.57}}
	if len(top) != len(want) || top[0] != want[0] || top[1] != want[1] {
		t.Errorf("parseTop = %+v, want %+v", top, want)
	}
}

func TestSpliceSectionKeepsTheAnalysis(t *testing.T) {
	gen := func(body string) string { return beginMarker + "\n" + body + "\n" + endMarker + "\n" }
	if got := spliceSection("", gen("one")); got != "# Benchmarks\n\n"+gen("one") {
		t.Errorf("new document:\n%s", got)
	}
	doc := "# Benchmarks\n\nintro\n\n" + gen("one") + "\n## Analysis\nkept\n"
	want := "# Benchmarks\n\nintro\n\n" + gen("two") + "\n## Analysis\nkept\n"
	if got := spliceSection(doc, gen("two")); got != want {
		t.Errorf("spliced document:\n%s\nwant:\n%s", got, want)
	}
}

func TestSelectRows(t *testing.T) {
	rows, err := selectRows("streamcount/eos,jsonpipeline", false, false)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range rows {
		names = append(names, r.name())
	}
	if got, want := strings.Join(names, " "), "txcopy rawcount streamcount/eos jsonpipeline/eos"; got != want {
		t.Errorf("rows %q, want %q (baselines added, catalogue order)", got, want)
	}
	if _, err := selectRows("jsonpipeline/alos", false, false); err == nil {
		t.Error("jsonpipeline/alos selected; it runs exactly-once only")
	}
}

func TestKafkaStreamsColumn(t *testing.T) {
	rows := func(name string, eos bool) row { return row{w: lookup(name), eos: eos} }
	rep := &report{results: []result{
		{row: rows(countBaseline, false), records: 1000, seconds: 1},
		{row: rows("streamcount", true), records: 1000, seconds: 1, peakRSSKB: 100 << 10},
		{row: rows(ksPrefix+"streamcount", true), records: 1000, seconds: 4, peakRSSKB: 400 << 10},
		{row: rows("streamcount", false), records: 1000, seconds: 1},
		{row: rows(ksPrefix+"streamcount", false), records: 1000, seconds: 1, err: errors.New("boom")},
		{row: rows("goka", false), records: 1000, seconds: 1},
	}}
	for i, want := range []string{"", "4.00×, RSS 0.25×", "", "kstreams failed", "", "kstreams failed"} {
		if got := rep.kstreamsCell(rep.results[i]); got != want {
			t.Errorf("vs Kafka Streams of %s = %q, want %q", rep.results[i].row.name(), got, want)
		}
	}
	if got := rep.results[5].row.kstreamsPeer(); got != ksPrefix+"streamcount/alos" {
		t.Errorf("goka's peer = %q, want Kafka Streams' streamcount at least once", got)
	}
}

func TestSelectRowsAddsKafkaStreamsPeers(t *testing.T) {
	rows, err := selectRows("streamcount/eos,goka", true, true)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range rows {
		names = append(names, r.name())
	}
	if got, want := strings.Join(names, " "), "rawcount streamcount/eos kstreams-streamcount/eos goka"; got != want {
		t.Errorf("rows %q, want %q (each rill row's peer right after it)", got, want)
	}
	all, err := selectRows("all", false, true)
	if err != nil {
		t.Fatal(err)
	}
	var rill, ks int
	for _, r := range all {
		switch r.w.kind {
		case kindRill:
			rill++
		case kindKStreams:
			ks++
		}
	}
	if rill == 0 || rill != ks {
		t.Errorf("all: %d rill rows, %d Kafka Streams rows; want one peer per rill row", rill, ks)
	}
}
