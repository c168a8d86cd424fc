package test

import (
	"bytes"
	"errors"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestSignalProxy: run, start -a and attach forward the signals the CLI
// gets to the container (docker's --sig-proxy, on by default): a
// container that traps TERM prints and exits with its own code.
func TestSignalProxy(t *testing.T) {
	const script = `trap 'echo got-TERM; exit 3' TERM; echo ready; while true; do sleep 0.1; done`
	forEachMode(t, func(t *testing.T, e *env) {
		for _, how := range []string{"run", "start -a", "attach"} {
			t.Run(strings.ReplaceAll(how, " ", ""), func(t *testing.T) {
				name := "sigproxy-" + strings.ReplaceAll(how, " ", "")
				e.cleanupContainer(t, name)
				var args []string
				switch how {
				case "run":
					args = []string{"run", "--name", name, "busybox", "sh", "-c", script}
				case "start -a":
					e.mustSkiff(t, "create", "--name", name, "busybox", "sh", "-c", script)
					args = []string{"start", "-a", name}
				case "attach":
					e.mustSkiff(t, "run", "-d", "--name", name, "busybox", "sh", "-c", script)
					args = []string{"attach", name}
				}
				cmd := e.command(e.bin, args...)
				var out, errb lockedBuffer
				cmd.Stdout, cmd.Stderr = &out, &errb
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				done := make(chan error, 1)
				go func() { done <- cmd.Wait() }()
				// Once the container is up (and, for attach, attached),
				// signal the CLI.
				deadline := time.Now().Add(20 * time.Second)
				for time.Now().Before(deadline) {
					if how == "attach" || strings.Contains(out.String(), "ready") {
						if how != "attach" || e.containerRunning(t, name) {
							break
						}
					}
					time.Sleep(50 * time.Millisecond)
				}
				if how == "attach" {
					time.Sleep(500 * time.Millisecond) // the attach's stream is set up
				}
				if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
					t.Fatal(err)
				}
				select {
				case err := <-done:
					code := 0
					var ee *exec.ExitError
					if errors.As(err, &ee) {
						code = ee.ExitCode()
					}
					// The docker CLI 28 forwards the signal in start -a
					// too, but then ends at once with exit 0 (its context
					// ends with SIGTERM); the container's exit shows the
					// signal went through.
					cliWaits := e.target != "docker" || how != "start -a"
					if cliWaits && (code != 3 || !strings.Contains(out.String(), "got-TERM")) {
						t.Errorf("%s after SIGTERM: exit %d, stdout %q, stderr %q; want the container's trap and exit 3", how, code, out.String(), errb.String())
					}
					if got := e.exitCodeOf(t, name); got != "3" {
						t.Errorf("%s after SIGTERM: the container exited with %s, want 3 (its trap)", how, got)
					}
				case <-time.After(30 * time.Second):
					_ = cmd.Process.Kill() // the test fails either way
					t.Fatalf("%s did not end after SIGTERM: stdout %q", how, out.String())
				}
			})
		}
	})
}

// containerRunning reports whether the container's State.Running is true.
func (e *env) containerRunning(t *testing.T, name string) bool {
	t.Helper()
	r := e.skiff(t, "inspect", "-f", "{{.State.Running}}", name)
	return r.code == 0 && strings.TrimSpace(r.stdout) == "true"
}

// lockedBuffer is a buffer that a command writes while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// exitCodeOf waits for the container to stop and returns its exit code.
func (e *env) exitCodeOf(t *testing.T, name string) string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		r := e.skiff(t, "inspect", "-f", "{{.State.Running}} {{.State.ExitCode}}", name)
		if f := strings.Fields(r.stdout); len(f) == 2 && f[0] == "false" {
			return f[1]
		}
		time.Sleep(100 * time.Millisecond)
	}
	return "(still running)"
}
