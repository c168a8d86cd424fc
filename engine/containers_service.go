package engine

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/events"
	"github.com/skiff-dev/skiff/api"
	"github.com/skiff-dev/skiff/logs"
	"github.com/skiff-dev/skiff/opts"
	"github.com/skiff-dev/skiff/runtime"
)

// ContainerCreate implements api.ContainerService.
func (e *Engine) ContainerCreate(_ context.Context, name, platform string, req container.CreateRequest, macAddress string) (container.CreateResponse, error) {
	x := createExtras{macAddress: macAddress}
	if platform != "" {
		var err error
		if x.platform, err = parsePlatform(platform); err != nil {
			return container.CreateResponse{}, errInvalid(err)
		}
	}
	c, err := e.create(name, &req, x)
	if err != nil {
		return container.CreateResponse{}, err
	}
	warnings := []string{}
	if modeOf(c.rec.HostConfig) == "host" && len(c.rec.HostConfig.PortBindings) > 0 {
		warnings = append(warnings, "Published ports are discarded when using host network mode")
	}
	return container.CreateResponse{ID: c.rec.ID, Warnings: warnings}, nil
}

// ContainerStart implements api.ContainerService. A container to be
// removed when it stops is removed when it cannot start.
func (e *Engine) ContainerStart(_ context.Context, ref string) error {
	c, err := e.lookup(ref)
	if err != nil {
		return err
	}
	err = e.start(c)
	if err != nil {
		c.mu.Lock()
		auto := c.rec.HostConfig.AutoRemove && !c.running()
		c.mu.Unlock()
		if auto && statusOf(err) != http.StatusNotModified {
			if rerr := e.remove(c, true, true); rerr != nil {
				e.log.Printf("auto-removing %s: %v", c.rec.ID, rerr)
			}
		}
	}
	return err
}

// ContainerStop implements api.ContainerService.
func (e *Engine) ContainerStop(_ context.Context, ref, signal string, timeout *int) error {
	c, err := e.lookup(ref)
	if err != nil {
		return err
	}
	return e.stop(c, signal, timeout)
}

// ContainerRestart implements api.ContainerService.
func (e *Engine) ContainerRestart(_ context.Context, ref, signal string, timeout *int) error {
	c, err := e.lookup(ref)
	if err != nil {
		return err
	}
	if err := e.stop(c, signal, timeout); err != nil && statusOf(err) != http.StatusNotModified {
		return err
	}
	if err := e.start(c); err != nil {
		return err
	}
	c.mu.Lock()
	e.emitContainer(c, events.ActionRestart, nil)
	c.mu.Unlock()
	return nil
}

// ContainerKill implements api.ContainerService. As Docker's router,
// every error names the container.
func (e *Engine) ContainerKill(_ context.Context, ref, signal string) error {
	if err := e.kill(ref, signal); err != nil {
		return fmt.Errorf("cannot kill container: %s: %w", ref, err)
	}
	return nil
}

// ContainerRemove implements api.ContainerService.
func (e *Engine) ContainerRemove(_ context.Context, ref string, force, volumes bool) error {
	c, err := e.lookup(ref)
	if err != nil {
		return err
	}
	return e.remove(c, force, volumes)
}

// ContainersPrune implements api.ContainerService: every container that
// is not running.
func (e *Engine) ContainersPrune(context.Context, opts.Filters) (container.PruneReport, error) {
	report := container.PruneReport{ContainersDeleted: []string{}}
	for _, c := range e.list() {
		c.mu.Lock()
		running := c.running()
		c.mu.Unlock()
		if running {
			continue
		}
		if err := e.remove(c, false, false); err == nil {
			report.ContainersDeleted = append(report.ContainersDeleted, c.rec.ID)
		}
	}
	return report, nil
}

// ContainerResize implements api.ContainerService.
func (e *Engine) ContainerResize(_ context.Context, ref string, h, w uint16) error {
	c, err := e.lookup(ref)
	if err != nil {
		return err
	}
	c.mu.Lock()
	running := c.running()
	c.mu.Unlock()
	if !running {
		return errConflict(fmt.Errorf("container %s is not running", c.rec.ID))
	}
	return runtime.Resize(c.runDir, h, w)
}

