package runtime

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Handle holds a container's PID 1 through a pidfd, so that a kill can
// never reach another process that reused its pid.
type Handle struct {
	fd int
}

// OpenHandle opens a handle on pid.
func OpenHandle(pid int) (*Handle, error) {
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return nil, fmt.Errorf("pidfd_open %d: %w", pid, err)
	}
	unix.CloseOnExec(fd)
	return &Handle{fd: fd}, nil
}

// Kill sends SIGKILL and waits up to timeout for the process to end. It
// returns nil when the process is gone.
func (h *Handle) Kill(timeout time.Duration) error {
	err := unix.PidfdSendSignal(h.fd, unix.SIGKILL, nil, 0)
	if err != nil && !errors.Is(err, unix.ESRCH) {
		return fmt.Errorf("killing the container's init: %w", err)
	}
	// A pidfd polls readable once its process has exited.
	fds := []unix.PollFd{{Fd: int32(h.fd), Events: unix.POLLIN}}
	deadline := time.Now().Add(timeout)
	for {
		n, err := unix.Poll(fds, int(time.Until(deadline)/time.Millisecond))
		if err == nil && n > 0 {
			return nil
		}
		if err != nil && !errors.Is(err, unix.EINTR) {
			return fmt.Errorf("waiting for the container's init: %w", err)
		}
		if !time.Now().Before(deadline) {
			return errors.New("the container's init did not die")
		}
	}
}

// Close releases the handle.
func (h *Handle) Close() error { return unix.Close(h.fd) }

// MonitorAlive reports whether the monitor of the container whose state is
// in stateDir still runs: the pid it recorded is alive and is a monitor
// of that directory (not a process that reused the pid).
func MonitorAlive(stateDir string) bool {
	b, err := os.ReadFile(filepath.Join(stateDir, pidFile))
	if err != nil {
		return false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return false
	}
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return false
	}
	args := bytes.Split(bytes.TrimRight(cmdline, "\x00"), []byte{0})
	return len(args) == 3 && string(args[1]) == "__monitor" && string(args[2]) == stateDir
}

// Gone reports whether pid names no live process: it does not exist or
// is a zombie that only waits to be reaped.
func Gone(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	// The state follows the command, which is in parentheses.
	i := bytes.LastIndexByte(b, ')')
	return i < 0 || i+2 >= len(b) || b[i+2] == 'Z' || b[i+2] == 'X'
}
