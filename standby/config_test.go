package standby_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/rillstreams/rill/standby"
)

func TestWithDefaults(t *testing.T) {
	got := standby.Config{}.WithDefaults()
	want := standby.Config{AcceptableRecoveryLag: 10000, MaxWarmupReplicas: 2, ProbingRebalanceInterval: 10 * time.Minute}
	if got != want {
		t.Fatalf("zero config defaulted to %+v, want %+v", got, want)
	}
	set := standby.Config{Replicas: 2, AcceptableRecoveryLag: 5, MaxWarmupReplicas: 7, ProbingRebalanceInterval: time.Second}
	if got := set.WithDefaults(); got != set {
		t.Fatalf("set fields changed: %+v, want %+v", got, set)
	}
}

func TestValidate(t *testing.T) {
	if err := (standby.Config{}).WithDefaults().Validate(); err != nil {
		t.Fatalf("defaults rejected: %v", err)
	}
	for _, tc := range []struct {
		cfg   standby.Config
		field string
	}{
		{standby.Config{Replicas: -1}, "Replicas"},
		{standby.Config{AcceptableRecoveryLag: -1}, "AcceptableRecoveryLag"},
		{standby.Config{MaxWarmupReplicas: -1}, "MaxWarmupReplicas"},
		{standby.Config{ProbingRebalanceInterval: -time.Second}, "ProbingRebalanceInterval"},
	} {
		err := tc.cfg.Validate()
		if !errors.Is(err, standby.ErrInvalidConfig) || !strings.Contains(err.Error(), tc.field) ||
			!strings.HasPrefix(err.Error(), "rill: ") {
			t.Errorf("%+v: err %v, want a rill: ErrInvalidConfig naming %s", tc.cfg, err, tc.field)
		}
	}
	// Every bad field is reported at once.
	err := standby.Config{Replicas: -1, MaxWarmupReplicas: -3}.Validate()
	if err == nil || !strings.Contains(err.Error(), "Replicas -1") || !strings.Contains(err.Error(), "MaxWarmupReplicas -3") {
		t.Fatalf("two bad fields: %v", err)
	}
}

func TestSuspendReasonString(t *testing.T) {
	for r, want := range map[standby.SuspendReason]string{standby.Migrated: "MIGRATED", standby.Promoted: "PROMOTED",
		standby.SuspendReason(9): "SuspendReason(9)"} {
		if r.String() != want {
			t.Errorf("%d: %q, want %q", int(r), r.String(), want)
		}
	}
}
