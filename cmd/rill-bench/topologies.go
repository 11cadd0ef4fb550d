package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/rillstreams/rill"
	"github.com/rillstreams/rill/dsl"
	"github.com/rillstreams/rill/processor"
	"github.com/rillstreams/rill/serde"
	"github.com/rillstreams/rill/state"
	"github.com/rillstreams/rill/topology"
	"github.com/rillstreams/rill/windows"
)

// The rill workloads, as a user would write them. Windowed operations keep a 24 h grace period,
// the Kafka Streams default when SimpleBenchmark was written: with 8 partitions fetched in
// batches, tasks reading two partitions (joins) or a repartition topic (yahoo) see timestamps
// out of order by more than a window, and no grace would drop records as late.
const grace = 24 * time.Hour

// runRill runs spec's workload as a rill App until ctx is cancelled.
func runRill(ctx context.Context, spec childSpec, p *progress) error {
	topo, err := rillTopology(spec, p)
	if err != nil {
		return err
	}
	cfg := rill.Config{ApplicationID: spec.AppID, Bootstrap: spec.Bootstrap, StateDir: spec.StateDir}
	if spec.EOS {
		cfg.ProcessingGuarantee = rill.ExactlyOnceV2
	}
	withMetrics(ctx, spec, &cfg)
	withoutCache(spec, &cfg)
	cfg.CommitInterval = spec.CommitInterval
	app, err := rill.New(topo, cfg)
	if err != nil {
		return err
	}
	return app.Run(ctx)
}

func rillTopology(s childSpec, p *progress) (*topology.Topology, error) {
	b := dsl.NewBuilder()
	in, right, out := s.topic("in"), s.topic("right"), s.topic("out")
	key := func(topic string) serde.Serde[int32] { return serde.Int32() }
	source := func(topic string) *dsl.Stream[int32, []byte] { return b.Stream(topic, key(topic), serde.Bytes()) }
	switch baseWorkload(s.Workload) { // a twin runs its workload's topology
	case "streamprocess":
		source(in).ForEach(func(int32, []byte) { p.add(1) })
	case "streamprocesswithsink":
		source(in).Peek(func(int32, []byte) {}).To(out)
	case "streamprocesswithstatestore":
		b.AddStateStore(state.NewKeyValueStoreBuilder("store", serde.Int32(), serde.Bytes()))
		source(in).Process(func() processor.Processor[int32, []byte, int32, []byte] { return &kvStoreProc{p: p} },
			dsl.WithStores("store"))
	case "streamprocesswithwindowstore":
		b.AddStateStore(state.NewWindowStoreBuilder("store", serde.Int32(), serde.Bytes(),
			state.WindowOptions{Retention: (3 * time.Second).Milliseconds()}))
		source(in).Process(func() processor.Processor[int32, []byte, int32, []byte] { return &windowStoreProc{p: p} },
			dsl.WithStores("store"))
	case "streamcount":
		source(in).GroupByKey().Count().ToStream().To(out)
	case "streamcountwindowed":
		dsl.WindowedBy(source(in).GroupByKey(), windows.Hopping(time.Second, 500*time.Millisecond, windows.Grace(grace))).
			Count().ToStream().To(out)
	case "streamtablejoin":
		table := b.Table(right, serde.Int32(), serde.Bytes())
		source(in).LeftJoinTable(table, func(_ int32, v, _ []byte, _ bool) []byte { return v }).To(out)
	case "streamstreamjoin":
		source(in).Join(source(right), func(_ int32, v, _ []byte) []byte { return v },
			windows.JoinWithin(joinWindow, windows.Grace(grace))).To(out)
	case "tabletablejoin":
		b.Table(in, key(in), serde.Bytes()).
			OuterJoin(b.Table(right, key(right), serde.Bytes()), func(_ int32, v []byte, hasV bool, vo []byte, _ bool) []byte {
				if hasV {
					return v
				}
				return vo
			}).
			ToStream().To(out)
	case "yahoo":
		yahooTopology(b, s, p)
	case "jsonpipeline":
		b.Stream(in, serde.Int32(), serde.JSON[order]()).
			Filter(func(_ int32, o order) bool { return o.Amount >= minAmount }).
			MapValues(func(_ int32, o order) charge {
				return charge{ID: o.ID, Customer: o.Customer, Gross: o.Amount * 120 / 100, Currency: strings.ToUpper(o.Currency)}
			}).
			To(out, dsl.WithSerdes(serde.Int32(), serde.JSON[charge]()))
	default:
		return nil, fmt.Errorf("no rill topology for %q", s.Workload)
	}
	return b.Build()
}

// yahooTopology is the Yahoo streaming benchmark: keep the views, find each ad's campaign in
// the campaigns table, and count views per campaign in 10 s tumbling windows. Events are keyed
// by ad already, so only the grouping by campaign repartitions. The join is a left join
// (campaign "unknown" when missing) so that the number of results does not depend on whether
// the table's partition was read before the first events; every ad has a campaign.
func yahooTopology(b *dsl.Builder, s childSpec, p *progress) {
	campaigns := b.Table(s.topic("campaigns"), serde.String(), serde.String())
	views := b.Stream(s.topic("in"), serde.String(), serde.JSON[yahooEvent]()).
		Filter(func(_ string, e yahooEvent) bool { return e.EventType == "view" }).
		LeftJoinTable(campaigns, func(_ string, _ yahooEvent, campaign string, found bool) string {
			if !found {
				return "unknown"
			}
			return campaign
		})
	byCampaign := views.GroupBy(func(_, campaign string) string { return campaign })
	dsl.WindowedBy(byCampaign, windows.Tumbling(yahooWindow, windows.Grace(grace))).Count().ToStream().To(s.topic("out"))
}

// kvStoreProc reads and writes every record's key in a key-value store.
type kvStoreProc struct {
	p     *progress
	store *state.KeyValueStore[int32, []byte]
}

func (k *kvStoreProc) Init(ctx processor.Context[int32, []byte]) error {
	st, err := ctx.StateStore("store")
	if err != nil {
		return err
	}
	k.store = st.(*state.KeyValueStore[int32, []byte])
	return nil
}

func (k *kvStoreProc) Process(r processor.Record[int32, []byte]) error {
	if _, _, err := k.store.Get(r.Key); err != nil {
		return err
	}
	if err := k.store.Put(r.Key, r.Value); err != nil {
		return err
	}
	k.p.add(1)
	return nil
}

func (k *kvStoreProc) Close() error { return nil }

// windowStoreProc reads and writes every record's key in its 1 s window of a window store.
type windowStoreProc struct {
	p     *progress
	store *state.WindowStore[int32, []byte]
}

func (w *windowStoreProc) Init(ctx processor.Context[int32, []byte]) error {
	st, err := ctx.StateStore("store")
	if err != nil {
		return err
	}
	w.store = st.(*state.WindowStore[int32, []byte])
	return nil
}

func (w *windowStoreProc) Process(r processor.Record[int32, []byte]) error {
	start := r.Timestamp - r.Timestamp%time.Second.Milliseconds()
	if _, _, err := w.store.Fetch(r.Key, start); err != nil {
		return err
	}
	if err := w.store.Put(r.Key, r.Value, start); err != nil {
		return err
	}
	w.p.add(1)
	return nil
}

func (w *windowStoreProc) Close() error { return nil }
