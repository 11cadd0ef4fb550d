package main

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// The input of every workload is a pure function of (seed, side, index), so the parent can
// produce it and, independently, compute how many results a workload must emit for it, without
// keeping a million records in memory.

// Sides of the generated data: the two inputs of a join draw independent keys.
const (
	sideLeft  = 1
	sideRight = 2
)

// mix is splitmix64's finalizer: a cheap, well-spread hash of x.
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// gen generates records: integer keys drawn uniformly from the key space (Kafka Streams'
// SimpleBenchmark), random values, and timestamps 1 ms apart from base, in index order, so
// every partition sees non-decreasing timestamps.
type gen struct {
	keys      int
	valueSize int
	base      int64 // timestamp of record 0, in ms
}

func newGen(cfg config) gen {
	// Recent timestamps: brokers delete records older than the topic's retention.
	base := time.Now().Add(-time.Hour).UnixMilli()
	return gen{keys: cfg.Keys, valueSize: cfg.ValueSize, base: base - base%1000}
}

func (g gen) key(side, i int) int32 {
	return int32(mix(uint64(side)<<48^uint64(i)) % uint64(g.keys))
}

// keyBytes is the key as serde.Int32 (and Kafka's IntegerSerializer) writes it.
func keyBytes(k int32) []byte { return binary.BigEndian.AppendUint32(nil, uint32(k)) }

func (g gen) ts(i int) int64 { return g.base + int64(i) }

func (g gen) value(side, i int) []byte {
	v := make([]byte, g.valueSize)
	seed := mix(uint64(side)<<56 ^ uint64(i)<<8)
	for j := 0; j < len(v); j += 8 {
		var w [8]byte
		binary.LittleEndian.PutUint64(w[:], mix(seed+uint64(j)))
		copy(v[j:], w[:])
	}
	return v
}

// split is how the two inputs of a join share the records: left gets the odd one out.
func split(n int) (left, right int) { return n - n/2, n / 2 }

// joinWindow is the stream-stream join's time difference (SimpleBenchmark's 10 s).
const joinWindow = 10 * time.Second

// streamJoinResults counts the inner stream-stream join's results: pairs of a left and a right
// record with the same key whose timestamps are at most joinWindow apart (both ends inclusive,
// as Kafka Streams' JoinWindows).
func streamJoinResults(g gen, n int) int64 {
	nl, nr := split(n)
	right := make(map[int32][]int64, g.keys)
	for i := range nr {
		k := g.key(sideRight, i)
		right[k] = append(right[k], g.ts(i)) // ascending: i ascends
	}
	w := joinWindow.Milliseconds()
	var total int64
	for i := range nl {
		ts := right[g.key(sideLeft, i)]
		lo := sort.Search(len(ts), func(j int) bool { return ts[j] >= g.ts(i)-w })
		hi := sort.Search(len(ts), func(j int) bool { return ts[j] > g.ts(i)+w })
		total += int64(hi - lo)
	}
	return total
}

// order is the stateless pipeline's input value, JSON-encoded and padded to about the value
// size; charge is its output.
type order struct {
	ID       int64  `json:"id"`
	Customer string `json:"customer"`
	Amount   int64  `json:"amount"` // cents
	Currency string `json:"currency"`
	Note     string `json:"note"`
}

type charge struct {
	ID       int64  `json:"id"`
	Customer string `json:"customer"`
	Gross    int64  `json:"gross"`
	Currency string `json:"currency"`
}

// minAmount is the pipeline's filter: it keeps about 80% of the orders.
const minAmount = 2000

func (g gen) order(i int) order {
	return order{ID: int64(i), Customer: "customer-" + strconv.Itoa(int(g.key(sideLeft, i))),
		Amount: int64(mix(uint64(i)^0xa11ce) % 10000), Currency: "eur"}
}

func (g gen) orderValue(i int) []byte {
	o := g.order(i)
	b, _ := json.Marshal(o)
	if pad := g.valueSize - len(b); pad > 0 {
		o.Note = strings.Repeat("x", pad)
		b, _ = json.Marshal(o)
	}
	return b
}

func pipelineResults(g gen, n int) int64 {
	var kept int64
	for i := range n {
		if g.order(i).Amount >= minAmount {
			kept++
		}
	}
	return kept
}

// The Yahoo streaming benchmark: 100 campaigns of 10 ads each; events are views, clicks and
// purchases of ads, JSON-encoded, keyed by ad id.
const (
	yahooCampaigns  = 100
	yahooAdsPerCamp = 10
	yahooWindow     = 10 * time.Second
)

type yahooEvent struct {
	UserID    string `json:"user_id"`
	PageID    string `json:"page_id"`
	AdID      string `json:"ad_id"`
	AdType    string `json:"ad_type"`
	EventType string `json:"event_type"`
	EventTime int64  `json:"event_time"`
	IPAddress string `json:"ip_address"`
}

var yahooEventTypes = [...]string{"view", "click", "purchase"}

func yahooAd(i int) string       { return fmt.Sprintf("ad-%04d", i) }
func yahooCampaign(i int) string { return fmt.Sprintf("campaign-%03d", i/yahooAdsPerCamp) }

// yahooHash is the random draw behind event i: its ad, user and page.
func yahooHash(i int) uint64 { return mix(uint64(i) ^ 0x7a400) }

func yahooAdIndex(i int) int { return int(yahooHash(i) % (yahooCampaigns * yahooAdsPerCamp)) }

func yahooIsView(i int) bool { return yahooEventTypes[i%len(yahooEventTypes)] == "view" }

func (g gen) yahooEvent(i int) (key string, value []byte) {
	h := yahooHash(i)
	ad := yahooAd(yahooAdIndex(i))
	e := yahooEvent{UserID: "user-" + strconv.Itoa(int(h>>20%100000)), PageID: "page-" + strconv.Itoa(int(h>>40%1000)),
		AdID: ad, AdType: "banner", EventType: yahooEventTypes[i%len(yahooEventTypes)], EventTime: g.ts(i), IPAddress: "10.1.2.3"}
	b, _ := json.Marshal(e)
	return ad, b
}

// yahooViews is the number of views among n events: every view is counted (every ad has a
// campaign).
func yahooViews(n int) int64 { return int64((n + len(yahooEventTypes) - 1) / len(yahooEventTypes)) }
