package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
	"github.com/moby/moby/client/pkg/jsonmessage"
	"github.com/moby/term"
	"github.com/skiff-dev/skiff/opts"
)

// RunOptions are `skiff run` and `skiff create`.
type RunOptions struct {
	Config     *container.Config
	HostConfig *container.HostConfig
	// NetworkingConfig holds the endpoint settings per network
	// (NetworkOptions.Apply).
	NetworkingConfig *network.NetworkingConfig
	Name             string
	Detach           bool
	DetachKeys       string
}

// Pull pulls ref, printing Docker's progress (bars on a terminal).
func (c *CLI) Pull(ctx context.Context, ref string, out io.Writer) error {
	if _, err := opts.NormalizeImage(ref); err != nil {
		return &StatusError{Code: 1, Msg: fmt.Sprintf("invalid reference format: %v", err)}
	}
	resp, err := c.API.ImagePull(ctx, ref, client.ImagePullOptions{})
	if err != nil {
		return err
	}
	defer resp.Close()
	fd, isTerm := term.GetFdInfo(out)
	return jsonmessage.DisplayJSONMessagesStream(resp, out, fd, isTerm, nil)
}

// Create creates the container, pulling its image when missing, and
// returns its ID.
func (c *CLI) Create(ctx context.Context, opt RunOptions) (string, error) {
	if opt.HostConfig != nil {
		for _, d := range opt.HostConfig.DNS {
			if d.IsLoopback() {
				fmt.Fprintf(c.Err, "WARNING: Localhost DNS setting (--dns=%s) may fail in containers.\n", d)
				break
			}
		}
	}
	create := func() (client.ContainerCreateResult, error) {
		return c.API.ContainerCreate(ctx, client.ContainerCreateOptions{
			Config: opt.Config, HostConfig: opt.HostConfig, NetworkingConfig: opt.NetworkingConfig, Name: opt.Name,
		})
	}
	res, err := create()
	if isNotFound(err) && strings.Contains(err.Error(), "No such image") {
		named, nerr := opts.NormalizeImage(opt.Config.Image)
		if nerr != nil {
			return "", nerr
		}
		fmt.Fprintf(c.Err, "Unable to find image '%s' locally\n", opts.FamiliarImage(named.String()))
		if err := c.Pull(ctx, opt.Config.Image, c.Err); err != nil {
			return "", err
		}
		res, err = create()
	}
	if err != nil {
		return "", err
	}
	for _, w := range res.Warnings {
		fmt.Fprintf(c.Err, "WARNING: %s\n", w)
	}
	return res.ID, nil
}

// startErrorCode is the exit code docker gives a failed start: 127 for a
// missing command, 126 for one that cannot be executed, else 125.
func startErrorCode(err error) int {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "executable file not found"), strings.Contains(msg, "no such file or directory"):
		return 127
	case strings.Contains(msg, "permission denied"), strings.Contains(msg, "is a directory"):
		return 126
	}
	return 125
}

// Run is `skiff run`: create, attach, start, and wait for the exit code.
func (c *CLI) Run(ctx context.Context, opt RunOptions) error {
	cfg := opt.Config
	if opt.Detach {
		cfg.AttachStdin, cfg.AttachStdout, cfg.AttachStderr = false, false, false
	} else if _, err := opts.ParseDetachKeys(opt.DetachKeys); err != nil {
		// Before the container is made: a bad flag leaves nothing.
		return &StatusError{Code: 125, Msg: err.Error()}
	}
	id, err := c.Create(ctx, opt)
	if err != nil {
		return &StatusError{Code: 125, Msg: err.Error()}
	}
	if opt.Detach {
		if _, err := c.API.ContainerStart(ctx, id, client.ContainerStartOptions{}); err != nil {
			return &StatusError{Code: startErrorCode(err), Msg: err.Error()}
		}
		fmt.Fprintln(c.Out, id)
		return nil
	}
	return c.attachSession(ctx, session{id: id, cfg: cfg, autoRemove: opt.HostConfig.AutoRemove,
		detachKeys: opt.DetachKeys, start: true, attachFailCode: 125})
}

