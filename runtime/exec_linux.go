package runtime

import (
	"encoding/json"
	"fmt"
	"os"
	goruntime "runtime"

	"golang.org/x/sys/unix"
)

// File descriptors the monitor hands to an exec'd process: fd 3 is the
// sync pipe and fd 5 the console socket, as for init; fd 4 carries the
// process's JSON description.
const execSpecFD = 4

// execRequest is what the monitor sends an exec'd process on execSpecFD.
type execRequest struct {
	Exec ExecSpec `json:"exec"`
	// The container's settings that every process in it shares.
	CapAdd          []string `json:"capAdd,omitempty"`
	CapDrop         []string `json:"capDrop,omitempty"`
	Privileged      bool     `json:"privileged,omitempty"`
	NoNewPrivileges bool     `json:"noNewPrivileges,omitempty"`
	Ulimits         []Ulimit `json:"ulimits,omitempty"`
	// CgroupFDs are open cgroup.procs files to join.
	CgroupFDs []int  `json:"cgroupFDs,omitempty"`
	Seccomp   []byte `json:"seccomp,omitempty"`
}

// RunExec runs in the container's namespaces, which the nsenter
// constructor joined before the Go runtime started: it prepares the
// process like init does and execs it. It only returns on failure.
func RunExec() error {
	goruntime.LockOSThread()
	sync := os.NewFile(initSyncFD, "sync")
	// Die with the monitor's helper that waits for us.
	if err := unix.Prctl(unix.PR_SET_PDEATHSIG, uintptr(unix.SIGKILL), 0, 0, 0); err != nil {
		return report(sync, fmt.Errorf("prctl(PR_SET_PDEATHSIG): %w", err))
	}
	var req execRequest
	if err := json.NewDecoder(os.NewFile(execSpecFD, "spec")).Decode(&req); err != nil {
		return report(sync, err)
	}
	unix.Close(execSpecFD)
	for _, fd := range req.CgroupFDs {
		f := os.NewFile(uintptr(fd), "cgroup.procs")
		_, err := f.Write([]byte("0"))
		f.Close()
		if err != nil {
			return report(sync, fmt.Errorf("joining the container's cgroup: %w", err))
		}
	}
	x := req.Exec
	p := &proc{
		Args: x.Args, Env: x.Env, Cwd: x.Cwd, User: x.User, Tty: x.Tty,
		CapAdd: req.CapAdd, CapDrop: req.CapDrop, Privileged: req.Privileged || x.Privileged,
		NoNewPrivileges: req.NoNewPrivileges, Ulimits: req.Ulimits, Seccomp: req.Seccomp,
	}
	if !hasEnv(p.Env, "PATH") {
		p.Env = append([]string{"PATH=" + defaultPath}, p.Env...)
	}
	if p.Tty && !hasEnv(p.Env, "TERM") {
		p.Env = append(p.Env, "TERM=xterm")
	}
	if err := p.prepare(); err != nil {
		return report(sync, err)
	}
	return report(sync, p.exec())
}
