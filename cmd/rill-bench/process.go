package main

// A row's child process: started, followed through bench/protocol's events, timed, stopped.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/rillstreams/rill/bench/protocol"
)

// command is the child process of a row: this binary for rill and the raw baselines, the
// bench/goka binary for goka.
func (s *suite) command(r row, spec childSpec) (*exec.Cmd, error) {
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

// measure runs the child and times it: from its "started" event until the output topic shows
// want records (or, when want is 0, until the child reports it processed its target).
func (s *suite) measure(ctx context.Context, cmd *exec.Cmd, addrs []string, out string, want int64, committed bool) (seconds float64, rssKB int64, err error) {
	var w *watcher
	if want > 0 {
		if w, err = startWatcher(addrs, out, committed, want); err != nil {
			return 0, 0, err
		}
		defer w.close()
	}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return 0, 0, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return 0, 0, err
	}
	stderr := &tailBuffer{max: 4096}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		return 0, 0, err
	}
	events := make(chan protocol.Event, 16)
	go protocol.Read(stdout, events)
	defer func() {
		if err != nil && stderr.String() != "" {
			err = fmt.Errorf("%w\nchild stderr (tail):\n%s", err, stderr.String())
		}
	}()
	seconds, err = s.wait(ctx, events, w, want)
	rssKB, stopErr := stopChild(cmd, stdin, events)
	return seconds, rssKB, errors.Join(err, stopErr)
}

// wait follows the child's events and the watcher until the row is done, stalls, or times out.
func (s *suite) wait(ctx context.Context, events <-chan protocol.Event, w *watcher, want int64) (float64, error) {
	var started, done time.Time
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
				return 0, errors.New("child exited early")
			case ev.Event == protocol.Started:
				started = time.Unix(0, ev.Time)
			case ev.Event == protocol.Done && want == 0:
				done = time.Unix(0, ev.Time)
			case ev.Event == protocol.Progress:
				processed = ev.Processed
			case ev.Event == protocol.Exit:
				return 0, fmt.Errorf("child failed: %s", ev.Error)
			}
		case at := <-reached:
			done, reached = at, nil
		case <-tick.C:
			p := processed
			if w != nil {
				p = w.count.Load()
			}
			if p != last {
				last, lastMove = p, time.Now()
			} else if time.Since(lastMove) > s.cfg.Stall {
				return 0, fmt.Errorf("stalled for %v at %d of %d", s.cfg.Stall, p, max(want, processed))
			}
		case <-timeout.C:
			return 0, fmt.Errorf("timed out after %v", s.cfg.Timeout)
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
	return done.Sub(started).Seconds(), nil
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
