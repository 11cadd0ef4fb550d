package rill_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rillstreams/rill"
	"github.com/rillstreams/rill/dsl"
	"github.com/rillstreams/rill/iq"
	"github.com/rillstreams/rill/kafkatest"
	"github.com/rillstreams/rill/processor"
	"github.com/rillstreams/rill/serde"
	"github.com/rillstreams/rill/standby"
	"github.com/rillstreams/rill/topology"
	"github.com/rillstreams/rill/windows"
)

// Interactive queries (issue 18) on the embedded broker: three instances in one process, each
// serving its stores over HTTP (package iq) on its ApplicationServer address.

const iqPartitions = 6

// iqTopology counts records per key into the store "counts" and writes every update to out.
func iqTopology(t testing.TB, in, out string) *topology.Topology {
	b := dsl.NewBuilder()
	b.Stream(in, serde.String(), serde.Int64()).GroupByKey().
		Count(dsl.Materialized("counts")).ToStream().To(out, dsl.WithSerdes(serde.String(), serde.Int64()))
	topo, err := b.Build()
	must(t, err)
	return topo
}

// iqInstance is one app instance with its HTTP server.
type iqInstance struct {
	name string
	host string // ApplicationServer
	app  *rill.App
	kv   *rill.ReadOnlyKeyValueStore[string, int64]
	stop func() error
}

// startIQInstance starts an app instance serving "counts" on a fresh local port.
func startIQInstance(t *testing.T, ctx context.Context, topo *topology.Topology, more func(*rill.App) []iq.Store, cfg rill.Config) *iqInstance {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	cfg.ApplicationServer = ln.Addr().String()
	app, err := rill.New(topo, cfg)
	must(t, err)
	kv := rill.KeyValueStore(app, "counts", serde.String(), serde.Int64())
	stores := []iq.Store{iq.KeyValue(kv, iq.StringKey)}
	if more != nil {
		stores = append(stores, more(app)...)
	}
	srv := &http.Server{Handler: iq.NewHandler(app, stores...)}
	go func() { _ = srv.Serve(ln) }()
	done := make(chan error, 1)
	runCtx, cancel := context.WithCancel(ctx)
	go func() { done <- app.Run(runCtx) }()
	var once sync.Once
	var stopErr error
	stop := func() error {
		once.Do(func() {
			_ = srv.Close()
			cancel()
			select {
			case stopErr = <-done:
			case <-time.After(30 * time.Second):
				stopErr = errors.New("app did not stop within 30s")
			}
		})
		return stopErr
	}
	t.Cleanup(func() { _ = stop() })
	return &iqInstance{name: cfg.ProcessID, host: cfg.ApplicationServer, app: app, kv: kv, stop: stop}
}

// iqSetup runs three instances on one broker over keys keys, n records, and waits until every
// update is out; it returns the instances and each key's final count.
func iqSetup(t *testing.T, ctx context.Context, standbys, n, keys int) (*kafkatest.Broker, []*iqInstance, map[string]int64, func(first int) map[string]int64) {
	broker, adm, app, in, out := standbySetup(t, ctx, "iq", strconv.Itoa(standbys), iqPartitions)
	var insts []*iqInstance
	for _, p := range []string{"a", "b", "c"} {
		cfg := rill.Config{CacheMaxBytes: -1, ApplicationID: app, ProcessID: p, Bootstrap: broker.Addrs(),
			StateDir: t.TempDir(), ProcessingGuarantee: rill.ExactlyOnceV2, Standby: standby.Config{Replicas: standbys},
			CommitInterval: 50 * time.Millisecond}
		insts = append(insts, startIQInstance(t, ctx, iqTopology(t, in, out), nil, cfg))
	}
	waitStable(ctx, t, adm, app, in, 3)
	want := map[string]int64{}
	produced := 0
	produce := func(count int) map[string]int64 {
		recs := backlog(in, count, keys)
		must(t, produceAll(ctx, broker, recs))
		for _, r := range recs {
			want[string(r.Key)]++
		}
		produced += count
		if got, err := broker.Consume(ctx, out, produced, true); err != nil {
			t.Fatalf("%d of %d outputs: %v", len(got), produced, err)
		}
		return want
	}
	produce(n)
	return broker, insts, want, produce
}

// waitAnswered waits until every instance says the same owner for key k (metadata settled).
func ownerOf(t *testing.T, insts []*iqInstance, k string) rill.KeyQueryMetadata {
	t.Helper()
	md, err := insts[0].kv.Metadata(k)
	must(t, err)
	return md
}

