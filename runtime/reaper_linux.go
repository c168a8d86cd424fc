package runtime

import (
	"errors"
	"os"
	"os/exec"
	"os/signal"
	"syscall"

	"golang.org/x/sys/unix"
)

// runAsInit is --init: this process stays PID 1, starts the command as
// its child, passes signals on to it, reaps every orphan, and exits with
// the command's status, as tini does for Docker.
func (p *proc) runAsInit() error {
	if err := p.limit(); err != nil {
		return err
	}
	sigs := make(chan os.Signal, 32)
	signal.Notify(sigs)
	cmd := exec.Command(p.path, p.Args[1:]...)
	cmd.Args = p.Args
	cmd.Env = p.Env
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	// The command must not hold the monitor's sync pipe open: its EOF says
	// the command runs.
	if err := CloseExecFrom(3); err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return &StartError{Code: 126, Msg: "exec: " + err.Error()}
	}
	unix.Close(initSyncFD)
	child := cmd.Process.Pid
	for s := range sigs {
		sig := s.(syscall.Signal)
		if sig != syscall.SIGCHLD {
			if sig != syscall.SIGURG { // the Go runtime's own preemption signal
				// The child may have exited meanwhile: then no one
				// is left to take it.
				_ = syscall.Kill(child, sig)
			}
			continue
		}
		for {
			var ws syscall.WaitStatus
			pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
			if pid <= 0 || errors.Is(err, syscall.ECHILD) {
				break
			}
			if pid == child {
				if ws.Signaled() {
					os.Exit(128 + int(ws.Signal()))
				}
				os.Exit(ws.ExitStatus())
			}
		}
	}
	return nil
}
