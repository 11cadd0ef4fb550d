// Package datadriven reads rill's data-driven test files, a small cousin of
// cockroachdb/datadriven: cases of a command line, input lines, a "----" line and the
// expected output, each ended by a blank line. Lines starting with # are comments. The dsl
// package's window and join tests share it.
//
// # Usage
//
//	for _, c := range datadriven.Parse(t, "testdata/joins/inner.txt") {
//		got := run(c.Cmd, c.Args, c.Input)
//		if want := strings.Join(c.Want, "\n"); got != want {
//			t.Errorf("%s:%d: got %s, want %s", path, c.Line, got, want)
//		}
//	}
package datadriven

import (
	"bufio"
	"os"
	"strings"
	"testing"
)

// Case is one case of a file.
type Case struct {
	Line int    // of the command
	Cmd  string // the command's first word
	// Args are the command's key=value arguments; a bare word is in Args with an empty
	// value and in Pos, in order.
	Args  map[string]string
	Pos   []string
	Input []string
	Want  []string
}

// Parse reads the cases of the file at path; a case without its ---- line fails t.
func Parse(t testing.TB, path string) []Case {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var cases []Case
	var cur *Case
	inWant := false
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		switch {
		case strings.HasPrefix(line, "#"):
		case line == "":
			if cur != nil && inWant {
				cases = append(cases, *cur)
				cur, inWant = nil, false
			}
		case cur == nil:
			fields := strings.Fields(line)
			c := Case{Line: n, Cmd: fields[0], Args: map[string]string{}}
			for _, a := range fields[1:] {
				k, v, ok := strings.Cut(a, "=")
				c.Args[k] = v
				if !ok {
					c.Pos = append(c.Pos, a)
				}
			}
			cur = &c
		case line == "----":
			inWant = true
		case inWant:
			cur.Want = append(cur.Want, line)
		default:
			cur.Input = append(cur.Input, line)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if cur != nil {
		if !inWant {
			t.Fatalf("%s:%d: case without ----", path, cur.Line)
		}
		cases = append(cases, *cur)
	}
	return cases
}
