package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	units "github.com/docker/go-units"
	"github.com/moby/moby/api/types/blkiodev"
	"github.com/moby/moby/api/types/container"
	"github.com/skiff-dev/skiff/cli"
	"github.com/skiff-dev/skiff/opts"
	"github.com/spf13/pflag"
)

// resourceFlags are the cgroup limits of run, create and update.
type resourceFlags struct {
	memory, memorySwap, memoryReservation  string
	oomKillDisable                         bool
	cpuShares, cpuPeriod, cpuQuota         int64
	cpus                                   string
	cpusetCpus, cpusetMems                 string
	pidsLimit                              int64
	blkioWeight                            uint16
	readBps, writeBps, readIOps, writeIOps []string
}

func (f *resourceFlags) register(fs *pflag.FlagSet, withDevices bool) {
	fs.StringVarP(&f.memory, "memory", "m", "", "Memory limit")
	fs.StringVar(&f.memorySwap, "memory-swap", "", "Swap limit equal to memory plus swap: '-1' to enable unlimited swap")
	fs.StringVar(&f.memoryReservation, "memory-reservation", "", "Memory soft limit")
	fs.Int64VarP(&f.cpuShares, "cpu-shares", "c", 0, "CPU shares (relative weight)")
	fs.Int64Var(&f.cpuPeriod, "cpu-period", 0, "Limit CPU CFS (Completely Fair Scheduler) period")
	fs.Int64Var(&f.cpuQuota, "cpu-quota", 0, "Limit CPU CFS (Completely Fair Scheduler) quota")
	fs.StringVar(&f.cpus, "cpus", "", "Number of CPUs")
	fs.StringVar(&f.cpusetCpus, "cpuset-cpus", "", "CPUs in which to allow execution (0-3, 0,1)")
	fs.StringVar(&f.cpusetMems, "cpuset-mems", "", "MEMs in which to allow execution (0-3, 0,1)")
	fs.Int64Var(&f.pidsLimit, "pids-limit", 0, "Tune container pids limit (set -1 for unlimited)")
	fs.Uint16Var(&f.blkioWeight, "blkio-weight", 0, "Block IO (relative weight), between 10 and 1000, or 0 to disable")
	if withDevices {
		fs.BoolVar(&f.oomKillDisable, "oom-kill-disable", false, "Disable OOM Killer")
		fs.StringArrayVar(&f.readBps, "device-read-bps", nil, "Limit read rate (bytes per second) from a device")
		fs.StringArrayVar(&f.writeBps, "device-write-bps", nil, "Limit write rate (bytes per second) to a device")
		fs.StringArrayVar(&f.readIOps, "device-read-iops", nil, "Limit read rate (IO per second) from a device")
		fs.StringArrayVar(&f.writeIOps, "device-write-iops", nil, "Limit write rate (IO per second) to a device")
	}
}

// memBytes reads a size flag as docker's MemBytes does; --memory-swap
// also takes -1 (unlimited). A flag not given is 0; one given empty is
// refused.
func memBytes(fs *pflag.FlagSet, flag, v string) (int64, error) {
	if !fs.Changed(flag) {
		return 0, nil
	}
	if v == "-1" && flag == "memory-swap" {
		return -1, nil
	}
	n, err := opts.ParseSize(v)
	if err != nil {
		return 0, cli.NewFlagError(flagName(fs, flag), v, err)
	}
	return n, nil
}

// nanoCPUs parses --cpus as docker does (a rational number, in
// billionths of a CPU).
func nanoCPUs(fs *pflag.FlagSet, v string) (int64, error) {
	if !fs.Changed("cpus") {
		return 0, nil
	}
	n, err := opts.ParseCPUs(v)
	if err != nil {
		return 0, cli.NewFlagError("--cpus", v, err)
	}
	return n, nil
}

func throttles(flag string, vals []string, iops bool) ([]*blkiodev.ThrottleDevice, error) {
	var out []*blkiodev.ThrottleDevice
	for _, v := range vals {
		path, rate, ok := strings.Cut(v, ":")
		if !ok || !strings.HasPrefix(path, "/dev/") {
			return nil, fmt.Errorf("invalid argument %q for \"--%s\" flag: bad format: %s", v, flag, v)
		}
		var n int64
		var err error
		if iops {
			n, err = strconv.ParseInt(rate, 10, 64)
		} else {
			n, err = units.RAMInBytes(rate)
		}
		if err != nil || n < 0 {
			return nil, fmt.Errorf("invalid argument %q for \"--%s\" flag: invalid rate for device: %s. The correct format is <device-path>:<number>[<unit>]. Number must be a positive integer. Unit is optional and can be kb, mb, or gb", v, flag, v)
		}
		out = append(out, &blkiodev.ThrottleDevice{Path: path, Rate: uint64(n)})
	}
	return out, nil
}

