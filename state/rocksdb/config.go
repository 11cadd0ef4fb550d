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

// memtableBloomRatio is the share of a memtable's size given to its whole-key Bloom filter:
// 2% of a 16 MiB memtable is 2.7 Mbit, about 25 bits per entry of 100-byte values, far below
// 1% false positives.
const memtableBloomRatio = 0.02

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
// bounded-memory recipe (shared cache holding index and filter blocks, L0 ones pinned);
// segmented is set for window and session stores.
func (b *Backend) newOptions(name string, segmented bool) *storeOptions {
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
	if segmented {
		// A whole-key Bloom filter in each memtable of window and session stores: a Get of
		// a key the memtables do not hold then skips their skip lists. Windowed
		// aggregations read mostly absent keys (a record's windows are new until a later
		// record of its key lands in them), and a miss in the skip list of a 16 MiB
		// memtable is a dozen cache-missing comparisons: getInto was 20% of
		// streamcountwindowed/eos (docs/benchmarks.md). Key-value stores, whose reads
		// mostly find their key, go without: the filter is memtableBloomRatio of every
		// memtable's size, taken from its arena when the memtable is created.
		opts.SetMemTablePrefixBloomSizeRatio(memtableBloomRatio)
		opts.SetMemtableWholeKeyFiltering(true)
	}
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
