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
// which becomes PID 1. It only returns on failure.
func RunInit(stateDir string) error {
	// Capabilities are per thread: set them on the thread that execs.
	goruntime.LockOSThread()
	sync := os.NewFile(initSyncFD, "sync")
	fail := func(err error) error {
		msg := syncMsg{Error: err.Error(), Code: 125}
		var se *StartError
		if errors.As(err, &se) {
			msg.Code = se.Code
		}
		json.NewEncoder(sync).Encode(msg)
		return err
	}
	var spec Spec
	if err := ReadJSON(filepath.Join(stateDir, specFile), &spec); err != nil {
		return fail(err)
	}
	if err := setupRootfs(&spec); err != nil {
		return fail(err)
	}
	if spec.Hostname != "" {
		if err := unix.Sethostname([]byte(spec.Hostname)); err != nil {
			return fail(fmt.Errorf("sethostname: %w", err))
		}
	}
	env := containerEnv(spec)
	id, err := resolveUser("/", spec.User)
	if err != nil {
		return fail(&StartError{Code: 125, Msg: err.Error()})
	}
	if !hasEnv(env, "HOME") {
		env = append(env, "HOME="+id.Home)
	}
	cwd := spec.Cwd
	if cwd == "" {
		cwd = "/"
	}
	if err := os.MkdirAll(cwd, 0o755); err == nil && cwd != "/" {
		os.Chown(cwd, id.UID, id.GID)
	}
	if err := os.Chdir(cwd); err != nil {
		return fail(&StartError{Code: 125, Msg: fmt.Sprintf("chdir to cwd (%q) set in config.json failed: %v", cwd, err)})
	}
	if len(spec.Args) == 0 {
		return fail(&StartError{Code: 125, Msg: "no command specified"})
	}
	path, err := lookPath(spec.Args[0], getEnv(env, "PATH"))
	if err != nil {
		return fail(err)
	}
	if spec.Tty {
		if err := setupConsole(); err != nil {
			return fail(err)
		}
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
	if err := limitCapabilities(); err != nil {
		return fail(err)
	}
	if err := setIdentity(id); err != nil {
		return fail(err)
	}
	unix.CloseOnExec(initSyncFD)
	err = unix.Exec(path, spec.Args, env)
	return fail(&StartError{Code: 126, Msg: fmt.Sprintf("exec: %q: %v", spec.Args[0], err)})
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
