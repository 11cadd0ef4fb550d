package main

// A row's child process: started, followed through bench/protocol's events, timed, stopped.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/rillstreams/rill/bench/protocol"
)

// command is the child process of a row: this binary for rill and the raw baselines, the
// bench/goka binary for goka, a JVM running the bench/kstreams jar for Kafka Streams.
func (s *suite) command(r row, spec childSpec) (*exec.Cmd, error) {
	if r.w.kind == kindKStreams {
		return s.kstreamsCommand(r, spec)
	}
	if r.w.kind != kindGoka {
		b, err := json.Marshal(spec)
		if err != nil {
			return nil, err
		}
		return exec.Command(s.self, childFlag, string(b)), nil
	}
	s.gokaOnce.Do(func() { s.gokaBin, s.gokaErr = buildGoka(s.cfg.GokaDir, s.state) })
	if s.gokaErr != nil {
		return nil, s.gokaErr
	}
	args := []string{"--brokers", strings.Join(spec.Bootstrap, ","), "--input", spec.topic("in"), "--group", spec.AppID,
		"--storage", r.w.gokaStorage, "--dir", spec.StateDir}
	if spec.CPUProfile != "" {
		args = append(args, "--cpuprofile", spec.CPUProfile)
	}
	return exec.Command(s.gokaBin, args...), nil
}

// buildGoka builds the bench/goka module (its own go.mod keeps goka out of rill's).
func buildGoka(dir, into string) (string, error) {
	bin := filepath.Join(into, "goka-bench")
	cmd := goCommand("build", "-o", bin, ".")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build %s: %v\n%s", dir, err, out)
	}
	return bin, nil
}

// measurement is what measure finds of one run.
type measurement struct {
	seconds    float64 // the clock: from the child's "started" until the workload is done
	peakRSSKB  int64   // the child's peak RSS, as it reports it before shutting down
	cpuSeconds float64 // the child's CPU time (user + system) over the clock
}

// measure runs the child and times it: from its "started" event until the output topic shows
// what want expects (or, when it expects nothing, until the child reports it processed its
// target).
// The child's stderr goes to logPath too when it is set.
func (s *suite) measure(ctx context.Context, cmd *exec.Cmd, addrs []string, out string, want expectation, committed bool, logPath string) (m measurement, err error) {
	var w *watcher
	if !want.none() {
		if w, err = startWatcher(addrs, out, committed, want); err != nil {
			return m, err
		}
		defer w.close()
	}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return m, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return m, err
	}
	stderr := &tailBuffer{max: 4096}
	cmd.Stderr = stderr
	if logPath != "" {
		f, err := os.Create(logPath)
		if err != nil {
			return m, err
		}
		defer f.Close()
		cmd.Stderr = io.MultiWriter(stderr, f)
	}
	if err := cmd.Start(); err != nil {
		return m, err
	}
	events := make(chan protocol.Event, 16)
	go protocol.Read(stdout, events)
	defer func() {
		if err != nil && stderr.String() != "" {
			err = fmt.Errorf("%w\nchild stderr (tail):\n%s", err, stderr.String())
		}
	}()
	m.seconds, m.cpuSeconds, err = s.wait(ctx, events, w, cmd.Process.Pid)
	var stopErr error
	m.peakRSSKB, stopErr = stopChild(cmd, stdin, events)
	return m, errors.Join(err, stopErr)
}

// wait follows the child's events and the watcher until the row is done, stalls, or times out.
// It returns the clock's seconds and the CPU time process pid used meanwhile.
func (s *suite) wait(ctx context.Context, events <-chan protocol.Event, w *watcher, pid int) (seconds, cpu float64, err error) {
	var started, done time.Time
	var cpuStart float64
	var reached <-chan time.Time
	if w != nil {
		reached = w.reached
	}
	timeout := time.NewTimer(s.cfg.Timeout)
	defer timeout.Stop()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	var processed, last int64 = 0, -1
	lastMove := time.Now()
	for started.IsZero() || done.IsZero() {
		select {
		case ev, ok := <-events:
			switch {
			case !ok:
				return 0, 0, errors.New("child exited early")
			case ev.Event == protocol.Started:
				started = time.Unix(0, ev.Time)
				cpuStart = procCPUSeconds(pid)
			case ev.Event == protocol.Done && w == nil:
				done = time.Unix(0, ev.Time)
				cpu = procCPUSeconds(pid) - cpuStart
			case ev.Event == protocol.Progress:
				processed = ev.Processed
			case ev.Event == protocol.Exit:
				return 0, 0, fmt.Errorf("child failed: %s", ev.Error)
			}
		case at := <-reached:
			done, reached = at, nil
			cpu = procCPUSeconds(pid) - cpuStart
		case <-tick.C:
			// Progress is the child's processed count and the results read: a Kafka Streams
			// child holds results in its cache for a while, a rill child counts nothing.
			p := processed
			if w != nil {
				p += w.count.Load()
			}
			// Starting (a JVM loading classes, a group join on a loaded machine) is bounded
			// by --timeout only: a stall is progress that stops.
			if p != last {
				last, lastMove = p, time.Now()
			} else if p > 0 && time.Since(lastMove) > s.cfg.Stall {
				return 0, 0, fmt.Errorf("stalled for %v: %s", s.cfg.Stall, progressText(w, processed))
			}
		case <-timeout.C:
			return 0, 0, fmt.Errorf("timed out after %v: %s", s.cfg.Timeout, progressText(w, processed))
		case <-ctx.Done():
			return 0, 0, ctx.Err()
		}
	}
	return done.Sub(started).Seconds(), cpu, nil
}

func progressText(w *watcher, processed int64) string {
	if w == nil {
		return fmt.Sprintf("%d records processed", processed)
	}
	return fmt.Sprintf("%s; %d records processed", w.status(), processed)
}

// stopChild closes the child's stdin, collects its exit event, and reaps it.
func stopChild(cmd *exec.Cmd, stdin io.Closer, events <-chan protocol.Event) (rssKB int64, err error) {
	_ = stdin.Close()
	deadline := time.After(90 * time.Second)
collect:
	for {
		select {
		case ev, ok := <-events:
			if !ok {
				break collect
			}
			if ev.Event == protocol.Exit {
				rssKB = ev.PeakRSSKB
				if ev.Error != "" {
					err = fmt.Errorf("child: %s", ev.Error)
				}
			}
		case <-deadline:
			_ = cmd.Process.Kill()
			err = errors.New("child did not stop within 90s; killed")
			break collect
		}
	}
	if werr := cmd.Wait(); werr != nil && err == nil {
		err = fmt.Errorf("child: %w", werr)
	}
	return rssKB, err
}

// tailBuffer keeps the last max bytes written to it (a child's stderr).
type tailBuffer struct {
	mu  sync.Mutex // protects b
	b   []byte
	max int
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > t.max {
		t.b = t.b[len(t.b)-t.max:]
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.b)
}
