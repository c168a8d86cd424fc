package engine

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path"
	"regexp"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/events"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/sys/signal"
	"github.com/skiff-dev/skiff/images"
	"github.com/skiff-dev/skiff/internal/namesgenerator"
	"github.com/skiff-dev/skiff/logs"
	"github.com/skiff-dev/skiff/netslirp"
	"github.com/skiff-dev/skiff/runtime"
)

var validName = regexp.MustCompile(`^/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$`)

func newID() string {
	b := make([]byte, 32)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// reserveName claims name (with its leading "/") for id, or picks a random
// adjective_surname name when name is empty.
func (e *Engine) reserveName(name, id string) (string, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if name == "" {
		for i := 0; ; i++ {
			n := "/" + namesgenerator.GetRandomName(i)
			if _, taken := e.names[n]; !taken {
				e.names[n] = id
				return n, nil
			}
		}
	}
	if !validName.MatchString(name) {
		return "", errInvalid(fmt.Errorf("Invalid container name (%s), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed", name))
	}
	if !strings.HasPrefix(name, "/") {
		name = "/" + name
	}
	if other, taken := e.names[name]; taken {
		return "", errConflict(fmt.Errorf("Conflict. The container name %q is already in use by container %q. You have to remove (or rename) that container to be able to reuse that name.", name, other))
	}
	e.names[name] = id
	return name, nil
}

func (e *Engine) releaseName(name string) {
	e.mu.Lock()
	delete(e.names, name)
	e.mu.Unlock()
}

// create makes a container from req; nothing is left behind on failure.
// As Docker's, the configuration is checked before the image is looked
// up (a bad one is no reason to pull).
func (e *Engine) create(name string, req *container.CreateRequest, x createExtras) (_ *ctr, err error) {
	if req.Config == nil {
		return nil, errInvalid(errors.New("config cannot be empty in order to create a container"))
	}
	if req.HostConfig == nil {
		req.HostConfig = &container.HostConfig{}
	}
	if req.NetworkingConfig == nil {
		req.NetworkingConfig = &network.NetworkingConfig{}
	}
	if err := validateConfig(req.Config, req.HostConfig, req.NetworkingConfig); err != nil {
		return nil, errInvalid(err)
	}
	if err := validateHostConfig(req.HostConfig); err != nil {
		return nil, errInvalid(err)
	}
	if err := applyMacAddress(x.macAddress, req.HostConfig, req.NetworkingConfig); err != nil {
		return nil, errInvalid(err)
	}
	if err := e.checkSysctls(req.HostConfig); err != nil {
		return nil, errInvalid(err)
	}
	if req.Config.Image == "" {
		return nil, errInvalid(errors.New("no image specified"))
	}
	img, err := e.images.Lookup(req.Config.Image)
	if err != nil {
		if errors.Is(err, images.ErrNotFound) {
			return nil, errNotFound(fmt.Errorf("No such image: %s", displayRef(req.Config.Image)))
		}
		return nil, err
	}
	if err := checkPlatform(img, req.Config.Image, x.platform); err != nil {
		return nil, err
	}
	if err := e.checkLinks(req.HostConfig); err != nil {
		return nil, err
	}
	if err := e.checkResources(req.HostConfig); err != nil {
		return nil, err
	}
	endpoints, err := e.prepareNetworks(req.Config, req.HostConfig, req.NetworkingConfig)
	if err != nil {
		return nil, err
	}
	if req.HostConfig.LogConfig.Type == "" {
		req.HostConfig.LogConfig.Type = logs.DefaultDriver
	}
	if err := logs.ValidateOptions(req.HostConfig.LogConfig.Type, req.HostConfig.LogConfig.Config); err != nil {
		return nil, errInvalid(err)
	}
	id := newID()
	fullName, err := e.reserveName(name, id)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			e.releaseName(fullName)
		}
	}()
	cfg := mergeImageConfig(req.Config, img)
	if cfg.WorkingDir != "" && !path.IsAbs(cfg.WorkingDir) {
		return nil, errInvalid(fmt.Errorf("the working directory '%s' is invalid, it needs to be an absolute path", cfg.WorkingDir))
	}
	if cfg.StopSignal != "" {
		if _, err := signal.ParseSignal(cfg.StopSignal); err != nil {
			return nil, errInvalid(fmt.Errorf("Invalid signal: %s", cfg.StopSignal))
		}
	}
	if cfg.Hostname == "" {
		cfg.Hostname = id[:12]
	}
	mounts, createdVolumes, err := e.containerMounts(req.HostConfig, img.Config.Config.Volumes)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			for _, v := range createdVolumes {
				err = errors.Join(err, e.volumes.Remove(v))
			}
		}
	}()
	path, args := commandOf(cfg)
	c := &ctr{
		dir:     e.opt.Paths.ContainersDir() + "/" + id,
		runDir:  e.runDirFor(id),
		changed: make(chan struct{}),
		rec: record{
			ID:         id,
			Created:    time.Now().UTC(),
			Path:       path,
			Args:       args,
			Name:       fullName,
			Image:      img.ID,
			ImageName:  req.Config.Image,
			Config:     cfg,
			HostConfig: req.HostConfig,
			State:      state{Status: container.StateCreated},
			Driver:     e.images.Driver,
			Mounts:     mounts,
			Networks:   endpoints,
		},
	}
	if err := os.MkdirAll(c.dir, 0o700); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			os.RemoveAll(c.dir)
		}
	}()
	if _, err := e.images.CreateContainer(id, nil, img.StoreID(), "", "", nil); err != nil {
		return nil, fmt.Errorf("creating the container's filesystem: %w", err)
	}
	defer func() {
		if err != nil {
			err = errors.Join(err, e.images.DeleteContainer(id))
		}
	}()
	// /etc/hostname, hosts and resolv.conf are written at each start.
	c.mu.Lock()
	err = c.save()
	if err == nil {
		e.emitContainer(c, events.ActionCreate, nil)
	}
	c.mu.Unlock()
	if err != nil {
		return nil, err
	}
	e.mu.Lock()
	e.containers[id] = c
	e.mu.Unlock()
	return c, nil
}

