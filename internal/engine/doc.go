// Package engine runs one task: one sub-topology instance for one partition. A Task is a
// single-goroutine state machine with no clock and no goroutine of its own, in the manner of
// etcd's raft RawNode; the Kafka runtime and the test driver are thin loops around it, so
// nothing about processing is implemented twice.
//
// # Usage
//
//	task, err := engine.New(engine.Config{
//		ID: processor.TaskID{Subtopology: 0, Partition: 3}, ApplicationID: "app",
//		Topology: topoaccess.Subtopologies(topo)[0], Collector: producer,
//	})
//	_ = task.AddRecords(fetched...)           // one partition's records, in offset order
//	for {
//		ok, err := task.Process()             // the record with the smallest head timestamp
//		if err != nil { return err }          // a handler answered Fail: the task stops
//		if !ok { break }
//	}
//	_ = task.AdvanceWallClock(nowMillis)      // wall-clock punctuations
//	_ = task.Flush()                          // before a commit
//	_ = task.Close()
//
// Inside, nodes are typed: a source deserializes into Record[K, V] and each node calls its
// children through interfaces instantiated with the exact record types, so records are never
// boxed between operators. Types are checked when the topology is wired, not per record.
package engine
