package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	units "github.com/docker/go-units"
	"github.com/moby/moby/api/types/container"
	"github.com/skiff-dev/skiff/cli"
	"github.com/skiff-dev/skiff/opts"
	"github.com/spf13/pflag"
)

// runFlags are the flags shared by run and create.
type runFlags struct {
	detach, interactive, tty, rm, readOnly bool
	name, workdir, user, hostname, entry   string
	detachKeys, shmSize                    string
	stopSignal                             string
	stopTimeout                            int
	env, envFile, labels                   []string
	net                                    cli.NetworkOptions
	volumes, mounts, volumesFrom, tmpfs    []string
	init, privileged                       bool
	restart                                string
	ulimits, capAdd, capDrop, securityOpts []string
	res                                    resourceFlags
	logDriver                              string
	logOpts                                []string
	sysctls                                map[string]string
	health                                 healthFlags
}

// healthFlags are the --health-* flags and --no-healthcheck.
type healthFlags struct {
	cmd                                           string
	interval, timeout, startPeriod, startInterval time.Duration
	retries                                       int
	none                                          bool
}

func (h *healthFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&h.cmd, "health-cmd", "", "Command to run to check health")
	fs.DurationVar(&h.interval, "health-interval", 0, "Time between running the check (ms|s|m|h) (default 0s)")
	fs.DurationVar(&h.timeout, "health-timeout", 0, "Maximum time to allow one check to run (ms|s|m|h) (default 0s)")
	fs.DurationVar(&h.startPeriod, "health-start-period", 0, "Start period for the container to initialize before starting health-retries countdown (ms|s|m|h) (default 0s)")
	fs.DurationVar(&h.startInterval, "health-start-interval", 0, "Time between running the check during the start period (ms|s|m|h) (default 0s)")
	fs.IntVar(&h.retries, "health-retries", 0, "Consecutive failures needed to report unhealthy")
	fs.BoolVar(&h.none, "no-healthcheck", false, "Disable any container-specified HEALTHCHECK")
}

// config is the container's Healthcheck from the flags, as the docker
// CLI builds it (nil when none is given: the image's applies).
func (h *healthFlags) config() (*container.HealthConfig, error) {
	given := h.cmd != "" || h.interval != 0 || h.timeout != 0 || h.startPeriod != 0 || h.startInterval != 0 || h.retries != 0
	if h.none {
		if given {
			return nil, fmt.Errorf("--no-healthcheck conflicts with --health-* options")
		}
		return &container.HealthConfig{Test: []string{"NONE"}}, nil
	}
	if !given {
		return nil, nil
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"--health-interval", h.interval}, {"--health-timeout", h.timeout}, {"--health-start-period", h.startPeriod}, {"--health-start-interval", h.startInterval}} {
		if d.v < 0 {
			return nil, fmt.Errorf("%s cannot be negative", d.name)
		}
	}
	if h.retries < 0 {
		return nil, fmt.Errorf("--health-retries cannot be negative")
	}
	hc := &container.HealthConfig{Interval: h.interval, Timeout: h.timeout, StartPeriod: h.startPeriod,
		StartInterval: h.startInterval, Retries: h.retries}
	if h.cmd != "" {
		hc.Test = []string{"CMD-SHELL", h.cmd}
	}
	return hc, nil
}

