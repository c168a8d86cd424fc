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
	goruntime "runtime"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/skiff-dev/skiff/internal/stdframe"
	"github.com/skiff-dev/skiff/logs"
	"golang.org/x/sys/unix"
)

// request is the first line a client sends on a monitor's attach socket.
type request struct {
	// Op is the operation (protocol.go).
	Op op `json:"op"`
	// Signal is the signal number, for "signal".
	Signal int `json:"signal,omitempty"`
	// Exec is the process to run, for "exec"; ID names it for "exec-resize".
	Exec   *ExecSpec `json:"exec,omitempty"`
	ID     string    `json:"id,omitempty"`
	Stdin  bool      `json:"stdin,omitempty"`
	Stdout bool      `json:"stdout,omitempty"`
	Stderr bool      `json:"stderr,omitempty"`
	Height uint16    `json:"height,omitempty"`
	Width  uint16    `json:"width,omitempty"`
}

// readyMsg is the monitor's one-line report to the engine once the
// container's init is ready (Pid) or has failed (Error, Code).
type readyMsg struct {
	Pid   int    `json:"pid,omitempty"`
	Error string `json:"error,omitempty"`
	Code  int    `json:"code,omitempty"`
}

// Stream ids in attach frames, as in Docker's multiplexed stream.
const (
	streamStdout = 1
	streamStderr = 2
)

type client struct {
	conn           net.Conn
	stdout, stderr bool
}

type monitor struct {
	spec     Spec
	stateDir string
	log      *logs.Writer

	mu      sync.Mutex
	clients []*client
	stdin   io.WriteCloser // pty master or stdin pipe; nil without stdin
	master  *os.File
	goW     *os.File
	// pid is the container's init; execs join its namespaces.
	pid int
	// execed is closed once init has exec'd the command (or failed).
	execed chan struct{}
	// execMasters are the terminals of running execs, by exec ID.
	execMasters map[string]*os.File
	// logErr says once on stderr (monitor.log) that the log lost output.
	logErr sync.Once
}

// logFailed notes that the container's log lost output (a full disk, a
// remote log driver's error): the first time on stderr, which is
// monitor.log; the output still goes to attached clients.
func (m *monitor) logFailed(err error) {
	m.logErr.Do(func() { fmt.Fprintf(os.Stderr, "container log: %v (further errors not shown)\n", err) })
}

// killAndReap kills a child that is of no more use and reaps it. It may
// have exited already, and Wait's error is then the kill's: neither says
// anything.
func killAndReap(cmd *exec.Cmd) {
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
}

// RunMonitor supervises the container whose spec is in stateDir: it starts
// init, reports readiness on stdout, serves attach clients, writes the log
// and records the exit. It is `skiff` re-executed by the engine in a session
// of its own, so it outlives the engine.
func RunMonitor(stateDir string) error {
	ready := os.Stdout
	report := func(m readyMsg) {
		// The engine reads EOF then, and monitor.log says why.
		if err := json.NewEncoder(ready).Encode(m); err != nil {
			fmt.Fprintf(os.Stderr, "reporting to the engine: %v\n", err)
		}
	}
	m := &monitor{stateDir: stateDir, execed: make(chan struct{}), execMasters: map[string]*os.File{}}
	if err := ReadJSON(filepath.Join(stateDir, specFile), &m.spec); err != nil {
		report(readyMsg{Error: err.Error(), Code: 125})
		return err
	}
	err := m.run(report)
	if err != nil {
		var se *StartError
		code := 125
		if errors.As(err, &se) {
			code = se.Code
		}
		report(readyMsg{Error: err.Error(), Code: code})
	}
	return err
}

