package runtime

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	ichangelog "github.com/rillstreams/rill/internal/changelog"

	"go.uber.org/zap"
)

// The application's state directory, <StateDir>/<ApplicationID>, belongs to one running
// instance at a time and to one cluster:
//
//   - Run locks it (appDirLock: an flock on its .lock file) for as long as it runs. A second
//     instance on the same directory fails at once with ErrStateDirLocked instead of opening
//     the same RocksDB files, overwriting the other's checkpoints and reporting the other's
//     state to the group as its own (Kafka Streams locks the same directory the same way and
//     fails with "state directory is already locked by another process"). Within the process
//     the stream threads share the directory and hand task directories over through taskDirs,
//     as Kafka Streams' in-memory task locks.
//   - .cluster-id records the id of the cluster the state was written against. Started against
//     another cluster (a fresh development broker, a new environment, a restored backup), the
//     local state describes changelogs that are not there: every task directory is wiped and
//     restored, with a warning, instead of counting on top of foreign state.
//
// Everything rill creates under the state directory is owner-only (ichangelog.DirMode, ichangelog.FileMode).

// ErrStateDirLocked is returned by Run when another instance holds the state directory.
var ErrStateDirLocked = errors.New("rill: state directory is in use by another instance")

const (
	lockFileName      = ".lock"
	clusterIDFileName = ".cluster-id"
)

// appDir returns <StateDir>/<ApplicationID>.
func (r *Runtime) appDir() string {
	return filepath.Join(r.cfg.StateDir, r.cfg.ApplicationID)
}

// lockAppDir creates the application's state directory owner-only (tightening one an older
// version created open to others) and locks it; unlock releases it.
func (r *Runtime) lockAppDir() (unlock func(), err error) {
	dir := r.appDir()
	if err := os.MkdirAll(dir, ichangelog.DirMode); err != nil {
		return nil, fmt.Errorf("rill: state directory: %w", err)
	}
	if err := os.Chmod(dir, ichangelog.DirMode); err != nil {
		return nil, fmt.Errorf("rill: state directory: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(dir, lockFileName), os.O_RDWR|os.O_CREATE, ichangelog.FileMode)
	if err != nil {
		return nil, fmt.Errorf("rill: state directory: %w", err)
	}
	if err := lockFile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("%w: %s (%v); give each instance its own StateDir", ErrStateDirLocked, dir, err)
	}
	return func() {
		_ = unlockFile(f)
		_ = f.Close()
	}, nil
}

// checkClusterID compares the cluster the state was written against with the one the admin
// client talks to. Another cluster's state is wiped (every task directory and the global
// stores); the id is then recorded. A directory without a record (new, or from an older
// version) is left to the offset checks of internal/changelog's Vet. The app directory must be locked.
func (r *Runtime) checkClusterID(ctx context.Context) error {
	id, err := r.admin.ClusterID(ctx)
	if err != nil {
		return err
	}
	if id == "" {
		return nil // nothing to compare against
	}
	dir := r.appDir()
	path := filepath.Join(dir, clusterIDFileName)
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return fmt.Errorf("rill: state directory: %w", err)
	case strings.TrimSpace(string(b)) == id:
		return nil
	default:
		entries, err := os.ReadDir(dir)
		if err != nil {
			return fmt.Errorf("rill: state directory: %w", err)
		}
		var wiped []string
		for _, e := range entries {
			if !e.IsDir() {
				continue // the lock, this record
			}
			if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
				return fmt.Errorf("rill: wipe state of another cluster: %w", err)
			}
			wiped = append(wiped, e.Name())
		}
		r.cfg.Logger.Warn("rill: the state directory holds state of another cluster; wiped it, tasks restore from this cluster's changelogs",
			zap.String("dir", dir), zap.String("stateCluster", strings.TrimSpace(string(b))), zap.String("cluster", id),
			zap.Strings("wiped", wiped))
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(id+"\n"), ichangelog.FileMode); err != nil {
		return fmt.Errorf("rill: state directory: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("rill: state directory: %w", err)
	}
	return nil
}
