package changelog

import (
	"maps"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// FuzzReadCheckpoint writes arbitrary bytes as a task's checkpoint file and reads it.
// Properties: no panic and no huge allocation; a rejected file is a "rill:" error and no
// checkpoint; an accepted one has exactly the entries its count says, and writing it back
// and reading that gives the same checkpoint. testdata/fuzz/FuzzReadCheckpoint keeps the
// inputs that broke ReadCheckpoint: a huge count (it sized a map by it and ran out of
// memory), a duplicate entry and entries beyond the count (both accepted silently).
func FuzzReadCheckpoint(f *testing.F) {
	f.Add([]byte("0\n0\n"))
	f.Add([]byte("0\n2\napp-counts-changelog 0 17\napp-counts-changelog 3 -4\n"))
	f.Add([]byte("0\n1\n  t\t1   9223372036854775807  \n"))
	f.Add([]byte("0\n1\nt 2147483648 1\n"))
	f.Add([]byte("1\n0\n"))
	f.Add([]byte("0\n-1\n"))
	f.Add([]byte("0\n1\nt 1 1"))
	f.Add([]byte("0\r\n1\r\nt 1 1\r\n"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, FileName), data, 0o644); err != nil {
			t.Fatal(err)
		}
		cp, err := ReadCheckpoint(dir)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "rill: ") {
				t.Fatalf("error without the rill: prefix: %v", err)
			}
			if cp != nil {
				t.Fatalf("checkpoint %v returned with error %v", cp, err)
			}
			return
		}
		lines := strings.Split(string(data), "\n")
		if n, err := strconv.Atoi(strings.TrimSpace(lines[1])); err != nil || n != len(cp) {
			t.Fatalf("%q accepted with %d entries", data, len(cp))
		}
		out := t.TempDir()
		if err := WriteCheckpoint(out, cp); err != nil {
			t.Fatal(err)
		}
		back, err := ReadCheckpoint(out)
		if err != nil {
			written, _ := os.ReadFile(filepath.Join(out, FileName))
			t.Fatalf("%q read as %v, written as %q, which does not read: %v", data, cp, written, err)
		}
		if !maps.Equal(back, cp) {
			t.Fatalf("%q read as %v, written and read back as %v", data, cp, back)
		}
	})
}
