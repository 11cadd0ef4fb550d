//go:build unix

package runtime

import (
	"os"
	"syscall"
)

// lockFile takes an exclusive advisory lock on f without waiting. flock locks belong to the
// open file: a second opening fails to lock even within one process, and the kernel drops
// the lock when the process dies, so a crash never leaves a directory locked.
func lockFile(f *os.File) error {
	return syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
}

func unlockFile(f *os.File) error {
	return syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
}
