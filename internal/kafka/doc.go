// Package kafka is rill's one door to franz-go: group membership with rill's task balancer,
// polling, producing (transactionally under exactly-once), admin calls and changelog reads.
// Nothing else in rill imports kgo or kadm, so the client can be reasoned about (and replaced)
// here alone.
//
// # Usage
//
//	s, err := kafka.NewSession(kafka.SessionConfig{ClientConfig: kafka.ClientConfig{Bootstrap: addrs}, Group: "app",
//		Topics: []string{"orders"}, TransactionalID: "app-p1-0"})
//	recs, err := s.Poll(ctx, 1000)
//	s.Begin()
//	s.ProduceTo(out, kafka.PromiseFunc(func(offset int64, err error) { ... }), nil)
//	committed, err := s.Commit(ctx, processed) // outputs, changelogs and the offsets processed, atomically under EOS
//	s.AllowRebalance()
package kafka
