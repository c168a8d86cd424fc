package userns

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"
)

// IsUnshare reports whether this process was started as rootlesskit's
// embedded unshare(1) ("unshare -n CMD..."), which it uses to create the
// detached network namespace.
func IsUnshare(argv0 string) bool {
	return argv0 == "unshare"
}

// UnshareMain runs CMD in a new network namespace and returns its exit code.
func UnshareMain(args []string) int {
	net := false
	for len(args) > 0 && (args[0] == "-n" || args[0] == "--net") {
		net = true
		args = args[1:]
	}
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, "unshare: no command specified")
		return 1
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{}
	if net {
		cmd.SysProcAttr.Cloneflags = syscall.CLONE_NEWNET
	}
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
		fmt.Fprintln(os.Stderr, "unshare:", err)
		return 1
	}
	return 0
}
