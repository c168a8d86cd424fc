package engine

import (
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/skiff-dev/skiff/runtime"
)

// record is what the engine keeps on disk for one container
// (containers/<id>/container.json), in Docker's field names.
type record struct {
	ID         string
	Created    time.Time
	Path       string
	Args       []string
	Name       string // with Docker's leading "/"
	Image      string // image ID, sha256:...
	ImageName  string // as the user gave it (ps IMAGE column)
	Config     *container.Config
	HostConfig *container.HostConfig
	State      state
	// RemovalInProgress marks a container being removed.
	RemovalInProgress bool `json:",omitempty"`
	RestartCount      int
	Driver            string
	// Mounts are the container's volumes, binds and tmpfs mounts.
	Mounts []mountPoint
	// ManuallyStopped is set by stop and kill: the restart policy then
	// leaves the container alone (until it is started again).
	ManuallyStopped bool `json:",omitempty"`
	// Cgroup names the container's cgroup for its current (or last) run.
	Cgroup string `json:",omitempty"`
	// Networks are the container's endpoints by network name, as Docker's
	// NetworkSettings.Networks: the configuration always, the addresses
	// while it runs.
	Networks map[string]*network.EndpointSettings `json:",omitempty"`
	// Net is the running container's network state.
	Net *netState `json:",omitempty"`
}

type state struct {
	Status     container.ContainerState
	Pid        int
	ExitCode   int
	Error      string
	OOMKilled  bool
	StartedAt  time.Time
	FinishedAt time.Time
	// Health is the healthcheck's state; nil without a healthcheck.
	Health *container.Health `json:",omitempty"`
}

// ctr is a container in memory.
type ctr struct {
	mu  sync.Mutex
	rec record
	// dir is the persistent directory; runDir holds the monitor's socket.
	dir, runDir string
	proc        *runtime.Process
	// init holds the running container's PID 1 (a pidfd), to kill what a
	// dead monitor left.
	init *runtime.Handle
	// releaseMounts undoes the volume preparation of the running container.
	releaseMounts func()
	// changed is closed and replaced on every state change.
	changed chan struct{}
	// pending are attach requests waiting for the container to start.
	pending []func(*runtime.Process)
	removed bool
	// exits counts the exits, for wait?condition=next-exit.
	exits int
	// starting is true while Start runs, so that a second start waits.
	starting bool
	// backoff is the restart policy's current delay.
	backoff time.Duration
	// healthRun counts the health monitors started; a monitor stops when
	// a later one replaces it.
	healthRun int
	// netrt holds the running container's port forwards and DNS server.
	netrt *netRuntime
	// netMu serializes the network's setup, teardown, connect and
	// disconnect (it is taken before mu, never while holding it).
	netMu sync.Mutex
}

func (c *ctr) configPath() string     { return filepath.Join(c.dir, "container.json") }
func (c *ctr) logPath() string        { return filepath.Join(c.dir, c.rec.ID+"-json.log") }
func (c *ctr) hostsPath() string      { return filepath.Join(c.dir, "hosts") }
func (c *ctr) hostnamePath() string   { return filepath.Join(c.dir, "hostname") }
func (c *ctr) resolvConfPath() string { return filepath.Join(c.dir, "resolv.conf") }

// save writes the record atomically. The caller holds c.mu.
func (c *ctr) save() error {
	return runtime.WriteJSON(c.configPath(), &c.rec)
}

// persist saves c's record where a failure cannot undo what happened (the
// container has started, stopped, exited): the record in memory is right,
// only an engine restart would read the stale one on disk, so the failure
// is logged. The caller holds c.mu.
func (e *Engine) persist(c *ctr) {
	if err := c.save(); err != nil {
		e.log.Printf("container %s: saving its state: %v", c.rec.ID, err)
	}
}

// notify wakes everyone waiting for a state change. The caller holds c.mu.
func (c *ctr) notify() {
	close(c.changed)
	c.changed = make(chan struct{})
}

// running reports whether the container's process is alive (a paused
// one is). The caller holds c.mu.
func (c *ctr) running() bool {
	return c.rec.State.Status == container.StateRunning || c.rec.State.Status == container.StatePaused
}

func loadRecord(dir string) (*ctr, error) {
	c := &ctr{dir: dir, changed: make(chan struct{})}
	if err := runtime.ReadJSON(filepath.Join(dir, "container.json"), &c.rec); err != nil {
		return nil, err
	}
	return c, nil
}

func removeAllQuiet(paths ...string) {
	for _, p := range paths {
		os.RemoveAll(p)
	}
}

// mountPoints are the container's mounts as inspect shows them. The
// caller holds c.mu.
func (c *ctr) mountPoints() []container.MountPoint {
	out := make([]container.MountPoint, 0, len(c.rec.Mounts))
	for _, mp := range c.rec.Mounts {
		out = append(out, mp.MountPoint)
	}
	return out
}
