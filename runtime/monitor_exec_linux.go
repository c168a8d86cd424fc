package runtime

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"

	"github.com/skiff-dev/skiff/internal/stdframe"
	"github.com/skiff-dev/skiff/runtime/nsenter"
	"golang.org/x/sys/unix"
)

// Frame stream ids beyond stdout and stderr, on an exec connection.
const (
	streamExit = 3 // payload: the exit code, 4 bytes big-endian
)

// exec runs spec in the container's namespaces for one client: the
// connection answers one JSON line (readyMsg: the pid, or the error), then
// carries the process's output frames and ends with its exit frame.
func (m *monitor) exec(conn net.Conn, br *bufio.Reader, spec *ExecSpec) {
	defer conn.Close()
	pid, wait, stdin, outs, err := m.startExec(spec)
	if err != nil {
		msg := readyMsg{Error: err.Error(), Code: 126}
		var se *StartError
		if errors.As(err, &se) {
			msg.Code = se.Code
		}
		// A client that went away gets no answer.
		_ = json.NewEncoder(conn).Encode(msg)
		return
	}
	// The exec runs whether or not its client still listens (as a
	// detached one does): a client's write errors stop nothing.
	_ = json.NewEncoder(conn).Encode(readyMsg{Pid: pid})
	var wmu sync.Mutex
	send := func(id byte, p []byte) {
		f := stdframe.Frame(id, p)
		wmu.Lock()
		_, _ = conn.Write(f)
		wmu.Unlock()
	}
	if stdin != nil {
		go func() {
			_, _ = io.Copy(stdin, br) // until either end closes
			if !spec.Tty {
				stdin.Close()
			}
		}()
	}
	var pumps sync.WaitGroup
	for id, r := range outs {
		pumps.Add(1)
		go func(id byte, r *os.File) {
			defer pumps.Done()
			buf := make([]byte, 32*1024)
			for {
				n, err := r.Read(buf)
				if n > 0 {
					send(id, buf[:n])
				}
				if err != nil {
					return
				}
			}
		}(id, r)
	}
	code := wait()
	pumps.Wait()
	for _, r := range outs {
		r.Close()
	}
	m.mu.Lock()
	delete(m.execMasters, spec.ID)
	m.mu.Unlock()
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], uint32(code))
	send(streamExit, b[:])
}

// startExec starts the process and returns its pid, a function that waits
// for its exit code, its stdin and its output streams by frame id.
func (m *monitor) startExec(spec *ExecSpec) (int, func() int, io.WriteCloser, map[byte]*os.File, error) {
	syncR, syncW, err := os.Pipe()
	if err != nil {
		return 0, nil, nil, nil, err
	}
	defer syncR.Close()
	specR, specW, err := os.Pipe()
	if err != nil {
		return 0, nil, nil, nil, err
	}
	cmd := exec.Command("/proc/self/exe", "__exec")
	cmd.Env = []string{nsenter.EnvPID + "=" + strconv.Itoa(m.pid)}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: !spec.Tty}
	childEnds := []*os.File{syncW, specR}
	extra := []*os.File{syncW, specR}
	var consoleParent *os.File
	var stdin io.WriteCloser
	outs := map[byte]*os.File{}
	if spec.Tty {
		fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return 0, nil, nil, nil, err
		}
		consoleParent = os.NewFile(uintptr(fds[0]), "console")
		defer consoleParent.Close()
		child := os.NewFile(uintptr(fds[1]), "console-child")
		extra = append(extra, child)
		childEnds = append(childEnds, child)
	} else {
		if spec.Stdin {
			r, w, err := os.Pipe()
			if err != nil {
				return 0, nil, nil, nil, err
			}
			cmd.Stdin, stdin = r, w
			childEnds = append(childEnds, r)
		}
		var ends []*os.File
		if outs, ends, err = outputPipes(cmd); err != nil {
			return 0, nil, nil, nil, err
		}
		childEnds = append(childEnds, ends...)
	}
	var cgroupFDs []int
	for _, path := range spec.CgroupProcs {
		f, err := os.OpenFile(path, os.O_WRONLY, 0)
		if err != nil {
			for _, c := range childEnds {
				c.Close()
			}
			return 0, nil, nil, nil, fmt.Errorf("opening %s: %w", path, err)
		}
		cgroupFDs = append(cgroupFDs, 3+len(extra))
		extra = append(extra, f)
		childEnds = append(childEnds, f)
	}
	cmd.ExtraFiles = extra
	err = cmd.Start()
	for _, f := range childEnds {
		f.Close()
	}
	if err != nil {
		specW.Close()
		return 0, nil, nil, nil, err
	}
	req := execRequest{Exec: *spec, CapAdd: m.spec.CapAdd, CapDrop: m.spec.CapDrop, Privileged: m.spec.Privileged,
		NoNewPrivileges: m.spec.NoNewPrivileges, Ulimits: m.spec.Ulimits, CgroupFDs: cgroupFDs, Seccomp: m.spec.Seccomp}
	if err := json.NewEncoder(specW).Encode(req); err != nil {
		specW.Close()
		killAndReap(cmd)
		for _, r := range outs {
			r.Close()
		}
		if stdin != nil {
			stdin.Close()
		}
		return 0, nil, nil, nil, fmt.Errorf("sending the exec request: %w", err)
	}
	specW.Close()
	wait := func() int {
		err := cmd.Wait()
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
		if err != nil {
			return 126
		}
		return 0
	}
	// A message on the sync pipe is a failure; EOF means the command runs.
	var msg syncMsg
	if json.NewDecoder(syncR).Decode(&msg) == nil && msg.Error != "" {
		wait()
		for _, r := range outs {
			r.Close()
		}
		return 0, nil, nil, nil, &StartError{Code: msg.Code, Msg: msg.Error}
	}
	if spec.Tty {
		master, err := recvFd(consoleParent)
		if err != nil {
			_ = cmd.Process.Kill() // it may have exited: wait tells
			wait()
			return 0, nil, nil, nil, err
		}
		m.mu.Lock()
		m.execMasters[spec.ID] = master
		m.mu.Unlock()
		stdin = master
		outs[streamStdout] = master
	}
	return cmd.Process.Pid, wait, stdin, outs, nil
}