func validateHostConfig(hc *container.HostConfig) error {
	rp := hc.RestartPolicy
	switch rp.Name {
	case "", "no":
	case "always", "unless-stopped", "on-failure":
		if hc.AutoRemove {
			return errors.New("conflicting options: cannot specify both --restart and --rm")
		}
	default:
		return fmt.Errorf("invalid restart policy: unknown policy '%s'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'", rp.Name)
	}
	if rp.MaximumRetryCount < 0 {
		return errors.New("invalid restart policy: maximum retry count must be a positive integer")
	}
	if rp.MaximumRetryCount > 0 && rp.Name != "on-failure" {
		return fmt.Errorf("invalid restart policy: maximum retry count can only be used with 'on-failure'")
	}
	if _, err := runtime.CapabilitySet(hc.CapAdd, hc.CapDrop, hc.Privileged); err != nil {
		return err
	}
	for _, u := range hc.Ulimits {
		if err := runtime.ValidateUlimit(runtime.Ulimit{Name: u.Name, Soft: u.Soft, Hard: u.Hard}); err != nil {
			return err
		}
	}
	for _, o := range hc.SecurityOpt {
		if err := validateSecurityOpt(o); err != nil {
			return err
		}
	}
	return nil
}

// validateSecurityOpt accepts Docker's --security-opt values skiff applies.
func validateSecurityOpt(o string) error {
	k, v, _ := strings.Cut(o, "=")
	if !strings.Contains(o, "=") {
		k, _, _ = strings.Cut(o, ":")
	}
	switch k {
	case "no-new-privileges":
		if v != "" && v != "true" && v != "false" {
			return fmt.Errorf("invalid --security-opt 2: %q", o)
		}
		return nil
	case "seccomp":
		if v == "unconfined" || v == "builtin" {
			return nil
		}
		return runtime.ValidSeccompJSON(v)
	case "label", "apparmor":
		return nil // no SELinux or AppArmor here: accepted and ignored, as Docker on such hosts
	}
	return fmt.Errorf("invalid --security-opt 1: %q", o)
}

