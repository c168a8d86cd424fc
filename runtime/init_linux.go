package runtime

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// File descriptors the monitor hands to init.
const (
	initSyncFD    = 3 // init → monitor: one JSON syncMsg, then EOF on exec
	initGoFD      = 4 // monitor → init: closed when the process may start
	initConsoleFD = 5 // unix socket: init sends the pty master (tty only)
)

// syncMsg is init's report to the monitor.
type syncMsg struct {
	Ready bool   `json:"ready,omitempty"`
	Error string `json:"error,omitempty"`
	Code  int    `json:"code,omitempty"`
}

// RunInit is the container's init, started by the monitor in new mount,
// pid, uts and ipc namespaces. It prepares the root filesystem, reports
// readiness, waits for the go-ahead and then execs the container's command,
// which becomes PID 1 (with --init it stays PID 1 itself, reaping orphans
// and passing signals on). It only returns on failure.
func RunInit(stateDir string) error {
	// Capabilities are per thread: set them on the thread that execs.
	goruntime.LockOSThread()
	sync := os.NewFile(initSyncFD, "sync")
	var spec Spec
	if err := ReadJSON(filepath.Join(stateDir, specFile), &spec); err != nil {
		return report(sync, err)
	}
	if err := setupRootfs(&spec); err != nil {
		return report(sync, err)
	}
	if spec.Hostname != "" {
		if err := unix.Sethostname([]byte(spec.Hostname)); err != nil {
			return report(sync, fmt.Errorf("sethostname: %w", err))
		}
	}
	p := &proc{
		Args: spec.Args, Env: containerEnv(spec), Cwd: spec.Cwd, User: spec.User, Tty: spec.Tty,
		CapAdd: spec.CapAdd, CapDrop: spec.CapDrop, Privileged: spec.Privileged,
		NoNewPrivileges: spec.NoNewPrivileges, Ulimits: spec.Ulimits, Seccomp: spec.Seccomp, createCwd: true,
	}
	if err := p.prepare(); err != nil {
		return report(sync, err)
	}
	if err := json.NewEncoder(sync).Encode(syncMsg{Ready: true}); err != nil {
		return err
	}
	// Wait until the monitor has connected the attached clients.
	goPipe := os.NewFile(initGoFD, "go")
	var b [1]byte
	if n, _ := goPipe.Read(b[:]); n == 0 {
		return errors.New("monitor went away before start")
	}
	goPipe.Close()
	if spec.Init {
		return report(sync, p.runAsInit())
	}
	return report(sync, p.exec())
}

// report sends a failure to the monitor on the sync pipe and returns it.
func report(sync *os.File, err error) error {
	msg := syncMsg{Error: err.Error(), Code: 125}
	var se *StartError
	if errors.As(err, &se) {
		msg.Code = se.Code
	}
	if werr := json.NewEncoder(sync).Encode(msg); werr != nil {
		// The monitor sees init gone without a word: say it here.
		return errors.Join(err, fmt.Errorf("reporting to the monitor: %w", werr))
	}
	return err
}

// proc is a process to start in the container: its command, or an exec.
type proc struct {
	Args            []string
	Env             []string
	Cwd             string
	User            string
	Tty             bool
	CapAdd, CapDrop []string
	Privileged      bool
	NoNewPrivileges bool
	Ulimits         []Ulimit
	Seccomp         []byte
	// createCwd makes a missing working directory (the container's
	// command); an exec's must exist.
	createCwd bool

	path string
	id   identity
}

// prepare resolves the user, the working directory and the executable,
// and sets up the terminal: everything that can fail with an error the
// user should see, before the process is released.
func (p *proc) prepare() error {
	id, err := resolveUser("/", p.User)
	if err != nil {
		return &StartError{Code: 125, Msg: err.Error()}
	}
	p.id = id
	if !hasEnv(p.Env, "HOME") {
		p.Env = append(p.Env, "HOME="+id.Home)
	}
	cwd := p.Cwd
	if cwd == "" {
		cwd = "/"
	}
	if p.createCwd && cwd != "/" {
		if err := os.MkdirAll(cwd, 0o755); err == nil {
			// Best effort: an id outside the user namespace's map (rootless
			// without a subordinate range) cannot own it, and then the
			// directory stays root's, which the command may still use.
			_ = os.Chown(cwd, id.UID, id.GID)
		}
	}
	if err := os.Chdir(cwd); err != nil {
		return &StartError{Code: 126, Msg: fmt.Sprintf("chdir to cwd (%q) set in config.json failed: %v", cwd, errors.Unwrap(err))}
	}
	if err := checkCwd(cwd); err != nil {
		return err
	}
	if len(p.Args) == 0 {
		return &StartError{Code: 125, Msg: "no command specified"}
	}
	p.path, err = lookPath(p.Args[0], getEnv(p.Env, "PATH"))
	if err != nil {
		return err
	}
	if p.Tty {
		if err := setupConsole(); err != nil {
			return err
		}
	}
	return nil
}

