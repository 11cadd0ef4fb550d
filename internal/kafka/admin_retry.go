package kafka

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"go.uber.org/zap"
)

// Admin calls ride out brokers that do not answer for a while (a broker restarting, a
// partition between leaders): Kafka Streams' clients retry such errors up to their timeouts
// (default.api.timeout.ms, task.timeout.ms) and its threads never die of a broker bounce.
// rill's admin calls once failed at the first refused connection, so an instance that was
// starting, or opening a task, while a broker restarted went to ERROR and stayed down (found
// by rill-torture on real Kafka).

// retryable tells whether an admin call that failed with err may succeed if asked again: not
// when the caller gave up, and not when the brokers answered with an error retrying cannot
// cure (authorization, authentication, an invalid request). Connection failures carry no
// Kafka error code and are retried.
func retryable(ctx context.Context, err error) bool {
	if ctx.Err() != nil || errors.Is(err, context.Canceled) || errors.Is(err, ErrAuthentication) {
		return false // refused credentials stay refused
	}
	var ke *kerr.Error
	if errors.As(err, &ke) {
		return ke.Retriable
	}
	return true
}

// retry calls f until it succeeds, it fails with an error that is not retryable, ctx ends, or
// the brokers failed it for longer than a.Patience.FailAfter; it warns every
// a.Patience.WarnEvery while it waits.
func retry[T any](ctx context.Context, a *Admin, what string, f func(context.Context) (T, error)) (T, error) {
	p := a.Patience
	if p.WarnEvery <= 0 {
		p.WarnEvery = 10 * time.Second
	}
	if p.Logger == nil {
		p.Logger = zap.NewNop()
	}
	start, warned := time.Now(), time.Now()
	backoff := 100 * time.Millisecond
	for attempt := 1; ; attempt++ {
		v, err := f(ctx)
		if err == nil || !retryable(ctx, err) || p.FailAfter <= 0 {
			return v, err
		}
		if waited := time.Since(start); waited >= p.FailAfter {
			return v, fmt.Errorf("rill: %s: brokers failed it for %v (%d attempts): %w", what, waited.Round(time.Second), attempt, err)
		}
		if time.Since(warned) >= p.WarnEvery {
			warned = time.Now()
			p.Logger.Warn("rill: brokers unavailable; retrying", zap.String("call", what),
				zap.Duration("waited", time.Since(start).Round(time.Millisecond)), zap.Duration("failAfter", p.FailAfter), zap.Error(err))
		}
		select {
		case <-ctx.Done():
			return v, errors.Join(err, ctx.Err())
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 2*time.Second)
	}
}