func (m *monitor) run(report func(readyMsg)) error {
	info := m.spec.LogInfo
	if info.LogPath == "" {
		info.LogPath = m.spec.LogPath
	}
	lw, err := logs.Open(m.spec.LogDriver, info)
	if err != nil {
		return err
	}
	m.log = lw
	sockPath := filepath.Join(m.stateDir, attachSock)
	os.Remove(sockPath)
	ln, err := net.Listen("unix", sockPath)
	if err != nil {
		return fmt.Errorf("listening for attach: %w", err)
	}
	defer os.Remove(sockPath)

	syncR, syncW, err := os.Pipe()
	if err != nil {
		return err
	}
	goR, goW, err := os.Pipe()
	if err != nil {
		return err
	}
	m.goW = goW
	cmd := exec.Command("/proc/self/exe", "__init", m.stateDir)
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags: syscall.CLONE_NEWNS | syscall.CLONE_NEWPID | syscall.CLONE_NEWUTS | syscall.CLONE_NEWIPC,
		Setsid:     !m.spec.Tty,
		// The container dies with its monitor: init is PID 1 of its pid
		// namespace, so the kernel kills the rest with it.
		Pdeathsig: syscall.SIGKILL,
	}
	if m.spec.NewNetNS {
		cmd.SysProcAttr.Cloneflags |= syscall.CLONE_NEWNET
	}
	var consoleParent *os.File
	var pumps sync.WaitGroup
	var childEnds []*os.File
	extra := []*os.File{syncW, goR}
	if m.spec.Tty {
		fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return err
		}
		consoleParent = os.NewFile(uintptr(fds[0]), "console")
		consoleChild := os.NewFile(uintptr(fds[1]), "console-child")
		extra = append(extra, consoleChild)
		childEnds = append(childEnds, consoleChild)
	} else {
		if m.spec.OpenStdin {
			r, w, err := os.Pipe()
			if err != nil {
				return err
			}
			cmd.Stdin, m.stdin = r, w
			childEnds = append(childEnds, r)
		}
		outs, ends, err := outputPipes(cmd)
		if err != nil {
			return err
		}
		childEnds = append(childEnds, ends...)
		for id, r := range outs {
			pumps.Add(1)
			go func() {
				defer pumps.Done()
				m.pump(streamName[id], id, r)
			}()
		}
	}
	cmd.ExtraFiles = extra
	childEnds = append(childEnds, syncW, goR)
	initDone := make(chan struct{})
	defer close(initDone)
	if err := m.startInit(cmd, initDone); err != nil {
		return err
	}
	for _, f := range childEnds {
		f.Close()
	}
	// Move init into the container's cgroup while it builds its root
	// filesystem: a cgroup v1 move waits for an RCU grace period per
	// hierarchy, and init still runs as the engine's user (v1 demands that).
	joined := make(chan error, 1)
	go func() { joined <- joinCgroups(m.spec.CgroupProcs, cmd.Process.Pid) }()
	var msg syncMsg
	if err := json.NewDecoder(syncR).Decode(&msg); err != nil {
		msg = syncMsg{Error: "container init exited before it was ready", Code: 125}
	}
	if err := <-joined; err != nil && msg.Ready {
		msg = syncMsg{Error: err.Error(), Code: 125}
	}
	if !msg.Ready {
		killAndReap(cmd)
		return &StartError{Code: msg.Code, Msg: msg.Error}
	}
	if m.spec.Tty {
		master, err := recvFd(consoleParent)
		if err != nil {
			killAndReap(cmd)
			return fmt.Errorf("receiving the console: %w", err)
		}
		consoleParent.Close()
		m.master, m.stdin = master, master
		pumps.Add(1)
		go func() {
			defer pumps.Done()
			m.pump("stdout", streamStdout, master)
		}()
	}
	// An engine that restarts finds the monitor by this file: without it
	// the container would look dead.
	if err := os.WriteFile(filepath.Join(m.stateDir, pidFile), []byte(fmt.Sprint(os.Getpid())), 0o644); err != nil {
		killAndReap(cmd)
		return fmt.Errorf("recording the monitor's pid: %w", err)
	}
	m.pid = cmd.Process.Pid
	report(readyMsg{Pid: cmd.Process.Pid})
	os.Stdout.Close()
	go m.serve(ln)

	// A second message on the sync pipe means exec failed after start.
	var late syncMsg
	lateErr := json.NewDecoder(syncR).Decode(&late)
	close(m.execed)
	werr := cmd.Wait()
	pumps.Wait()
	exit := Exit{FinishedAt: time.Now().UTC()}
	var ee *exec.ExitError
	switch {
	case werr == nil:
	case errors.As(werr, &ee):
		ws := ee.Sys().(syscall.WaitStatus)
		if ws.Signaled() {
			exit.Code = 128 + int(ws.Signal())
		} else {
			exit.Code = ws.ExitStatus()
		}
	default:
		exit.Code, exit.Error = 125, werr.Error()
	}
	if lateErr == nil && late.Error != "" {
		exit.Error = late.Error
	}
	m.log.Close()
	if err := WriteJSON(filepath.Join(m.stateDir, exitFile), exit); err != nil {
		return err
	}
	ln.Close()
	m.mu.Lock()
	for _, c := range m.clients {
		c.conn.Close()
	}
	m.clients = nil
	m.mu.Unlock()
	return nil
}

// startInit starts init, inside the container's network namespace when
// the spec names one: setns on a locked thread, which the fork inherits.
// That thread lives until done is closed: init's parent-death signal
// fires when the thread that forked it exits, not the process.
func (m *monitor) startInit(cmd *exec.Cmd, done <-chan struct{}) error {
	if m.spec.NetNS == "" {
		return cmd.Start()
	}
	errc := make(chan error, 1)
	go func() {
		goruntime.LockOSThread()
		// The thread stays locked and dies with this goroutine, so its
		// network namespace never leaks to other goroutines.
		f, err := os.Open(m.spec.NetNS)
		if err != nil {
			errc <- fmt.Errorf("opening network namespace: %w", err)
			return
		}
		defer f.Close()
		if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("joining network namespace %s: %w", m.spec.NetNS, err)
			return
		}
		err = cmd.Start()
		errc <- err
		if err == nil {
			<-done
		}
	}()
	return <-errc
}

// pump copies one output stream to the log and the attached clients.
func (m *monitor) pump(name string, id byte, r *os.File) {
	buf := make([]byte, 32*1024)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			if err := m.log.Write(name, buf[:n]); err != nil {
				m.logFailed(err)
			}
			m.broadcast(id, buf[:n])
		}
		if err != nil {
			return
		}
	}
}

