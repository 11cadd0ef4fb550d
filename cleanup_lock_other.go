//go:build !unix

package rill

import "os"

// flock does nothing where flock does not exist (as Run's lock there).
func flock(*os.File) error { return nil }