// ContainerList implements api.ContainerService: running containers,
// all with all, the limit newest (all of them) with a positive limit.
func (e *Engine) ContainerList(_ context.Context, all bool, limit int, filters opts.Filters) ([]container.Summary, error) {
	if limit > 0 {
		all = true
	}
	for _, v := range filters["health"] {
		if container.ValidateHealthStatus(container.HealthStatus(v)) != nil {
			return nil, errInvalid(fmt.Errorf("Unrecognised filter value for health: %s", v))
		}
	}
	ancestors := map[string]bool{}
	for _, ref := range filters["ancestor"] {
		if im, err := e.images.Lookup(ref); err == nil {
			ancestors[im.ID] = true
		}
	}
	var out []container.Summary
	var created []time.Time
	for _, c := range e.list() {
		c.mu.Lock()
		if c.removed {
			c.mu.Unlock()
			continue
		}
		if !all && !c.running() && len(filters["status"]) == 0 {
			c.mu.Unlock()
			continue
		}
		if !matchContainer(c, filters, ancestors) {
			c.mu.Unlock()
			continue
		}
		s := container.Summary{
			ID:      c.rec.ID,
			Names:   []string{c.rec.Name},
			Image:   c.rec.ImageName,
			ImageID: c.rec.Image,
			Command: strings.Join(append([]string{c.rec.Path}, c.rec.Args...), " "),
			Created: c.rec.Created.Unix(),
			Ports:   portSummary(c),
			Labels:  c.rec.Config.Labels,
			State:   c.rec.State.Status,
			Status:  statusText(c),
			Mounts:  c.mountPoints(),
			NetworkSettings: &container.NetworkSettingsSummary{
				Networks: endpointsCopy(c),
			},
		}
		s.HostConfig.NetworkMode = modeOf(c.rec.HostConfig)
		created = append(created, c.rec.Created)
		c.mu.Unlock()
		out = append(out, s)
	}
	idx := make([]int, len(out))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return created[idx[a]].After(created[idx[b]]) })
	sorted := make([]container.Summary, 0, len(out))
	for _, i := range idx {
		sorted = append(sorted, out[i])
	}
	if limit > 0 && len(sorted) > limit {
		sorted = sorted[:limit]
	}
	return sorted, nil
}

// ContainerInspect implements api.ContainerService.
func (e *Engine) ContainerInspect(_ context.Context, ref string) (api.ContainerJSON, error) {
	c, err := e.lookup(ref)
	if err != nil {
		return api.ContainerJSON{}, err
	}
	c.mu.Lock()
	st := c.rec.State
	resp := container.InspectResponse{
		ID:      c.rec.ID,
		Created: formatTime(c.rec.Created),
		Path:    c.rec.Path,
		Args:    c.rec.Args,
		State: &container.State{
			Status:     st.Status,
			Running:    st.Status == container.StateRunning,
			Paused:     st.Status == container.StatePaused,
			Restarting: st.Status == container.StateRestarting,
			OOMKilled:  st.OOMKilled,
			Pid:        st.Pid,
			ExitCode:   st.ExitCode,
			Error:      st.Error,
			StartedAt:  formatTime(st.StartedAt),
			FinishedAt: formatTime(st.FinishedAt),
			Health:     healthCopy(st.Health),
		},
		Image:          c.rec.Image,
		ResolvConfPath: c.resolvConfPath(),
		HostnamePath:   c.hostnamePath(),
		HostsPath:      c.hostsPath(),
		LogPath:        c.logPath(),
		Name:           c.rec.Name,
		RestartCount:   c.rec.RestartCount,
		Driver:         c.rec.Driver,
		Platform:       "linux",
		HostConfig:     c.rec.HostConfig,
		Mounts:         c.mountPoints(),
		Config:         c.rec.Config,
	}
	ns := networkSettings(c)
	c.mu.Unlock()
	return api.ContainerJSON{InspectResponse: resp, NetworkSettings: ns}, nil
}

// ContainerRename implements api.ContainerService.
func (e *Engine) ContainerRename(_ context.Context, ref, name string) error {
	c, err := e.lookup(ref)
	if err != nil {
		return err
	}
	return e.rename(c, name)
}

