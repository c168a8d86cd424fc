// Package engine is skiff's daemon: it serves the Docker Engine API on a
// unix socket and manages images and containers.
package engine

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/skiff-dev/skiff/cgroups"
	"github.com/skiff-dev/skiff/config"
	"github.com/skiff-dev/skiff/dnsd"
	"github.com/skiff-dev/skiff/events"
	"github.com/skiff-dev/skiff/images"
	"github.com/skiff-dev/skiff/netslirp"
	"github.com/skiff-dev/skiff/runtime"
	"github.com/skiff-dev/skiff/volumes"
)

// Version is skiff's version, reported by /version.
var Version = "0.1.0-dev"

// APIVersion is the Docker Engine API version skiff speaks.
const APIVersion = "1.41"

// Options configure an engine.
type Options struct {
	Paths    config.Paths
	Settings config.Settings
	// NetNS is the network namespace containers join (rootless: the
	// detached namespace made by rootlesskit); empty means the engine's.
	NetNS string
	// PortAPISock is rootlesskit's API socket, through which a rootless
	// engine publishes ports.
	PortAPISock string
	// Log receives the engine's own messages.
	Log *log.Logger
}

// Engine holds the engine's state.
type Engine struct {
	opt     Options
	images  *images.Store
	volumes *volumes.Store
	// cgroups applies resource limits; cgroups.None (with cgroupErr
	// saying why) when this host offers none.
	cgroups   cgroups.Manager
	cgroupErr error
	log       *log.Logger
	// Networking: the networks, their bridges and rules, published ports
	// and the embedded DNS.
	nets     *netslirp.Store
	dp       *netslirp.Dataplane
	ports    netslirp.Publisher
	dns      *dnsd.Server
	hostLoop *netslirp.HostLoopback
	// netsMu: attaching containers share it, removing a network takes it
	// alone (no bridge comes back for a network being removed).
	netsMu sync.RWMutex

	// events is the event bus (and its journal).
	events *events.Bus

	mu         sync.Mutex
	containers map[string]*ctr // by ID
	execs      map[string]*execState
	// seccompCache holds compiled seccomp filters by profile and caps.
	seccompCache map[string][]byte
	names        map[string]string
	started      time.Time
}

// New opens the stores and loads the containers recorded on disk.
func New(opt Options) (*Engine, error) {
	if opt.Log == nil {
		opt.Log = log.New(os.Stderr, "skiff-engine: ", log.LstdFlags)
	}
	for _, d := range []string{opt.Paths.DataDir, opt.Paths.ContainersDir()} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, err
		}
	}
	if err := opt.Paths.EnsureRunDir(); err != nil {
		return nil, err
	}
	st, err := images.Open(images.Options{
		Root:    opt.Paths.StorageDir(),
		RunRoot: opt.Paths.StorageRunDir(),
		Driver:  opt.Settings.StorageDriver,
	})
	if err != nil {
		return nil, err
	}
	// shut releases the store when New fails, adding what that failed at.
	shut := func(err error) error {
		if _, serr := st.Shutdown(false); serr != nil {
			return errors.Join(err, fmt.Errorf("shutting down the image store: %w", serr))
		}
		return err
	}
	vs, err := volumes.Open(filepath.Join(opt.Paths.DataDir, "volumes"))
	if err != nil {
		return nil, shut(err)
	}
	bus, err := events.Open(filepath.Join(opt.Paths.DataDir, "events.json"), 1000)
	if err != nil {
		return nil, shut(fmt.Errorf("opening the event journal: %w", err))
	}
	e := &Engine{
		opt:          opt,
		images:       st,
		volumes:      vs,
		events:       bus,
		log:          opt.Log,
		containers:   map[string]*ctr{},
		execs:        map[string]*execState{},
		seccompCache: map[string][]byte{},
		names:        map[string]string{},
		started:      time.Now(),
	}
	e.cgroups, e.cgroupErr = cgroups.Detect(cgroups.Options{Rootless: opt.Paths.Rootless, UID: config.HostUID()})
	if e.cgroupErr != nil {
		e.log.Printf("no resource limits: %v", e.cgroupErr)
		e.cgroups = cgroups.None(e.cgroupErr)
	}
	if err := e.initNetworks(); err != nil {
		return nil, shut(fmt.Errorf("setting up networking: %w", err))
	}
	if err := e.loadContainers(); err != nil {
		return nil, shut(err)
	}
	return e, nil
}