// limit applies resource limits, capabilities, no_new_privs and the
// user's identity, in that order (setuid needs CAP_SETUID).
func (p *proc) limit() error {
	if err := setRlimits(p.Ulimits); err != nil {
		return err
	}
	caps, err := CapabilitySet(p.CapAdd, p.CapDrop, p.Privileged)
	if err != nil {
		return err
	}
	// The filter loads while CAP_SYS_ADMIN is still held.
	if err := loadSeccomp(p.Seccomp); err != nil {
		return err
	}
	if err := setCapabilities(caps); err != nil {
		return err
	}
	if p.NoNewPrivileges {
		if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
			return fmt.Errorf("setting no_new_privs: %w", err)
		}
	}
	if err := setIdentity(p.id); err != nil {
		return err
	}
	return keepParentDeathSignal()
}

// keepParentDeathSignal sets the parent-death signal again, which a change
// of user clears, and then checks that the monitor is still there: had it
// died in between, nothing would kill this process.
func keepParentDeathSignal() error {
	if err := unix.Prctl(unix.PR_SET_PDEATHSIG, uintptr(unix.SIGKILL), 0, 0, 0); err != nil {
		return fmt.Errorf("setting the parent-death signal: %w", err)
	}
	// The monitor holds the read end of the sync pipe until the process
	// has started: a pipe whose reader is gone polls as an error.
	fds := []unix.PollFd{{Fd: initSyncFD, Events: unix.POLLOUT}}
	if _, err := unix.Poll(fds, 0); err == nil && fds[0].Revents&(unix.POLLERR|unix.POLLHUP) != 0 {
		return errors.New("the container's monitor exited")
	}
	return nil
}

// exec replaces this process with the command; it returns only on failure.
func (p *proc) exec() error {
	if err := p.limit(); err != nil {
		return err
	}
	// Nothing but stdio reaches the program: not the sync pipe, not
	// anything this process inherited.
	if err := CloseExecFrom(3); err != nil {
		return err
	}
	err := unix.Exec(p.path, p.Args, p.Env)
	return &StartError{Code: 126, Msg: fmt.Sprintf("exec: %q: %v", p.Args[0], err)}
}

func setIdentity(id identity) error {
	groups := id.Groups
	if groups == nil {
		groups = []int{}
	}
	if err := syscall.Setgroups(groups); err != nil && !errors.Is(err, syscall.EPERM) {
		return fmt.Errorf("setgroups: %w", err)
	}
	if err := syscall.Setgid(id.GID); err != nil {
		return fmt.Errorf("setgid %d: %w", id.GID, err)
	}
	if err := syscall.Setuid(id.UID); err != nil {
		return fmt.Errorf("setuid %d: %w", id.UID, err)
	}
	return nil
}

func containerEnv(spec Spec) []string {
	env := append([]string(nil), spec.Env...)
	if !hasEnv(env, "PATH") {
		env = append([]string{"PATH=" + defaultPath}, env...)
	}
	if !hasEnv(env, "HOSTNAME") && spec.Hostname != "" {
		env = append(env, "HOSTNAME="+spec.Hostname)
	}
	if spec.Tty && !hasEnv(env, "TERM") {
		env = append(env, "TERM=xterm")
	}
	return env
}

func hasEnv(env []string, key string) bool {
	_, ok := lookupEnv(env, key)
	return ok
}

func getEnv(env []string, key string) string {
	v, _ := lookupEnv(env, key)
	return v
}

func lookupEnv(env []string, key string) (string, bool) {
	for i := len(env) - 1; i >= 0; i-- {
		if k, v, _ := strings.Cut(env[i], "="); k == key {
			return v, true
		}
	}
	return "", false
}

// setupConsole makes a pty inside the container's own devpts, sends its
// master to the monitor and makes the slave the controlling terminal and
// stdio of this process.
func setupConsole() error {
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("opening /dev/ptmx: %w", err)
	}
	defer master.Close()
	if err := unix.IoctlSetPointerInt(int(master.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		return fmt.Errorf("unlockpt: %w", err)
	}
	n, err := unix.IoctlGetInt(int(master.Fd()), unix.TIOCGPTN)
	if err != nil {
		return fmt.Errorf("ptsname: %w", err)
	}
	slavePath := fmt.Sprintf("/dev/pts/%d", n)
	slave, err := os.OpenFile(slavePath, os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		return fmt.Errorf("opening %s: %w", slavePath, err)
	}
	defer slave.Close()
	rights := unix.UnixRights(int(master.Fd()))
	if err := unix.Sendmsg(initConsoleFD, []byte("pty"), rights, nil, 0); err != nil {
		return fmt.Errorf("sending the console: %w", err)
	}
	unix.Close(initConsoleFD)
	if _, err := unix.Setsid(); err != nil {
		return fmt.Errorf("setsid: %w", err)
	}
	if err := unix.IoctlSetInt(int(slave.Fd()), unix.TIOCSCTTY, 0); err != nil {
		return fmt.Errorf("setting the controlling terminal: %w", err)
	}
	for fd := 0; fd < 3; fd++ {
		if err := unix.Dup3(int(slave.Fd()), fd, 0); err != nil {
			return err
		}
	}
	return nil
}
