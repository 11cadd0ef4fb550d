//go:build oracle

package oracle

import (
	"errors"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestOracle runs every family (ORACLE_FAMILIES, comma-separated, to choose) for ORACLE_N
// cases each from ORACLE_SEED through rill and through Kafka Streams, and fails on any
// difference not in the allow-list, printing each shrunk. Run it with `make oracle` (longer
// runs: `make oracle SEED=7 N=2000`) or `make test-oracle` (CI's fixed seed).
func TestOracle(t *testing.T) {
	seed := envInt(t, "ORACLE_SEED", 1)
	n := envInt(t, "ORACLE_N", 300)
	families := Families
	if f := os.Getenv("ORACLE_FAMILIES"); f != "" {
		families = strings.Split(f, ",")
	}
	java, err := StartJava(DefaultJar())
	if errors.Is(err, ErrNoJava) {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%v (CI=true: the oracle must run)", err)
		}
		t.Skipf("%v; run `make oracle` to build the jar and run the oracle", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer java.Close()
	o := &Oracle{TB: t, Java: java}
	var reports []FamilyReport
	for _, f := range families {
		if !slices.Contains(Families, f) {
			t.Fatalf("unknown family %q (have %v)", f, Families)
		}
		rep, err := o.RunFamily(uint64(seed), f, int(n), int(envInt(t, "ORACLE_KEEP", 3)))
		if err != nil {
			t.Fatal(err)
		}
		reports = append(reports, rep)
		for _, r := range rep.Reproducers {
			t.Errorf("%s: rill differs from Kafka Streams:\n%s", f, r)
		}
	}
	for _, rep := range reports {
		t.Log(rep)
	}
}

func envInt(t *testing.T, name string, def int64) int64 {
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		t.Fatalf("%s=%q: %v", name, s, err)
	}
	return v
}