func (f *runFlags) register(fs *pflag.FlagSet, withRun bool) {
	if withRun {
		fs.BoolVarP(&f.detach, "detach", "d", false, "Run container in background and print container ID")
		fs.StringVar(&f.detachKeys, "detach-keys", "", "Override the key sequence for detaching a container")
	}
	fs.BoolVarP(&f.interactive, "interactive", "i", false, "Keep STDIN open even if not attached")
	fs.BoolVarP(&f.tty, "tty", "t", false, "Allocate a pseudo-TTY")
	fs.BoolVar(&f.rm, "rm", false, "Automatically remove the container and its associated anonymous volumes when it exits")
	fs.BoolVar(&f.readOnly, "read-only", false, "Mount the container's root filesystem as read only")
	fs.StringVar(&f.name, "name", "", "Assign a name to the container")
	fs.StringVarP(&f.workdir, "workdir", "w", "", "Working directory inside the container")
	fs.StringVarP(&f.user, "user", "u", "", "Username or UID (format: <name|uid>[:<group|gid>])")
	fs.StringVarP(&f.hostname, "hostname", "h", "", "Container host name")
	fs.StringVar(&f.entry, "entrypoint", "", "Overwrite the default ENTRYPOINT of the image")
	fs.StringVar(&f.shmSize, "shm-size", "", "Size of /dev/shm")
	fs.StringVar(&f.stopSignal, "stop-signal", "", "Signal to stop the container")
	fs.IntVar(&f.stopTimeout, "stop-timeout", -1, "Timeout (in seconds) to stop a container")
	fs.StringArrayVarP(&f.env, "env", "e", nil, "Set environment variables")
	fs.StringArrayVar(&f.envFile, "env-file", nil, "Read in a file of environment variables")
	fs.StringArrayVarP(&f.labels, "label", "l", nil, "Set meta data on a container")
	f.registerNetwork(fs)
	fs.StringArrayVarP(&f.volumes, "volume", "v", nil, "Bind mount a volume")
	fs.StringArrayVar(&f.mounts, "mount", nil, "Attach a filesystem mount to the container")
	fs.StringArrayVar(&f.volumesFrom, "volumes-from", nil, "Mount volumes from the specified container(s)")
	fs.StringArrayVar(&f.tmpfs, "tmpfs", nil, "Mount a tmpfs directory")
	f.health.register(fs)
	fs.BoolVar(&f.init, "init", false, "Run an init inside the container that forwards signals and reaps processes")
	fs.BoolVar(&f.privileged, "privileged", false, "Give extended privileges to this container")
	fs.StringVar(&f.restart, "restart", "no", "Restart policy to apply when a container exits")
	fs.StringArrayVar(&f.ulimits, "ulimit", nil, "Ulimit options")
	fs.StringArrayVar(&f.capAdd, "cap-add", nil, "Add Linux capabilities")
	fs.StringArrayVar(&f.capDrop, "cap-drop", nil, "Drop Linux capabilities")
	fs.StringArrayVar(&f.securityOpts, "security-opt", nil, "Security Options")
	fs.Var(sysctlFlag{&f.sysctls}, "sysctl", "Sysctl options")
	f.res.register(fs, true)
	fs.StringVar(&f.logDriver, "log-driver", "", "Logging driver for the container")
	fs.StringArrayVar(&f.logOpts, "log-opt", nil, "Log driver options")
}

// registerNetwork registers the network and port flags of run and create.
func (f *runFlags) registerNetwork(fs *pflag.FlagSet) {
	n := &f.net
	fs.Var(listFlag(&n.Networks, "network"), "network", "Connect a container to a network")
	fs.Var(listFlag(&n.Networks, "network"), "net", "Connect a container to a network")
	hide(fs, "net")
	fs.Var(listFlag(&n.Aliases, "list"), "network-alias", "Add network-scoped alias for the container")
	fs.Var(listFlag(&n.Aliases, "list"), "net-alias", "Add network-scoped alias for the container")
	hide(fs, "net-alias")
	fs.StringArrayVar(&n.Links, "link", nil, "Add link to another container")
	fs.StringVar(&n.IP, "ip", "", "IPv4 address (e.g., 172.30.100.104)")
	fs.StringVar(&n.IP6, "ip6", "", "IPv6 address (e.g., 2001:db8::33)")
	fs.StringArrayVar(&n.LinkLocalIPs, "link-local-ip", nil, "Container IPv4/IPv6 link-local addresses")
	fs.StringVar(&n.MacAddress, "mac-address", "", "Container MAC address (e.g., 92:d0:c6:0a:29:33)")
	fs.StringArrayVarP(&n.Publish, "publish", "p", nil, "Publish a container's port(s) to the host")
	fs.BoolVarP(&n.PublishAll, "publish-all", "P", false, "Publish all exposed ports to random ports")
	fs.StringArrayVar(&n.Expose, "expose", nil, "Expose a port or a range of ports")
	fs.StringArrayVar(&n.ExtraHosts, "add-host", nil, "Add a custom host-to-IP mapping (host:ip)")
	fs.StringArrayVar(&n.DNS, "dns", nil, "Set custom DNS servers")
	fs.StringArrayVar(&n.DNSSearch, "dns-search", nil, "Set custom DNS search domains")
	fs.Var(listFlag(&n.DNSOptions, "list"), "dns-option", "Set DNS options")
	fs.Var(listFlag(&n.DNSOptions, "list"), "dns-opt", "Set DNS options")
	hide(fs, "dns-opt")
}

// sysctlFlag is --sysctl NAME=VALUE, checked as the docker CLI does.
type sysctlFlag struct{ m *map[string]string }

