package runtime

import (
	"fmt"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// closeRangeCloexec is close_range(2)'s CLOSE_RANGE_CLOEXEC (Linux 5.11).
const closeRangeCloexec = 1 << 2

// CloseExecFrom marks every file descriptor from minFD up close-on-exec,
// so that nothing a process inherited (a shell's open directories, say)
// reaches a program it starts, above all a container's processes
// (CVE-2024-21626). Every skiff process calls it first thing; init and
// exec call it again just before the container's program replaces them.
func CloseExecFrom(minFD int) error {
	err := unix.CloseRange(uint(minFD), ^uint(0), closeRangeCloexec)
	if err == nil {
		return nil
	}
	// Kernels before 5.11: walk /proc/self/fd.
	d, err := os.Open("/proc/self/fd")
	if err != nil {
		return fmt.Errorf("listing open file descriptors: %w", err)
	}
	defer d.Close()
	names, err := d.Readdirnames(-1)
	if err != nil {
		return fmt.Errorf("listing open file descriptors: %w", err)
	}
	for _, n := range names {
		fd, err := strconv.Atoi(n)
		if err != nil || fd < minFD || fd == int(d.Fd()) {
			continue
		}
		unix.CloseOnExec(fd)
	}
	return nil
}

// checkCwd makes sure that the working directory lies inside this
// process's root: a directory reached through a file descriptor opened
// outside the container (/proc/self/fd/N) does not, and getcwd then
// answers a path that does not start with "/".
func checkCwd(cwd string) error {
	if _, err := unix.Getwd(); err != nil {
		return &StartError{Code: 126, Msg: fmt.Sprintf("chdir to cwd (%q) set in config.json failed: current working directory is outside of container mount namespace root -- possible container breakout detected", cwd)}
	}
	return nil
}
