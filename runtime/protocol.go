package runtime

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"syscall"
)

// op is an operation a client asks of a container's monitor, the Op of
// the request line that opens each connection to its socket.
type op string

// The monitor's operations.
const (
	// opStart lets the container's command start (init waits for it);
	// the reply comes once the command runs.
	opStart op = "start"
	// opAttach joins the container's streams: after the reply the
	// connection carries output frames, and what the client writes goes
	// to stdin.
	opAttach op = "attach"
	// opResize sets the size of the container's terminal.
	opResize op = "resize"
	// opSignal sends Signal to the container's PID 1.
	opSignal op = "signal"
	// opExec starts Exec; its reply is a readyMsg, then frames.
	opExec op = "exec"
	// opExecResize sets the size of exec ID's terminal.
	opExecResize op = "exec-resize"
)

// reply is the monitor's one-line JSON answer to every operation but
// opExec: OK, or the error with its errno when a system call failed.
type reply struct {
	OK    bool   `json:"ok,omitempty"`
	Error string `json:"error,omitempty"`
	Errno int    `json:"errno,omitempty"`
}

// MonitorError is an operation that a running monitor refused or failed.
// It unwraps to the system call's errno (syscall.ESRCH, syscall.EPERM...).
type MonitorError struct {
	Op    string
	Msg   string
	Errno syscall.Errno
}

func (e *MonitorError) Error() string { return fmt.Sprintf("container monitor: %s: %s", e.Op, e.Msg) }

// Unwrap returns the errno, if any.
func (e *MonitorError) Unwrap() error {
	if e.Errno == 0 {
		return nil
	}
	return e.Errno
}

// writeReply answers a client: OK when err is nil.
func writeReply(conn net.Conn, err error) {
	r := reply{OK: err == nil}
	if err != nil {
		r.Error = err.Error()
		var errno syscall.Errno
		if errors.As(err, &errno) {
			r.Errno = int(errno)
		}
	}
	b, _ := json.Marshal(r)
	// A client that went away gets no answer; the operation stands.
	_, _ = conn.Write(append(b, '\n'))
}

// parseReply reads a monitor's answer to o. A monitor of an earlier skiff
// answers "ok" in plain text.
func parseReply(o op, line string) error {
	if line == "ok\n" {
		return nil
	}
	var r reply
	if err := json.Unmarshal([]byte(line), &r); err != nil {
		return &MonitorError{Op: string(o), Msg: fmt.Sprintf("unexpected reply %q", line)}
	}
	if r.OK {
		return nil
	}
	return &MonitorError{Op: string(o), Msg: r.Error, Errno: syscall.Errno(r.Errno)}
}
