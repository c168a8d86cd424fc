// Package runtime starts and supervises containers: a monitor process per
// container (stdio, logs, exit code) and the container's init, which builds
// the namespaces, the root filesystem and the process's identity.
package runtime

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/skiff-dev/skiff/logs"
)

// Spec is everything the monitor and the container's init need to start
// one container. The engine writes it to the container's state directory.
type Spec struct {
	ID string `json:"id"`
	// Rootfs is the mounted root filesystem.
	Rootfs string `json:"rootfs"`
	// Args is the command: the image's entrypoint and cmd, resolved.
	Args     []string `json:"args"`
	Env      []string `json:"env"`
	Cwd      string   `json:"cwd"`
	User     string   `json:"user"`
	Hostname string   `json:"hostname"`
	Tty      bool     `json:"tty"`
	// OpenStdin keeps stdin open for attached clients; StdinOnce closes it
	// when the first attached client detaches.
	OpenStdin bool `json:"openStdin"`
	StdinOnce bool `json:"stdinOnce"`
	// NetNS is a network namespace to join; empty keeps the monitor's.
	NetNS string `json:"netns,omitempty"`
	// NewNetNS gives the container a network namespace of its own (only lo).
	NewNetNS       bool    `json:"newNetns,omitempty"`
	Mounts         []Mount `json:"mounts,omitempty"`
	ReadonlyRootfs bool    `json:"readonlyRootfs,omitempty"`
	ShmSize        int64   `json:"shmSize,omitempty"`
	// LogPath is the json-file log the monitor writes.
	LogPath string `json:"logPath"`
	// LogDriver ("json-file" when empty) and LogInfo (its options and
	// the container's details) say where the output goes.
	LogDriver string    `json:"logDriver,omitempty"`
	LogInfo   logs.Info `json:"logInfo"`

	// CapAdd and CapDrop change Docker's default capability set
	// ("ALL" means every one); Privileged gives all of them.
	CapAdd          []string `json:"capAdd,omitempty"`
	CapDrop         []string `json:"capDrop,omitempty"`
	Privileged      bool     `json:"privileged,omitempty"`
	NoNewPrivileges bool     `json:"noNewPrivileges,omitempty"`
	Ulimits         []Ulimit `json:"ulimits,omitempty"`
	// Init keeps a reaping init as PID 1 with the command as its child.
	Init bool `json:"init,omitempty"`
	// CgroupProcs are the cgroup.procs files of the container's cgroups:
	// the monitor moves init into them before init switches user.
	CgroupProcs []string `json:"cgroupProcs,omitempty"`
	// Seccomp is the compiled syscall filter (CompileSeccomp); empty
	// means none.
	Seccomp []byte `json:"seccomp,omitempty"`
	// Sysctls are namespaced kernel parameters (net.ipv4.ip_forward=1)
	// that init writes under /proc/sys in the container's namespaces. The
	// engine validates them (ValidateSysctl); init refuses none.
	Sysctls map[string]string `json:"sysctls,omitempty"`
}

// Ulimit is a resource limit (setrlimit) by Docker's name: nofile, nproc...
type Ulimit struct {
	Name string `json:"name"`
	Soft int64  `json:"soft"`
	Hard int64  `json:"hard"`
}

// ExecSpec is a process to run in a running container (docker exec).
type ExecSpec struct {
	ID   string   `json:"id"`
	Args []string `json:"args"`
	// Env is the container's environment plus the exec's own.
	Env        []string `json:"env"`
	Cwd        string   `json:"cwd"`
	User       string   `json:"user"`
	Tty        bool     `json:"tty"`
	Stdin      bool     `json:"stdin"`
	Privileged bool     `json:"privileged,omitempty"`
	// CgroupProcs are the container's cgroup.procs files, which the
	// process joins before it switches user.
	CgroupProcs []string `json:"cgroupProcs,omitempty"`
}

// Mount is a bind mount (or, with Type "tmpfs", a tmpfs) in the container.
type Mount struct {
	// Type is "bind" (the default) or "tmpfs".
	Type        string `json:"type,omitempty"`
	Source      string `json:"source"`
	Destination string `json:"destination"`
	ReadOnly    bool   `json:"readOnly,omitempty"`
	// Propagation is rprivate (the default), private, rshared, shared,
	// rslave or slave.
	Propagation string `json:"propagation,omitempty"`
	// Data are a tmpfs's options (size=..., mode=...).
	Data string `json:"data,omitempty"`
	// Flags are extra mount flags for a tmpfs (noexec, nosuid, nodev).
	Flags uintptr `json:"flags,omitempty"`
}

// Exit is what the monitor records when the container's process ends.
type Exit struct {
	Code       int       `json:"code"`
	FinishedAt time.Time `json:"finishedAt"`
	OOMKilled  bool      `json:"oomKilled,omitempty"`
	Error      string    `json:"error,omitempty"`
}

// Files in a container's state directory.
const (
	specFile   = "spec.json"
	exitFile   = "exit.json"
	attachSock = "sock"
	pidFile    = "monitor.pid"
)

// StartError is a container process that could not be started: the
// command is missing (Code 127) or cannot be executed (126), or the
// runtime failed (125).
type StartError struct {
	Code int
	Msg  string
}

func (e *StartError) Error() string { return e.Msg }

// ErrNotRunning is returned when a container's monitor is gone.
var ErrNotRunning = errors.New("container is not running")

// WriteJSON writes v to path atomically (temporary file, fsync, rename).
func WriteJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path))
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// ReadJSON reads the JSON document at path into v.
func ReadJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("reading %s: %w", path, err)
	}
	return nil
}

// ReadExit returns the exit record of the container whose state is in dir.
func ReadExit(dir string) (Exit, error) {
	var e Exit
	err := ReadJSON(filepath.Join(dir, exitFile), &e)
	return e, err
}
