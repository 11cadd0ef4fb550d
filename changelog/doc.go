// Package changelog is the public face of restoration: how rill brings a task's state stores
// back from their compacted changelog topics, as far as a user or a tool sees it.
//
//   - RestoreListener is told when a store's restoration starts, after each batch it applies,
//     and when it ends or is suspended (Kafka Streams' StateRestoreListener); an App takes
//     one in rill.Config.StateRestoreListener.
//   - The .checkpoint file beside a task's stores records, per changelog partition, the
//     offset up to which the local stores hold its records, in Kafka Streams' own file
//     format (OffsetCheckpoint): ReadCheckpoint and WriteCheckpoint read and write it for
//     tools, TopicName names a store's changelog topic.
//
// The mechanics (trusting or wiping a task directory, the restore loop shared by active
// tasks, standbys and global stores, the changelog reader) are internal to the runtime.
//
// # Usage
//
// A tool that reports how far each local store of a task is restored, from the task's
// directory <StateDir>/<ApplicationID>/<task id> (an App locks its state directory while it
// runs; read the file of a stopped instance, or expect it to change under you):
//
//	dir := filepath.Join(stateDir, "orders-app", "1_3")
//	cp, err := changelog.ReadCheckpoint(dir) // no file: empty, restore from the start
//	if err != nil {
//		return err
//	}
//	tp := changelog.TopicPartition{Topic: changelog.TopicName("orders-app", "counts"), Partition: 3}
//	if next, ok := cp[tp]; ok {
//		fmt.Printf("%s-%d: local store holds records below offset %d\n", tp.Topic, tp.Partition, next)
//	}
//
// An application that watches its restorations:
//
//	type progress struct{}
//
//	func (progress) OnRestoreStart(store string, tp changelog.TopicPartition, start, end int64) {
//		log.Printf("restoring %s from %s-%d: offsets %d to %d", store, tp.Topic, tp.Partition, start, end)
//	}
//	func (progress) OnBatchRestored(store string, tp changelog.TopicPartition, batchEnd, n int64) {}
//	func (progress) OnRestoreEnd(store string, tp changelog.TopicPartition, total int64)        {}
//	func (progress) OnRestoreSuspended(store string, tp changelog.TopicPartition, total int64)  {}
//
//	app, err := rill.New(topo, rill.Config{..., StateRestoreListener: progress{}})
package changelog