// session is one attached container: run, start -a and attach share it.
type session struct {
	id  string
	cfg *container.Config // which streams to attach, and the tty
	// autoRemove: the container goes when it exits (wait for removal).
	autoRemove bool
	detachKeys string
	// start: start the container once attached (run, start -a).
	start bool
	// attachFailCode is the exit code of a failed attach (run: 125);
	// 0 returns the error as it is.
	attachFailCode int
	// detachIsError: a detach ends in docker attach's error, "read escape
	// sequence", and exit code 1 (run and start -a detach quietly).
	detachIsError bool
}

// attachSession joins the terminal to the container's streams (starting
// it once attached when asked), keeps the container's terminal our size
// or forwards our signals to it, as docker's --sig-proxy, and returns
// its exit code once it has exited, or nothing when the user detached.
func (c *CLI) attachSession(ctx context.Context, s session) error {
	cond := container.WaitConditionNextExit
	if s.autoRemove {
		cond = container.WaitConditionRemoved
	}
	waitCtx, cancelWait := context.WithCancel(ctx)
	defer cancelWait()
	wait := c.API.ContainerWait(waitCtx, s.id, client.ContainerWaitOptions{Condition: cond})
	att, err := c.API.ContainerAttach(ctx, s.id, client.ContainerAttachOptions{
		Stream: true, Stdin: s.cfg.AttachStdin, Stdout: s.cfg.AttachStdout, Stderr: s.cfg.AttachStderr,
		DetachKeys: s.detachKeys,
	})
	if err != nil {
		if s.attachFailCode != 0 {
			return &StatusError{Code: s.attachFailCode, Msg: err.Error()}
		}
		return err
	}
	defer att.Close()

	restore := c.rawTerminal(s.cfg)
	defer restore()

	// The engine detaches on the keys; we watch for them too, to tell a
	// detach from a broken stream.
	keys := detachSequence(s.detachKeys)
	streamDone := make(chan error, 1)
	go func() { streamDone <- c.pump(att.HijackedResponse, s.cfg, keys) }()

	if s.start {
		if _, err := c.API.ContainerStart(ctx, s.id, client.ContainerStartOptions{}); err != nil {
			restore()
			return &StatusError{Code: startErrorCode(err), Msg: err.Error()}
		}
	}
	if s.cfg.Tty {
		c.watchResize(ctx, s.id)
	} else {
		stopProxy := c.proxySignals(ctx, s.id)
		defer stopProxy()
	}
	err = c.exitAfterStream(ctx, s.id, wait, restore, <-streamDone)
	if err == nil && s.detachIsError && keys.seen.Load() {
		if c.running(ctx, s.id) {
			return &StatusError{Code: 1, Msg: "read escape sequence"}
		}
	}
	return err
}

// running reports whether the container runs (false when it cannot
// tell).
func (c *CLI) running(ctx context.Context, id string) bool {
	insp, err := c.API.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
	return err == nil && insp.Container.State.Running
}

// keyWatcher notes when the detach sequence goes by in the input.
type keyWatcher struct {
	keys []byte
	pos  int
	seen atomic.Bool
}

// detachSequence watches for keys ("" is ctrl-p,ctrl-q); a sequence
// that does not parse watches for nothing (the engine refuses it).
func detachSequence(keys string) *keyWatcher {
	k, err := opts.ParseDetachKeys(keys)
	if err != nil {
		k = nil
	}
	return &keyWatcher{keys: k}
}

func (w *keyWatcher) Write(p []byte) (int, error) {
	if len(w.keys) == 0 {
		return len(p), nil
	}
	for _, b := range p {
		switch b {
		case w.keys[w.pos]:
			w.pos++
		case w.keys[0]:
			w.pos = 1
		default:
			w.pos = 0
		}
		if w.pos == len(w.keys) {
			w.seen.Store(true)
			w.pos = 0
		}
	}
	return len(p), nil
}

