package main

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestJarStaleFollowsTheSources(t *testing.T) {
	dir := t.TempDir()
	write := func(path string, at time.Time) {
		t.Helper()
		full := filepath.Join(dir, path)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(full, at, at); err != nil {
			t.Fatal(err)
		}
	}
	base := time.Now().Add(-time.Hour)
	write("pom.xml", base)
	write("src/main/java/A.java", base.Add(time.Minute))
	jar := filepath.Join(dir, kstreamsJar)
	if stale, err := jarStale(dir, jar); err != nil || !stale {
		t.Fatalf("missing jar: stale %v, %v; want stale", stale, err)
	}
	write(kstreamsJar, base.Add(2*time.Minute))
	if stale, err := jarStale(dir, jar); err != nil || stale {
		t.Fatalf("jar newer than its sources: stale %v, %v; want fresh", stale, err)
	}
	write("src/main/java/B.java", base.Add(3*time.Minute))
	if stale, err := jarStale(dir, jar); err != nil || !stale {
		t.Fatalf("a source newer than the jar: stale %v, %v; want stale", stale, err)
	}
}