func (f *resourceFlags) resources(fs *pflag.FlagSet) (container.Resources, error) {
	var r container.Resources
	var err error
	if r.Memory, err = memBytes(fs, "memory", f.memory); err != nil {
		return r, err
	}
	if r.MemorySwap, err = memBytes(fs, "memory-swap", f.memorySwap); err != nil {
		return r, err
	}
	if r.MemoryReservation, err = memBytes(fs, "memory-reservation", f.memoryReservation); err != nil {
		return r, err
	}
	if r.NanoCPUs, err = nanoCPUs(fs, f.cpus); err != nil {
		return r, err
	}
	r.CPUShares, r.CPUPeriod, r.CPUQuota = f.cpuShares, f.cpuPeriod, f.cpuQuota
	r.CpusetCpus, r.CpusetMems, r.BlkioWeight = f.cpusetCpus, f.cpusetMems, f.blkioWeight
	if fs.Changed("pids-limit") {
		p := f.pidsLimit
		r.PidsLimit = &p
	}
	if fs.Changed("oom-kill-disable") {
		b := f.oomKillDisable
		r.OomKillDisable = &b
	}
	if r.BlkioDeviceReadBps, err = throttles("device-read-bps", f.readBps, false); err != nil {
		return r, err
	}
	if r.BlkioDeviceWriteBps, err = throttles("device-write-bps", f.writeBps, false); err != nil {
		return r, err
	}
	if r.BlkioDeviceReadIOps, err = throttles("device-read-iops", f.readIOps, true); err != nil {
		return r, err
	}
	if r.BlkioDeviceWriteIOps, err = throttles("device-write-iops", f.writeIOps, true); err != nil {
		return r, err
	}
	return r, nil
}

func init() {
	for _, verb := range []string{"pause", "unpause"} {
		pause := verb == "pause"
		short := "Pause all processes within one or more containers"
		if !pause {
			short = "Unpause all processes within one or more containers"
		}
		register(verb, &command{
			usage: verb + " CONTAINER [CONTAINER...]", short: short, minArgs: 1, maxArgs: -1,
			run: withCLI(func(ctx context.Context, c *cli.CLI, args []string) error { return c.Pause(ctx, args, pause) }),
		})
	}

	var uf resourceFlags
	var restart string
	register("update", &command{
		usage: "update [OPTIONS] CONTAINER [CONTAINER...]", short: "Update configuration of one or more containers",
		minArgs: 1, maxArgs: -1,
		flags: func(fs *pflag.FlagSet) {
			uf.register(fs, false)
			fs.StringVar(&restart, "restart", "", "Restart policy to apply when a container exits")
		},
		run: func(ctx context.Context, fs *pflag.FlagSet, args []string) error {
			r, err := uf.resources(fs)
			if err != nil {
				var fe *cli.FlagError
				if errors.As(err, &fe) {
					return err // with the usage, exit 125, as docker's
				}
				return &cli.StatusError{Code: 1, Msg: err.Error()}
			}
			var rp *container.RestartPolicy
			if restart != "" {
				p, err := parseRestart(restart)
				if err != nil {
					return &cli.StatusError{Code: 1, Msg: err.Error()}
				}
				rp = &p
			}
			c, err := connect(ctx)
			if err != nil {
				return err
			}
			return c.Update(ctx, args, r, rp)
		},
	})

	var noStream, all bool
	var format string
	register("stats", &command{
		usage: "stats [OPTIONS] [CONTAINER...]", short: "Display a live stream of container(s) resource usage statistics",
		maxArgs: -1,
		flags: func(fs *pflag.FlagSet) {
			fs.BoolVar(&noStream, "no-stream", false, "Disable streaming stats and only pull the first result")
			fs.BoolVarP(&all, "all", "a", false, "Show all containers (default shows just running)")
			fs.StringVar(&format, "format", "", "Format output using a custom template")
		},
		run: withCLI(func(ctx context.Context, c *cli.CLI, args []string) error {
			for {
				if err := c.Stats(ctx, args, all, format); err != nil || noStream {
					return err
				}
			}
		}),
	})

	var setupUser string
	register("system-cgroup-setup", &command{
		usage: "system cgroup-setup --user NAME", short: "Delegate a cgroup v1 subtree to a user (run as root)", maxArgs: 0,
		flags: func(fs *pflag.FlagSet) { fs.StringVar(&setupUser, "user", "", "The user to delegate to") },
		run: func(_ context.Context, _ *pflag.FlagSet, _ []string) error {
			if setupUser == "" {
				return &cli.StatusError{Code: 1, Msg: "--user is required"}
			}
			return cli.CgroupSetup(setupUser)
		},
	})
}
