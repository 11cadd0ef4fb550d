package rill

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// ErrAppRunning is returned by CleanUp while the app runs.
var ErrAppRunning = errors.New("rill: app is running")

// CleanUp deletes this app's local state, <StateDir>/<ApplicationID> with every task's stores
// and checkpoints, as Kafka Streams' KafkaStreams.cleanUp: the next Run restores every store
// from its changelog. Call it before Run or after Run has returned; while the app runs it
// fails with ErrAppRunning (Kafka Streams throws IllegalStateException), and while another
// instance runs on the same StateDir with ErrStateDirLocked. With cmd/rill-reset, which resets
// the group's offsets and deletes the changelogs, it makes the next run process its input
// again from scratch.
func (a *App) CleanUp() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.started {
		select {
		case <-a.done:
		default:
			return ErrAppRunning
		}
	}
	dir := filepath.Join(a.cfg.StateDir, a.cfg.ApplicationID)
	lock, err := os.OpenFile(filepath.Join(dir, ".lock"), os.O_RDWR, 0)
	if errors.Is(err, os.ErrNotExist) {
		// Never run here (or already cleaned): nothing of ours to delete, and without a
		// lock file no instance runs here either.
		if err := os.RemoveAll(dir); err != nil {
			return fmt.Errorf("rill: clean up %s: %w", dir, err)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("rill: clean up %s: %w", dir, err)
	}
	defer lock.Close()
	// The same lock Run takes (internal/runtime appdir.go): an instance running on this
	// directory, in this process or another, keeps it.
	if err := flock(lock); err != nil {
		return fmt.Errorf("%w: %s (%v): stop it before cleaning up", ErrStateDirLocked, dir, err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("rill: clean up %s: %w", dir, err)
	}
	for _, e := range entries {
		if e.Name() == ".lock" {
			continue // removed last, still held: an instance starting now waits for nothing of ours
		}
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			return fmt.Errorf("rill: clean up %s: %w", dir, err)
		}
	}
	a.cfg.Logger.Info("rill: local state deleted (CleanUp)")
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("rill: clean up %s: %w", dir, err)
	}
	return nil
}
