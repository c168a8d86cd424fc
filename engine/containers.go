package engine

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"path"
	"regexp"
	goruntime "runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	units "github.com/docker/go-units"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/events"
	"github.com/moby/sys/signal"
	"github.com/moby/term"
	"github.com/skiff-dev/skiff/api"
	"github.com/skiff-dev/skiff/opts"
	"github.com/skiff-dev/skiff/runtime"
)

func pathMatch(pattern, s string) (bool, error) { return path.Match(pattern, s) }

// kill sends sigName (SIGKILL when empty) to the container, checking the
// signal first as Docker does.
func (e *Engine) kill(ref, sigName string) error {
	sig, err := parseKillSignal(sigName)
	if err != nil {
		return err
	}
	c, err := e.lookup(ref)
	if err != nil {
		return err
	}
	c.mu.Lock()
	if c.running() {
		c.rec.ManuallyStopped = true
		e.persist(c)
	}
	c.mu.Unlock()
	if err := e.signal(c, sig); err != nil {
		return err
	}
	c.mu.Lock()
	e.emitContainer(c, events.ActionKill, map[string]string{"signal": strconv.Itoa(int(sig))})
	c.mu.Unlock()
	return nil
}

// parseKillSignal reads kill's signal: a name or a number the kernel
// knows, with Docker's messages.
func parseKillSignal(s string) (syscall.Signal, error) {
	if s == "" {
		return syscall.SIGKILL, nil
	}
	sig, err := signal.ParseSignal(s)
	if err != nil {
		return 0, errInvalid(err)
	}
	if !signal.ValidSignalForPlatform(sig) {
		return 0, errInvalid(fmt.Errorf("the %s daemon does not support signal %d", goruntime.GOOS, sig))
	}
	return sig, nil
}

// ContainerAttach implements api.ContainerService.
func (e *Engine) ContainerAttach(ctx context.Context, ref string, o api.AttachOptions, upgrade api.Upgrade) error {
	c, err := e.lookup(ref)
	if err != nil {
		return err
	}
	keys, err := detachKeys(o.DetachKeys)
	if err != nil {
		return err
	}
	c.mu.Lock()
	tty := c.rec.Config.Tty
	e.emitContainer(c, events.ActionAttach, nil)
	c.mu.Unlock()
	conn, in, err := upgrade(tty)
	if err != nil {
		return err
	}
	defer conn.Close()
	mconn, mr, err := e.attachMonitor(ctx, c, o.Stdin, o.Stdout, o.Stderr)
	if err != nil {
		return api.Upgraded(err)
	}
	defer mconn.Close()
	if o.Stdin {
		go forwardStdin(conn, in, keys, mconn)
	}
	// The stream ends when either side goes: the client sees that, and
	// there is no one else to tell.
	_ = copyFrames(conn, mr, tty)
	return nil
}

// detachKeys parses a request's detach sequence.
func detachKeys(s string) ([]byte, error) {
	k, err := opts.ParseDetachKeys(s)
	if err != nil {
		return nil, errInvalid(err)
	}
	return k, nil
}

// forwardStdin copies the client's input to the container until EOF,
// which closes the container's stdin, or until the detach keys, which end
// the client's stream and leave the container running.
func forwardStdin(client net.Conn, in io.Reader, keys []byte, to *net.UnixConn) {
	_, err := io.Copy(to, term.NewEscapeProxy(in, keys))
	var esc term.EscapeError
	if errors.As(err, &esc) {
		client.Close()
		return
	}
	// The container's stdin ends; a monitor already gone has no stdin.
	_ = to.CloseWrite()
}

// attachMonitor connects to the container's monitor, waiting for the
// container to start when it has not yet.
func (e *Engine) attachMonitor(ctx context.Context, c *ctr, stdin, stdout, stderr bool) (*net.UnixConn, io.Reader, error) {
	c.mu.Lock()
	if c.running() && c.proc != nil || c.running() {
		c.mu.Unlock()
		return runtime.Attach(c.runDir, stdin, stdout, stderr)
	}
	if c.rec.State.Status != container.StateCreated && c.rec.State.Status != container.StateExited {
		c.mu.Unlock()
		return nil, nil, runtime.ErrNotRunning
	}
	type result struct {
		conn *net.UnixConn
		r    io.Reader
		err  error
	}
	ch := make(chan result, 1)
	c.pending = append(c.pending, func(*runtime.Process) {
		conn, r, err := runtime.Attach(c.runDir, stdin, stdout, stderr)
		ch <- result{conn, r, err}
	})
	changed := c.changed
	c.mu.Unlock()
	for {
		select {
		case res := <-ch:
			return res.conn, res.r, res.err
		case <-changed:
			c.mu.Lock()
			removed := c.removed
			changed = c.changed
			c.mu.Unlock()
			if removed {
				return nil, nil, runtime.ErrNotRunning
			}
		case <-ctx.Done():
			return nil, nil, ctx.Err()
		}
	}
}

