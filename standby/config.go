package standby

import (
	"errors"
	"fmt"
	"time"
)

// Defaults of Config, as Kafka Streams'.
const (
	// DefaultAcceptableRecoveryLag is acceptable.recovery.lag's default.
	DefaultAcceptableRecoveryLag int64 = 10000
	// DefaultMaxWarmupReplicas is max.warmup.replicas' default.
	DefaultMaxWarmupReplicas = 2
	// DefaultProbingRebalanceInterval is probing.rebalance.interval.ms' default.
	DefaultProbingRebalanceInterval = 10 * time.Minute
)

// ErrInvalidConfig is matched by Validate's errors.
var ErrInvalidConfig = errors.New("rill: invalid standby config")

// Config configures standby replicas and KIP-441 task movement. The zero value keeps no
// standby and uses Kafka Streams' defaults for the rest; rill.New applies WithDefaults and
// Validate.
type Config struct {
	// Replicas is how many warm copies of each stateful task other instances keep (Kafka
	// Streams' num.standby.replicas, default 0). A standby opens the task's stores in its own
	// state directory and applies the task's changelogs (read_committed) as they grow,
	// checkpointing as it goes, without running processors or producing; when the task's
	// instance fails, the instance with the most caught-up standby takes the task over and
	// restores only the tail its standby had not applied. Each copy costs the disk of the
	// state and the changelog reads.
	Replicas int
	// AcceptableRecoveryLag is how many changelog records an instance may be behind on a
	// task and still count as caught up for it (acceptable.recovery.lag, default 10000): the
	// assignor gives a stateful task only to a caught-up instance, and warms up a copy on the
	// instance it would rather have it on.
	AcceptableRecoveryLag int64
	// MaxWarmupReplicas bounds the warm-up copies kept at once, beyond Replicas, to move
	// tasks to instances that are not caught up yet (max.warmup.replicas, default 2).
	MaxWarmupReplicas int
	// ProbingRebalanceInterval is how long after an assignment that kept stateful tasks on
	// caught-up instances while warm-ups fill elsewhere the group rebalances again to move the
	// tasks whose warm-ups caught up (probing.rebalance.interval.ms, default 10 minutes).
	// Shorter moves tasks to new instances sooner, at the cost of more rebalances while
	// warm-ups are still behind.
	ProbingRebalanceInterval time.Duration
}

// WithDefaults returns c with Kafka Streams' default in each field left zero (Replicas
// stays 0: no standby).
func (c Config) WithDefaults() Config {
	if c.AcceptableRecoveryLag == 0 {
		c.AcceptableRecoveryLag = DefaultAcceptableRecoveryLag
	}
	if c.MaxWarmupReplicas == 0 {
		c.MaxWarmupReplicas = DefaultMaxWarmupReplicas
	}
	if c.ProbingRebalanceInterval == 0 {
		c.ProbingRebalanceInterval = DefaultProbingRebalanceInterval
	}
	return c
}

// Validate returns every field that is out of range, each error matching ErrInvalidConfig.
func (c Config) Validate() error {
	var errs []error
	bad := func(field string, v any) {
		errs = append(errs, fmt.Errorf("%w: %s %v must not be negative", ErrInvalidConfig, field, v))
	}
	if c.Replicas < 0 {
		bad("Replicas", c.Replicas)
	}
	if c.AcceptableRecoveryLag < 0 {
		bad("AcceptableRecoveryLag", c.AcceptableRecoveryLag)
	}
	if c.MaxWarmupReplicas < 0 {
		bad("MaxWarmupReplicas", c.MaxWarmupReplicas)
	}
	if c.ProbingRebalanceInterval < 0 {
		bad("ProbingRebalanceInterval", c.ProbingRebalanceInterval)
	}
	return errors.Join(errs...)
}
