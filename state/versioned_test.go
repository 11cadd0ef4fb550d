package state_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rillstreams/rill/internal/datadriven"
	"github.com/rillstreams/rill/serde"
	"github.com/rillstreams/rill/state"
	"github.com/rillstreams/rill/state/memory"
	"github.com/rillstreams/rill/state/rocksdb"
)

// versionedBackends runs f on each backend a versioned store can sit on.
func versionedBackends(t *testing.T, f func(t *testing.T, open func(name string) state.KeyValueBytesStore)) {
	t.Run("memory", func(t *testing.T) {
		f(t, func(name string) state.KeyValueBytesStore {
			kv, err := memory.Backend().KeyValue(name, "")
			if err != nil {
				t.Fatal(err)
			}
			return kv
		})
	})
	t.Run("rocksdb", func(t *testing.T) {
		b, err := rocksdb.NewBackend(rocksdb.Config{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(b.Close)
		dir := t.TempDir()
		f(t, func(name string) state.KeyValueBytesStore {
			kv, err := b.KeyValue(name, dir)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = kv.Close() })
			return kv
		})
	})
}

func fmtTs(ts int64) string {
	if ts == state.NoValidTo {
		return "none"
	}
	return strconv.FormatInt(ts, 10)
}

// parseVersionedLine reads "<key> [value] @<ts>": the value "null" is a tombstone.
func parseVersionedLine(t *testing.T, line string) (key string, value []byte, ts int64, hasTs bool) {
	t.Helper()
	f := strings.Fields(line)
	key = f[0]
	for _, w := range f[1:] {
		if strings.HasPrefix(w, "@") {
			n, err := strconv.ParseInt(w[1:], 10, 64)
			if err != nil {
				t.Fatalf("line %q: %v", line, err)
			}
			ts, hasTs = n, true
		} else if w != "null" {
			value = []byte(w)
		}
	}
	return key, value, ts, hasTs
}

// TestVersionedDataDriven runs testdata/versioned/*.txt on both backends. Commands:
//
//	new retention=<ms>   a new store; prints nothing
//	put                  lines "<key> <value|null> @<ts>"; prints the validTo Put returns
//	                     ("none": the latest version) or "dropped"
//	delete               lines "<key> @<ts>"; prints the version Delete returns
//	get                  lines "<key>" (latest) or "<key> @<asOf>"
//	streamtime           prints the observed stream time
//	dump                 prints the latest and history entries left in the store
func TestVersionedDataDriven(t *testing.T) {
	files, err := filepath.Glob("testdata/versioned/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no versioned test files: %v", err)
	}
	for _, file := range files {
		cases := datadriven.Parse(t, file)
		versionedBackends(t, func(t *testing.T, open func(string) state.KeyValueBytesStore) {
			var s *state.VersionedBytesStore
			var kv state.KeyValueBytesStore
			for i, c := range cases {
				var out []string
				switch c.Cmd {
				case "new":
					r, err := strconv.ParseInt(c.Args["retention"], 10, 64)
					if err != nil {
						t.Fatalf("%s:%d: %v", file, c.Line, err)
					}
					kv = open(fmt.Sprintf("s%d", i))
					if s, err = state.NewVersionedBytesStore("s", kv, r, nil); err != nil {
						t.Fatal(err)
					}
				case "put":
					for _, l := range c.Input {
						k, v, ts, _ := parseVersionedLine(t, l)
						validTo, stored, err := s.Put([]byte(k), v, ts)
						if err != nil {
							t.Fatal(err)
						}
						if !stored {
							out = append(out, fmt.Sprintf("%s@%d dropped", k, ts))
							continue
						}
						out = append(out, fmt.Sprintf("%s@%d validTo=%s", k, ts, fmtTs(validTo)))
					}
				case "delete":
					for _, l := range c.Input {
						k, _, ts, _ := parseVersionedLine(t, l)
						prev, found, stored, err := s.Delete([]byte(k), ts)
						switch {
						case err != nil:
							t.Fatal(err)
						case !stored:
							out = append(out, fmt.Sprintf("%s@%d dropped", k, ts))
						case !found:
							out = append(out, fmt.Sprintf("%s@%d prev=none", k, ts))
						default:
							out = append(out, fmt.Sprintf("%s@%d prev=%s [%d,%s)", k, ts, prev.Value, prev.Timestamp, fmtTs(prev.ValidTo)))
						}
					}
				case "get":
					for _, l := range c.Input {
						k, _, asOf, hasTs := parseVersionedLine(t, l)
						var r state.VersionedBytes
						var ok bool
						var err error
						label := k
						if hasTs {
							r, ok, err = s.GetAsOf([]byte(k), asOf)
							label = fmt.Sprintf("%s@%d", k, asOf)
						} else {
							r, ok, err = s.Get([]byte(k))
						}
						if err != nil {
							t.Fatal(err)
						}
						if !ok {
							out = append(out, label+": none")
							continue
						}
						out = append(out, fmt.Sprintf("%s: %s [%d,%s)", label, r.Value, r.Timestamp, fmtTs(r.ValidTo)))
					}
				case "streamtime":
					out = append(out, strconv.FormatInt(s.ObservedStreamTime(), 10))
				case "dump":
					out = dumpVersioned(t, kv)
				default:
					t.Fatalf("%s:%d: unknown command %s", file, c.Line, c.Cmd)
				}
				if got, want := strings.Join(out, "\n"), strings.Join(c.Want, "\n"); got != want {
					t.Errorf("%s:%d: %s\ngot:\n%s\nwant:\n%s", file, c.Line, c.Cmd, got, want)
				}
			}
		})
	}
}

