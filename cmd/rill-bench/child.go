package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"runtime/pprof"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rillstreams/rill/bench/protocol"
)

// The child side of a workload: rill-bench re-executed with childFlag and a childSpec, talking
// to the parent in bench/protocol's JSON lines.

const childFlag = "--child"

// childSpec is what a child needs to run one workload.
type childSpec struct {
	Workload  string   `json:"workload"`
	EOS       bool     `json:"eos"`
	Bootstrap []string `json:"bootstrap"`
	// Prefix names the workload's topics: Prefix+"in", +"right", +"campaigns", +"out".
	Prefix   string `json:"prefix"`
	AppID    string `json:"app_id"`
	StateDir string `json:"state_dir"`
	// Target is the number of processed records that finishes a workload without output.
	Target int64 `json:"target"`
	// CommitAfter is the number of records that reach the workload's cached operation; the
	// Kafka Streams child requests a commit after the last (see workload.commitAfter).
	CommitAfter int64 `json:"commit_after,omitempty"`
	// CommitInterval is the rill child's commit interval (0: rill's default).
	CommitInterval time.Duration `json:"commit_interval,omitempty"`
	CPUProfile     string        `json:"cpu_profile"`
}

func (s childSpec) topic(role string) string { return s.Prefix + role }

// progress counts records a workload processed and closes done when it reaches target.
// Workloads bump it from their hot loop, so it is one uncontended atomic add.
type progress struct {
	n      atomic.Int64
	target int64
	done   chan struct{}
	once   sync.Once
}

func newProgress(target int64) *progress { return &progress{target: target, done: make(chan struct{})} }

func (p *progress) add(k int64) {
	if p.n.Add(k) >= p.target && p.target > 0 {
		p.once.Do(func() { close(p.done) })
	}
}

// runChild runs one workload as the parent asked; it returns the exit code.
func runChild(specJSON string) int {
	var spec childSpec
	if err := json.Unmarshal([]byte(specJSON), &spec); err != nil {
		fmt.Fprintln(os.Stderr, "rill-bench child:", err)
		return 2
	}
	out := protocol.NewWriter(os.Stdout)
	if err := child(spec, out); err != nil {
		out.Write(protocol.Event{Event: protocol.Exit, PeakRSSKB: protocol.PeakRSSKB(), Error: err.Error()})
		return 1
	}
	return 0
}

func child(spec childSpec, out *protocol.Writer) error {
	w := lookup(spec.Workload)
	if w == nil || w.run == nil {
		return fmt.Errorf("no runnable workload %q", spec.Workload)
	}
	stop := protocol.StdinClosed()
	if spec.CPUProfile != "" {
		f, err := os.Create(spec.CPUProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
	}
	p := newProgress(spec.Target)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ran := make(chan error, 1)
	out.Write(protocol.Event{Event: protocol.Started, Time: time.Now().UnixNano()})
	go func() { ran <- w.run(ctx, spec, p) }()

	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	done := p.done
wait:
	for {
		select {
		case <-done:
			done = nil
			out.Write(protocol.Event{Event: protocol.Done, Time: time.Now().UnixNano()})
		case <-tick.C:
			out.Write(protocol.Event{Event: protocol.Progress, Processed: p.n.Load()})
		case err := <-ran:
			pprof.StopCPUProfile()
			if err == nil {
				err = errors.New("workload returned before it was stopped")
			}
			return err
		case <-stop:
			break wait
		}
	}
	// Measure before shutting down: closing stores and clients is not the workload.
	rss := protocol.PeakRSSKB()
	pprof.StopCPUProfile()
	cancel()
	var err error
	select {
	case err = <-ran:
	case <-time.After(time.Minute):
		err = errors.New("workload did not stop within a minute")
	}
	ev := protocol.Event{Event: protocol.Exit, PeakRSSKB: rss}
	if err != nil {
		ev.Error = err.Error()
	}
	out.Write(ev)
	return nil
}
