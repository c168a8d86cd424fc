package engine

import (
	"bytes"
	"fmt"
	"syscall"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/events"

	"github.com/skiff-dev/skiff/images"
	"github.com/skiff-dev/skiff/runtime"
)

// Docker's healthcheck defaults and limits.
const (
	defaultHealthInterval      = 30 * time.Second
	defaultHealthTimeout       = 30 * time.Second
	defaultHealthStartInterval = 5 * time.Second
	defaultHealthRetries       = 3
	healthLogEntries           = 5
	healthMaxOutput            = 4096
)

// mergeHealthcheck is the container's healthcheck: the user's, with what
// it leaves unset taken from the image's, as Docker merges them.
func mergeHealthcheck(user *container.HealthConfig, img *images.Image) *container.HealthConfig {
	ih := img.Config.Config.Healthcheck
	if ih == nil {
		return user
	}
	image := &container.HealthConfig{Test: ih.Test, Interval: ih.Interval, Timeout: ih.Timeout,
		StartPeriod: ih.StartPeriod, Retries: ih.Retries}
	if user == nil {
		return image
	}
	out := *user
	if len(out.Test) == 0 {
		out.Test = image.Test
	}
	if out.Interval == 0 {
		out.Interval = image.Interval
	}
	if out.Timeout == 0 {
		out.Timeout = image.Timeout
	}
	if out.StartPeriod == 0 {
		out.StartPeriod = image.StartPeriod
	}
	if out.Retries == 0 {
		out.Retries = image.Retries
	}
	return &out
}

// probeArgs is the healthcheck's command, or nil when there is none
// (no Test, or NONE).
func probeArgs(h *container.HealthConfig) []string {
	if h == nil || len(h.Test) == 0 {
		return nil
	}
	switch h.Test[0] {
	case "CMD":
		return h.Test[1:]
	case "CMD-SHELL":
		if len(h.Test) > 1 {
			return []string{"/bin/sh", "-c", h.Test[1]}
		}
	}
	return nil
}

// startHealth starts the container's health monitor, if it has a
// healthcheck; resume keeps the recorded status (an engine restart) and
// a new run starts over at "starting". The caller holds c.mu.
func (e *Engine) startHealth(c *ctr, resume bool) {
	h := c.rec.Config.Healthcheck
	args := probeArgs(h)
	if args == nil {
		c.rec.State.Health = nil
		return
	}
	if !resume || c.rec.State.Health == nil {
		c.rec.State.Health = &container.Health{Status: container.Starting, Log: []*container.HealthcheckResult{}}
	}
	c.healthRun++
	go e.healthLoop(c, c.healthRun, *h, args)
}

// healthLoop probes the container until it stops running or a later
// start replaces this monitor.
func (e *Engine) healthLoop(c *ctr, run int, h container.HealthConfig, args []string) {
	interval, timeout, startInterval, retries := h.Interval, h.Timeout, h.StartInterval, h.Retries
	if interval == 0 {
		interval = defaultHealthInterval
	}
	if timeout == 0 {
		timeout = defaultHealthTimeout
	}
	if startInterval == 0 {
		startInterval = defaultHealthStartInterval
	}
	if retries == 0 {
		retries = defaultHealthRetries
	}
	for {
		c.mu.Lock()
		started, current := c.rec.State.StartedAt, c.running() && c.healthRun == run
		inStart := h.StartPeriod > 0 && time.Since(started) < h.StartPeriod
		c.mu.Unlock()
		if !current {
			return
		}
		wait := interval
		if inStart {
			wait = startInterval
		}
		time.Sleep(wait)
		c.mu.Lock()
		current = c.running() && c.healthRun == run
		c.mu.Unlock()
		if !current {
			return
		}
		res := e.probe(c, args, timeout)
		c.mu.Lock()
		if !c.running() || c.healthRun != run || c.rec.State.Health == nil {
			c.mu.Unlock()
			return
		}
		hs := c.rec.State.Health
		hs.Log = append(hs.Log, res)
		if len(hs.Log) > healthLogEntries {
			hs.Log = hs.Log[len(hs.Log)-healthLogEntries:]
		}
		old := hs.Status
		switch {
		case res.ExitCode == 0:
			hs.FailingStreak = 0
			hs.Status = container.Healthy
		case inStart && hs.Status == container.Starting:
			// Failures in the start period do not count.
		default:
			hs.FailingStreak++
			if hs.FailingStreak >= retries {
				hs.Status = container.Unhealthy
			}
		}
		if hs.Status != old {
			e.emitContainer(c, events.Action("health_status: "+string(hs.Status)), nil)
		}
		e.persist(c)
		c.notify()
		c.mu.Unlock()
	}
}

// probe runs the healthcheck command in the container, as an exec does,
// and kills it after timeout.
func (e *Engine) probe(c *ctr, args []string, timeout time.Duration) *container.HealthcheckResult {
	// An exec's process, with a terminal so that its output comes back
	// as one stream.
	c.mu.Lock()
	var procs []string
	if e.cgroupErr == nil {
		procs = e.cgroups.ProcsFiles(c.rec.Cgroup)
	}
	spec := execSpec(c, newID(), container.ExecCreateRequest{Cmd: args, Tty: true}, procs)
	runDir := c.runDir
	c.mu.Unlock()
	res := &container.HealthcheckResult{Start: time.Now()}
	ec, err := runtime.Exec(runDir, spec)
	if err != nil {
		res.End, res.ExitCode, res.Output = time.Now(), -1, err.Error()
		return res
	}
	defer ec.Conn.Close()
	out := &cappedBuffer{max: healthMaxOutput}
	done := make(chan int, 1)
	go func() { done <- pumpExec(out, ec.Reader, true) }()
	select {
	case code := <-done:
		res.ExitCode = code
		res.Output = out.String()
	case <-time.After(timeout):
		// As Docker: the probe is killed, and the result says why.
		_ = syscall.Kill(ec.Pid, syscall.SIGKILL) // it may have just ended
		res.ExitCode = -1
		res.Output = fmt.Sprintf("Health check exceeded timeout (%s)", timeout)
	}
	res.End = time.Now()
	return res
}

// cappedBuffer keeps the first max bytes written to it.
type cappedBuffer struct {
	bytes.Buffer
	max int
}

func (b *cappedBuffer) Write(p []byte) (int, error) {
	if room := b.max - b.Len(); room > 0 {
		b.Buffer.Write(p[:min(room, len(p))])
	}
	return len(p), nil
}

// healthText is ps's health suffix: " (healthy)", " (health: starting)".
func healthText(h *container.Health) string {
	switch {
	case h == nil:
		return ""
	case h.Status == container.Starting:
		return " (health: starting)"
	}
	return " (" + string(h.Status) + ")"
}

// healthStatusOf is the container's health for ps's health filter.
func healthStatusOf(c *ctr) string {
	if c.rec.State.Health == nil {
		return string(container.NoHealthcheck)
	}
	return string(c.rec.State.Health.Status)
}

// healthCopy is a copy of h for an answer (the monitor goes on changing h).
func healthCopy(h *container.Health) *container.Health {
	if h == nil {
		return nil
	}
	out := *h
	out.Log = make([]*container.HealthcheckResult, 0, len(h.Log))
	for _, r := range h.Log {
		rc := *r
		out.Log = append(out.Log, &rc)
	}
	return &out
}
