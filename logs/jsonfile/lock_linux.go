package jsonfile

import (
	"os"

	"golang.org/x/sys/unix"
)

// lockDir takes an flock on the log's directory, shared (readers opening
// the set of files) or exclusive (the writer renaming them), so that a
// reader in another process (the engine) never opens the files half-way
// through a rotation by the monitor. It returns the unlock function.
func lockDir(dir *os.File, exclusive bool) func() {
	how := unix.LOCK_SH
	if exclusive {
		how = unix.LOCK_EX
	}
	for {
		err := unix.Flock(int(dir.Fd()), how)
		if err != unix.EINTR {
			if err != nil {
				// Without the lock a reader can only miss a file in a
				// rare race; never fail the log for it.
				return func() {}
			}
			break
		}
	}
	// LOCK_UN on an open file fails only when interrupted: try again.
	return func() {
		for {
			if err := unix.Flock(int(dir.Fd()), unix.LOCK_UN); err != unix.EINTR {
				return
			}
		}
	}
}
