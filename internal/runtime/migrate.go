package runtime

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/rillstreams/rill/internal/kafka"
)

// Task migration (Kafka Streams' TaskMigratedException). A producer that is fenced, or whose
// epoch or id the brokers no longer know (after a broker crash, or a transaction the
// coordinator aborted on timeout), cannot commit again; neither can the tasks' work since
// the last commit, which its open transaction held. That is not a failure of the app: the
// thread closes its tasks dirty (transactional stores drop what they buffered, so they stay at
// their last commit), closes its session, and opens a new one (a new producer: its
// InitProducerID aborts whatever the old one left open) that rejoins the group. The tasks
// reopen from their stores' committed offsets and the changelog tail, and the consumer
// restarts from the committed input offsets: exactly-once carries on. Issue 14: a broker
// SIGKILLed under load stopped the app with INVALID_PRODUCER_EPOCH then PRODUCER_FENCED.

// errBrokersUnavailable is a commit, or a send, that failed because the brokers could not be
// reached (a broker restarting): handled as a task migration, since whether the commit happened
// (or which sends of the transaction made it) is unknown and a dirty close plus a rejoin is
// right either way: the stores restore what the changelogs committed, the consumer restarts
// from the committed offsets, and under at-least-once the lost sends are made again by the
// replay. rill-torture saw instances go to ERROR on "commit: unable to dial: connection
// refused" (kfake) and on sends failed with "broker closed the connection" (real Kafka).
var errBrokersUnavailable = errors.New("rill: the brokers were unreachable")

// migrationBackoff spaces two migrations of one thread, so that brokers refusing every new
// producer do not turn the thread into a busy loop of sessions.
const migrationBackoff = time.Second

// maxMigrations migrations of one thread within migrationWindow fail it: something keeps
// fencing its producer, most likely another live instance with the same ProcessID (so the same
// transactional ids), and taking turns at fencing each other would only hide that.
const (
	maxMigrations   = 3
	migrationWindow = time.Minute
)

// openSession creates the thread's group session (and, under exactly-once, its transactional
// producer, initialized at once).
func (th *thread) openSession() error {
	rt := th.rt
	scfg := kafka.SessionConfig{
		ClientConfig: rt.cfg.Client, Group: rt.cfg.ApplicationID, Topics: rt.sourceTopics, Balancer: th.bal,
		OnAssigned: th.onAssigned, OnRevoked: th.onRevoked, OnLost: th.onLost, SessionTimeout: rt.cfg.SessionTimeout,
		BlockTimeout: rt.cfg.BlockTimeout,
	}
	scfg.ClientID = fmt.Sprintf("%s-%s-StreamThread-%d", rt.cfg.ApplicationID, rt.cfg.ProcessID, th.index)
	scfg.TransactionalID = rt.g.transactionalID(rt.cfg, th.index)
	sess, err := rt.newSession(scfg)
	if err != nil {
		return err
	}
	th.sess = sess
	return nil
}

// closeAllLocked closes every active task (cleanly: checkpointed; or dirty) and every standby
// (always cleanly: they hold committed data only), and the standbys' changelog reader.
// th.mu must be held.
func (th *thread) closeAllLocked(clean bool) {
	for id, rt := range th.tasks {
		if cerr := th.closeTask(rt, clean); cerr != nil {
			th.log.Warn("rill: close task", zapTask(id), zapErr(cerr))
		}
		delete(th.tasks, id)
		th.rt.dirs.release(id, th.index)
	}
	for id, st := range th.standbys {
		if cerr := th.closeStandby(st); cerr != nil {
			th.log.Warn("rill: close standby task", zapTask(id), zapErr(cerr))
		}
	}
	if th.reader != nil {
		th.reader.Close()
		th.reader = nil
	}
}

// migrate handles a task-migrated error (kafka.IsTaskMigrated): tasks closed dirty, a new
// session, a rejoin. It fails only when no new session can be made.
func (th *thread) migrate(ctx context.Context, cause error) error {
	now := time.Now()
	recent := th.migrations[:0]
	for _, at := range th.migrations {
		if now.Sub(at) < migrationWindow {
			recent = append(recent, at)
		}
	}
	// Only fencings count against the limit: a broker restart may fail several commits in a
	// row, and a new session that cannot reach the brokers fails the thread anyway.
	unavailable := errors.Is(cause, errBrokersUnavailable) || kafka.IsGroupLeft(cause)
	if !unavailable {
		recent = append(recent, now)
	}
	th.migrations = recent
	if len(th.migrations) > maxMigrations {
		return fmt.Errorf("rill: the producer was fenced %d times within %v; does another running instance use ProcessID %q? %w",
			len(th.migrations), migrationWindow, th.rt.cfg.ProcessID, cause)
	}
	switch {
	case kafka.IsGroupLeft(cause):
		th.log.Warn("rill: the group coordinator refused a commit: this member is no longer in the group's current "+
			"generation (a session timeout or a rebalance); closing the tasks dirty and rejoining the group", zapErr(cause))
	case unavailable:
		th.log.Warn("rill: a commit or a send failed with the brokers unreachable: closing the tasks dirty, "+
			"re-initializing the producer and rejoining the group", zapErr(cause))
	default:
		th.log.Warn("rill: the producer was fenced or lost its epoch (task migrated): closing the tasks dirty, "+
			"re-initializing the producer and rejoining the group", zapErr(cause))
	}
	th.rt.setState(Rebalancing)
	th.migrating.Store(true) // until the rejoin's assignment
	th.lock()
	th.closeAllLocked(false)
	th.dirty, th.rebalanced, th.assignErr, th.probeAt = false, false, nil, time.Time{}
	clear(th.paused)
	clear(th.lagMisses)
	th.unlock()
	lctx, cancel := th.bounded(ctx)
	th.sess.Close(lctx) // leaving runs the revoke callback, which takes mu
	cancel()
	// Failed sends of the old producer belong to the aborted transaction and closed tasks.
	th.prodMu.Lock()
	th.prodFailed = nil
	th.prodMu.Unlock()
	select {
	case <-ctx.Done():
		return nil
	case <-time.After(migrationBackoff):
	}
	// The brokers may still be coming back (the commit failed on a restart): a new session
	// that cannot reach them is tried again, as long as a restoration may stall.
	for start := time.Now(); ; {
		err := th.openSession()
		if err == nil {
			break
		}
		if !kafka.IsBrokerUnavailable(err) || time.Since(start) > th.rt.cfg.RestoreStallTimeout {
			return fmt.Errorf("rill: re-initialize the producer after a task migration: %w", err)
		}
		th.log.Warn("rill: re-initialize the producer after a task migration: brokers unreachable; retrying", zapErr(err))
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(migrationBackoff):
		}
	}
	th.lastCommit = time.Now()
	return nil
}