// ContainerPause implements api.ContainerService.
func (e *Engine) ContainerPause(_ context.Context, ref string) error {
	return e.pauseOrUnpause(ref, true)
}

// ContainerUnpause implements api.ContainerService.
func (e *Engine) ContainerUnpause(_ context.Context, ref string) error {
	return e.pauseOrUnpause(ref, false)
}

func (e *Engine) pauseOrUnpause(ref string, pause bool) error {
	c, err := e.lookup(ref)
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	st := c.rec.State.Status
	switch {
	case pause && st == container.StatePaused:
		return errConflict(fmt.Errorf("container %s is already paused", c.rec.ID))
	case pause && st != container.StateRunning:
		return errConflict(fmt.Errorf("container %s is not running", c.rec.ID))
	case !pause && st != container.StatePaused:
		return errConflict(fmt.Errorf("container %s is not paused", c.rec.ID))
	}
	if e.cgroupErr != nil || len(e.cgroups.ProcsFiles(c.rec.Cgroup)) == 0 {
		return errConflict(errors.New("pause needs the freezer cgroup controller, which is not delegated to skiff (hint: as root, run skiff system cgroup-setup --user USER)"))
	}
	if pause {
		err = e.cgroups.Freeze(c.rec.Cgroup)
	} else {
		err = e.cgroups.Thaw(c.rec.Cgroup)
	}
	if err != nil {
		return err
	}
	if pause {
		c.rec.State.Status = container.StatePaused
		e.emitContainer(c, events.ActionPause, nil)
	} else {
		c.rec.State.Status = container.StateRunning
		e.emitContainer(c, events.ActionUnPause, nil)
	}
	e.persist(c)
	c.notify()
	return nil
}

