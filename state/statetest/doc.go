// Package statetest is the conformance suite every state.Backend must pass. It is shipped as a
// package (as etcd's rafttest is) so that each backend's own tests run the very same checks:
// state/memory and state/rocksdb call it from their _test files, and a user writing a backend
// of their own can too.
//
// The suite opens stores through the Backend only, so it tests what the runtime sees. It
// checks the semantics documented in package state and taken from Kafka Streams:
//
//   - key-value stores: Get, Put, Delete, PutIfAbsent, nil values deleting, empty values kept
//     distinct from absent ones, ranges with open and inclusive bounds, reverse ranges, prefix
//     scans (including the 0xff prefix, whose upper bound cannot be computed by incrementing),
//     ApproximateCount, ErrInvalidRange, iterator and store lifecycle (ErrClosed), writes
//     during iteration, and persistence across a close and reopen for persistent backends;
//   - window stores: fetches and their orders, retention against observed stream time (the
//     largest window start put so far, moved by every Put, deleting ones included): a window
//     whose start is at or before observedStreamTime - Retention is never returned and Puts to
//     it are dropped; RetainDuplicates keeping every Put in insertion order and ignoring nil;
//   - session stores: FetchSession, FindSessions (the sessions a record could merge with),
//     ordering by key, end, start, and retention by end time;
//   - property tests: seeded random operation sequences checked step by step against naive
//     models (a map sorted on every query), for key-value, window and session stores, with
//     keys from a four-byte alphabet (0x00, 'a', 'b', 0xff) so that keys collide and prefix
//     one another.
//
// Two requirements catch byte-string encodings in particular. Window and session keys that
// are prefixes of one another ("a", "a\x00", "aa") must come back in key order and never mix:
// an encoding of key then time into one RocksDB key must be order-preserving, or fetches
// must filter and merge. An empty value ([]byte{}) is a value: Get returns it non-nil.
//
// What the suite leaves open: iterators may read a snapshot or see later writes, as long as
// every pair they return was the key's value at some point while they were open; a
// persistent store need not remember its observed stream time across a reopen (the models
// put it back with a deleting Put); ApproximateCount of a persistent store need only be
// plausible; an inverted time range may be empty or ErrInvalidRange. Window starts are never
// negative in the suite, as in Kafka Streams.
//
// # Usage
//
// In a backend's test file:
//
//	func TestConformance(t *testing.T) {
//		statetest.RunAll(t, func(testing.TB) state.Backend { return memory.Backend() })
//	}
//
// Each store is opened with a fresh t.TempDir() as its dir; persistent backends are also
// closed and reopened on the same name and dir. The property tests log their seed; set
// RILL_STATETEST_SEED to replay another one.
package statetest
