package main

import (
	"context"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rillstreams/rill"
)

// metricsSuffix names a rill workload's twin that runs with metrics on: debug level, in a
// registry scraped every second, to measure what metrics cost (docs/metrics.md);
// infoMetricsSuffix its twin at info level. The twins run only when named (--workload
// streamcount-metrics/eos), not with "all".
const (
	metricsSuffix     = "-metrics"
	infoMetricsSuffix = "-infometrics"
)

// baseWorkload is the workload a metrics twin runs (name itself for others).
func baseWorkload(name string) string {
	for _, suffix := range []string{metricsSuffix, infoMetricsSuffix, nocacheSuffix} {
		name = strings.TrimSuffix(name, suffix)
	}
	return name
}

// metricsTwins are the workloads that have a metrics twin.
var metricsTwins = []string{"streamprocess", "streamcount"}

func addMetricsTwins() {
	for _, name := range metricsTwins {
		for _, twin := range []struct{ suffix, level string }{{metricsSuffix, "debug"}, {infoMetricsSuffix, "info"}} {
			w := *lookup(name)
			w.name += twin.suffix
			w.about += " with metrics on (" + twin.level + " level, scraped every second)"
			w.optIn = true
			catalogue = append(catalogue, &w)
		}
	}
}

// withMetrics turns cfg's metrics on when spec is a metrics twin, and scrapes them every
// second until ctx is done.
func withMetrics(ctx context.Context, spec childSpec, cfg *rill.Config) {
	level := rill.MetricsDebug
	switch {
	case strings.HasSuffix(spec.Workload, infoMetricsSuffix):
		level = rill.MetricsInfo
	case !strings.HasSuffix(spec.Workload, metricsSuffix):
		return
	}
	reg := prometheus.NewRegistry()
	cfg.Metrics, cfg.MetricsLevel = reg, level
	go func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				_, _ = reg.Gather()
			}
		}
	}()
}
