// Package cli implements skiff's commands as calls to the engine's Docker
// Engine API and prints their results the way the docker CLI does.
package cli

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"
	"github.com/skiff-dev/skiff/config"
)

// StatusError ends a command with an exit code; Msg, when set, is printed.
type StatusError struct {
	Code int
	Msg  string
}

func (e *StatusError) Error() string { return e.Msg }

// FlagError is a value a flag refuses. The docker CLI prints it with the
// command's usage and exits 125, as for any flag it cannot parse.
type FlagError struct {
	// Flag is as the user would write it: "--dns", "-p, --publish".
	Flag  string
	Value string
	Err   error
}

func (e *FlagError) Error() string {
	return fmt.Sprintf("invalid argument %q for %q flag: %v", e.Value, e.Flag, e.Err)
}

func (e *FlagError) Unwrap() error { return e.Err }

func flagError(flag, value string, err error) error {
	return &FlagError{Flag: flag, Value: value, Err: err}
}

// NewFlagError is the error of a flag that refuses value: flag as docker
// names it ("-m, --memory", "--cpus").
func NewFlagError(flag, value string, err error) error { return flagError(flag, value, err) }

// CLI is one invocation's connection and streams.
type CLI struct {
	API *client.Client
	In  io.Reader
	Out io.Writer
	Err io.Writer
}

// EnvHost overrides the engine socket (unix:///path).
const EnvHost = "SKIFF_HOST"

// New connects to the engine, starting it when its socket does not answer.
func New(ctx context.Context) (*CLI, error) {
	paths, err := config.Default()
	if err != nil {
		return nil, err
	}
	host := os.Getenv(EnvHost)
	if host == "" {
		if err := ensureEngine(ctx, paths); err != nil {
			return nil, err
		}
		host = "unix://" + paths.Socket()
	}
	api, err := client.New(client.WithHost(host))
	if err != nil {
		return nil, err
	}
	return &CLI{API: api, In: os.Stdin, Out: os.Stdout, Err: os.Stderr}, nil
}

func dialable(sock string) bool {
	c, err := net.DialTimeout("unix", sock, time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// ensureEngine starts `skiff engine` in the background when nothing
// answers on the socket, and waits until it does.
func ensureEngine(ctx context.Context, paths config.Paths) error {
	sock := paths.Socket()
	if dialable(sock) {
		return nil
	}
	if err := paths.EnsureRunDir(); err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	logf, err := os.OpenFile(paths.EngineLog(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer logf.Close()
	start, _ := logf.Seek(0, io.SeekEnd)
	cmd := exec.Command(self, "engine")
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting the skiff engine: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	deadline := time.After(60 * time.Second)
	for {
		if dialable(sock) {
			return nil
		}
		select {
		case werr := <-exited:
			// Another CLI may have won the race to start it.
			if waitDialable(sock, 5*time.Second) {
				return nil
			}
			how := "exited"
			if werr != nil {
				how = werr.Error()
			}
			return fmt.Errorf("the skiff engine failed to start (%s): %s (log: %s)", how, logSince(paths.EngineLog(), start), paths.EngineLog())
		case <-deadline:
			return fmt.Errorf("the skiff engine did not answer on %s within 60s (log: %s)", sock, paths.EngineLog())
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func waitDialable(sock string, d time.Duration) bool {
	end := time.Now().Add(d)
	for time.Now().Before(end) {
		if dialable(sock) {
			return true
		}
		time.Sleep(50 * time.Millisecond)
	}
	return false
}

func logSince(path string, off int64) string {
	b, err := os.ReadFile(path)
	if err != nil || int64(len(b)) < off {
		return "unknown error"
	}
	lines := strings.Split(strings.TrimSpace(string(b[off:])), "\n")
	if len(lines) == 0 || lines[0] == "" {
		return "unknown error"
	}
	return lines[len(lines)-1]
}

// isNotFound reports a 404 from the engine.
func isNotFound(err error) bool {
	return err != nil && cerrdefs.IsNotFound(err)
}