func TestInteractiveQueriesRouteToOwner(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	const n, keys = 3000, 60
	_, insts, want, _ := iqSetup(t, ctx, 1, n, keys)

	// Metadata: every task active on exactly one host, standby on another.
	md := insts[1].app.AllMetadata()
	if len(md) != 3 {
		t.Fatalf("AllMetadata: %d instances, want 3: %+v", len(md), md)
	}
	var actives []int32
	for _, m := range md {
		if !slices.Contains(m.Stores, "counts") {
			t.Errorf("%s: stores %v lack counts", m.Host, m.Stores)
		}
		for _, task := range m.Active {
			actives = append(actives, task.Partition)
		}
		for _, task := range m.Standby {
			if slices.Contains(m.Active, processor.TaskID{Subtopology: task.Subtopology, Partition: task.Partition}) {
				t.Errorf("%s: task %s both active and standby", m.Host, task)
			}
		}
	}
	slices.Sort(actives)
	if !slices.Equal(actives, []int32{0, 1, 2, 3, 4, 5}) {
		t.Errorf("active partitions over hosts: %v", actives)
	}

	clients := make([]*iq.Client, len(insts))
	for i, in := range insts {
		clients[i] = iq.NewClient([]string{in.host}) // each knows one instance only
	}
	byHost := map[string]*iqInstance{}
	for _, in := range insts {
		byHost[in.host] = in
	}
	for k, count := range want {
		md := ownerOf(t, insts, k)
		if byHost[md.Active] == nil || len(md.Standbys) != 1 || md.Standbys[0] == md.Active {
			t.Fatalf("key %s: metadata %+v", k, md)
		}
		for _, in := range insts {
			// Local queries: the owner answers, the others say the store is not here.
			row, ok, err := in.kv.Get(ctx, k)
			if in.host == md.Active {
				if err != nil || !ok || row.Value != count || row.From.Partition != md.Partition || row.Timestamp <= 0 {
					t.Errorf("%s owner %s: Get = %+v %v %v, want %d", k, in.name, row, ok, err, count)
				}
			} else if !errors.Is(err, rill.ErrStoreMigrating) || !rill.IsRetriable(err) {
				t.Errorf("%s on non-owner %s: err %v, want ErrStoreMigrating", k, in.name, err)
			}
			// Stale reads: the standby answers too, saying so; it tails the changelog, so
			// it may lag a little: it catches up, since no input comes.
			if in.host == md.Standbys[0] {
				for {
					row, ok, err := in.kv.Get(ctx, k, rill.EnableStaleStores())
					if err != nil || (ok && (!row.From.Standby || row.Value > count)) {
						t.Fatalf("%s standby %s: stale Get = %+v %v %v", k, in.name, row, ok, err)
					}
					if ok && row.Value == count {
						break
					}
					if ctx.Err() != nil {
						t.Fatalf("%s standby %s: stale Get = %+v %v, want %d", k, in.name, row, ok, count)
					}
					time.Sleep(20 * time.Millisecond)
				}
			}
		}
		// Routed: from every instance, to the owner.
		for i, c := range clients {
			var row rill.KeyValue[string, int64]
			host, err := c.Get(ctx, "counts", k, &row)
			if err != nil || host != md.Active || row.Value != count || row.Key != k {
				t.Errorf("%s asked of %s: answered by %s: %+v %v; want %d from %s", k, insts[i].name, host, row, err, count, md.Active)
			}
		}
	}
	var none rill.KeyValue[string, int64]
	if _, err := clients[0].Get(ctx, "counts", "no-such-key", &none); !errors.Is(err, iq.ErrNotFound) {
		t.Errorf("absent key: %v, want ErrNotFound", err)
	}
	// Scans: each instance's All holds exactly its partitions' keys; together, every key.
	seen := map[string]int64{}
	for _, in := range insts {
		rows, err := in.kv.All(ctx)
		must(t, err)
		for _, r := range rows {
			if _, dup := seen[r.Key]; dup {
				t.Errorf("key %s in two instances' All", r.Key)
			}
			seen[r.Key] = r.Value
		}
		limited, err := in.kv.All(ctx, rill.WithLimit(3))
		must(t, err)
		if len(limited) != min(3, len(rows)) || (len(rows) > 0 && limited[0].Key != rows[0].Key) {
			t.Errorf("%s: All(limit 3) = %d rows", in.name, len(limited))
		}
	}
	for k, count := range want {
		if seen[k] != count {
			t.Errorf("All: %s = %d, want %d", k, seen[k], count)
		}
	}
	bad := rill.KeyValueStore(insts[0].app, "nope", serde.String(), serde.Int64())
	if _, _, err := bad.Get(ctx, "k1"); !errors.Is(err, rill.ErrUnknownStore) {
		t.Errorf("unknown store: %v", err)
	}
}

