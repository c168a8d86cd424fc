package engine

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/events"
	"github.com/skiff-dev/skiff/api"
	"github.com/skiff-dev/skiff/internal/stdframe"
	"github.com/skiff-dev/skiff/runtime"
)

// execState is one `exec` instance, kept in memory as Docker does.
type execState struct {
	mu       sync.Mutex
	id       string
	c        *ctr
	cfg      container.ExecCreateRequest
	started  bool
	running  bool
	exitCode *int
	pid      int
	// cgroupProcs are the container's cgroup.procs files, for the exec to join.
	cgroupProcs []string
	keys        []byte // the detach sequence
}

// spec is the exec's process: the container's environment, user and
// working directory unless the exec sets its own.
func (x *execState) spec() runtime.ExecSpec {
	x.c.mu.Lock()
	defer x.c.mu.Unlock()
	return execSpec(x.c, x.id, x.cfg, x.cgroupProcs)
}

// execSpec is a process to run in the container (an exec, a health
// probe). The caller holds c.mu.
func execSpec(c *ctr, id string, cfg container.ExecCreateRequest, cgroupProcs []string) runtime.ExecSpec {
	env := mergeEnv(cfg.Env, c.rec.Config.Env)
	if c.rec.Config.Hostname != "" {
		env = mergeEnv(env, []string{"HOSTNAME=" + c.rec.Config.Hostname})
	}
	user, cwd := cfg.User, cfg.WorkingDir
	if user == "" {
		user = c.rec.Config.User
	}
	if cwd == "" {
		cwd = c.rec.Config.WorkingDir
	}
	return runtime.ExecSpec{
		ID: id, Args: cfg.Cmd, Env: env, Cwd: cwd, User: user,
		Tty: cfg.Tty, Stdin: cfg.AttachStdin, Privileged: cfg.Privileged,
		CgroupProcs: cgroupProcs,
	}
}

// ExecStart implements api.ExecService.
func (e *Engine) ExecStart(_ context.Context, id string, upgrade api.Upgrade) error {
	x, err := e.execByID(id)
	if err != nil {
		return err
	}
	x.mu.Lock()
	if x.started {
		x.mu.Unlock()
		return errConflict(fmt.Errorf("Error: Exec command %s is already running", x.id))
	}
	x.started = true
	x.mu.Unlock()
	c := x.c
	c.mu.Lock()
	running, runDir := c.running(), c.runDir
	c.mu.Unlock()
	if !running {
		return errConflict(fmt.Errorf("container %s is not running", c.rec.ID))
	}
	spec := x.spec()
	if upgrade == nil {
		ec, err := runtime.Exec(runDir, spec)
		if err != nil {
			e.finishExec(x, startCode(err))
			return fmt.Errorf("OCI runtime exec failed: exec failed: unable to start container process: %w: unknown", err)
		}
		x.begin(ec.Pid)
		e.emitExec(x, events.ActionExecStart, nil)
		go func() {
			defer ec.Conn.Close()
			e.finishExec(x, pumpExec(io.Discard, ec.Reader, true))
		}()
		return nil
	}
	conn, in, err := upgrade(spec.Tty)
	if err != nil {
		return err
	}
	defer conn.Close()
	ec, err := runtime.Exec(runDir, spec)
	if err != nil {
		e.finishExec(x, startCode(err))
		msg := fmt.Sprintf("OCI runtime exec failed: exec failed: unable to start container process: %v: unknown\r\n", err)
		_ = stdframe.Write(conn, "stderr", []byte(msg), spec.Tty) // the client's last word; a gone one needs none
		return api.Upgraded(err)
	}
	defer ec.Conn.Close()
	x.begin(ec.Pid)
	e.emitExec(x, events.ActionExecStart, nil)
	if spec.Stdin {
		go forwardStdin(conn, in, x.keys, ec.Conn)
	}
	e.finishExec(x, pumpExec(conn, ec.Reader, spec.Tty))
	return nil
}

func startCode(err error) int {
	var se *runtime.StartError
	if errors.As(err, &se) {
		return se.Code
	}
	return 126
}

func (x *execState) begin(pid int) {
	x.mu.Lock()
	x.running, x.pid = true, pid
	x.mu.Unlock()
}

func (x *execState) finish(code int) {
	x.mu.Lock()
	x.running = false
	x.exitCode = &code
	x.mu.Unlock()
}