func (v sysctlFlag) Set(s string) error {
	k, val, err := opts.ValidateSysctlFlag(s)
	if err != nil {
		return err
	}
	if *v.m == nil {
		*v.m = map[string]string{}
	}
	(*v.m)[k] = val
	return nil
}
func (v sysctlFlag) String() string { return "" }
func (v sysctlFlag) Type() string   { return "map" }

// listFlag is a repeatable flag whose values are appended to *values, so
// that two names (--network and --net) can share one list.
func listFlag(values *[]string, typ string) pflag.Value {
	return &appendValue{values: values, typ: typ}
}

type appendValue struct {
	values *[]string
	typ    string
}

func (v *appendValue) Set(s string) error { *v.values = append(*v.values, s); return nil }
func (v *appendValue) String() string     { return "" }
func (v *appendValue) Type() string       { return v.typ }

// options turns the flags and arguments (IMAGE [COMMAND] [ARG...]) into
// the API's container configuration.
func (f *runFlags) options(fs *pflag.FlagSet, args []string) (cli.RunOptions, error) {
	cfg := &container.Config{
		Image:        args[0],
		Cmd:          args[1:],
		Hostname:     f.hostname,
		User:         f.user,
		WorkingDir:   f.workdir,
		Tty:          f.tty,
		OpenStdin:    f.interactive,
		StdinOnce:    f.interactive && !f.detach,
		AttachStdin:  f.interactive && !f.detach,
		AttachStdout: !f.detach,
		AttachStderr: !f.detach,
		StopSignal:   f.stopSignal,
		Labels:       map[string]string{},
	}
	if len(cfg.Cmd) == 0 {
		cfg.Cmd = nil
	}
	if fs.Changed("stop-timeout") {
		t := f.stopTimeout
		cfg.StopTimeout = &t
	}
	health, err := f.health.config()
	if err != nil {
		return cli.RunOptions{}, err
	}
	cfg.Healthcheck = health
	if fs.Changed("entrypoint") {
		if f.entry == "" {
			cfg.Entrypoint = []string{""}
		} else {
			cfg.Entrypoint = []string{f.entry}
		}
	}
	for _, path := range f.envFile {
		vars, err := opts.ParseEnvFile(path, os.LookupEnv)
		if err != nil {
			return cli.RunOptions{}, err
		}
		cfg.Env = append(cfg.Env, vars...)
	}
	for _, e := range f.env {
		vars, err := expandEnv(e)
		if err != nil {
			return cli.RunOptions{}, err
		}
		cfg.Env = append(cfg.Env, vars...)
	}
	for _, l := range f.labels {
		k, v, _ := strings.Cut(l, "=")
		cfg.Labels[k] = v
	}
	hc := &container.HostConfig{
		AutoRemove:     f.rm,
		ReadonlyRootfs: f.readOnly,
	}
	netCfg, err := f.net.Apply(cfg, hc)
	if err != nil {
		return cli.RunOptions{}, err
	}
	hc.Privileged, hc.CapAdd, hc.CapDrop = f.privileged, f.capAdd, f.capDrop
	for _, o := range f.securityOpts {
		// As docker: a seccomp profile file is sent as its content.
		if v, ok := strings.CutPrefix(o, "seccomp="); ok && v != "unconfined" && v != "builtin" {
			b, err := os.ReadFile(v)
			if err != nil {
				return cli.RunOptions{}, fmt.Errorf("opening seccomp profile (%s) failed: %w", v, err)
			}
			o = "seccomp=" + string(b)
		}
		hc.SecurityOpt = append(hc.SecurityOpt, o)
	}
	res, err := f.res.resources(fs)
	if err != nil {
		return cli.RunOptions{}, err
	}
	hc.Resources = res
	hc.LogConfig.Type = f.logDriver
	if hc.LogConfig.Config, err = opts.ParseLogOpts(f.logDriver, f.logOpts); err != nil {
		return cli.RunOptions{}, err
	}
	hc.Sysctls = f.sysctls
	if fs.Changed("init") {
		init := f.init
		hc.Init = &init
	}
	rp, err := parseRestart(f.restart)
	if err != nil {
		return cli.RunOptions{}, err
	}
	hc.RestartPolicy = rp
	for _, u := range f.ulimits {
		ul, err := units.ParseUlimit(u)
		if err != nil {
			return cli.RunOptions{}, cli.NewFlagError("--ulimit", u, err)
		}
		hc.Ulimits = append(hc.Ulimits, &container.Ulimit{Name: ul.Name, Soft: ul.Soft, Hard: ul.Hard})
	}
	for _, v := range f.volumes {
		if err := opts.CheckVolumeFlag(v); err != nil {
			return cli.RunOptions{}, err
		}
	}
	hc.Binds = f.volumes
	hc.VolumesFrom = f.volumesFrom
	for _, m := range f.mounts {
		parsed, err := cli.ParseMount(m)
		if err != nil {
			return cli.RunOptions{}, cli.NewFlagError("--mount", m, err)
		}
		hc.Mounts = append(hc.Mounts, parsed)
	}
	for _, t := range f.tmpfs {
		dst, opts, _ := strings.Cut(t, ":")
		if hc.Tmpfs == nil {
			hc.Tmpfs = map[string]string{}
		}
		hc.Tmpfs[dst] = opts
	}
	if fs.Changed("shm-size") {
		n, err := opts.ParseSize(f.shmSize)
		if err != nil {
			return cli.RunOptions{}, cli.NewFlagError(flagName(fs, "shm-size"), f.shmSize, err)
		}
		hc.ShmSize = n
	}
	return cli.RunOptions{Config: cfg, HostConfig: hc, NetworkingConfig: netCfg, Name: f.name, Detach: f.detach, DetachKeys: f.detachKeys}, nil
}

