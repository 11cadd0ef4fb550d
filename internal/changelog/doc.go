// Package changelog is the mechanics of a task's local state (Kafka Streams'
// ProcessorStateManager and StoreChangelogReader): which changelog partition each logged store
// writes, whether a task directory's content can be trusted (its checkpoint file, the offsets
// its transactional stores committed, vetting against the changelogs' ends), the one
// restoration loop that replays changelogs into stores, and the stores' transactions under
// exactly once. The public face of restoration (the checkpoint file format, the restore
// listener) is the top-level package changelog; the stream threads (internal/runtime) hold
// one Manager per active or standby task.
//
// # Usage
//
//	m := changelog.NewManager(dir, logged, exactlyOnce)
//	m.Track(task.Stores())
//	file, _ := pub.ReadCheckpoint(dir)
//	start, wipe, err := m.StartOffsets(task.Stores(), existed, file)
//	// (wipe: empty dir, reopen the stores, Track again, start from nil)
//	start, ahead, err := changelog.Vet(ctx, admin, log, id, task.Stores(), m.Logged, start)
//	ends, err := admin.EndOffsets(ctx, topics...)
//	n, err := m.Restore(ctx, read, task.Stores(), start, ends, flush, hooks)
//	// then, per changelog record acknowledged: m.Acked(tp, offset); at commits: m.Checkpoint()
package changelog