// pumpExec copies an exec's output frames to w until its exit frame, and
// returns the exit code (126 if the stream ended without one).
func pumpExec(w io.Writer, r io.Reader, tty bool) int {
	var hdr [8]byte
	buf := make([]byte, 32*1024)
	for {
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			return 126
		}
		n := int(binary.BigEndian.Uint32(hdr[4:]))
		if n > len(buf) {
			buf = make([]byte, n)
		}
		if _, err := io.ReadFull(r, buf[:n]); err != nil {
			return 126
		}
		if runtime.ExitFrame(hdr) {
			return int(binary.BigEndian.Uint32(buf[:4]))
		}
		// The client may have gone (a detached one has): read on for the
		// exit code all the same.
		if !tty {
			_, _ = w.Write(hdr[:])
		}
		_, _ = w.Write(buf[:n])
	}
}

// ExecCreate implements api.ExecService.
func (e *Engine) ExecCreate(_ context.Context, ref string, req container.ExecCreateRequest) (container.ExecCreateResponse, error) {
	c, err := e.lookup(ref)
	if err != nil {
		return container.ExecCreateResponse{}, err
	}
	if len(req.Cmd) == 0 {
		return container.ExecCreateResponse{}, errInvalid(errors.New("No exec command specified"))
	}
	c.mu.Lock()
	running := c.running()
	c.mu.Unlock()
	if !running {
		return container.ExecCreateResponse{}, errConflict(fmt.Errorf("container %s is not running", c.rec.ID))
	}
	keys, err := detachKeys(req.DetachKeys)
	if err != nil {
		return container.ExecCreateResponse{}, err
	}
	x := &execState{id: newID(), c: c, cfg: req, keys: keys}
	if e.cgroupErr == nil {
		x.cgroupProcs = e.cgroups.ProcsFiles(c.rec.Cgroup)
	}
	e.mu.Lock()
	e.execs[x.id] = x
	e.mu.Unlock()
	e.emitExec(x, events.ActionExecCreate, nil)
	return container.ExecCreateResponse{ID: x.id}, nil
}

// ExecInspect implements api.ExecService.
func (e *Engine) ExecInspect(_ context.Context, id string) (container.ExecInspectResponse, error) {
	x, err := e.execByID(id)
	if err != nil {
		return container.ExecInspectResponse{}, err
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	var entry string
	var args []string
	if len(x.cfg.Cmd) > 0 {
		entry, args = x.cfg.Cmd[0], x.cfg.Cmd[1:]
	}
	priv := x.cfg.Privileged
	return container.ExecInspectResponse{
		ID:          x.id,
		Running:     x.running,
		ExitCode:    x.exitCode,
		OpenStdin:   x.cfg.AttachStdin,
		OpenStdout:  x.cfg.AttachStdout,
		OpenStderr:  x.cfg.AttachStderr,
		ContainerID: x.c.rec.ID,
		Pid:         x.pid,
		CanRemove:   !x.running && x.started,
		ProcessConfig: &container.ExecProcessConfig{
			Tty: x.cfg.Tty, Entrypoint: entry, Arguments: nonNil(args), Privileged: &priv, User: x.cfg.User,
		},
	}, nil
}

// ExecResize implements api.ExecService.
func (e *Engine) ExecResize(_ context.Context, id string, h, w uint16) error {
	x, err := e.execByID(id)
	if err != nil {
		return err
	}
	return runtime.ResizeExec(x.c.runDir, x.id, h, w)
}

// execByID finds an exec instance.
func (e *Engine) execByID(id string) (*execState, error) {
	e.mu.Lock()
	x, ok := e.execs[id]
	e.mu.Unlock()
	if !ok {
		return nil, errNotFound(fmt.Errorf("No such exec instance: %s", id))
	}
	return x, nil
}

// finishExec records the exec's exit and publishes it.
func (e *Engine) finishExec(x *execState, code int) {
	x.finish(code)
	e.emitExec(x, events.ActionExecDie, map[string]string{"exitCode": strconv.Itoa(code)})
}

// emitExec publishes an exec event as Docker does: on the container,
// exec_create and exec_start followed by the command.
func (e *Engine) emitExec(x *execState, action events.Action, extra map[string]string) {
	attrs := map[string]string{"execID": x.id}
	for k, v := range extra {
		attrs[k] = v
	}
	if action != events.ActionExecDie {
		action = events.Action(string(action) + ": " + strings.Join(x.cfg.Cmd, " "))
	}
	x.c.mu.Lock()
	e.emitContainer(x.c, action, attrs)
	x.c.mu.Unlock()
}
