package runtime

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.uber.org/zap"
)

// What happens when a stream thread fails (Kafka Streams' StreamsUncaughtExceptionHandler).
// A thread fails on an error no handler took (a processing error the processing handler
// answered Fail, a changelog record lost, a fenced producer past the migration limit...). The
// app's failure handler (Config.OnThreadFailure) answers, per failure:
//   - ShutdownClient (the default, as Kafka Streams 4): Run stops every thread and returns the
//     error; the state goes to ERROR.
//   - ReplaceThread: the thread's tasks close dirty and its session closes; a new thread with
//     the same index joins the group and takes tasks again from the committed offsets. A
//     record that fails every time fails every replacement too, as in Kafka Streams:
//     replacements of one index are spaced by replaceBackoff so that such a loop does not spin.
//   - ShutdownApplication: the thread closes its tasks dirty (aborting its transaction), and,
//     still a member of the group, rejoins with ShutdownRequested in its subscription (as
//     every thread of this process from then on). The group leader answers every member with
//     ErrorShutdownRequested and no task, so no instance takes over the failed tasks, and each
//     Run returns ErrShutdownRequested. The failed thread, not a new one, carries the request:
//     leaving first would hand its tasks, and the record that failed, to another instance
//     before the request reached the leader. If the request gets no answer within
//     shutdownRequestTimeout (brokers away, say), only this instance stops.

// FailureResponse is the failure handler's answer for a failed stream thread.
type FailureResponse int

const (
	ShutdownClient FailureResponse = iota
	ReplaceThread
	ShutdownApplication
)

// ErrShutdownRequested is what Run returns on every instance after some instance's failure
// handler answered ShutdownApplication.
var ErrShutdownRequested = errors.New("rill: the application was asked to shut down (a stream thread failed and the failure handler answered ShutdownApplication)")

// replaceBackoff spaces two replacements of one thread.
const replaceBackoff = time.Second

// threadFailure asks the failure handler about a failed thread.
func (r *Runtime) threadFailure(index int, err error) FailureResponse {
	if r.cfg.OnThreadFailure == nil {
		return ShutdownClient
	}
	return r.cfg.OnThreadFailure(index, fmt.Errorf("rill: stream thread %d: %w", index, err))
}

// shutdownRequestTimeout bounds how long a failed thread waits for the group's answer to its
// shutdown request.
const shutdownRequestTimeout = 30 * time.Second

// requestShutdown asks the whole application to shut down, through the failed thread's own
// session, and tells whether the group leader answered. It runs before the session closes.
func (th *thread) requestShutdown(ctx context.Context) bool {
	th.log.Error("rill: asking every instance of the application to shut down (the failure handler answered ShutdownApplication)")
	th.lock()
	th.closeAllLocked(false)
	th.dirty = false
	th.unlock()
	actx, cancel := th.bounded(ctx)
	_ = th.rt.g.abort(actx, th.sess) // what the failed tasks wrote must not commit
	cancel()
	th.rt.shutdownRequested.Store(true)
	th.sess.ForceRebalance()
	for deadline := time.Now().Add(shutdownRequestTimeout); time.Now().Before(deadline) && ctx.Err() == nil; {
		// Poll only to take part in the rebalance; the records it returns are not processed
		// (no task is open) nor committed.
		pctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
		_, _ = th.sess.Poll(pctx, 1)
		cancel()
		th.sess.AllowRebalance()
		th.lock()
		answered := errors.Is(th.assignErr, ErrShutdownRequested)
		th.unlock()
		if answered {
			return true
		}
	}
	th.log.Error("rill: the group did not answer the shutdown request; stopping this instance only",
		zapDur("waited", shutdownRequestTimeout))
	return false
}

// runThread runs the stream thread until ctx ends or the thread fails for good (the failure
// handler answered ShutdownClient or ShutdownApplication, or replacing it failed); it returns
// that failure.
func (r *Runtime) runThread(ctx context.Context, th *thread) error {
	for {
		err := th.run(ctx)
		if err == nil || ctx.Err() != nil {
			return err
		}
		err = fmt.Errorf("rill: stream thread %d: %w", th.index, err)
		if errors.Is(err, ErrShutdownRequested) || th.failure != ReplaceThread {
			return err
		}
		r.cfg.Logger.Error("rill: stream thread failed; replacing it (the failure handler answered ReplaceThread)",
			zap.Int("thread", th.index), zapErr(err))
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(replaceBackoff):
		}
		next, nerr := newThread(ctx, r, th.index)
		if nerr != nil {
			return errors.Join(err, fmt.Errorf("rill: replace stream thread %d: %w", th.index, nerr))
		}
		r.mu.Lock()
		for j, t := range r.threads {
			if t == th {
				r.threads[j] = next
			}
		}
		r.mu.Unlock()
		th = next
	}
}
