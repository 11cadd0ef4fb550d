package main

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
)

// loadRange is the lowest and highest 1-minute load average seen during a run: on a shared
// 2-core machine it says how much else was running next to the benchmark.
type loadRange struct {
	min, max float64
	n        int
}

// sample reads /proc/loadavg (nothing where it does not exist).
func (l *loadRange) sample() {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return
	}
	v, err := strconv.ParseFloat(f[0], 64)
	if err != nil {
		return
	}
	if l.n == 0 || v < l.min {
		l.min = v
	}
	if l.n == 0 || v > l.max {
		l.max = v
	}
	l.n++
}

func (l loadRange) String() string {
	if l.n == 0 {
		return "load average unknown"
	}
	return fmt.Sprintf("1-minute load average %.1f–%.1f during the run", l.min, l.max)
}

// javaVersion is the first line of `java -version`, for the report ("java" when it fails).
func javaVersion(java string) string {
	out, err := exec.Command(java, "-version").CombinedOutput()
	if err != nil {
		return "java"
	}
	line, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	return strings.ReplaceAll(line, `"`, "")
}
