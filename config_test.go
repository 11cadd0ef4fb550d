package rill_test

import (
	"errors"
	"testing"
	"time"

	"github.com/rillstreams/rill"
	"github.com/rillstreams/rill/standby"
	"github.com/rillstreams/rill/state/memory"
)

func TestNewValidatesConfig(t *testing.T) {
	topo := statelessTopology(t)
	ok := rill.Config{ApplicationID: "app", Bootstrap: []string{"localhost:9092"}, StoreBackend: memory.Backend()}
	if _, err := rill.New(topo, ok); err != nil {
		t.Fatalf("valid config rejected: %v", err)
	}
	for name, mutate := range map[string]func(*rill.Config){
		"no application id":   func(c *rill.Config) { c.ApplicationID = "" },
		"bad application id":  func(c *rill.Config) { c.ApplicationID = "a b" },
		"no bootstrap":        func(c *rill.Config) { c.Bootstrap = nil },
		"negative threads":    func(c *rill.Config) { c.NumThreads = -1 },
		"negative standbys":   func(c *rill.Config) { c.Standby.Replicas = -1 },
		"negative probing":    func(c *rill.Config) { c.Standby.ProbingRebalanceInterval = -time.Second },
		"negative warm-ups":   func(c *rill.Config) { c.Standby.MaxWarmupReplicas = -1 },
		"tiny session":        func(c *rill.Config) { c.SessionTimeout = 500 * time.Millisecond },
		"unknown guarantee":   func(c *rill.Config) { c.ProcessingGuarantee = 7 },
		"commit interval 1µs": func(c *rill.Config) { c.CommitInterval = time.Microsecond },
		"max task idle 1µs":   func(c *rill.Config) { c.MaxTaskIdle = time.Microsecond },
		"negative buffered":   func(c *rill.Config) { c.BufferedRecordsPerPartition = -1 },
		"restore stall 1ms":   func(c *rill.Config) { c.RestoreStallTimeout = time.Millisecond },
		"bad instance id":     func(c *rill.Config) { c.GroupInstanceID = "a/b" },
		"unknown sasl":        func(c *rill.Config) { c.Security.SASL = &rill.SASL{Mechanism: "GSSAPI", Username: "u"} },
		"lowercase sasl":      func(c *rill.Config) { c.Security.SASL = &rill.SASL{Mechanism: "plain", Username: "u"} },
		"oauth without token": func(c *rill.Config) { c.Security.SASL = &rill.SASL{Mechanism: "OAUTHBEARER"} },
		"scram without user":  func(c *rill.Config) { c.Security.SASL = &rill.SASL{Mechanism: "SCRAM-SHA-256"} },
	} {
		cfg := ok
		mutate(&cfg)
		if _, err := rill.New(topo, cfg); !errors.Is(err, rill.ErrInvalidConfig) {
			t.Errorf("%s: got %v, want ErrInvalidConfig", name, err)
		}
	}
	for _, idle := range []time.Duration{-1, 0, 50 * time.Millisecond} {
		cfg := ok
		cfg.MaxTaskIdle = idle
		if _, err := rill.New(topo, cfg); err != nil {
			t.Errorf("MaxTaskIdle %v rejected: %v", idle, err)
		}
	}
	bad := ok
	bad.Standby.AcceptableRecoveryLag = -1
	if _, err := rill.New(topo, bad); !errors.Is(err, standby.ErrInvalidConfig) {
		t.Errorf("negative recovery lag: got %v, want standby.ErrInvalidConfig too", err)
	}
	if _, err := rill.New(nil, ok); !errors.Is(err, rill.ErrInvalidConfig) {
		t.Errorf("nil topology: got %v", err)
	}
}