// setSeccomp puts the container's compiled syscall filter in spec:
// Docker's default unless --security-opt seccomp= says otherwise. Filters
// are compiled once per profile and capability set.
func (e *Engine) setSeccomp(spec *runtime.Spec, opts []string) error {
	profile := ""
	for _, o := range opts {
		if v, ok := strings.CutPrefix(o, "seccomp="); ok {
			profile = v
		} else if v, ok := strings.CutPrefix(o, "seccomp:"); ok {
			profile = v
		}
	}
	caps, err := runtime.CapabilitySet(spec.CapAdd, spec.CapDrop, spec.Privileged)
	if err != nil {
		return err
	}
	key := fmt.Sprint(profile, caps, spec.Privileged)
	e.mu.Lock()
	bpf, ok := e.seccompCache[key]
	e.mu.Unlock()
	if !ok {
		p, err := runtime.SeccompProfile(profile, caps, spec.Privileged)
		if err != nil {
			return err
		}
		if bpf, err = runtime.CompileSeccomp(p); err != nil {
			return err
		}
		e.mu.Lock()
		e.seccompCache[key] = bpf
		e.mu.Unlock()
	}
	spec.Seccomp = bpf
	return nil
}

// noNewPrivileges reports whether --security-opt no-new-privileges is set.
func noNewPrivileges(opts []string) bool {
	on := false
	for _, o := range opts {
		k, v, _ := strings.Cut(o, "=")
		if k == "no-new-privileges" || strings.HasPrefix(o, "no-new-privileges:") {
			on = v != "false" && !strings.HasSuffix(o, ":false")
		}
	}
	return on
}

// mergeImageConfig fills what the user left empty from the image, as
// Docker does: Env is the image's plus the user's; Cmd comes from the
// image unless the user set Cmd or Entrypoint.
func mergeImageConfig(user *container.Config, img *images.Image) *container.Config {
	cfg := *user
	ic := img.Config.Config
	cfg.Env = mergeEnv(user.Env, ic.Env)
	// As moby's merge: with no entrypoint given, the image's Cmd fills an
	// empty Cmd, and a nil (not an empty) entrypoint is the image's.
	if len(cfg.Entrypoint) == 0 {
		if len(cfg.Cmd) == 0 {
			cfg.Cmd = ic.Cmd
		}
		if cfg.Entrypoint == nil {
			cfg.Entrypoint = ic.Entrypoint
		}
	}
	if cfg.WorkingDir == "" {
		cfg.WorkingDir = ic.WorkingDir
	}
	if cfg.User == "" {
		cfg.User = ic.User
	}
	if cfg.StopSignal == "" {
		cfg.StopSignal = ic.StopSignal
	}
	if len(ic.Labels) > 0 {
		labels := map[string]string{}
		for k, v := range ic.Labels {
			labels[k] = v
		}
		for k, v := range user.Labels {
			labels[k] = v
		}
		cfg.Labels = labels
	}
	if cfg.Labels == nil {
		cfg.Labels = map[string]string{}
	}
	cfg.Healthcheck = mergeHealthcheck(user.Healthcheck, img)
	return &cfg
}

// mergeEnv is the user's variables, then the image's that the user did
// not set, in Docker's order.
func mergeEnv(user, image []string) []string {
	out := append([]string(nil), user...)
	for _, kv := range image {
		k, _, _ := strings.Cut(kv, "=")
		found := false
		for _, u := range user {
			if uk, _, _ := strings.Cut(u, "="); uk == k {
				found = true
				break
			}
		}
		if !found {
			out = append(out, kv)
		}
	}
	return out
}

func commandOf(cfg *container.Config) (string, []string) {
	entry := cfg.Entrypoint
	if len(entry) == 1 && entry[0] == "" {
		// --entrypoint "": no entrypoint at all.
		entry = nil
	}
	argv := append(append([]string(nil), entry...), cfg.Cmd...)
	if len(argv) == 0 {
		return "", []string{}
	}
	return argv[0], argv[1:]
}

// start runs the container. Attach requests made before start are
// connected before the command runs.
func (e *Engine) start(c *ctr) error {
	c.mu.Lock()
	if c.running() || c.starting {
		c.mu.Unlock()
		return errNotModified()
	}
	if c.removed || c.rec.RemovalInProgress {
		c.mu.Unlock()
		return errConflict(fmt.Errorf("container %s is marked for removal and cannot be started", c.rec.ID))
	}
	c.starting = true
	c.rec.ManuallyStopped = false
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		c.starting = false
		c.mu.Unlock()
	}()
	return e.startLocked(c)
}

