// Package protocol is how cmd/rill-bench talks to a workload's child process (rill-bench
// itself, re-executed, or the bench/goka binary): the child writes one JSON event per line on
// stdout, and the parent closes the child's stdin to stop it. Running each workload in a
// process of its own is what gives it a peak RSS and a CPU profile of its own.
//
// # Usage
//
// In a child:
//
//	out := protocol.NewWriter(os.Stdout)
//	stop := protocol.StdinClosed()
//	out.Write(protocol.Event{Event: protocol.Started, Time: time.Now().UnixNano()})
//	... run until <-stop ...
//	out.Write(protocol.Event{Event: protocol.Exit, PeakRSSKB: protocol.PeakRSSKB()})
//
// In the parent, go protocol.Read(childStdout, events) delivers them.
package protocol

import (
	"bufio"
	"encoding/json"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
)

// Event kinds, in the order a child sends them.
const (
	// Started: the workload's clock starts (Time), right before its client or app is created.
	Started = "started"
	// Progress: records processed so far (Processed), every second.
	Progress = "progress"
	// Done: a workload without output processed all its input (Time).
	Done = "done"
	// Exit: the child stopped, with its peak RSS (PeakRSSKB) and any error (Error).
	Exit = "exit"
)

// Event is one line of the protocol.
type Event struct {
	Event string `json:"event"`
	// Time is the child's wall clock, Unix nanoseconds (Started, Done): parent and child run
	// on one machine, so their clocks agree.
	Time      int64  `json:"time,omitempty"`
	Processed int64  `json:"processed,omitempty"`
	PeakRSSKB int64  `json:"peak_rss_kb,omitempty"`
	Error     string `json:"error,omitempty"`
}

// Writer writes events; a workload may report from several goroutines.
type Writer struct {
	mu sync.Mutex // protects w
	w  io.Writer
}

// NewWriter returns a Writer of events to w.
func NewWriter(w io.Writer) *Writer { return &Writer{w: w} }

// Write writes ev as one line.
func (w *Writer) Write(ev Event) {
	b, _ := json.Marshal(ev)
	w.mu.Lock()
	defer w.mu.Unlock()
	_, _ = w.w.Write(append(b, '\n'))
}

// Read sends the events read from r to events, and closes events at the end of r.
func Read(r io.Reader, events chan<- Event) {
	defer close(events)
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		var ev Event
		if json.Unmarshal(sc.Bytes(), &ev) == nil {
			events <- ev
		}
	}
}

// StdinClosed returns a channel closed when stdin reaches its end: the parent's signal to
// stop (which also comes if the parent dies).
func StdinClosed() <-chan struct{} {
	stop := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		close(stop)
	}()
	return stop
}

// PeakRSSKB is the process's peak resident set size (VmHWM of /proc/self/status), in KiB;
// 0 where that file does not exist.
func PeakRSSKB() int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb
		}
	}
	return 0
}
