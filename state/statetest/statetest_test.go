package statetest_test

import (
	"bytes"
	"cmp"
	"fmt"
	"math"
	"slices"
	"sync"
	"testing"

	"github.com/rillstreams/rill/state"
	"github.com/rillstreams/rill/state/statetest"
)

// The suite checks itself against a naive reference backend: maps sorted on every query.
// Passing with it and with state/memory shows the suite asks for the documented semantics,
// not for one implementation's. Its persistent variant keeps data across Close and reopen (but
// not stream time, which a reopened store need not remember), so the suite's persistence
// paths run here too, not only against RocksDB.

func TestReference(t *testing.T) {
	statetest.RunAll(t, func(testing.TB) state.Backend { return &refBackend{} })
}

func TestReferencePersistent(t *testing.T) {
	statetest.RunAll(t, func(testing.TB) state.Backend { return &refBackend{persistent: true} })
}

// disk holds what persistent reference stores keep across reopen, by dir and name.
var disk = struct {
	sync.Mutex
	kv       map[string]map[string][]byte
	windows  map[string][]refWin
	sessions map[string]map[refSess][]byte
}{kv: map[string]map[string][]byte{}, windows: map[string][]refWin{}, sessions: map[string]map[refSess][]byte{}}

type refBackend struct{ persistent bool }

func (b *refBackend) Name() string { return "reference" }

func (b *refBackend) KeyValue(name, dir string) (state.KeyValueBytesStore, error) {
	s := &refKV{name: name, data: map[string][]byte{}, persistent: b.persistent, path: dir + "/" + name}
	if b.persistent {
		disk.Lock()
		for k, v := range disk.kv[s.path] {
			s.data[k] = v
		}
		disk.Unlock()
	}
	return s, nil
}

func checkOpts(opts state.WindowOptions) error {
	if opts.Retention <= 0 || opts.SegmentInterval < 0 {
		return fmt.Errorf("rill: bad window options %+v", opts)
	}
	return nil
}

func (b *refBackend) Window(name, dir string, opts state.WindowOptions) (state.WindowBytesStore, error) {
	if err := checkOpts(opts); err != nil {
		return nil, err
	}
	s := &refWindow{name: name, opts: opts, persistent: b.persistent, path: dir + "/" + name}
	if b.persistent {
		disk.Lock()
		s.entries = slices.Clone(disk.windows[s.path])
		disk.Unlock()
	}
	return s, nil
}

func (b *refBackend) Session(name, dir string, opts state.WindowOptions) (state.SessionBytesStore, error) {
	if err := checkOpts(opts); err != nil {
		return nil, err
	}
	s := &refSession{name: name, opts: opts, data: map[refSess][]byte{}, persistent: b.persistent, path: dir + "/" + name}
	if b.persistent {
		disk.Lock()
		for k, v := range disk.sessions[s.path] {
			s.data[k] = v
		}
		disk.Unlock()
	}
	return s, nil
}

// refIter is a materialized iterator: every store's iterators are lists taken at open.
type refIter struct {
	keys, vals [][]byte
	starts     []int64
	ends       []int64
	i          int
	closed     bool
	err        error
}

func (it *refIter) Next() bool {
	if it.closed || it.i >= len(it.keys) {
		return false
	}
	it.i++
	return true
}
func (it *refIter) Key() []byte        { return it.keys[it.i-1] }
func (it *refIter) Value() []byte      { return it.vals[it.i-1] }
func (it *refIter) WindowStart() int64 { return it.starts[it.i-1] }
func (it *refIter) Start() int64       { return it.starts[it.i-1] }
func (it *refIter) End() int64         { return it.ends[it.i-1] }
func (it *refIter) Err() error         { return it.err }
func (it *refIter) Close() error       { it.closed = true; return nil }

// iters tracks a store's iterators, to close them with it.
type iters []*refIter

func (is *iters) add(it *refIter) *refIter { *is = append(*is, it); return it }
func (is *iters) closeAll() {
	for _, it := range *is {
		if !it.closed {
			it.closed, it.err = true, state.ErrClosed
		}
	}
}

type refKV struct {
	name       string
	data       map[string][]byte
	closed     bool
	persistent bool
	path       string
	its        iters
}