// ContainerUpdate implements api.ContainerService: new resource limits
// (applied at once to a running container) and restart policy.
func (e *Engine) ContainerUpdate(_ context.Context, ref string, req container.UpdateConfig) (container.UpdateResponse, error) {
	c, err := e.lookup(ref)
	if err != nil {
		return container.UpdateResponse{}, err
	}
	c.mu.Lock()
	hc := *c.rec.HostConfig
	c.mu.Unlock()
	mergeResources(&hc.Resources, req.Resources)
	if req.RestartPolicy.Name != "" {
		hc.RestartPolicy = req.RestartPolicy
	}
	if err := validateHostConfig(&hc); err != nil {
		return container.UpdateResponse{}, errInvalid(err)
	}
	if err := e.checkResources(&hc); err != nil {
		return container.UpdateResponse{}, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.running() || c.rec.State.Status == container.StatePaused {
		res, _ := resourcesOf(hc.Resources)
		if err := e.cgroups.Update(c.rec.Cgroup, res); err != nil {
			return container.UpdateResponse{}, errInvalid(fmt.Errorf("Cannot update container %s: %w", c.rec.ID, err))
		}
	}
	c.rec.HostConfig = &hc
	// The new limits are in force (and kept in memory): say that they
	// would not survive an engine restart.
	if err := c.save(); err != nil {
		return container.UpdateResponse{}, fmt.Errorf("Cannot update container %s: saving its configuration: %w", c.rec.ID, err)
	}
	return container.UpdateResponse{Warnings: []string{}}, nil
}

// ContainerTop implements api.ContainerService: docker top, ps (default
// -ef) on the host, keeping the container's processes.
func (e *Engine) ContainerTop(_ context.Context, ref, psArgs string) (container.TopResponse, error) {
	c, err := e.lookup(ref)
	if err != nil {
		return container.TopResponse{}, err
	}
	c.mu.Lock()
	running, pid := c.running(), c.rec.State.Pid
	c.mu.Unlock()
	if !running {
		return container.TopResponse{}, errConflict(fmt.Errorf("container %s is not running", c.rec.ID))
	}
	args := strings.Fields(psArgs)
	if len(args) == 0 {
		args = []string{"-ef"}
	}
	pids, err := containerPids(pid)
	if err != nil {
		return container.TopResponse{}, err
	}
	out, err := exec.Command("ps", args...).Output()
	if err != nil {
		return container.TopResponse{}, errInvalid(fmt.Errorf("ps: %w", err))
	}
	lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	header := strings.Fields(lines[0])
	pidCol := -1
	for i, h := range header {
		if h == "PID" {
			pidCol = i
		}
	}
	if pidCol < 0 {
		return container.TopResponse{}, errInvalid(fmt.Errorf("Couldn't find PID field in ps output"))
	}
	want := map[string]bool{}
	for _, p := range pids {
		want[strconv.Itoa(p)] = true
	}
	resp := container.TopResponse{Titles: header, Processes: [][]string{}}
	for _, l := range lines[1:] {
		f := strings.Fields(l)
		if len(f) <= pidCol || !want[f[pidCol]] {
			continue
		}
		// The last column (the command) keeps its spaces.
		if len(f) > len(header) {
			rest := strings.Join(f[len(header)-1:], " ")
			f = append(f[:len(header)-1], rest)
		}
		resp.Processes = append(resp.Processes, f)
	}
	return resp, nil
}

// ContainerWait implements api.ContainerService.
func (e *Engine) ContainerWait(_ context.Context, ref string, cond container.WaitCondition) (func(context.Context) (container.WaitResponse, error), error) {
	c, err := e.lookup(ref)
	if err != nil {
		return nil, err
	}
	switch cond {
	case "", container.WaitConditionNotRunning, container.WaitConditionNextExit, container.WaitConditionRemoved:
	default:
		return nil, errInvalid(fmt.Errorf("invalid condition: %q", cond))
	}
	c.mu.Lock()
	exits := c.exits
	c.mu.Unlock()
	return func(ctx context.Context) (container.WaitResponse, error) {
		for {
			c.mu.Lock()
			done := false
			switch cond {
			case container.WaitConditionNextExit:
				done = c.exits > exits || c.removed
			case container.WaitConditionRemoved:
				done = c.removed
			default:
				done = !c.running() && !c.starting
			}
			resp := container.WaitResponse{StatusCode: int64(c.rec.State.ExitCode)}
			if c.rec.State.Error != "" {
				resp.Error = &container.WaitExitError{Message: c.rec.State.Error}
			}
			ch := c.changed
			c.mu.Unlock()
			if done {
				return resp, nil
			}
			select {
			case <-ch:
			case <-ctx.Done():
				return container.WaitResponse{}, ctx.Err()
			}
		}
	}, nil
}

// ContainerLogs implements api.ContainerService.
func (e *Engine) ContainerLogs(_ context.Context, ref string, o api.LogsOptions) (api.Logs, error) {
	c, err := e.lookup(ref)
	if err != nil {
		return api.Logs{}, err
	}
	if !o.Stdout && !o.Stderr {
		return api.Logs{}, errInvalid(errors.New("You must choose at least one stream"))
	}
	c.mu.Lock()
	tty := c.rec.Config.Tty
	lc := c.rec.HostConfig.LogConfig
	c.mu.Unlock()
	logPath, err := logs.ReadPath(lc.Type, lc.Config, c.dir, c.rec.ID)
	if err != nil {
		return api.Logs{}, api.NotImplemented(err)
	}
	read := func(ctx context.Context, send func(stream string, line []byte) error) error {
		deliver := func(ents []logs.Entry) error {
			for _, ent := range ents {
				if (ent.Stream == "stdout" && !o.Stdout) || (ent.Stream == "stderr" && !o.Stderr) {
					continue
				}
				line := ent.Log
				if o.Details {
					line = logs.Details(ent.Attrs) + line
				}
				if o.Timestamps {
					line = ent.Time.Format(logs.TimestampFormat) + " " + line
				}
				if err := send(ent.Stream, []byte(line)); err != nil {
					return err
				}
			}
			return nil
		}
		// A follow ends once the container has stopped and its log is read.
		stopped := make(chan struct{})
		if o.Follow {
			go func() {
				defer close(stopped)
				for {
					c.mu.Lock()
					running, ch := c.running() || c.starting, c.changed
					c.mu.Unlock()
					if !running {
						return
					}
					select {
					case <-ch:
					case <-ctx.Done():
						return
					}
				}
			}()
		}
		return logs.ReadLogs(ctx, logPath, logs.ReadOptions{Since: o.Since, Until: o.Until, Tail: o.Tail, Follow: o.Follow, Done: stopped}, deliver)
	}
	return api.Logs{TTY: tty, Read: read}, nil
}
