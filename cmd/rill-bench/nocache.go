package main

import (
	"strings"

	"github.com/rillstreams/rill"
)

// nocacheSuffix names a rill workload's twin that runs with the record cache off
// (rill.Config.CacheMaxBytes -1, Kafka Streams' statestore.cache.max.bytes=0): every update
// of its counts, windowed counts or tables goes to the store, the changelog and the output,
// where the workload itself runs with the default 10 MiB cache. Like the metrics twins they
// have no Kafka Streams peer and run only when named (--workload streamcount,streamcount-nocache),
// so that one run shows what the cache is worth (docs/benchmarks.md).
const nocacheSuffix = "-nocache"

// nocacheTwins are the workloads whose output the cache changes.
var nocacheTwins = []string{"streamcount", "streamcountwindowed", "tabletablejoin", "yahoo"}

func addNocacheTwins() {
	for _, name := range nocacheTwins {
		w := *lookup(name)
		w.name += nocacheSuffix
		w.about += " with the record cache off"
		w.optIn = true
		catalogue = append(catalogue, &w)
	}
}

// withoutCache turns cfg's record cache off when spec is a nocache twin.
func withoutCache(spec childSpec, cfg *rill.Config) {
	if strings.HasSuffix(spec.Workload, nocacheSuffix) {
		cfg.CacheMaxBytes = -1
	}
}