func (e *Engine) startLocked(c *ctr) error {
	path, args := c.rec.Path, c.rec.Args
	if path == "" {
		return errInvalid(errors.New("no command specified"))
	}
	// Checked again: a container it shares a network namespace with may
	// have been replaced by one on the host's since create.
	if err := e.checkSysctls(c.rec.HostConfig); err != nil {
		return errInvalid(fmt.Errorf("failed to create task for container: failed to create shim task: OCI runtime create failed: runc create failed: %w: unknown", err))
	}
	if err := e.createCgroup(c); err != nil {
		return err
	}
	rootfs, err := e.images.Mount(c.rec.ID, "")
	if err != nil {
		e.destroyCgroup(c)
		return fmt.Errorf("mounting the container's filesystem: %w", err)
	}
	userMounts, releaseMounts, err := e.runtimeMounts(c, rootfs)
	if err != nil {
		e.unmountRootfs(c)
		e.destroyCgroup(c)
		return err
	}
	// undo releases what this start has taken so far; the network, taken
	// later, has its own teardown.
	undo := func() {
		releaseMounts()
		e.unmountRootfs(c)
		e.destroyCgroup(c)
	}
	spec := runtime.Spec{
		ID:             c.rec.ID,
		Rootfs:         rootfs,
		Args:           append([]string{path}, args...),
		Env:            c.rec.Config.Env,
		Cwd:            c.rec.Config.WorkingDir,
		User:           c.rec.Config.User,
		Hostname:       c.rec.Config.Hostname,
		Tty:            c.rec.Config.Tty,
		OpenStdin:      c.rec.Config.OpenStdin,
		StdinOnce:      c.rec.Config.StdinOnce,
		ReadonlyRootfs: c.rec.HostConfig.ReadonlyRootfs,
		ShmSize:        c.rec.HostConfig.ShmSize,
		LogPath:        c.logPath(),
		LogDriver:      c.rec.HostConfig.LogConfig.Type,
		LogInfo: logs.Info{
			Config:              c.rec.HostConfig.LogConfig.Config,
			ContainerID:         c.rec.ID,
			ContainerName:       c.rec.Name,
			ContainerEntrypoint: path,
			ContainerArgs:       args,
			ContainerImageID:    c.rec.Image,
			ContainerImageName:  c.rec.ImageName,
			ContainerCreated:    c.rec.Created,
			ContainerEnv:        c.rec.Config.Env,
			ContainerLabels:     c.rec.Config.Labels,
			LogPath:             c.logPath(),
		},
		CapAdd:          c.rec.HostConfig.CapAdd,
		CapDrop:         c.rec.HostConfig.CapDrop,
		Privileged:      c.rec.HostConfig.Privileged,
		NoNewPrivileges: noNewPrivileges(c.rec.HostConfig.SecurityOpt),
		Init:            c.rec.HostConfig.Init != nil && *c.rec.HostConfig.Init,
		Sysctls:         sysctlsOf(c.rec.Config, c.rec.HostConfig),
	}
	spec.Mounts = withEtcFiles(userMounts, []runtime.Mount{
		{Source: c.resolvConfPath(), Destination: "/etc/resolv.conf"},
		{Source: c.hostnamePath(), Destination: "/etc/hostname"},
		{Source: c.hostsPath(), Destination: "/etc/hosts"},
	})
	if e.cgroupErr == nil {
		spec.CgroupProcs = e.cgroups.ProcsFiles(c.rec.Cgroup)
	}
	if err := e.setSeccomp(&spec, c.rec.HostConfig.SecurityOpt); err != nil {
		undo()
		return errInvalid(err)
	}
	for _, u := range c.rec.HostConfig.Ulimits {
		spec.Ulimits = append(spec.Ulimits, runtime.Ulimit{Name: u.Name, Soft: u.Soft, Hard: u.Hard})
	}
	if spec.NetNS, spec.NewNetNS, err = e.setupNetwork(c); err != nil {
		undo()
		return err
	}
	links, err := e.resolveLinks(c)
	if err == nil {
		err = e.writeEtcFiles(c, links)
	}
	if err == nil {
		err = e.shareEtcFiles(c, &spec)
	}
	if err != nil {
		e.teardownNetwork(c)
		undo()
		return err
	}
	spec.Env = append(append([]string(nil), spec.Env...), linkEnv(c, links)...)
	proc, err := runtime.Start(c.runDir, spec)
	if err != nil {
		e.teardownNetwork(c)
		undo()
		var se *runtime.StartError
		code := 128
		msg := err.Error()
		if errors.As(err, &se) {
			code = se.Code
		}
		c.mu.Lock()
		c.rec.State.Error = msg
		c.rec.State.ExitCode = code
		e.persist(c)
		c.notify()
		c.mu.Unlock()
		return errInvalid(fmt.Errorf("failed to create task for container: failed to create shim task: OCI runtime create failed: unable to start container process: %s: unknown", msg))
	}
	c.mu.Lock()
	c.proc = proc
	c.releaseMounts = releaseMounts
	pending := c.pending
	c.pending = nil
	c.mu.Unlock()
	for _, attach := range pending {
		attach(proc)
	}
	// Held before the command starts: init waits for Release, so the pid
	// cannot have been reused.
	if h, err := runtime.OpenHandle(proc.Pid); err == nil {
		c.mu.Lock()
		c.init = h
		c.mu.Unlock()
	} else {
		e.log.Printf("container %s: %v", c.rec.ID, err)
	}
	if err := proc.Release(); err != nil {
		// The command cannot be let start: kill it, and its exit is
		// recorded as any other.
		e.log.Printf("container %s: %v", c.rec.ID, err)
		if kerr := syscall.Kill(proc.Pid, syscall.SIGKILL); kerr != nil {
			e.log.Printf("container %s: killing it: %v", c.rec.ID, kerr)
		}
	}
	c.mu.Lock()
	c.rec.State = state{Status: container.StateRunning, Pid: proc.Pid, StartedAt: time.Now().UTC()}
	e.startHealth(c, false)
	e.persist(c)
	e.emitContainer(c, events.ActionStart, nil)
	c.notify()
	c.mu.Unlock()
	go e.watch(c, proc)
	return nil
}

