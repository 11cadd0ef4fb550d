package rocksdb

import (
	"fmt"
	"runtime"

	"github.com/linxGnu/grocksdb"
)

// Defaults of Config, those of Kafka Streams' RocksDBStore and its bounded-memory recipe.
const (
	DefaultBlockCacheBytes  = 50 << 20
	DefaultWriteBufferBytes = 16 << 20
	DefaultMaxWriteBuffers  = 3
	DefaultBloomFilterBits  = 10
)

// blockSize is Kafka Streams' block size: small blocks suit point lookups of small values.
const blockSize = 4 << 10

// Config configures a Backend. NewBackend copies it, fills in defaults for zero fields and
// rejects negative ones.
type Config struct {
	// BlockCacheBytes is the capacity of the one LRU block cache that every store opened by
	// the Backend shares, index and filter blocks included. Sharing bounds the memory of
	// reads per process rather than per store and partition (a task per partition each
	// with its own cache is how Kafka Streams apps run out of memory). Default 50 MiB.
	BlockCacheBytes int64
	// WriteBufferBytes is the size of one memtable. Default 16 MiB as Kafka Streams.
	// Memtables are not charged to the block cache: RocksDB 7.8's C API (and so grocksdb
	// v1.7.14) has no WriteBufferManager, so a store's writes can hold up to
	// WriteBufferBytes × MaxWriteBuffers, per column family for window and session
	// segments. Lower it when a process hosts many stores.
	WriteBufferBytes int64
	// MaxWriteBuffers is the number of memtables a store fills before writes stall while
	// the oldest is flushed. Default 3.
	MaxWriteBuffers int
	// BloomFilterBits is the bits per key of the full Bloom filters that let point lookups
	// skip files; 10 gives about 1% false positives. Default 10.
	BloomFilterBits int
	// ConfigSetter, when set, is called with every store's options after rill has set its
	// own, as Kafka Streams' rocksdb.config.setter: it may change anything (compression,
	// compaction, a table factory of its own) but must not keep opts. The table factory
	// rill sets holds the shared block cache; one that replaces it opts out of the bound.
	// Window and session stores use the options for each segment's column family too.
	ConfigSetter func(storeName string, opts *grocksdb.Options)
}

// withDefaults returns c with zero fields set to their defaults, or an error for invalid
// ones.
func (c Config) withDefaults() (Config, error) {
	if c.BlockCacheBytes < 0 || c.WriteBufferBytes < 0 || c.MaxWriteBuffers < 0 || c.BloomFilterBits < 0 {
		return c, fmt.Errorf("rill: rocksdb config: negative size (BlockCacheBytes %d, WriteBufferBytes %d, MaxWriteBuffers %d, BloomFilterBits %d)",
			c.BlockCacheBytes, c.WriteBufferBytes, c.MaxWriteBuffers, c.BloomFilterBits)
	}
	if c.BlockCacheBytes == 0 {
		c.BlockCacheBytes = DefaultBlockCacheBytes
	}
	if c.WriteBufferBytes == 0 {
		c.WriteBufferBytes = DefaultWriteBufferBytes
	}
	if c.MaxWriteBuffers == 0 {
		c.MaxWriteBuffers = DefaultMaxWriteBuffers
	}
	if c.BloomFilterBits == 0 {
		c.BloomFilterBits = DefaultBloomFilterBits
	}
	return c, nil
}

// storeOptions are the native options of one store; they must outlive its DB, which uses
// them to create segment column families.
type storeOptions struct {
	opts *grocksdb.Options
	bbto *grocksdb.BlockBasedTableOptions
}

func (o *storeOptions) destroy() {
	o.opts.Destroy()
	o.bbto.Destroy()
}

// newOptions builds the options of store name: Kafka Streams' RocksDBStore settings plus its
// bounded-memory recipe (shared cache holding index and filter blocks, L0 ones pinned).
func (b *Backend) newOptions(name string) *storeOptions {
	bbto := grocksdb.NewDefaultBlockBasedTableOptions()
	// The table options keep their own reference to the cache (a shared_ptr copy), so the
	// Backend may release its handle while stores still use the cache.
	bbto.SetBlockCache(b.cache)
	bbto.SetBlockSize(blockSize)
	bbto.SetCacheIndexAndFilterBlocks(true)
	bbto.SetCacheIndexAndFilterBlocksWithHighPriority(true)
	bbto.SetPinL0FilterAndIndexBlocksInCache(true)
	bbto.SetFilterPolicy(grocksdb.NewBloomFilterFull(float64(b.cfg.BloomFilterBits)))

	opts := grocksdb.NewDefaultOptions()
	opts.SetBlockBasedTableFactory(bbto)
	opts.SetCreateIfMissing(true)
	opts.SetCreateIfMissingColumnFamilies(true)
	opts.SetErrorIfExists(false)
	opts.SetWriteBufferSize(uint64(b.cfg.WriteBufferBytes))
	opts.SetMaxWriteBufferNumber(b.cfg.MaxWriteBuffers)
	// Kafka Streams' choices: values are often already compact serialized records, and
	// universal compaction writes less for update-heavy aggregates.
	opts.SetCompression(grocksdb.NoCompression)
	opts.SetCompactionStyle(grocksdb.UniversalCompactionStyle)
	// The background thread pools belong to RocksDB's default Env, shared by every DB of
	// the process; this only sizes them.
	opts.IncreaseParallelism(max(runtime.NumCPU(), 2))
	opts.SetInfoLogLevel(grocksdb.ErrorInfoLogLevel)
	opts.SetKeepLogFileNum(2)
	if b.cfg.ConfigSetter != nil {
		b.cfg.ConfigSetter(name, opts)
	}
	return &storeOptions{opts: opts, bbto: bbto}
}
