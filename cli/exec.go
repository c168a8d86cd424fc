package cli

import (
	"context"
	"fmt"
	"io"

	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
	"github.com/moby/term"
)

// ExecOptions are `skiff exec`.
type ExecOptions struct {
	Detach, Interactive, Tty, Privileged bool
	User, Workdir, DetachKeys            string
	Env                                  []string
}

// Exec runs a command in a running container and returns its exit code.
func (c *CLI) Exec(ctx context.Context, ctr string, cmd []string, opt ExecOptions) error {
	if opt.Tty && opt.Interactive {
		if _, isTerm := term.GetFdInfo(c.In); !isTerm {
			return &StatusError{Code: 1, Msg: "the input device is not a TTY"}
		}
	}
	res, err := c.API.ExecCreate(ctx, ctr, client.ExecCreateOptions{
		User: opt.User, Privileged: opt.Privileged, TTY: opt.Tty, AttachStdin: opt.Interactive && !opt.Detach,
		AttachStdout: !opt.Detach, AttachStderr: !opt.Detach, DetachKeys: opt.DetachKeys,
		Env: opt.Env, WorkingDir: opt.Workdir, Cmd: cmd,
	})
	if err != nil {
		return err
	}
	if opt.Detach {
		_, err := c.API.ExecStart(ctx, res.ID, client.ExecStartOptions{Detach: true, TTY: opt.Tty})
		return err
	}
	att, err := c.API.ExecAttach(ctx, res.ID, client.ExecAttachOptions{TTY: opt.Tty})
	if err != nil {
		return err
	}
	defer att.Close()
	cfg := &container.Config{Tty: opt.Tty, AttachStdin: opt.Interactive}
	restore := c.rawTerminal(cfg)
	defer restore()
	if opt.Tty {
		c.watchExecResize(ctx, res.ID)
	}
	if opt.Interactive {
		go sendStdin(att.HijackedResponse, c.In)
	}
	var streamErr error
	if opt.Tty {
		_, streamErr = io.Copy(c.Out, att.Reader)
	} else {
		_, streamErr = stdcopy.StdCopy(c.Out, c.Err, att.Reader)
	}
	restore()
	insp, err := c.API.ExecInspect(ctx, res.ID, client.ExecInspectOptions{})
	if err != nil {
		return err
	}
	if insp.Running {
		// Detached with the detach keys, unless the stream broke.
		if streamErr != nil {
			return fmt.Errorf("attached stream: %w", streamErr)
		}
		return nil
	}
	return exitCode(insp.ExitCode)
}

func (c *CLI) watchExecResize(ctx context.Context, id string) {
	fd, isTerm := term.GetFdInfo(c.Out)
	if !isTerm {
		return
	}
	if ws, err := term.GetWinsize(fd); err == nil && ws.Height > 0 {
		// As docker's: a failed resize is no reason to stop the exec.
		_, _ = c.API.ExecResize(ctx, id, client.ExecResizeOptions{Height: uint(ws.Height), Width: uint(ws.Width)})
	}
}

// Attach joins the terminal to a running container.
func (c *CLI) Attach(ctx context.Context, name string, noStdin bool, detachKeys string) error {
	insp, err := c.API.ContainerInspect(ctx, name, client.ContainerInspectOptions{})
	if err != nil {
		return err
	}
	if !insp.Container.State.Running {
		return &StatusError{Code: 1, Msg: "You cannot attach to a stopped container, start it first"}
	}
	cfg := *insp.Container.Config
	cfg.AttachStdin = !noStdin && cfg.OpenStdin
	cfg.AttachStdout, cfg.AttachStderr = true, true
	if cfg.Tty && cfg.AttachStdin {
		if _, isTerm := term.GetFdInfo(c.In); !isTerm {
			return &StatusError{Code: 1, Msg: "the input device is not a TTY"}
		}
	}
	return c.attachSession(ctx, session{id: insp.Container.ID, cfg: &cfg, detachKeys: detachKeys, detachIsError: true})
}
