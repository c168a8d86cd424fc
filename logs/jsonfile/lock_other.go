//go:build !linux

package jsonfile

import "os"

// lockDir does nothing where flock is not available: a reader in another
// process may then miss a file that rotates while it opens the set.
func lockDir(dir *os.File, exclusive bool) func() { return func() {} }
