package main

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/rillstreams/rill/dsl"
	"github.com/rillstreams/rill/kafkatest"
	"github.com/rillstreams/rill/serde"
	"github.com/rillstreams/rill/topology"
	"github.com/rillstreams/rill/windows"
)

// Topics of the torture app.
const (
	topicIn     = "torture-in"
	topicRight  = "torture-right"
	topicGlobal = "torture-global"
	topicAgg    = "torture-agg"
	topicWCount = "torture-wcount"
	topicJoin   = "torture-join"
	topicGJoin  = "torture-gjoin"

	joinWindow  = 200 * time.Millisecond
	countWindow = time.Second
	recordGap   = 10 // milliseconds between consecutive input records
	partitions  = 3
)

var (
	inputTopics  = []string{topicIn, topicRight, topicGlobal, topicFKIn}
	outputTopics = []string{topicAgg, topicWCount, topicJoin, topicGJoin, topicTT, topicFinal, topicFK}
)

type agg struct {
	Count int64 `json:"c"`
	Sum   int64 `json:"s"`
	Min   int64 `json:"mn"`
	Max   int64 `json:"mx"`
}

// buildTopology is the torture app: over one keyed input it keeps a count/sum/min/max
// aggregate, tumbling-window counts, a stream-stream join with a second input and a join with a
// global table, and the table families of families.go. Each output is one the verifier can predict exactly from the input.
func buildTopology() (*topology.Topology, error) {
	b := dsl.NewBuilder()
	in := b.Stream(topicIn, serde.String(), serde.Int64())
	in.GroupByKey().
		Aggregate(func() agg { return agg{Min: 1 << 62, Max: -1} }, func(_ string, v int64, a agg) agg {
			return agg{Count: a.Count + 1, Sum: a.Sum + v, Min: min(a.Min, v), Max: max(a.Max, v)}
		}, dsl.Materialized("agg"), dsl.WithSerdes(serde.String(), serde.JSON[agg]())).
		ToStream().
		MapValues(func(_ string, a agg) string { return fmt.Sprintf("%d:%d:%d:%d", a.Count, a.Sum, a.Min, a.Max) }).
		To(topicAgg)
	dsl.WindowedBy(in.GroupByKey(), windows.Tumbling(countWindow, windows.Grace(time.Hour))).
		Count(dsl.Materialized("wcount")).
		ToStream().
		Map(func(k windows.Windowed[string], n int64) (string, string) {
			return k.Key + "@" + strconv.FormatInt(k.Start, 10), strconv.FormatInt(n, 10)
		}).
		To(topicWCount)
	right := b.Stream(topicRight, serde.String(), serde.Int64())
	in.Join(right, func(_ string, l, r int64) string { return fmt.Sprintf("%d|%d", l, r) },
		windows.JoinWithin(joinWindow, windows.Grace(time.Hour))).
		To(topicJoin)
	labels := b.GlobalTable(topicGlobal, serde.String(), serde.String(), dsl.Materialized("labels"))
	in.JoinGlobal(labels, func(k string, _ int64) string { return k },
		func(_ string, v int64, label string) string { return fmt.Sprintf("%d:%s", v, label) }).
		To(topicGJoin)
	addTableFamilies(b, in, right)
	return b.Build()
}

// input is the generated input: left records 0..n-1 (value i, key chosen by the seed,
// timestamp base+i*recordGap) and, for about half of them, a right record with the same key
// and value, recordGap/2 later.
type input struct {
	keys  []string // key of left record i
	right []bool   // left record i has a right partner
	base  int64
}

func generate(n, numKeys int, seed uint64) *input {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	in := &input{keys: make([]string, n), right: make([]bool, n),
		// Recent timestamps: brokers delete records older than retention.
		base: time.Now().Add(-2 * time.Hour).UnixMilli()}
	for i := range n {
		in.keys[i] = "k" + strconv.Itoa(rng.IntN(numKeys))
		in.right[i] = rng.IntN(2) == 0
	}
	return in
}

func (in *input) ts(i int) int64 { return in.base + int64(i)*recordGap }

// records returns the records of left records [from, to) with their right partners.
func (in *input) records(from, to int) []kafkatest.Record {
	var out []kafkatest.Record
	for i := from; i < to; i++ {
		v, _ := serde.Int64().Serialize("", int64(i))
		out = append(out, kafkatest.Record{Topic: topicIn, Key: []byte(in.keys[i]), Value: v, Timestamp: time.UnixMilli(in.ts(i))})
		if in.right[i] {
			out = append(out, kafkatest.Record{Topic: topicRight, Key: []byte(in.keys[i]), Value: v,
				Timestamp: time.UnixMilli(in.ts(i) + recordGap/2)})
		}
	}
	return out
}

// globals is the global table: a label per key.
func globals(numKeys int, at time.Time) []kafkatest.Record {
	out := make([]kafkatest.Record, numKeys)
	for k := range numKeys {
		key := "k" + strconv.Itoa(k)
		out[k] = kafkatest.Record{Topic: topicGlobal, Key: []byte(key), Value: []byte("L" + key), Timestamp: at}
	}
	return out
}