// Serve answers the API on the engine's socket until ctx is done.
func (e *Engine) Serve(ctx context.Context) error {
	sock := e.opt.Paths.Socket()
	os.Remove(sock)
	ln, err := net.Listen("unix", sock)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", sock, err)
	}
	if err := os.Chmod(sock, 0o660); err != nil {
		ln.Close()
		return err
	}
	srv := &http.Server{Handler: e.routes(), ReadHeaderTimeout: 30 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		// Past the timeout the connections still open are cut.
		if err := srv.Shutdown(sctx); err != nil {
			e.log.Printf("stopping the API server: %v", err)
		}
	}()
	e.log.Printf("listening on %s (storage driver %s)", sock, e.images.Driver)
	err = srv.Serve(ln)
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	os.Remove(sock)
	e.shutdownNetworks()
	if _, serr := e.images.Shutdown(false); serr != nil {
		err = errors.Join(err, fmt.Errorf("shutting down the image store: %w", serr))
	}
	if cerr := e.events.Close(); cerr != nil {
		err = errors.Join(err, fmt.Errorf("closing the event journal: %w", cerr))
	}
	return err
}

func (e *Engine) runDirFor(id string) string {
	return filepath.Join(e.opt.Paths.RunDir, "c", id)
}

// loadContainers reads every container record; a container whose monitor
// has gone is marked exited with the code its monitor recorded.
func (e *Engine) loadContainers() error {
	entries, err := os.ReadDir(e.opt.Paths.ContainersDir())
	if err != nil {
		return err
	}
	for _, ent := range entries {
		dir := filepath.Join(e.opt.Paths.ContainersDir(), ent.Name())
		c, err := loadRecord(dir)
		if err != nil {
			e.log.Printf("skipping container %s: %v", ent.Name(), err)
			continue
		}
		c.runDir = e.runDirFor(c.rec.ID)
		e.containers[c.rec.ID] = c
		e.names[c.rec.Name] = c.rec.ID
	}
	// The addresses of live containers first: a container that restarts
	// while the others are being recovered must not take one of them.
	for _, c := range e.containers {
		if c.rec.State.Status == container.StateRunning && c.rec.State.Pid > 0 && runtime.Alive(c.rec.State.Pid) {
			e.reserveLeases(c)
		}
	}
	for _, c := range e.containers {
		e.recover(c)
	}
	return nil
}

// lookup finds a container by full or unique partial ID, or by name.
func (e *Engine) lookup(ref string) (*ctr, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if ref == "" {
		return nil, errNoSuchContainer(ref)
	}
	if c, ok := e.containers[ref]; ok {
		return c, nil
	}
	name := ref
	if !strings.HasPrefix(name, "/") {
		name = "/" + name
	}
	if id, ok := e.names[name]; ok {
		return e.containers[id], nil
	}
	var match *ctr
	for id, c := range e.containers {
		if strings.HasPrefix(id, ref) {
			if match != nil {
				return nil, errInvalid(fmt.Errorf("multiple IDs found with provided prefix: %s", ref))
			}
			match = c
		}
	}
	if match == nil {
		return nil, errNoSuchContainer(ref)
	}
	return match, nil
}

func (e *Engine) list() []*ctr {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]*ctr, 0, len(e.containers))
	for _, c := range e.containers {
		out = append(out, c)
	}
	return out
}