// watch waits for the container's monitor to record the exit.
func (e *Engine) watch(c *ctr, proc *runtime.Process) {
	<-proc.Done
	e.exited(c)
}

// exited records the end of a running container and cleans up after it.
func (e *Engine) exited(c *ctr) {
	ex, err := runtime.ReadExit(c.runDir)
	if err != nil {
		// The monitor died (killed, say): nothing of the container may
		// outlive it, and inspect must not call it exited while it runs.
		e.killLeftovers(c)
		ex = runtime.Exit{Code: 255, FinishedAt: time.Now().UTC(), Error: "container monitor exited without recording the exit: " + err.Error()}
	}
	c.mu.Lock()
	if c.init != nil {
		c.init.Close()
		c.init = nil
	}
	c.mu.Unlock()
	e.unmountRootfs(c)
	if e.cgroupErr == nil {
		c.mu.Lock()
		cg := c.rec.Cgroup
		c.mu.Unlock()
		if oom, err := e.cgroups.OOMKilled(cg); err == nil && oom {
			ex.OOMKilled = true
		}
	}
	e.destroyCgroup(c)
	e.teardownNetwork(c)
	c.mu.Lock()
	if c.releaseMounts != nil {
		c.releaseMounts()
		c.releaseMounts = nil
	}
	c.proc = nil
	st := c.rec.State
	st.Status = container.StateExited
	st.Pid = 0
	st.ExitCode = ex.Code
	st.FinishedAt = ex.FinishedAt
	st.OOMKilled = ex.OOMKilled
	st.Error = ex.Error
	c.rec.State = st
	c.exits++
	e.persist(c)
	if st.OOMKilled {
		e.emitContainer(c, events.ActionOOM, nil)
	}
	e.emitContainer(c, events.ActionDie, exitAttrs(st.ExitCode))
	c.notify()
	autoRemove := c.rec.HostConfig.AutoRemove
	delay, restart := c.restartDelay()
	c.mu.Unlock()
	os.RemoveAll(c.runDir)
	if autoRemove {
		if err := e.remove(c, true, true); err != nil {
			e.log.Printf("auto-removing %s: %v", c.rec.ID, err)
		}
		return
	}
	if restart {
		go e.restartLater(c, delay)
	}
}