// expandEnv is -e: "KEY=VAL" as given, "KEY" takes the value from our
// environment (and is dropped when unset); a value without a name is
// refused with docker's message.
func expandEnv(e string) ([]string, error) {
	v, err := opts.ValidateEnv(e, os.LookupEnv)
	if err != nil {
		return nil, cli.NewFlagError("-e, --env", e, err)
	}
	if !strings.Contains(v, "=") {
		return nil, nil
	}
	return []string{v}, nil
}

// flagName is a flag as docker's messages name it: "-m, --memory", or
// "--cpus" when it has no shorthand.
func flagName(fs *pflag.FlagSet, name string) string {
	if f := fs.Lookup(name); f != nil && f.Shorthand != "" {
		return "-" + f.Shorthand + ", --" + name
	}
	return "--" + name
}

func init() {
	var rf, cf runFlags
	register("run", &command{
		usage: "run [OPTIONS] IMAGE [COMMAND] [ARG...]", short: "Create and run a new container from an image",
		noInterspersed: true, minArgs: 1, maxArgs: -1,
		flags: func(fs *pflag.FlagSet) { rf.register(fs, true) },
		run: func(ctx context.Context, fs *pflag.FlagSet, args []string) error {
			opt, err := rf.options(fs, args)
			if err != nil {
				return err // printed as docker run prints it, exit 125
			}
			c, err := connect(ctx)
			if err != nil {
				return &cli.StatusError{Code: 125, Msg: err.Error()}
			}
			return c.Run(ctx, opt)
		},
	})
	register("create", &command{
		usage: "create [OPTIONS] IMAGE [COMMAND] [ARG...]", short: "Create a new container",
		noInterspersed: true, minArgs: 1, maxArgs: -1,
		flags: func(fs *pflag.FlagSet) { cf.register(fs, false) },
		run: func(ctx context.Context, fs *pflag.FlagSet, args []string) error {
			opt, err := cf.options(fs, args)
			if err != nil {
				return err // printed as docker create prints it, exit 125
			}
			c, err := connect(ctx)
			if err != nil {
				return &cli.StatusError{Code: 125, Msg: err.Error()}
			}
			opt.Config.AttachStdin = opt.Config.OpenStdin
			opt.Config.StdinOnce = opt.Config.OpenStdin
			id, err := c.Create(ctx, opt)
			if err != nil {
				// As docker create: the engine's refusal as it is,
				// without the help line, and exit 1.
				fmt.Fprintln(os.Stderr, err)
				return &cli.StatusError{Code: 1}
			}
			fmt.Println(id)
			return nil
		},
	})
}

// parseRestart reads --restart: no, always, unless-stopped, on-failure[:N].
func parseRestart(v string) (container.RestartPolicy, error) {
	name, count, hasCount := strings.Cut(v, ":")
	rp := container.RestartPolicy{Name: container.RestartPolicyMode(name)}
	if hasCount {
		n, err := strconv.Atoi(count)
		if err != nil {
			return rp, fmt.Errorf("invalid restart policy format: maximum retry count must be an integer")
		}
		rp.MaximumRetryCount = n
	}
	return rp, nil
}
