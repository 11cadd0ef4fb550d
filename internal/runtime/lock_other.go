//go:build !unix

package runtime

import "os"

// lockFile does nothing where flock does not exist: there, two instances on one state
// directory are not detected (RocksDB's own LOCK file still refuses a second opener of a
// store).
func lockFile(*os.File) error { return nil }

func unlockFile(*os.File) error { return nil }