// restartDelay applies the restart policy to an exit: whether to restart
// and after how long (Docker's backoff: 100ms doubling, back to 100ms
// after a run of 10s or more). The caller holds c.mu.
func (c *ctr) restartDelay() (time.Duration, bool) {
	rp := c.rec.HostConfig.RestartPolicy
	st := c.rec.State
	switch {
	case c.removed || c.rec.ManuallyStopped:
		return 0, false
	case rp.Name == "always", rp.Name == "unless-stopped":
	case rp.Name == "on-failure" && st.ExitCode != 0:
		if rp.MaximumRetryCount > 0 && c.rec.RestartCount >= rp.MaximumRetryCount {
			return 0, false
		}
	default:
		return 0, false
	}
	if st.FinishedAt.Sub(st.StartedAt) >= 10*time.Second {
		c.backoff = 0
	}
	if c.backoff == 0 {
		c.backoff = 100 * time.Millisecond
	} else if c.backoff < time.Minute {
		c.backoff *= 2
	}
	return c.backoff, true
}

// restartLater restarts the container after delay, unless it was stopped,
// removed or started in between. Meanwhile it shows as restarting.
func (e *Engine) restartLater(c *ctr, delay time.Duration) {
	c.mu.Lock()
	c.rec.State.Status = container.StateRestarting
	c.notify()
	c.mu.Unlock()
	time.Sleep(delay)
	c.mu.Lock()
	ok := !c.removed && !c.rec.ManuallyStopped && c.rec.State.Status == container.StateRestarting
	if ok {
		c.rec.RestartCount++
	} else if c.rec.State.Status == container.StateRestarting {
		c.rec.State.Status = container.StateExited
		c.notify()
	}
	c.mu.Unlock()
	if ok {
		if err := e.start(c); err != nil && statusOf(err) != 304 {
			e.log.Printf("restarting %s: %v", c.rec.ID, err)
			c.mu.Lock()
			c.rec.State.Status = container.StateExited
			e.persist(c)
			c.notify()
			c.mu.Unlock()
		}
	}
}

// recover handles a container found on disk at engine start: if its
// monitor is gone, the recorded exit is applied.
func (e *Engine) recover(c *ctr) {
	if c.rec.State.Status != container.StateRunning {
		return
	}
	if c.rec.State.Pid > 0 && runtime.Alive(c.rec.State.Pid) {
		// Still running under a monitor from an earlier engine: it keeps
		// running; exit tracking resumes when the monitor's socket closes.
		if h, err := runtime.OpenHandle(c.rec.State.Pid); err == nil {
			c.init = h
		}
		e.restoreNetwork(c)
		c.mu.Lock()
		e.startHealth(c, true)
		c.mu.Unlock()
		go e.follow(c)
		return
	}
	e.exited(c)
}

