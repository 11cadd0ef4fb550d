// Package rocksdb is rill's persistent state backend: key-value, window and session stores
// in RocksDB (through grocksdb), laid out and tuned as Kafka Streams' RocksDB stores are.
//
// # Usage
//
// One Backend per process, shared by every stream thread, so that all stores read through
// one block cache:
//
//	backend, err := rocksdb.NewBackend(rocksdb.Config{
//		BlockCacheBytes: 256 << 20, // for every store of the process together
//		ConfigSetter: func(store string, opts *grocksdb.Options) {
//			opts.SetCompression(grocksdb.LZ4Compression) // Kafka's rocksdb.config.setter
//		},
//	})
//	if err != nil { ... }
//	defer backend.Close() // after the tasks have closed their stores
//
//	// What a task does with the stores of <state dir>/<application id>/<task id>:
//	counts, err := backend.KeyValue("counts", taskDir) // at <taskDir>/rocksdb/counts
//	err = counts.Put([]byte("alice"), []byte{1})
//	v, err := counts.Get([]byte("alice"))
//	err = counts.Flush() // before the changelog offsets are checkpointed
//	err = counts.Close()
//
//	windows, err := backend.Window("clicks-per-minute", taskDir,
//		state.WindowOptions{Retention: 24 * 3600 * 1000})
//	it, err := windows.FetchRange([]byte("alice"), from, to)
//	for it.Next() {
//		use(it.WindowStart(), it.Value())
//	}
//	err = it.Close()
//
// # Memory
//
// Every store of a Backend shares one LRU block cache (Config.BlockCacheBytes), which also
// holds index and filter blocks (L0 ones pinned): reads are bounded per process, not per
// store and partition, as Kafka Streams' bounded-memory RocksDBConfigSetter recipe does.
// Memtables are not charged to that cache: RocksDB 7.8's C API, and so grocksdb v1.7.14,
// has no WriteBufferManager. Each store, and each live segment of a window or session store,
// can hold up to WriteBufferBytes × MaxWriteBuffers of memtables; lower WriteBufferBytes when
// a process hosts many stores. The memtables of window and session stores carry a whole-key
// Bloom filter of 2% of their size (330 KiB of a 16 MiB memtable, taken when the memtable is
// created), which lets reads of absent windows skip them.
//
// In transaction mode (state.Transactional, which the runtime uses under both guarantees) a
// store's writes since the last commit are Go memory, not RocksDB's: at least once, up to the
// runtime's bound on buffered writes per task (100,000), which is what the peak RSS of
// write-heavy windowed tasks mostly is.
//
// # Durability
//
// Writes skip RocksDB's write-ahead log, as in Kafka Streams: the changelog topic is the
// source of truth. Flush writes the memtables to disk and is what makes writes durable; the
// task flushes its stores before it checkpoints changelog offsets, and Close flushes too.
// After a crash a store holds at least what its last Flush did (memtables also reach disk on
// their own when full), and the changelog is replayed from the checkpoint.
//
// # Stores
//
// A key-value store is one RocksDB instance with keys as given. Window and session stores
// are segmented by time as in Kafka Streams, one column family per segment in one RocksDB
// instance (segments.go says why); retention drops whole segments, files included. Their
// keys escape the record key with an order-preserving encoding, so that key "a"'s windows
// never interleave with key "ab"'s and seeks are exact. Window stores also keep a time index,
// which gives FetchAll and All their documented order (window start, then key). Observed
// stream time and the duplicates' sequence number are recorded at Flush and recovered on
// reopen, along with the newest window start a window store holds. Window stores that retain
// duplicates (stream-stream join buffers) skip the time index in transaction mode and sort
// their FetchAll and All in memory instead (window_dups.go).
//
// # Iterators and ownership
//
// A store belongs to its task's goroutine and takes no locks; the Backend is safe for
// concurrent use. Iterators must be closed: they pin memtables and files. Closing a store
// closes the iterators left open first, since RocksDB aborts the process when a DB closes
// under a live iterator; those iterators then return false from Next and ErrClosed from Err.
// The Key and Value of an iterator are copies in buffers it reuses, valid until the next
// Next or Close; values returned by Get and Fetch are the caller's.
//
// # Building
//
// The package uses cgo and links the system RocksDB: on Debian bookworm,
//
//	apt-get install librocksdb-dev   # RocksDB 7.8.3 with its -dev dependencies
//
// which matches grocksdb v1.7.14, the version go.mod pins (newer grocksdb needs a newer
// RocksDB). No CGO_CFLAGS or CGO_LDFLAGS are needed: headers and librocksdb.so are in the
// standard paths. grocksdb links with -lrocksdb -pthread -lstdc++ -ldl -lm -lzstd -llz4 -lz
// -lsnappy; librocksdb-dev depends on the -dev packages of those compression libraries, and
// -lstdc++ comes with g++ (build-essential), which cgo's C compiler usually brings. This
// package adds only -lrocksdb, for native.go. The minimum is -lrocksdb alone, as the shared
// library carries its own dependencies; building with -tags grocksdb_clean_link drops the
// compression libraries from grocksdb's flags where their -dev packages are missing.
package rocksdb