// copyFrames copies the monitor's frames to w: as they are when the
// container has no tty (Docker's multiplexed stream), payload only with one.
func copyFrames(w io.Writer, r io.Reader, tty bool) error {
	var hdr [8]byte
	buf := make([]byte, 32*1024)
	for {
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			return err
		}
		n := int(binary.BigEndian.Uint32(hdr[4:]))
		if n > len(buf) {
			buf = make([]byte, n)
		}
		if _, err := io.ReadFull(r, buf[:n]); err != nil {
			return err
		}
		if !tty {
			if _, err := w.Write(hdr[:]); err != nil {
				return err
			}
		}
		if _, err := w.Write(buf[:n]); err != nil {
			return err
		}
	}
}

// statusText is the STATUS column: "Up 3 seconds", "Exited (0) 2 minutes ago".
func statusText(c *ctr) string {
	st := c.rec.State
	switch {
	case c.rec.RemovalInProgress:
		return "Removal In Progress"
	case st.Status == container.StateRunning:
		return "Up " + units.HumanDuration(time.Since(st.StartedAt)) + healthText(st.Health)
	case st.Status == container.StatePaused:
		return "Up " + units.HumanDuration(time.Since(st.StartedAt)) + " (Paused)"
	case st.Status == container.StateRestarting:
		return fmt.Sprintf("Restarting (%d) %s ago", st.ExitCode, units.HumanDuration(time.Since(st.FinishedAt)))
	case st.Status == container.StateExited:
		if st.FinishedAt.IsZero() {
			return fmt.Sprintf("Exited (%d)", st.ExitCode)
		}
		return fmt.Sprintf("Exited (%d) %s ago", st.ExitCode, units.HumanDuration(time.Since(st.FinishedAt)))
	}
	return "Created"
}

// matchContainer applies ps filters: every key must match, a key with
// several values when any of them does, except labels, which must all
// match. ancestors are the image IDs the ancestor filter resolved to. The
// caller holds c.mu.
func matchContainer(c *ctr, f map[string][]string, ancestors map[string]bool) bool {
	anyOf := func(key string, ok func(string) bool) bool { return anyFilter(f, key, ok) }
	name := strings.TrimPrefix(c.rec.Name, "/")
	return anyOf("status", func(v string) bool { return string(c.rec.State.Status) == v }) &&
		anyOf("name", func(v string) bool {
			re, err := regexp.Compile(v)
			if err != nil {
				return strings.Contains(name, strings.TrimPrefix(v, "/"))
			}
			return re.MatchString(name) || re.MatchString(c.rec.Name)
		}) &&
		anyOf("id", func(v string) bool { return strings.HasPrefix(c.rec.ID, v) }) &&
		anyOf("health", func(v string) bool { return healthStatusOf(c) == v }) &&
		anyOf("ancestor", func(v string) bool { return ancestors[c.rec.Image] || c.rec.ImageName == v }) &&
		opts.MatchLabels(c.rec.Config.Labels, f["label"]) &&
		anyOf("volume", func(v string) bool {
			for _, mp := range c.rec.Mounts {
				if mp.Name == v || mp.Destination == v || mp.Source == v {
					return true
				}
			}
			return false
		}) &&
		anyOf("network", func(v string) bool {
			for name, es := range c.rec.Networks {
				if name == v || es.NetworkID == v || v != "" && strings.HasPrefix(es.NetworkID, v) {
					return true
				}
			}
			return false
		})
}

// anyFilter reports whether filter key is absent or one of its values is ok.
func anyFilter(f map[string][]string, key string, ok func(string) bool) bool {
	vs, present := f[key]
	if !present {
		return true
	}
	for _, v := range vs {
		if ok(v) {
			return true
		}
	}
	return false
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return "0001-01-01T00:00:00Z"
	}
	return t.UTC().Format(time.RFC3339Nano)
}