// exitAfterStream turns the end of an attached stream into the exit: the
// container's code once it has exited, or nothing when the stream ended
// because the user detached (the container runs on). A stream that broke
// (streamErr) while the container runs on was no detach: that is the
// error.
func (c *CLI) exitAfterStream(ctx context.Context, id string, wait client.ContainerWaitResult, restore func(), streamErr error) error {
	for {
		select {
		case res := <-wait.Result:
			if res.Error != nil && res.Error.Message != "" {
				restore()
				return &StatusError{Code: 125, Msg: res.Error.Message}
			}
			return exitCode(int(res.StatusCode))
		case err := <-wait.Error:
			return &StatusError{Code: 125, Msg: err.Error()}
		case <-time.After(500 * time.Millisecond):
			insp, err := c.API.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
			if err == nil && insp.Container.State.Running {
				restore()
				if streamErr != nil {
					return fmt.Errorf("attached stream: %w", streamErr)
				}
				return nil
			}
		}
	}
}

func exitCode(code int) error {
	if code == 0 {
		return nil
	}
	return &StatusError{Code: code}
}

// rawTerminal puts our terminal in raw mode for an interactive container
// with a tty; the returned function restores it (more than once is fine).
func (c *CLI) rawTerminal(cfg *container.Config) func() {
	if !cfg.Tty || !cfg.AttachStdin {
		return func() {}
	}
	fd, isTerm := term.GetFdInfo(c.In)
	if !isTerm {
		return func() {}
	}
	st, err := term.SetRawTerminal(fd)
	if err != nil {
		return func() {}
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			if err := term.RestoreTerminal(fd, st); err != nil {
				fmt.Fprintf(c.Err, "restoring the terminal: %v\n", err)
			}
		})
	}
}

// pump copies the terminal to the container and its output back; the
// error is the output's.
func (c *CLI) pump(h client.HijackedResponse, cfg *container.Config, keys *keyWatcher) error {
	if cfg.AttachStdin && c.In != nil {
		go sendStdin(h, io.TeeReader(c.In, keys))
	}
	var err error
	if cfg.Tty {
		_, err = io.Copy(c.Out, h.Reader)
	} else {
		_, err = stdcopy.StdCopy(c.Out, c.Err, h.Reader)
	}
	return err
}

// sendStdin copies the terminal's input to the container, then
// half-closes the connection so that the container reads EOF. Its errors
// are no one's: the container may have exited and closed its end first,
// which the output stream and the exit code tell.
func sendStdin(h client.HijackedResponse, in io.Reader) {
	_, _ = io.Copy(h.Conn, in)
	_ = h.CloseWrite()
}

// watchResize keeps the container's terminal the size of ours.
func (c *CLI) watchResize(ctx context.Context, id string) {
	fd, isTerm := term.GetFdInfo(c.Out)
	if !isTerm {
		return
	}
	resize := func() {
		ws, err := term.GetWinsize(fd)
		if err != nil || ws.Height == 0 {
			return
		}
		// As docker's: a failed resize is no reason to stop (the
		// container may be exiting); the next SIGWINCH tries again.
		_, _ = c.API.ContainerResize(ctx, id, client.ContainerResizeOptions{Height: uint(ws.Height), Width: uint(ws.Width)})
	}
	resize()
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGWINCH)
	go func() {
		for {
			select {
			case <-ch:
				resize()
			case <-ctx.Done():
				signal.Stop(ch)
				return
			}
		}
	}()
}

// proxySignals forwards SIGINT and SIGTERM to the container, as docker's
// --sig-proxy does.
func (c *CLI) proxySignals(ctx context.Context, id string) func() {
	ch := make(chan os.Signal, 4)
	signal.Notify(ch, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case s := <-ch:
				sig := s.(syscall.Signal)
				// As docker's --sig-proxy: a container that has just
				// exited cannot take the signal, and that is no error.
				_, _ = c.API.ContainerKill(ctx, id, client.ContainerKillOptions{Signal: fmt.Sprint(int(sig))})
			case <-done:
				return
			}
		}
	}()
	return func() {
		signal.Stop(ch)
		close(done)
	}
}
