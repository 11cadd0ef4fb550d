package main

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// The Kafka Streams peers: the bench/kstreams Maven module, built into one jar and run in a
// JVM as a workload's child, speaking the same protocol as the other children.

// kstreamsVersion is the Kafka Streams version bench/kstreams/pom.xml pins.
const kstreamsVersion = "4.1.1"

// kstreamsJar is where `mvn package` leaves the runnable jar, relative to the module.
const kstreamsJar = "target/kstreams-bench.jar"

// kstreamsCommand is the JVM running row r's workload: the jar (built first if it is missing
// or older than its sources), with the heap --jvm-heap allows.
func (s *suite) kstreamsCommand(r row, spec childSpec) (*exec.Cmd, error) {
	s.ksOnce.Do(func() { s.ksJar, s.ksErr = buildKStreams(s.cfg.KStreamsDir) })
	if s.ksErr != nil {
		return nil, s.ksErr
	}
	spec.Workload = r.w.name[len(ksPrefix):]
	b, err := json.Marshal(spec)
	if err != nil {
		return nil, err
	}
	args := append([]string{"-Xmx" + s.cfg.JVMHeap}, strings.Fields(s.cfg.JVMArgs)...)
	return exec.Command(s.cfg.Java, append(args, "-jar", s.ksJar, string(b))...), nil
}

// buildKStreams runs `mvn -q package` in dir unless its jar is newer than pom.xml and every
// file under src/, and returns the jar's absolute path.
func buildKStreams(dir string) (string, error) {
	jar, err := filepath.Abs(filepath.Join(dir, kstreamsJar))
	if err != nil {
		return "", err
	}
	stale, err := jarStale(dir, jar)
	if err != nil {
		return "", err
	}
	if !stale {
		return jar, nil
	}
	fmt.Fprintf(os.Stderr, "building %s (mvn -q package) ...\n", dir)
	cmd := exec.Command("mvn", "-q", "-B", "package")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build %s: %v\n%s", dir, err, out)
	}
	if _, err := os.Stat(jar); err != nil {
		return "", fmt.Errorf("build %s: no jar: %w", dir, err)
	}
	return jar, nil
}

// jarStale says whether jar is missing or older than the module's pom.xml or sources.
func jarStale(dir, jar string) (bool, error) {
	st, err := os.Stat(jar)
	if err != nil {
		return true, nil
	}
	built := st.ModTime()
	newest := time.Time{}
	check := func(path string) error {
		info, err := os.Stat(path)
		if err != nil {
			return err
		}
		if info.ModTime().After(newest) {
			newest = info.ModTime()
		}
		return nil
	}
	if err := check(filepath.Join(dir, "pom.xml")); err != nil {
		return false, fmt.Errorf("kstreams module: %w", err)
	}
	err = filepath.WalkDir(filepath.Join(dir, "src"), func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		return check(path)
	})
	if err != nil {
		return false, fmt.Errorf("kstreams module: %w", err)
	}
	return newest.After(built), nil
}