// A failover: the owner of a key stops; queries routed through the others fail retriably
// (the client retries) and then answer from the new owner — the standby that was listed in
// the metadata, when there is one. Queries hammer all instances meanwhile (-race).
func TestInteractiveQueriesFailover(t *testing.T) {
	for _, standbys := range []int{0, 1} {
		t.Run("standbys="+strconv.Itoa(standbys), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			const n, keys = 3000, 60
			_, insts, want, produce := iqSetup(t, ctx, standbys, n, keys)
			k := "k7"
			before := ownerOf(t, insts, k)
			var victim *iqInstance
			var seeds []string
			for _, in := range insts {
				if in.host == before.Active {
					victim = in
				} else {
					seeds = append(seeds, in.host)
				}
			}
			if victim == nil {
				t.Fatalf("no instance is %s", before.Active)
			}
			// Hammer local queries on every instance through the failover.
			var hammer sync.WaitGroup
			hctx, hstop := context.WithCancel(ctx)
			var answered, retriable atomic.Int64
			for _, in := range insts {
				hammer.Add(1)
				go func() {
					defer hammer.Done()
					for i := 0; hctx.Err() == nil; i++ {
						_, _, err := in.kv.Get(hctx, "k"+strconv.Itoa(i%keys), rill.EnableStaleStores())
						switch {
						case err == nil:
							answered.Add(1)
						case rill.IsRetriable(err) || hctx.Err() != nil:
							retriable.Add(1)
						default:
							t.Errorf("%s: query error not retriable: %v", in.name, err)
							return
						}
						if _, err := in.kv.All(hctx, rill.WithLimit(10)); err != nil && !rill.IsRetriable(err) && hctx.Err() == nil {
							t.Errorf("%s: scan error not retriable: %v", in.name, err)
							return
						}
					}
				}()
			}
			c := iq.NewClient(seeds, iq.WithBackoff(5*time.Millisecond))
			var row rill.KeyValue[string, int64]
			if host, err := c.Get(ctx, "counts", k, &row); err != nil || host != before.Active || row.Value != want[k] {
				t.Fatalf("before: %s %+v %v", host, row, err)
			}
			stopped := time.Now()
			must(t, victim.stop())
			// Poll the key: failures are retriable (the client's own retries, then ours
			// through ctx) until the new owner answers.
			var firstOK time.Time
			var fails int
			for {
				qctx, qcancel := context.WithTimeout(ctx, 200*time.Millisecond)
				host, err := c.Get(qctx, "counts", k, &row)
				qcancel()
				if err == nil {
					if host == victim.host {
						t.Fatalf("answered by the stopped instance")
					}
					if row.Value != want[k] {
						t.Fatalf("after failover: %s = %d from %s, want %d", k, row.Value, host, want[k])
					}
					firstOK = time.Now()
					after := ownerOf(t, []*iqInstance{byHostOf(insts, host)}, k)
					if after.Active != host {
						t.Errorf("answered by %s, metadata says %s", host, after.Active)
					}
					if standbys == 1 && !slices.Contains(before.Standbys, host) {
						t.Errorf("answered by %s, not the standby %v", host, before.Standbys)
					}
					break
				}
				if ctx.Err() != nil {
					t.Fatalf("no answer after failover: %v", err)
				}
				fails++
			}
			t.Logf("standbys=%d: queries of %s failed for %v after the owner stopped (%d timed-out attempts); "+
				"hammer: %d answered, %d retriable", standbys, k, firstOK.Sub(stopped), fails, answered.Load(), retriable.Load())
			// Processing goes on under queries: more records, counted once.
			want = produce(600)
			if _, err := c.Get(ctx, "counts", k, &row); err != nil || row.Value != want[k] {
				t.Errorf("after more input: %+v %v, want %d", row, err, want[k])
			}
			hstop()
			hammer.Wait()
		})
	}
}

func byHostOf(insts []*iqInstance, host string) *iqInstance {
	for _, in := range insts {
		if in.host == host {
			return in
		}
	}
	return nil
}

