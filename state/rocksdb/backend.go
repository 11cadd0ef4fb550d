package rocksdb

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/linxGnu/grocksdb"

	"github.com/rillstreams/rill/state"
)

// dirName is the directory under a task's state directory that holds its RocksDB stores,
// <task dir>/rocksdb/<store name>, as Kafka Streams lays them out.
const dirName = "rocksdb"

// Backend opens RocksDB stores that share one block cache. It is safe for concurrent use: the
// stream threads of an app open their tasks' stores through the same Backend. The stores it
// returns are not: each belongs to the task that opened it (see the package doc).
type Backend struct {
	cfg Config

	// mu protects cache, stores and closed. Stores take it only when they open and close.
	mu     sync.Mutex
	cache  *grocksdb.Cache
	stores map[*store]struct{}
	closed bool
}

var _ state.Backend = (*Backend)(nil)

// NewBackend returns a Backend configured by cfg (see Config for defaults). Close it after
// the stores it opened are closed to release its block cache.
func NewBackend(cfg Config) (*Backend, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	return &Backend{
		cfg:    cfg,
		cache:  grocksdb.NewLRUCache(uint64(cfg.BlockCacheBytes)),
		stores: map[*store]struct{}{},
	}, nil
}

// Name is "rocksdb".
func (b *Backend) Name() string { return "rocksdb" }

// Close closes the stores still open, then releases the Backend's handle on the block cache
// (open stores keep the cache alive on their own, so the order matters only for memory).
// Call it once the tasks are closed: stores belong to their tasks' goroutines, and closing
// one under a running task is a data race. Later calls do nothing.
func (b *Backend) Close() {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return
	}
	b.closed = true
	open := make([]*store, 0, len(b.stores))
	for s := range b.stores {
		open = append(open, s)
	}
	b.mu.Unlock()

	for _, s := range open {
		if s.owner != nil {
			_ = s.owner.Close()
		}
	}

	b.mu.Lock()
	b.cache.Destroy()
	b.cache = nil
	b.mu.Unlock()
}

// KeyValue opens (or creates) the key-value store name at <dir>/rocksdb/<name>.
func (b *Backend) KeyValue(name, dir string) (state.KeyValueBytesStore, error) {
	s, err := b.openStore(name, dir, nil)
	if err != nil {
		return nil, err
	}
	kv := &kvStore{store: s}
	s.owner = kv
	return kv, nil
}

// Window opens (or creates) the window store name at <dir>/rocksdb/<name>.
func (b *Backend) Window(name, dir string, opts state.WindowOptions) (state.WindowBytesStore, error) {
	opts, err := windowDefaults(name, opts)
	if err != nil {
		return nil, err
	}
	return openWindowStore(b, name, dir, opts)
}

// Session opens (or creates) the session store name at <dir>/rocksdb/<name>.
func (b *Backend) Session(name, dir string, opts state.WindowOptions) (state.SessionBytesStore, error) {
	opts, err := windowDefaults(name, opts)
	if err != nil {
		return nil, err
	}
	opts.RetainDuplicates = false
	return openSessionStore(b, name, dir, opts)
}

// windowDefaults validates opts and fills in Kafka Streams' default segment interval.
func windowDefaults(name string, opts state.WindowOptions) (state.WindowOptions, error) {
	if opts.Retention <= 0 {
		return opts, fmt.Errorf("rill: rocksdb store %q: retention %d ms must be positive", name, opts.Retention)
	}
	if opts.SegmentInterval < 0 {
		return opts, fmt.Errorf("rill: rocksdb store %q: negative segment interval %d ms", name, opts.SegmentInterval)
	}
	if opts.SegmentInterval == 0 {
		opts.SegmentInterval = max(opts.Retention/2, 60000)
	}
	return opts, nil
}

// storePath checks name and returns the store's directory, creating it.
func storePath(name, dir string) (string, error) {
	if dir == "" {
		return "", fmt.Errorf("rill: rocksdb store %q needs a state directory", name)
	}
	if name == "" || name == "." || name == ".." || strings.ContainsAny(name, `/\`) {
		return "", fmt.Errorf("rill: rocksdb store name %q is not a valid directory name", name)
	}
	// Owner-only (0700), made here rather than by RocksDB, which would make the store's
	// directory 0755. RocksDB's files themselves are 0644 (7.8's POSIX file system has no
	// setting that reaches them): the directory keeps other users out.
	path := filepath.Join(dir, dirName, name)
	if err := os.MkdirAll(path, 0o700); err != nil {
		return "", fmt.Errorf("rill: rocksdb store %q: %w", name, err)
	}
	return path, nil
}

// openStore opens the RocksDB instance of store name with open (openPlain when nil: the
// default column family only) and registers it. The lock is not held while RocksDB opens,
// which takes milliseconds: the stream threads of a rebalance open their stores at once.
func (b *Backend) openStore(name, dir string, open func(s *store) error) (*store, error) {
	path, err := storePath(name, dir)
	if err != nil {
		return nil, err
	}
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil, fmt.Errorf("rill: rocksdb store %q: backend %w", name, state.ErrClosed)
	}
	// The options take their own reference to the cache: from here the store does not
	// depend on the Backend's handle.
	s := newStore(b, name, path, b.newOptions(name, open != nil)) // open: a segmented store's
	b.mu.Unlock()

	if open == nil {
		open = (*store).openPlain
	}
	if err := open(s); err != nil {
		s.free()
		return nil, err
	}

	b.mu.Lock()
	closed := b.closed
	if !closed {
		b.stores[s] = struct{}{}
	}
	b.mu.Unlock()
	if closed {
		_ = s.shutdown(func() error { return nil })
		return nil, fmt.Errorf("rill: rocksdb store %q: backend %w", name, state.ErrClosed)
	}
	return s, nil
}

// forget removes a closed store from the Backend.
func (b *Backend) forget(s *store) {
	b.mu.Lock()
	delete(b.stores, s)
	b.mu.Unlock()
}
