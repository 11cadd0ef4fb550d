// Package standby is the public face of standby replicas: warm copies of a stateful task's
// stores that other instances keep by applying the task's changelogs, so that when the task's
// instance fails, an instance with a caught-up copy takes the task over and restores only the
// tail its copy had not applied (Kafka Streams' standby replicas and KIP-441 warm-ups).
//
//   - Config sets how many copies to keep and how tasks move to caught-up instances
//     (rill.Config.Standby).
//   - UpdateListener is told as a standby applies changelog batches and when it stops
//     (Kafka Streams' StandbyUpdateListener; rill.Config.StandbyUpdateListener).
//   - TaskLag and PartitionLag are what an App reports of its standbys: App.Tasks and the
//     status server's /tasks list each standby task with its offset and lag on each changelog
//     partition.
//
// The mechanics (opening a standby's stores, tailing its changelogs, promoting it to an
// active task, the assignor that places standbys and warm-ups) are internal to the runtime.
//
// # Usage
//
// Keep one warm copy of every stateful task, move tasks to new instances once they are within
// 5000 records, and watch how far behind the standbys are:
//
//	app, err := rill.New(topo, rill.Config{
//		ApplicationID: "orders-app",
//		Bootstrap:     []string{"localhost:9092"},
//		Standby:       standby.Config{Replicas: 1, AcceptableRecoveryLag: 5000},
//	})
//	...
//	for _, th := range app.Tasks().Threads {
//		for _, sb := range th.Standby { // []standby.TaskLag
//			for _, p := range sb.Changelogs {
//				if p.Lag != nil && *p.Lag > 5000 {
//					log.Printf("standby %s is %d records behind on %s-%d", sb.TaskID, *p.Lag, p.Topic, p.Partition)
//				}
//			}
//		}
//	}
package standby