// Window, session and key-range queries on one instance: the values and timestamps of
// windowed and session counts, as the inputs predict.
func TestInteractiveQueriesWindowsAndSessions(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	broker, adm, app, in, out := standbySetup(t, ctx, "iqwin", "", 2)
	b := dsl.NewBuilder()
	g := b.Stream(in, serde.String(), serde.Int64()).GroupByKey()
	g.Count(dsl.Materialized("counts")).ToStream().To(out, dsl.WithSerdes(serde.String(), serde.Int64()))
	dsl.WindowedBy(g, windows.Tumbling(time.Minute, windows.Grace(time.Hour))).Count(dsl.Materialized("per-minute"))
	dsl.SessionWindowedBy(g, windows.Session(10*time.Second, windows.Grace(time.Hour))).Count(dsl.Materialized("sessions"))
	topo, err := b.Build()
	must(t, err)
	inst := startIQInstance(t, ctx, topo, func(app *rill.App) []iq.Store {
		return []iq.Store{
			iq.Window(rill.WindowStore(app, "per-minute", serde.String(), serde.Int64()), iq.StringKey),
			iq.Session(rill.SessionStore(app, "sessions", serde.String(), serde.Int64()), iq.StringKey),
		}
	}, rill.Config{CacheMaxBytes: -1, ApplicationID: app, ProcessID: "a",
		Bootstrap: broker.Addrs(), StateDir: t.TempDir(), ProcessingGuarantee: rill.ExactlyOnceV2,
		CommitInterval: 50 * time.Millisecond})
	waitStable(ctx, t, adm, app, in, 1)
	base := time.Now().Add(-time.Hour).Truncate(time.Minute).UnixMilli()
	// Key "a": 3 records in minute 0 (one session: 0s, 5s, 12s), 2 in minute 1 (a new session
	// at 70s, 75s); key "b": one record at 30s; "ab" one at 31s. A grace of an hour keeps every
	// window in the stores (retention is size + grace).
	at := map[string][]int64{"a": {0, 5000, 12000, 70000, 75000}, "b": {30000}, "ab": {31000}}
	var recs []kafkatest.Record
	for k, ts := range at {
		for _, off := range ts {
			recs = append(recs, kafkatest.Record{Topic: in, Key: []byte(k), Value: int64Bytes(1), Timestamp: time.UnixMilli(base + off)})
		}
	}
	slices.SortFunc(recs, func(x, y kafkatest.Record) int { return x.Timestamp.Compare(y.Timestamp) })
	must(t, produceAll(ctx, broker, recs))
	if got, err := broker.Consume(ctx, out, len(recs), true); err != nil {
		t.Fatalf("%d outputs: %v", len(got), err)
	}
	ws := rill.WindowStore(inst.app, "per-minute", serde.String(), serde.Int64())
	rows, err := ws.FetchRange(ctx, "a", base, base+time.Hour.Milliseconds())
	must(t, err)
	if len(rows) != 2 || rows[0].WindowStart != base || rows[0].Value != 3 || rows[1].WindowStart != base+60000 ||
		rows[1].Value != 2 || rows[1].Timestamp != base+75000 {
		t.Errorf("per-minute a: %+v", rows)
	}
	one, ok, err := ws.Fetch(ctx, "b", base)
	if err != nil || !ok || one.Value != 1 || one.Key != "b" {
		t.Errorf("per-minute b: %+v %v %v", one, ok, err)
	}
	all, err := ws.FetchAll(ctx, base, base)
	must(t, err)
	if len(all) != 3 { // a, ab, b in minute 0
		t.Errorf("FetchAll minute 0: %+v", all)
	}
	ss := rill.SessionStore(inst.app, "sessions", serde.String(), serde.Int64())
	sess, err := ss.Fetch(ctx, "a")
	must(t, err)
	if len(sess) != 2 || sess[0].Start != base || sess[0].End != base+12000 || sess[0].Value != 3 ||
		sess[1].Start != base+70000 || sess[1].End != base+75000 || sess[1].Value != 2 {
		t.Errorf("sessions a: %+v", sess)
	}
	kv := inst.kv
	pre, err := kv.PrefixScan(ctx, "a")
	must(t, err)
	if len(pre) != 2 || pre[0].Key != "a" || pre[0].Value != 5 || pre[1].Key != "ab" || pre[1].Timestamp != base+31000 {
		t.Errorf("prefix a: %+v", pre)
	}
	from, to := "ab", "b"
	rng, err := kv.Range(ctx, &from, &to)
	must(t, err)
	if len(rng) != 2 || rng[0].Key != "ab" || rng[1].Key != "b" {
		t.Errorf("range [ab, b]: %+v", rng)
	}
	if n, err := kv.ApproximateCount(ctx); err != nil || n < 1 {
		t.Errorf("ApproximateCount = %d %v", n, err)
	}
	// Served over HTTP too.
	c := iq.NewClient([]string{inst.host})
	var got rill.KeyValue[string, int64]
	if _, err := c.Get(ctx, "counts", "a", &got); err != nil || got.Value != 5 {
		t.Errorf("HTTP a: %+v %v", got, err)
	}
	var wins []rill.WindowedRow[string, int64]
	if _, err := c.Windows(ctx, "per-minute", "a", base+60000, base+60000, &wins); err != nil || len(wins) != 1 || wins[0].Value != 2 {
		t.Errorf("HTTP windows of a in minute 1: %+v %v", wins, err)
	}
	var sessions []rill.SessionRow[string, int64]
	if _, err := c.Sessions(ctx, "sessions", "a", &sessions); err != nil || len(sessions) != 2 {
		t.Errorf("HTTP sessions of a: %+v %v", sessions, err)
	}
}
