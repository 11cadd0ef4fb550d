package main

import (
	"fmt"
	"html"
	"strings"
)

// svg draws records/s per row as horizontal bars, by hand: a plotting library would be a
// dependency of the main module for one picture.
func (r *report) svg() string {
	const (
		labelW, barW, valueW = 300, 500, 110 // labels up to kstreams-streamprocesswithwindowstore/alos
		rowH, top, bottom    = 22, 58, 16
		width                = labelW + barW + valueW
	)
	maxRate := 0.0
	for _, res := range r.results {
		if res.err == nil {
			maxRate = max(maxRate, res.rate())
		}
	}
	height := top + rowH*len(r.results) + bottom
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n",
		width, height, width, height)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="white"/>`+"\n", width, height)
	fmt.Fprintf(&b, `<text x="10" y="20" font-size="14" font-weight="bold">records/s per workload (%s records, %s)</text>`+"\n",
		formatCount(float64(r.cfg.Records)), html.EscapeString(r.date.Format("2006-01-02")))
	legend := []struct{ label, color string }{{"raw franz-go", colorBaseline}, {"rill at-least-once", colorALOS},
		{"rill exactly-once", colorEOS}, {"Kafka Streams", colorKStreams}, {"goka", colorGoka}}
	for i, l := range legend {
		x := 10 + i*150
		fmt.Fprintf(&b, `<rect x="%d" y="32" width="12" height="12" fill="%s"/><text x="%d" y="42">%s</text>`+"\n", x, l.color, x+16, l.label)
	}
	for i, res := range r.results {
		y := top + i*rowH
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="end">%s</text>`+"\n", labelW-8, y+15, html.EscapeString(res.row.name()))
		if res.err != nil || maxRate == 0 {
			fmt.Fprintf(&b, `<text x="%d" y="%d" fill="#b00">failed</text>`+"\n", labelW, y+15)
			continue
		}
		w := res.rate() / maxRate * barW
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%.1f" height="%d" fill="%s"/>`+"\n", labelW, y+3, w, rowH-6, barColor(res.row))
		fmt.Fprintf(&b, `<text x="%.1f" y="%d">%s</text>`+"\n", float64(labelW)+w+6, y+15, formatCount(res.rate()))
	}
	b.WriteString("</svg>\n")
	return b.String()
}

const (
	colorBaseline = "#8c8c8c"
	colorALOS     = "#3b75af"
	colorEOS      = "#ef8636"
	colorGoka     = "#519e3e"
	colorKStreams = "#8e63b5"
)

func barColor(r row) string {
	switch {
	case r.w.kind == kindBaseline:
		return colorBaseline
	case r.w.kind == kindGoka:
		return colorGoka
	case r.w.kind == kindKStreams:
		return colorKStreams
	case r.eos:
		return colorEOS
	default:
		return colorALOS
	}
}