// dumpVersioned lists the latest and history entries of the store's layout
// (versioned_format.go), to check what history retention removed.
func dumpVersioned(t *testing.T, kv state.KeyValueBytesStore) []string {
	t.Helper()
	it, err := kv.All()
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	var out []string
	for it.Next() {
		k, v := it.Key(), it.Value()
		if k[0] != 0x01 && k[0] != 0x02 {
			continue // meta and expiry index
		}
		ts := int64(uint64(v[0])<<56 | uint64(v[1])<<48 | uint64(v[2])<<40 | uint64(v[3])<<32 |
			uint64(v[4])<<24 | uint64(v[5])<<16 | uint64(v[6])<<8 | uint64(v[7]))
		value := string(v[9:])
		if v[8] == 1 {
			value = "tombstone"
		}
		switch k[0] {
		case 0x01:
			out = append(out, fmt.Sprintf("latest %s@%d %s", k[1:], ts, value))
		case 0x02:
			n := int(k[1])<<24 | int(k[2])<<16 | int(k[3])<<8 | int(k[4])
			from := int64((uint64(k[5+n])<<56 | uint64(k[6+n])<<48 | uint64(k[7+n])<<40 | uint64(k[8+n])<<32 |
				uint64(k[9+n])<<24 | uint64(k[10+n])<<16 | uint64(k[11+n])<<8 | uint64(k[12+n])) ^ (1 << 63))
			out = append(out, fmt.Sprintf("history %s@%d validTo=%d %s", k[5:5+n], from, ts, value))
		}
	}
	if err := it.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// versionedModel is the reference semantics: every accepted version of every key, and the
// rules of Kafka Streams' RocksDBVersionedStore applied to them directly.
type versionedModel struct {
	retention  int64
	streamTime int64
	versions   map[string]map[int64]*string // key -> timestamp -> value (nil: tombstone)
}

func (m *versionedModel) expired(ts int64) bool {
	return m.streamTime != math.MinInt64 && ts < m.streamTime-m.retention
}

func (m *versionedModel) put(k string, v *string, ts int64) (validTo int64, stored bool) {
	if m.expired(ts) {
		return 0, false
	}
	m.streamTime = max(m.streamTime, ts)
	if m.versions[k] == nil {
		m.versions[k] = map[int64]*string{}
	}
	m.versions[k][ts] = v
	validTo = state.NoValidTo
	for t := range m.versions[k] {
		if t > ts && t < validTo {
			validTo = t
		}
	}
	return validTo, true
}

func (m *versionedModel) get(k string, asOf int64) (v string, from, to int64, ok bool) {
	vs := m.versions[k]
	ts := slices.Sorted(func(yield func(int64) bool) {
		for t := range vs {
			if !yield(t) {
				return
			}
		}
	})
	if len(ts) == 0 {
		return "", 0, 0, false
	}
	latest := ts[len(ts)-1]
	if latest <= asOf {
		if vs[latest] == nil {
			return "", 0, 0, false
		}
		return *vs[latest], latest, state.NoValidTo, true
	}
	if m.expired(asOf) {
		return "", 0, 0, false
	}
	i, _ := slices.BinarySearch(ts, asOf+1)
	if i == 0 || vs[ts[i-1]] == nil {
		return "", 0, 0, false
	}
	return *vs[ts[i-1]], ts[i-1], ts[i], true
}

// recordingSink keeps a store's changelog records in order.
type recordingSink struct{ keys, values [][]byte }

func (s *recordingSink) Log(_ string, key, value []byte) error {
	s.keys = append(s.keys, slices.Clone(key))
	s.values = append(s.values, slices.Clone(value))
	return nil
}

// compacted is the log as compaction leaves it at best: the last record of each key, in
// offset order, tombstones removed.
func (s *recordingSink) compacted() (keys, values [][]byte) {
	last := map[string]int{}
	for i, k := range s.keys {
		last[string(k)] = i
	}
	for i, k := range s.keys {
		if last[string(k)] == i && s.values[i] != nil {
			keys, values = append(keys, k), append(values, s.values[i])
		}
	}
	return keys, values
}

// Random writes, in and out of order and with tombstones, agree with the model on every
// answer; and a store restored from the changelog (whole, or compacted) holds exactly what
// the original does, entry for entry.
func TestVersionedModelAndRestore(t *testing.T) {
	versionedBackends(t, func(t *testing.T, open func(string) state.KeyValueBytesStore) {
		seeds := uint64(20)
		if strings.HasSuffix(t.Name(), "rocksdb") {
			seeds = 6 // the same code on a slower store: fewer runs, same checks
		}
		for seed := range seeds {
			rng := rand.New(rand.NewPCG(seed, 7))
			retention := int64(rng.IntN(30))
			sink := &recordingSink{}
			kv := open(fmt.Sprintf("orig%d", seed))
			s, err := state.NewVersionedBytesStore("v", kv, retention, sink)
			if err != nil {
				t.Fatal(err)
			}
			m := &versionedModel{retention: retention, streamTime: math.MinInt64, versions: map[string]map[int64]*string{}}
			keys := []string{"a", "ab", "b", ""}
			var clock int64
			for op := range 400 {
				k := keys[rng.IntN(len(keys))]
				clock += int64(rng.IntN(3))
				ts := clock - int64(rng.IntN(40)) // out of order, sometimes past retention
				var v *string
				if rng.IntN(5) > 0 {
					s := fmt.Sprintf("v%d", op)
					v = &s
				}
				var vb []byte
				if v != nil {
					vb = []byte(*v)
				}
				gotTo, gotStored, err := s.Put([]byte(k), vb, ts)
				if err != nil {
					t.Fatal(err)
				}
				wantTo, wantStored := m.put(k, v, ts)
				if gotStored != wantStored || (wantStored && gotTo != wantTo) {
					t.Fatalf("seed %d op %d put(%q, @%d): got (%d, %v), want (%d, %v)", seed, op, k, ts, gotTo, gotStored, wantTo, wantStored)
				}
				for _, qk := range keys {
					asOf := clock - int64(rng.IntN(50))
					checkVersionedGet(t, s, m, qk, asOf, fmt.Sprintf("seed %d op %d", seed, op))
				}
			}
			for _, compact := range []bool{false, true} {
				ks, vs := sink.keys, sink.values
				if compact {
					ks, vs = sink.compacted()
				}
				r, err := state.NewVersionedBytesStore("v", open(fmt.Sprintf("restored%d-%v", seed, compact)), retention, nil)
				if err != nil {
					t.Fatal(err)
				}
				for i := range ks {
					if err := r.Restore(ks[i], vs[i]); err != nil {
						t.Fatal(err)
					}
				}
				if got, want := dumpAll(t, r), dumpAll(t, s); !slices.Equal(got, want) {
					t.Fatalf("seed %d compacted=%v: restored store differs:\n%s\nwant\n%s", seed, compact, strings.Join(got, "\n"), strings.Join(want, "\n"))
				}
				if r.ObservedStreamTime() != s.ObservedStreamTime() {
					t.Fatalf("seed %d: restored stream time %d, want %d", seed, r.ObservedStreamTime(), s.ObservedStreamTime())
				}
				for asOf := clock - 60; asOf <= clock+1; asOf++ {
					for _, qk := range keys {
						checkVersionedGet(t, r, m, qk, asOf, fmt.Sprintf("seed %d restored compacted=%v", seed, compact))
					}
				}
			}
		}
	})
}

func checkVersionedGet(t *testing.T, s *state.VersionedBytesStore, m *versionedModel, k string, asOf int64, where string) {
	t.Helper()
	got, ok, err := s.GetAsOf([]byte(k), asOf)
	if err != nil {
		t.Fatal(err)
	}
	wv, wf, wt, wok := m.get(k, asOf)
	if ok != wok || (ok && (string(got.Value) != wv || got.Timestamp != wf || got.ValidTo != wt)) {
		t.Fatalf("%s: get(%q, @%d): got %q [%d,%d) %v, want %q [%d,%d) %v", where, k, asOf,
			got.Value, got.Timestamp, got.ValidTo, ok, wv, wf, wt, wok)
	}
}

// dumpAll lists every entry of the store's byte store (layout, expiry index and meta).
func dumpAll(t *testing.T, s *state.VersionedBytesStore) []string {
	t.Helper()
	return dumpKV(t, s.KeyValue())
}

func dumpKV(t *testing.T, kv state.KeyValueBytesStore) []string {
	t.Helper()
	it, err := kv.All()
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	var out []string
	for it.Next() {
		out = append(out, fmt.Sprintf("%x=%x", it.Key(), it.Value()))
	}
	if err := it.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// The builder logs to the task's changelog sink and the typed view round-trips values.
func TestVersionedBuilderTyped(t *testing.T) {
	sink := &recordingSink{}
	b := state.NewVersionedKeyValueStoreBuilder("prices", serde.String(), serde.Int64(), time.Minute).
		WithBackend(memory.Backend())
	ps, err := b.Build(state.StoreContext{Changelog: sink})
	if err != nil {
		t.Fatal(err)
	}
	s := ps.(*state.VersionedKeyValueStore[string, int64])
	if _, _, err := s.Put("x", 10, 1000); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Put("x", 20, 2000); err != nil {
		t.Fatal(err)
	}
	r, ok, err := s.GetAsOf("x", 1500)
	if err != nil || !ok || r.Value != 10 || r.Timestamp != 1000 || r.ValidTo != 2000 {
		t.Fatalf("GetAsOf: %+v %v %v", r, ok, err)
	}
	prev, found, stored, err := s.Delete("x", 3000)
	if err != nil || !found || !stored || prev.Value != 20 {
		t.Fatalf("Delete: %+v %v %v %v", prev, found, stored, err)
	}
	if _, ok, _ := s.Get("x"); ok {
		t.Fatal("deleted key still has a latest value")
	}
	if len(sink.keys) != 3 {
		t.Fatalf("changelog has %d records, want 3", len(sink.keys))
	}
	if _, err := state.NewVersionedKeyValueStoreBuilder("bad", serde.String(), serde.Int64(), -time.Second).
		WithBackend(memory.Backend()).Build(state.StoreContext{}); err == nil {
		t.Fatal("negative history retention was accepted")
	}
}