func (m *monitor) broadcast(id byte, p []byte) {
	frame := stdframe.Frame(id, p)
	m.mu.Lock()
	defer m.mu.Unlock()
	kept := m.clients[:0]
	for _, c := range m.clients {
		if (id == streamStdout && !c.stdout) || (id == streamStderr && !c.stderr) {
			kept = append(kept, c)
			continue
		}
		if err := c.conn.SetWriteDeadline(time.Now().Add(10 * time.Second)); err != nil {
			c.conn.Close()
			continue
		}
		if _, err := c.conn.Write(frame); err != nil {
			c.conn.Close()
			continue
		}
		kept = append(kept, c)
	}
	m.clients = kept
}

func (m *monitor) serve(ln net.Listener) {
	for {
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		go m.handle(conn)
	}
}

func (m *monitor) handle(conn net.Conn) {
	br := bufio.NewReader(conn)
	line, err := br.ReadBytes('\n')
	if err != nil {
		conn.Close()
		return
	}
	var req request
	if err := json.Unmarshal(line, &req); err != nil {
		conn.Close()
		return
	}
	switch req.Op {
	case opStart:
		m.mu.Lock()
		var err error
		if m.goW != nil {
			_, err = m.goW.Write([]byte{1})
			m.goW.Close()
			m.goW = nil
		}
		m.mu.Unlock()
		if err != nil {
			writeReply(conn, fmt.Errorf("letting the command start: %w", err))
			conn.Close()
			return
		}
		// Answer once the command runs (init's sync pipe closed at exec):
		// a signal sent before would hit init, not the command.
		<-m.execed
		writeReply(conn, nil)
		conn.Close()
	case opResize, opExecResize:
		master := m.master
		if req.Op == opExecResize {
			m.mu.Lock()
			master = m.execMasters[req.ID]
			m.mu.Unlock()
		}
		var err error
		if master != nil {
			err = unix.IoctlSetWinsize(int(master.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: req.Height, Col: req.Width})
		}
		writeReply(conn, err)
		conn.Close()
	case opSignal:
		// The monitor lives in the container's user namespace: it can signal
		// the container where a restarted engine (a new namespace) cannot.
		writeReply(conn, syscall.Kill(m.pid, syscall.Signal(req.Signal)))
		conn.Close()
	case opExec:
		if req.Exec == nil {
			conn.Close()
			return
		}
		m.exec(conn, br, req.Exec)
	case opAttach:
		c := &client{conn: conn, stdout: req.Stdout, stderr: req.Stderr}
		m.mu.Lock()
		m.clients = append(m.clients, c)
		m.mu.Unlock()
		writeReply(conn, nil)
		if req.Stdin && m.stdin != nil {
			// Until the client or the container closes its end: either
			// is the end of the input, no error.
			_, _ = io.Copy(m.stdin, br)
			if m.spec.StdinOnce && !m.spec.Tty {
				m.stdin.Close()
			}
		}
	default:
		writeReply(conn, fmt.Errorf("unknown operation %q", req.Op))
		conn.Close()
	}
}

func recvFd(sock *os.File) (*os.File, error) {
	buf := make([]byte, 16)
	oob := make([]byte, unix.CmsgSpace(4))
	_, oobn, _, _, err := unix.Recvmsg(int(sock.Fd()), buf, oob, 0)
	if err != nil {
		return nil, err
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil || len(msgs) == 0 {
		return nil, errors.New("no file descriptor received")
	}
	fds, err := unix.ParseUnixRights(&msgs[0])
	if err != nil || len(fds) == 0 {
		return nil, errors.New("no file descriptor received")
	}
	return os.NewFile(uintptr(fds[0]), "pty-master"), nil
}

// joinCgroups writes pid to each cgroup.procs file.
func joinCgroups(procs []string, pid int) error {
	for _, p := range procs {
		if err := os.WriteFile(p, []byte(strconv.Itoa(pid)), 0); err != nil {
			return fmt.Errorf("joining the container's cgroup %s: %w", filepath.Dir(p), err)
		}
	}
	return nil
}

// streamName is the log's name of a frame's stream.
var streamName = map[byte]string{streamStdout: "stdout", streamStderr: "stderr"}

// outputPipes gives cmd a pipe for stdout and one for stderr. It returns
// the read ends by frame id, and the write ends, which the caller closes
// once cmd has started.
func outputPipes(cmd *exec.Cmd) (map[byte]*os.File, []*os.File, error) {
	outs := map[byte]*os.File{}
	var ends []*os.File
	for _, id := range []byte{streamStdout, streamStderr} {
		r, w, err := os.Pipe()
		if err != nil {
			for _, f := range append(ends, mapValues(outs)...) {
				f.Close()
			}
			return nil, nil, err
		}
		if id == streamStdout {
			cmd.Stdout = w
		} else {
			cmd.Stderr = w
		}
		outs[id] = r
		ends = append(ends, w)
	}
	return outs, ends, nil
}

func mapValues(m map[byte]*os.File) []*os.File {
	out := make([]*os.File, 0, len(m))
	for _, f := range m {
		out = append(out, f)
	}
	return out
}
