//go:build unix

package rill

import (
	"os"
	"syscall"
)

// flock takes the exclusive advisory lock Run holds on <StateDir>/<ApplicationID>/.lock,
// without waiting; closing f releases it.
func flock(f *os.File) error {
	return syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
}