// killLeftovers kills what remains of a container whose monitor is gone:
// its PID 1 (through its pidfd, never a reused pid) and every process in
// its cgroup, and waits until they are gone.
func (e *Engine) killLeftovers(c *ctr) {
	c.mu.Lock()
	h, cg, id := c.init, c.rec.Cgroup, c.rec.ID
	c.mu.Unlock()
	if h != nil {
		if err := h.Kill(10 * time.Second); err != nil {
			e.log.Printf("container %s: %v", id, err)
		}
	}
	if e.cgroupErr != nil || cg == "" {
		return
	}
	for end := time.Now().Add(10 * time.Second); ; {
		pids, err := e.cgroups.Pids(cg)
		if err != nil {
			return
		}
		alive := 0
		for _, pid := range pids {
			if !runtime.Gone(pid) {
				// One gone meanwhile (ESRCH) is what we want.
				_ = syscall.Kill(pid, syscall.SIGKILL)
				alive++
			}
		}
		if alive == 0 {
			return
		}
		if time.Now().After(end) {
			e.log.Printf("container %s: %d processes in cgroup %s survive SIGKILL", id, alive, cg)
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// follow tracks a container started by an earlier engine until it exits.
func (e *Engine) follow(c *ctr) {
	for {
		if _, err := runtime.ReadExit(c.runDir); err == nil {
			break
		}
		if !runtime.Alive(c.rec.State.Pid) || !runtime.MonitorAlive(c.runDir) {
			time.Sleep(200 * time.Millisecond)
			if _, err := runtime.ReadExit(c.runDir); err != nil {
				break
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	e.exited(c)
}

// signal sends sig to the container's process.
func (e *Engine) signal(c *ctr, sig syscall.Signal) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.running() {
		return errConflict(fmt.Errorf("container %s is not running", c.rec.ID))
	}
	if c.rec.State.Status == container.StatePaused && e.cgroupErr == nil {
		// A frozen process gets no signal: thaw it first, as Docker does.
		if err := e.cgroups.Thaw(c.rec.Cgroup); err == nil {
			c.rec.State.Status = container.StateRunning
			c.notify()
		}
	}
	// Through the monitor, which can signal the container even after an
	// engine restart put the engine in another user namespace.
	if err := runtime.Signal(c.runDir, sig); err == nil {
		return nil
	}
	if err := syscall.Kill(c.rec.State.Pid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		return err
	}
	return nil
}

// waitNotRunning blocks until the container is not running or ctx ends.
func (e *Engine) waitNotRunning(ctx context.Context, c *ctr) bool {
	for {
		c.mu.Lock()
		running := c.running()
		ch := c.changed
		c.mu.Unlock()
		if !running {
			return true
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return false
		}
	}
}

// stop sends the stop signal, then SIGKILL after timeout.
func (e *Engine) stop(c *ctr, sigName string, timeout *int) error {
	c.mu.Lock()
	running := c.running()
	cfgSig := c.rec.Config.StopSignal
	cfgTimeout := c.rec.Config.StopTimeout
	c.mu.Unlock()
	if !running {
		c.mu.Lock()
		if c.rec.State.Status == container.StateRestarting {
			c.rec.ManuallyStopped = true
			c.rec.State.Status = container.StateExited
			e.persist(c)
			c.notify()
			c.mu.Unlock()
			return nil
		}
		c.mu.Unlock()
		return errNotModified()
	}
	c.mu.Lock()
	c.rec.ManuallyStopped = true
	e.persist(c)
	c.mu.Unlock()
	if sigName == "" {
		sigName = cfgSig
	}
	sig := syscall.SIGTERM
	if sigName != "" {
		s, err := signal.ParseSignal(sigName)
		if err != nil {
			return errInvalid(err)
		}
		sig = s
	}
	wait := 10
	if cfgTimeout != nil {
		wait = *cfgTimeout
	}
	if timeout != nil {
		wait = *timeout
	}
	// As Docker: a stop signal the kernel refuses (stop -s 999) is not
	// an error; SIGKILL follows after two seconds.
	if !signal.ValidSignalForPlatform(sig) {
		wait = 2
	} else if err := e.signal(c, sig); err != nil {
		return err
	}
	if wait >= 0 {
		ctx, cancel := context.WithTimeout(context.Background(), time.Duration(wait)*time.Second)
		ok := e.waitNotRunning(ctx, c)
		cancel()
		if ok {
			e.emitStop(c)
			return nil
		}
	}
	if err := e.signal(c, syscall.SIGKILL); err != nil && statusOf(err) != 409 {
		return err
	}
	e.waitNotRunning(context.Background(), c)
	e.emitStop(c)
	return nil
}

func (e *Engine) emitStop(c *ctr) {
	c.mu.Lock()
	e.emitContainer(c, events.ActionStop, nil)
	c.mu.Unlock()
}

// remove deletes the container; a running one only with force. With
// volumes, its anonymous volumes go too (rm -v, run --rm).
func (e *Engine) remove(c *ctr, force, withVolumes bool) error {
	c.mu.Lock()
	if c.removed {
		c.mu.Unlock()
		return nil
	}
	if c.running() && !force {
		c.mu.Unlock()
		return errConflict(fmt.Errorf("cannot remove container %q: container is running: stop the container before removing or force remove", c.rec.Name))
	}
	c.rec.RemovalInProgress = true
	c.mu.Unlock()
	if force {
		if err := e.signal(c, syscall.SIGKILL); err == nil {
			e.waitNotRunning(context.Background(), c)
		}
		// Whatever a dead monitor may have left.
		e.killLeftovers(c)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.removed {
		return nil
	}
	e.unmountRootfs(c)
	if err := e.images.DeleteContainer(c.rec.ID); err != nil && !isNotExist(err) {
		c.rec.RemovalInProgress = false
		return fmt.Errorf("removing the container's filesystem: %w", err)
	}
	removeAllQuiet(c.dir, c.runDir)
	// One an engine killed mid-start left.
	if err := netslirp.RemoveNetNS(e.netnsPath(c.rec.ID)); err != nil {
		e.log.Printf("container %s: %v", c.rec.ID, err)
	}
	c.removed = true
	e.mu.Lock()
	delete(e.containers, c.rec.ID)
	if e.names[c.rec.Name] == c.rec.ID {
		delete(e.names, c.rec.Name)
	}
	for id, x := range e.execs {
		if x.c == c {
			delete(e.execs, id)
		}
	}
	e.mu.Unlock()
	e.emitContainer(c, events.ActionDestroy, nil)
	c.notify()
	if withVolumes {
		e.removeAnonymousVolumes(c.rec.Mounts)
	}
	return nil
}

// removeAnonymousVolumes removes the anonymous volumes among mps that no
// other container uses.
func (e *Engine) removeAnonymousVolumes(mps []mountPoint) {
	inUse := e.volumesInUse()
	for _, mp := range mps {
		if mp.Type != mount.TypeVolume || len(inUse[mp.Name]) > 0 {
			continue
		}
		if v, err := e.volumes.Get(mp.Name); err == nil && v.Anonymous() {
			if err := e.volumes.Remove(v.Name); err != nil {
				e.log.Printf("removing anonymous volume %s: %v", v.Name, err)
			}
		}
	}
}

// volumesInUse maps volume names to the IDs of the containers using them.
func (e *Engine) volumesInUse() map[string][]string {
	out := map[string][]string{}
	for _, c := range e.list() {
		c.mu.Lock()
		if !c.removed {
			for _, mp := range c.rec.Mounts {
				if mp.Type == mount.TypeVolume {
					out[mp.Name] = append(out[mp.Name], c.rec.ID)
				}
			}
		}
		c.mu.Unlock()
	}
	return out
}

// rename gives the container a new name.
func (e *Engine) rename(c *ctr, newName string) error {
	if newName == "" {
		return errInvalid(errors.New("new name cannot be blank"))
	}
	c.mu.Lock()
	oldName, id := c.rec.Name, c.rec.ID
	c.mu.Unlock()
	if strings.TrimPrefix(newName, "/") == strings.TrimPrefix(oldName, "/") {
		return errInvalid(errors.New("Renaming a container with the same name as its current name"))
	}
	full, err := e.reserveName(newName, id)
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.rec.Name = full
	err = c.save()
	if err == nil {
		e.emitContainer(c, events.ActionRename, map[string]string{"oldName": oldName})
	}
	c.mu.Unlock()
	if err != nil {
		e.releaseName(full)
		return err
	}
	e.releaseName(oldName)
	return nil
}

// withEtcFiles is the container's mounts as Docker orders them: the
// engine's /etc files (but one the user mounts a file of their own at),
// then the user's mounts, sorted so that a mount's parents come first
// (by the depth of the destination; a bind over /etc then does not hide
// /etc/hosts).
func withEtcFiles(user, etc []runtime.Mount) []runtime.Mount {
	taken := map[string]bool{}
	for _, m := range user {
		taken[path.Clean(m.Destination)] = true
	}
	var out []runtime.Mount
	for _, m := range etc {
		if !taken[m.Destination] {
			out = append(out, m)
		}
	}
	out = append(out, user...)
	depth := func(p string) int { return strings.Count(path.Clean(p), "/") }
	sort.SliceStable(out, func(i, j int) bool { return depth(out[i].Destination) < depth(out[j].Destination) })
	return out
}
