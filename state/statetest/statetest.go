package statetest

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/rillstreams/rill/state"
)

// NewBackend returns a fresh backend. Stores are opened on it with a fresh t.TempDir() as dir,
// so persistent backends need no setup of their own.
type NewBackend func(t testing.TB) state.Backend

// RunAll runs RunKeyValue, RunWindow and RunSession.
func RunAll(t *testing.T, nb NewBackend) {
	t.Run("KeyValue", func(t *testing.T) { RunKeyValue(t, nb) })
	t.Run("Window", func(t *testing.T) { RunWindow(t, nb) })
	t.Run("Session", func(t *testing.T) { RunSession(t, nb) })
}

// closer closes a store at the end of a test unless the test closed it already; a second Close
// may return an error, which is not what the cleanup checks.
type closer interface{ Close() error }

func closeAtEnd(t testing.TB, s closer) {
	t.Cleanup(func() { _ = s.Close() })
}

// isClosedErr tells whether err is what an operation on a closed store or iterator may return.
func isClosedErr(err error) bool { return err == nil || errors.Is(err, state.ErrClosed) }

// seed returns the seed of a property test: fixed, so failures replay, unless
// RILL_STATETEST_SEED gives another one.
func seed(t testing.TB, def uint64) uint64 {
	if s := os.Getenv("RILL_STATETEST_SEED"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("RILL_STATETEST_SEED=%q: %v", s, err)
		}
		def = v
	}
	t.Logf("seed %d (replay with RILL_STATETEST_SEED=%d)", def, def)
	return def
}

// noPanic runs f and turns a panic into a test failure, so that one misbehaving operation
// reports what it was doing instead of killing the whole suite.
func noPanic(t testing.TB, what string, f func()) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			t.Fatalf("%s panicked: %v", what, r)
		}
	}()
	f()
}

// show prints bytes readably in failures: printable ASCII as is, others as hex.
func show(b []byte) string {
	if b == nil {
		return "<nil>"
	}
	for _, c := range b {
		if c < 0x20 || c > 0x7e {
			return fmt.Sprintf("0x%x", b)
		}
	}
	return strconv.Quote(string(b))
}

func sameBytes(a, b []byte) bool {
	return (a == nil) == (b == nil) && bytes.Equal(a, b)
}

// firstDiff returns the index of the first difference between got and want.
func firstDiff[T comparable](got, want []T) (int, bool) {
	for i := range min(len(got), len(want)) {
		if got[i] != want[i] {
			return i, false
		}
	}
	return min(len(got), len(want)), len(got) == len(want)
}

// diffReport describes how got differs from want at index i, briefly: whole lists when they
// are short, the neighbourhood of the difference when they are long.
func diffReport[T any](i int, got, want []T, str func(T) string) string {
	list := func(xs []T) string {
		lo, hi, s := 0, len(xs), ""
		if len(xs) > 12 {
			lo, hi = max(0, i-3), min(len(xs), i+4)
		}
		if lo > 0 {
			s = "... "
		}
		for j := lo; j < hi; j++ {
			s += str(xs[j]) + " "
		}
		if hi < len(xs) {
			s += "..."
		}
		return "[" + strings.TrimSpace(s) + "]"
	}
	return fmt.Sprintf("got %d entries, want %d; first difference at index %d\n got  %s\n want %s", len(got), len(want), i, list(got), list(want))
}