func (s *refKV) Name() string     { return s.name }
func (s *refKV) Persistent() bool { return s.persistent }
func (s *refKV) Flush() error     { return s.save() }
func (s *refKV) save() error {
	if s.closed {
		return state.ErrClosed
	}
	if s.persistent {
		disk.Lock()
		disk.kv[s.path] = maps(s.data)
		disk.Unlock()
	}
	return nil
}
func maps(m map[string][]byte) map[string][]byte {
	out := map[string][]byte{}
	for k, v := range m {
		out[k] = v
	}
	return out
}
func (s *refKV) Close() error {
	if s.closed {
		return nil
	}
	err := s.save()
	s.closed = true
	s.its.closeAll()
	return err
}
func (s *refKV) Get(key []byte) ([]byte, error) {
	if s.closed {
		return nil, state.ErrClosed
	}
	return s.data[string(key)], nil
}
func (s *refKV) Put(key, value []byte) error {
	if s.closed {
		return state.ErrClosed
	}
	if value == nil {
		delete(s.data, string(key))
	} else {
		s.data[string(key)] = bytes.Clone(value)
	}
	return nil
}
func (s *refKV) PutIfAbsent(key, value []byte) ([]byte, error) {
	if s.closed {
		return nil, state.ErrClosed
	}
	if old, ok := s.data[string(key)]; ok {
		return old, nil
	}
	return nil, s.Put(key, value)
}
func (s *refKV) Delete(key []byte) ([]byte, error) {
	if s.closed {
		return nil, state.ErrClosed
	}
	old := s.data[string(key)]
	delete(s.data, string(key))
	return old, nil
}
func (s *refKV) scan(from, to []byte, keep func(k string) bool, reverse bool) (state.KeyValueIterator, error) {
	if s.closed {
		return nil, state.ErrClosed
	}
	if from != nil && to != nil && bytes.Compare(from, to) > 0 {
		return nil, state.ErrInvalidRange
	}
	var keys []string
	for k := range s.data {
		if (from == nil || k >= string(from)) && (to == nil || k <= string(to)) && keep(k) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	if reverse {
		slices.Reverse(keys)
	}
	it := &refIter{}
	for _, k := range keys {
		it.keys, it.vals = append(it.keys, []byte(k)), append(it.vals, s.data[k])
	}
	return s.its.add(it), nil
}
func all(string) bool { return true }
func (s *refKV) Range(from, to []byte) (state.KeyValueIterator, error) {
	return s.scan(from, to, all, false)
}
func (s *refKV) ReverseRange(from, to []byte) (state.KeyValueIterator, error) {
	return s.scan(from, to, all, true)
}
func (s *refKV) All() (state.KeyValueIterator, error) { return s.scan(nil, nil, all, false) }
func (s *refKV) PrefixScan(prefix []byte) (state.KeyValueIterator, error) {
	return s.scan(nil, nil, func(k string) bool { return len(k) >= len(prefix) && k[:len(prefix)] == string(prefix) }, false)
}
func (s *refKV) ApproximateCount() (int64, error) {
	if s.closed {
		return 0, state.ErrClosed
	}
	return int64(len(s.data)), nil
}

// retention is Kafka Streams' rule: expired when at or before observed stream time minus
// retention.
type retention struct {
	observed bool
	time     int64
}

func (r *retention) observe(ts int64) {
	if !r.observed || ts > r.time {
		r.observed, r.time = true, ts
	}
}
func (r *retention) live(ts, ret int64) bool { return !r.observed || ts > r.time-ret }

type refWin struct {
	key   string
	start int64
	value []byte
}

type refWindow struct {
	name       string
	opts       state.WindowOptions
	entries    []refWin // in Put order
	ret        retention
	closed     bool
	persistent bool
	path       string
	its        iters
}

func (s *refWindow) Name() string     { return s.name }
func (s *refWindow) Persistent() bool { return s.persistent }
func (s *refWindow) Retention() int64 { return s.opts.Retention }
func (s *refWindow) Flush() error {
	if s.closed {
		return state.ErrClosed
	}
	if s.persistent {
		disk.Lock()
		disk.windows[s.path] = slices.Clone(s.entries)
		disk.Unlock()
	}
	return nil
}
func (s *refWindow) Close() error {
	if s.closed {
		return nil
	}
	err := s.Flush()
	s.closed = true
	s.its.closeAll()
	return err
}
func (s *refWindow) Put(key, value []byte, start int64) error {
	if s.closed {
		return state.ErrClosed
	}
	s.ret.observe(start)
	if !s.ret.live(start, s.opts.Retention) || value == nil && s.opts.RetainDuplicates {
		return nil
	}
	if !s.opts.RetainDuplicates {
		s.entries = slices.DeleteFunc(s.entries, func(w refWin) bool { return w.key == string(key) && w.start == start })
	}
	if value != nil {
		s.entries = append(s.entries, refWin{string(key), start, bytes.Clone(value)})
	}
	return nil
}
func (s *refWindow) Fetch(key []byte, start int64) ([]byte, error) {
	if s.closed {
		return nil, state.ErrClosed
	}
	if !s.ret.live(start, s.opts.Retention) {
		return nil, nil
	}
	for _, w := range s.entries {
		if w.key == string(key) && w.start == start {
			return w.value, nil
		}
	}
	return nil, nil
}
func (s *refWindow) query(kf, kt []byte, from, to int64, byKey bool) (*refIter, error) {
	if s.closed {
		return nil, state.ErrClosed
	}
	if kf != nil && kt != nil && bytes.Compare(kf, kt) > 0 || from > to {
		return nil, state.ErrInvalidRange
	}
	var ws []refWin
	for _, w := range s.entries {
		if s.ret.live(w.start, s.opts.Retention) && (kf == nil || w.key >= string(kf)) && (kt == nil || w.key <= string(kt)) &&
			w.start >= from && w.start <= to {
			ws = append(ws, w)
		}
	}
	slices.SortStableFunc(ws, func(a, b refWin) int {
		if byKey {
			return cmp.Or(cmp.Compare(a.key, b.key), cmp.Compare(a.start, b.start))
		}
		return cmp.Or(cmp.Compare(a.start, b.start), cmp.Compare(a.key, b.key))
	})
	it := &refIter{}
	for _, w := range ws {
		it.keys, it.vals, it.starts = append(it.keys, []byte(w.key)), append(it.vals, w.value), append(it.starts, w.start)
	}
	return s.its.add(it), nil
}
func (s *refWindow) FetchRange(key []byte, from, to int64) (state.WindowIterator, error) {
	if key == nil {
		key = []byte{}
	}
	return s.query(key, key, from, to, true)
}
func (s *refWindow) FetchKeyRange(kf, kt []byte, from, to int64) (state.WindowKeyIterator, error) {
	return s.query(kf, kt, from, to, true)
}
func (s *refWindow) FetchAll(from, to int64) (state.WindowKeyIterator, error) {
	return s.query(nil, nil, from, to, false)
}
func (s *refWindow) All() (state.WindowKeyIterator, error) {
	return s.query(nil, nil, math.MinInt64, math.MaxInt64, false)
}

type refSess struct {
	key        string
	start, end int64
}

type refSession struct {
	name       string
	opts       state.WindowOptions
	data       map[refSess][]byte
	ret        retention
	closed     bool
	persistent bool
	path       string
	its        iters
}

func (s *refSession) Name() string     { return s.name }
func (s *refSession) Persistent() bool { return s.persistent }
func (s *refSession) Retention() int64 { return s.opts.Retention }
func (s *refSession) Flush() error {
	if s.closed {
		return state.ErrClosed
	}
	if s.persistent {
		disk.Lock()
		m := map[refSess][]byte{}
		for k, v := range s.data {
			m[k] = v
		}
		disk.sessions[s.path] = m
		disk.Unlock()
	}
	return nil
}
func (s *refSession) Close() error {
	if s.closed {
		return nil
	}
	err := s.Flush()
	s.closed = true
	s.its.closeAll()
	return err
}
func (s *refSession) Put(key []byte, start, end int64, value []byte) error {
	if s.closed {
		return state.ErrClosed
	}
	s.ret.observe(end)
	if !s.ret.live(end, s.opts.Retention) {
		return nil
	}
	id := refSess{string(key), start, end}
	if value == nil {
		delete(s.data, id)
	} else {
		s.data[id] = bytes.Clone(value)
	}
	return nil
}
func (s *refSession) Remove(key []byte, start, end int64) error {
	if s.closed {
		return state.ErrClosed
	}
	delete(s.data, refSess{string(key), start, end})
	return nil
}
func (s *refSession) FetchSession(key []byte, start, end int64) ([]byte, error) {
	if s.closed {
		return nil, state.ErrClosed
	}
	if !s.ret.live(end, s.opts.Retention) {
		return nil, nil
	}
	return s.data[refSess{string(key), start, end}], nil
}
func (s *refSession) FindSessionsRange(kf, kt []byte, earliestEnd, latestStart int64) (state.SessionIterator, error) {
	if s.closed {
		return nil, state.ErrClosed
	}
	if kf != nil && kt != nil && bytes.Compare(kf, kt) > 0 {
		return nil, state.ErrInvalidRange
	}
	var ids []refSess
	for id := range s.data {
		if s.ret.live(id.end, s.opts.Retention) && (kf == nil || id.key >= string(kf)) && (kt == nil || id.key <= string(kt)) &&
			id.end >= earliestEnd && id.start <= latestStart {
			ids = append(ids, id)
		}
	}
	slices.SortFunc(ids, func(a, b refSess) int {
		return cmp.Or(cmp.Compare(a.key, b.key), cmp.Compare(a.end, b.end), cmp.Compare(a.start, b.start))
	})
	it := &refIter{}
	for _, id := range ids {
		it.keys, it.vals = append(it.keys, []byte(id.key)), append(it.vals, s.data[id])
		it.starts, it.ends = append(it.starts, id.start), append(it.ends, id.end)
	}
	return s.its.add(it), nil
}
func (s *refSession) FindSessions(key []byte, earliestEnd, latestStart int64) (state.SessionIterator, error) {
	if key == nil {
		key = []byte{}
	}
	return s.FindSessionsRange(key, key, earliestEnd, latestStart)
}
func (s *refSession) Fetch(key []byte) (state.SessionIterator, error) {
	return s.FindSessions(key, math.MinInt64, math.MaxInt64)
}
