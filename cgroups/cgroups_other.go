//go:build !linux

package cgroups

import "fmt"

// Detect fails: cgroups exist on Linux only.
func Detect(opt Options) (Manager, error) {
	return nil, fmt.Errorf("cgroups: %w on this operating system", ErrNotSupported)
}

// SetupUserV1 fails: cgroups exist on Linux only.
func SetupUserV1(root, userName string, uid, gid int) ([]string, error) {
	return nil, fmt.Errorf("cgroups: %w on this operating system", ErrNotSupported)
}

// DeviceNumbers fails: block device numbers are read on Linux only.
func DeviceNumbers(path string) (major, minor int64, err error) {
	return 0, 0, fmt.Errorf("cgroups: %w on this operating system", ErrNotSupported)
}
