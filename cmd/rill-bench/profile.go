package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
)

// goCommand runs the go command, letting it fetch the toolchain a go.mod asks for (as the
// project's Makefile does) unless the caller chose otherwise.
func goCommand(args ...string) *exec.Cmd {
	cmd := exec.Command("go", args...)
	if os.Getenv("GOTOOLCHAIN") == "" {
		cmd.Env = append(os.Environ(), "GOTOOLCHAIN=auto")
	}
	return cmd
}

// topFunc is one line of `go tool pprof -top`: a function and its share of the CPU samples.
type topFunc struct {
	Name    string
	FlatPct float64 // % of samples in the function itself
	CumPct  float64 // % of samples in it or what it calls
}

// topFunctions returns the n functions with the most samples of their own in a CPU profile.
// It reads `go tool pprof -top`, which needs no binary: Go profiles carry their symbols.
//
// Time in C (RocksDB through cgo) would all show as runtime.cgocall, which says nothing;
// hiding the cgo frames charges it to the Go function that made the call instead.
func topFunctions(path string, n int) ([]topFunc, error) {
	cmd := goCommand("tool", "pprof", "-top", "-nodecount="+strconv.Itoa(n), `-hide=^runtime\.cgocall$|_Cfunc_`, path)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go tool pprof: %v: %s", err, strings.TrimSpace(stderr.String()))
	}
	return parseTop(out)
}

// parseTop parses the table of `pprof -top`:
//
//	 flat  flat%   sum%        cum   cum%
//	1.20s 30.00% 30.00%      2.00s 50.00%  runtime.memmove
func parseTop(out []byte) ([]topFunc, error) {
	var funcs []topFunc
	inTable := false
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if !inTable {
			inTable = len(fields) >= 5 && fields[0] == "flat" && fields[1] == "flat%"
			continue
		}
		if len(fields) < 6 {
			continue
		}
		flat, err1 := strconv.ParseFloat(strings.TrimSuffix(fields[1], "%"), 64)
		cum, err2 := strconv.ParseFloat(strings.TrimSuffix(fields[4], "%"), 64)
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("unexpected pprof line %q", sc.Text())
		}
		funcs = append(funcs, topFunc{Name: strings.Join(fields[5:], " "), FlatPct: flat, CumPct: cum})
	}
	if !inTable {
		return nil, errors.New("no table in pprof output (empty profile?)")
	}
	return funcs, nil
}
