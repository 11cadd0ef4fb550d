// Package memory holds rill's in-memory state stores: key-value, window and session stores of
// bytes, kept in B-trees (github.com/google/btree) and rebuilt from their changelog topics when
// a task starts, as Kafka Streams' in-memory stores are. Backend returns them as a
// state.Backend; the typed stores of package state wrap them.
//
// # Usage
//
// Tasks open stores through the backend; a test or a custom processor can also make one
// directly:
//
//	s := memory.NewKeyValueStore("counts")
//	defer s.Close()
//	if err := s.Put([]byte("alice"), []byte("3")); err != nil { ... }
//	v, err := s.Get([]byte("alice")) // "3"; the store's own bytes: do not modify them
//
//	it, err := s.PrefixScan([]byte("al"))
//	if err != nil { ... }
//	defer it.Close()
//	for it.Next() {
//		fmt.Printf("%s=%s\n", it.Key(), it.Value())
//		_ = s.Put(it.Key(), nil) // writing while iterating is safe: it reads a snapshot
//	}
//
//	w, err := memory.NewWindowStore("clicks-per-minute", state.WindowOptions{
//		Retention: 24 * time.Hour.Milliseconds(), // SegmentInterval defaults to 12 h
//	})
//
// or, for a whole topology, choose the backend (the test driver's default):
//
//	driver := streamstest.New(t, topo, streamstest.WithBackend(memory.Backend()))
//
// # Ownership and costs
//
// Put copies keys and values, so callers may reuse their buffers. Get, Fetch and iterators
// return the store's own slices, which are never changed in place (writes replace entries):
// callers must not modify them, and may keep them.
//
// Like every store, these belong to one task goroutine and take no locks. Iterators read a
// snapshot taken when they open: an open iterator pins the trees, and the next write clones
// them lazily (copy-on-write), so a write during iteration copies the few nodes on its path
// instead of the whole store. Iterators must be closed; closing the store closes them.
//
// Window and session stores keep two trees over the same entries (by key, and by time) so that
// fetching one key's windows and dropping the oldest windows are both logarithmic.
package memory
