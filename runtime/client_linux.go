package runtime

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
)

// maxSocketPath is the longest path a unix socket address holds.
const maxSocketPath = 107

// Process is a started container, seen from the engine.
type Process struct {
	// Pid is the container's PID 1 in the engine's pid namespace.
	Pid int
	// Done is closed when the monitor has exited and the exit is recorded.
	Done     <-chan struct{}
	stateDir string
}

// Start writes spec into stateDir and launches the container's monitor. It
// returns once the container's init is ready; its command runs only after
// Release, so that clients can attach first and miss no output.
func Start(stateDir string, spec Spec) (*Process, error) {
	if n := len(filepath.Join(stateDir, attachSock)); n > maxSocketPath {
		return nil, &StartError{Code: 125, Msg: fmt.Sprintf("state directory %s is too long for a unix socket path (%d > %d bytes): use a shorter XDG_RUNTIME_DIR", stateDir, n, maxSocketPath)}
	}
	if err := os.MkdirAll(stateDir, 0o700); err != nil {
		return nil, err
	}
	os.Remove(filepath.Join(stateDir, exitFile))
	// The spec lives only as long as this start: no fsync, no indentation
	// (it carries the seccomp program), on the container start's hot path.
	b, err := json.Marshal(spec)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(stateDir, specFile), b, 0o600); err != nil {
		return nil, err
	}
	logf, err := os.OpenFile(filepath.Join(stateDir, "monitor.log"), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	cmd := exec.Command("/proc/self/exe", "__monitor", stateDir)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	cmd.Stderr = logf
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting the monitor: %w", err)
	}
	var msg readyMsg
	derr := json.NewDecoder(out).Decode(&msg)
	done := make(chan struct{})
	var werr error // the monitor's exit, once done is closed
	go func() {
		werr = cmd.Wait()
		close(done)
	}()
	if derr != nil || msg.Pid == 0 {
		<-done
		if derr == nil && msg.Error != "" {
			return nil, &StartError{Code: msg.Code, Msg: msg.Error}
		}
		b, _ := os.ReadFile(filepath.Join(stateDir, "monitor.log"))
		why := strings.TrimSpace(string(b))
		if why == "" && werr != nil {
			why = werr.Error()
		}
		return nil, &StartError{Code: 125, Msg: "container monitor failed: " + why}
	}
	return &Process{Pid: msg.Pid, Done: done, stateDir: stateDir}, nil
}

// Release lets the container's command start.
func (p *Process) Release() error {
	err := call(p.stateDir, request{Op: opStart})
	return err
}

// Resize sets the window size of the container's terminal.
func Resize(stateDir string, height, width uint16) error {
	err := call(stateDir, request{Op: opResize, Height: height, Width: width})
	return err
}

// Attach connects to the running container's streams. The connection
// carries frames (stream byte, 3 zero bytes, big-endian length, payload) of
// the container's output; what is written to it goes to the container's
// stdin, and closing its write side closes stdin when the container was
// created with StdinOnce.
func Attach(stateDir string, stdin, stdout, stderr bool) (*net.UnixConn, io.Reader, error) {
	conn, br, err := dial(stateDir, request{Op: opAttach, Stdin: stdin, Stdout: stdout, Stderr: stderr})
	if err != nil {
		return nil, nil, err
	}
	return conn, br, nil
}

// call makes a one-shot request that the monitor answers "ok".
func call(stateDir string, req request) error {
	conn, _, err := dial(stateDir, req)
	if err != nil {
		return err
	}
	conn.Close()
	return nil
}

func dial(stateDir string, req request) (*net.UnixConn, *bufio.Reader, error) {
	c, err := net.Dial("unix", filepath.Join(stateDir, attachSock))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) || errors.Is(err, syscall.ECONNREFUSED) {
			return nil, nil, ErrNotRunning
		}
		return nil, nil, err
	}
	conn := c.(*net.UnixConn)
	b, _ := json.Marshal(req)
	if _, err := conn.Write(append(b, '\n')); err != nil {
		conn.Close()
		return nil, nil, err
	}
	br := bufio.NewReader(conn)
	line, err := br.ReadString('\n')
	if err != nil {
		// The monitor went away before it answered.
		conn.Close()
		return nil, nil, ErrNotRunning
	}
	if err := parseReply(req.Op, line); err != nil {
		conn.Close()
		return nil, nil, err
	}
	return conn, br, nil
}

// ExecConn is a running exec: frames of its output (as Attach), ending
// with the exit frame that ReadExitFrame recognizes.
type ExecConn struct {
	Conn   *net.UnixConn
	Reader io.Reader
	Pid    int
}

// Exec starts spec in the running container whose monitor is in stateDir.
func Exec(stateDir string, spec ExecSpec) (*ExecConn, error) {
	c, err := net.Dial("unix", filepath.Join(stateDir, attachSock))
	if err != nil {
		return nil, ErrNotRunning
	}
	conn := c.(*net.UnixConn)
	b, _ := json.Marshal(request{Op: opExec, Exec: &spec})
	if _, err := conn.Write(append(b, '\n')); err != nil {
		conn.Close()
		return nil, ErrNotRunning
	}
	br := bufio.NewReader(conn)
	line, err := br.ReadBytes('\n')
	if err != nil {
		conn.Close()
		return nil, ErrNotRunning
	}
	var msg readyMsg
	if err := json.Unmarshal(line, &msg); err != nil || msg.Pid == 0 {
		conn.Close()
		if msg.Error == "" {
			msg.Error = "exec failed"
		}
		return nil, &StartError{Code: msg.Code, Msg: msg.Error}
	}
	return &ExecConn{Conn: conn, Reader: br, Pid: msg.Pid}, nil
}

// ExitFrame reports whether a frame header is an exec's exit frame.
func ExitFrame(hdr [8]byte) bool { return hdr[0] == streamExit }

// ResizeExec sets the window size of an exec's terminal.
func ResizeExec(stateDir, id string, height, width uint16) error {
	err := call(stateDir, request{Op: opExecResize, ID: id, Height: height, Width: width})
	return err
}

// Signal sends sig to the container's PID 1 through its monitor.
func Signal(stateDir string, sig syscall.Signal) error {
	err := call(stateDir, request{Op: opSignal, Signal: int(sig)})
	return err
}

// Alive reports whether a process exists; one we may not signal (another
// user namespace) exists too.
func Alive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
