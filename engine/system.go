package engine

import (
	"context"
	"os"
	goruntime "runtime"
	"strconv"
	"strings"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/system"
	"golang.org/x/sys/unix"
)

func kernelVersion() string {
	var u unix.Utsname
	if unix.Uname(&u) != nil {
		return ""
	}
	return unix.ByteSliceToString(u.Release[:])
}

// Version implements api.SystemService.
func (e *Engine) Version(context.Context) system.VersionResponse {
	v := system.VersionResponse{
		Platform:      system.PlatformInfo{Name: "skiff"},
		Version:       Version,
		APIVersion:    APIVersion,
		MinAPIVersion: "1.24",
		Os:            "linux",
		Arch:          goruntime.GOARCH,
		GoVersion:     goruntime.Version(),
		KernelVersion: kernelVersion(),
		Components: []system.ComponentVersion{{
			Name: "Engine", Version: Version,
			Details: map[string]string{"ApiVersion": APIVersion, "MinAPIVersion": "1.24", "Os": "linux", "Arch": goruntime.GOARCH,
				"GoVersion": goruntime.Version(), "KernelVersion": kernelVersion(), "GitCommit": "", "Experimental": "false"},
		}},
	}
	return v
}

// Info implements api.SystemService.
func (e *Engine) Info(context.Context) system.Info {
	var running, paused, stopped int
	for _, c := range e.list() {
		c.mu.Lock()
		switch c.rec.State.Status {
		case container.StateRunning:
			running++
		case container.StatePaused:
			paused++
		default:
			stopped++
		}
		c.mu.Unlock()
	}
	imgs, _ := e.images.List()
	host, _ := os.Hostname()
	var si unix.Sysinfo_t
	if err := unix.Sysinfo(&si); err != nil {
		e.log.Printf("info: sysinfo: %v (MemTotal reads 0)", err)
	}
	var opts []string
	if e.opt.Paths.Rootless {
		opts = append(opts, "name=rootless")
	}
	cgroupVersion := "1"
	if _, err := os.Stat("/sys/fs/cgroup/cgroup.controllers"); err == nil {
		cgroupVersion = "2"
	}
	info := system.Info{
		ID:                 "skiff",
		Containers:         running + paused + stopped,
		ContainersRunning:  running,
		ContainersPaused:   paused,
		ContainersStopped:  stopped,
		Images:             len(imgs),
		Driver:             e.images.Driver,
		DriverStatus:       [][2]string{{"Backing Filesystem", "extfs"}},
		LoggingDriver:      "json-file",
		CgroupDriver:       "cgroupfs",
		CgroupVersion:      cgroupVersion,
		KernelVersion:      kernelVersion(),
		OperatingSystem:    osName(),
		OSType:             "linux",
		Architecture:       goruntime.GOARCH,
		NCPU:               goruntime.NumCPU(),
		MemTotal:           int64(si.Totalram) * int64(si.Unit),
		DockerRootDir:      e.opt.Paths.DataDir,
		Name:               host,
		ServerVersion:      Version,
		SecurityOptions:    opts,
		IndexServerAddress: "https://index.docker.io/v1/",
		DefaultRuntime:     "skiff",
		IPv4Forwarding:     true,
		Plugins: system.PluginsInfo{
			Volume:  []string{"local"},
			Network: []string{"bridge", "host", "null"},
			Log:     []string{"awslogs", "fluentd", "json-file", "local", "none", "syslog"},
		},
	}
	if e.cgroupErr == nil {
		a := e.cgroups.Available()
		info.MemoryLimit, info.SwapLimit = a.Memory, a.MemorySwap
		info.CPUCfsPeriod, info.CPUCfsQuota, info.CPUShares, info.CPUSet = a.CPU, a.CPU, a.CPU, a.Cpuset
		info.PidsLimit, info.OomKillDisable = a.Pids, a.Memory
		info.CgroupVersion = strconv.Itoa(e.cgroups.Version())
		if a.Hint != "" && (!a.Memory || !a.CPU || !a.Pids) {
			info.Warnings = append(info.Warnings, "WARNING: resource limits are not all available: "+a.Hint)
		}
	} else {
		info.Warnings = append(info.Warnings, "WARNING: no resource limits: "+e.cgroupErr.Error())
	}
	return info
}

func osName() string {
	b, err := os.ReadFile("/etc/os-release")
	if err != nil {
		return "Linux"
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "PRETTY_NAME="); ok {
			return strings.Trim(v, `"`)
		}
	}
	return "Linux"
}
