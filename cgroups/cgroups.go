// Package cgroups applies container resource limits through cgroup v2 (a
// delegated subtree) or cgroup v1 (per-controller hierarchies, including a
// subtree delegated to a user by chown).
//
// A Manager is stateless: everything it knows about a container is in the
// cgroup filesystem, so a restarted engine finds its containers' cgroups
// again. It never ignores a limit it was asked to set: when a controller or
// an interface file is missing, Create and Update fail with an error that
// names the docker flag (--memory, --cpus, ...), the reason and the fix, and
// that wraps ErrNotDelegated or ErrNotSupported.
package cgroups

import (
	"errors"
	"fmt"
)

// Errors that a Manager's methods wrap; check them with errors.Is.
var (
	// ErrNotDelegated means a limit needs a controller that exists on the
	// host but that this (rootless) user may not use: cgroup v2 without the
	// controller delegated by systemd, or cgroup v1 without the subtree that
	// `skiff system cgroup-setup --user NAME` makes.
	ErrNotDelegated = errors.New("cgroup controller not delegated")
	// ErrNotSupported means the host cannot apply a limit at all: the
	// controller is not mounted or enabled, or the kernel lacks the file
	// (e.g. swap accounting is off, so there is no memory.swap.max).
	ErrNotSupported = errors.New("cgroup feature not supported")
	// ErrNotFound means the container has no cgroup (Create was not called,
	// or Destroy already was).
	ErrNotFound = errors.New("no such cgroup")
)

// Resources are a container's limits, with Docker's HostConfig semantics
// and units. The zero value means "no limits". Update takes the complete,
// merged set: a zero field there resets that limit to the default.
type Resources struct {
	// Memory is the memory limit in bytes (--memory); 0 means unlimited.
	Memory int64
	// MemorySwap is the limit of memory plus swap in bytes (--memory-swap):
	// -1 is unlimited swap, 0 is unset, which with Memory set means Docker's
	// default of twice Memory (as much swap as memory).
	MemorySwap int64
	// MemoryReservation is the soft limit in bytes (--memory-reservation):
	// memory.low on v2, memory.soft_limit_in_bytes on v1; 0 means none.
	MemoryReservation int64
	// OomKillDisable disables the OOM killer (--oom-kill-disable); v1 only,
	// nil leaves the kernel's default.
	OomKillDisable *bool
	// CPUShares is the relative CPU weight (--cpu-shares); 0 means the
	// default, 1024. On v2 it becomes cpu.weight.
	CPUShares int64
	// CPUPeriod is the CFS period in microseconds (--cpu-period); 0 means
	// 100000.
	CPUPeriod int64
	// CPUQuota is the CFS quota in microseconds per period (--cpu-quota);
	// 0 or -1 means unlimited.
	CPUQuota int64
	// NanoCPUs is the CPU limit in units of 1e-9 CPUs (--cpus, 1e9 = one
	// CPU); it becomes a quota over a period of 100000 µs and excludes
	// CPUPeriod and CPUQuota.
	NanoCPUs int64
	// CpusetCpus lists the CPUs the container may use (--cpuset-cpus), as
	// "0-2,4"; empty means all of the parent's.
	CpusetCpus string
	// CpusetMems lists the memory nodes (--cpuset-mems); empty means all of
	// the parent's.
	CpusetMems string
	// PidsLimit caps the number of tasks (--pids-limit); nil, 0 or less
	// means unlimited.
	PidsLimit *int64
	// BlkioWeight is the relative block I/O weight, 10 to 1000
	// (--blkio-weight); 0 means the default. On v2 it becomes io.weight (or
	// io.bfq.weight, unconverted, when BFQ provides it).
	BlkioWeight uint16
	// BlkioDeviceReadBps caps reads in bytes per second per device
	// (--device-read-bps).
	BlkioDeviceReadBps []ThrottleDevice
	// BlkioDeviceWriteBps caps writes in bytes per second per device
	// (--device-write-bps).
	BlkioDeviceWriteBps []ThrottleDevice
	// BlkioDeviceReadIOps caps read operations per second per device
	// (--device-read-iops).
	BlkioDeviceReadIOps []ThrottleDevice
	// BlkioDeviceWriteIOps caps write operations per second per device
	// (--device-write-iops).
	BlkioDeviceWriteIOps []ThrottleDevice
}

// ThrottleDevice is one block device's rate limit. The caller resolves the
// device path with DeviceNumbers.
type ThrottleDevice struct {
	// Major and Minor are the block device's numbers.
	Major, Minor int64
	// Rate is bytes or operations per second; 0 removes the limit.
	Rate uint64
}

// Stats are a container's resource usage, read from its cgroup. A value
// whose controller the manager cannot use is 0.
type Stats struct {
	// MemoryUsage is the memory charged to the container in bytes
	// (memory.current; v1 memory.usage_in_bytes), page cache included.
	MemoryUsage uint64
	// MemoryLimit is the memory limit in bytes; 0 means unlimited.
	MemoryLimit uint64
	// MemoryCache is the page cache part of MemoryUsage (memory.stat
	// "file"; v1 "total_cache").
	MemoryCache uint64
	// MemoryInactiveFile is the reclaimable inactive page cache, which the
	// docker CLI subtracts from the usage it shows (memory.stat
	// "inactive_file"; v1 "total_inactive_file").
	MemoryInactiveFile uint64
	// CPUUsage is the total CPU time in nanoseconds (cpu.stat usage_usec;
	// v1 cpuacct.usage).
	CPUUsage uint64
	// PidsCurrent is the number of tasks.
	PidsCurrent uint64
	// BlkioRead and BlkioWrite are bytes read and written, summed over
	// devices (io.stat; v1 blkio.throttle.io_service_bytes_recursive).
	BlkioRead, BlkioWrite uint64
}

// Capabilities says which limits a Manager can apply, for `skiff info`.
type Capabilities struct {
	// Memory: --memory, --memory-reservation.
	Memory bool
	// MemorySwap: --memory-swap (memory.swap.max; v1 memory.memsw.*).
	MemorySwap bool
	// CPU: --cpus, --cpu-quota, --cpu-period, --cpu-shares.
	CPU bool
	// Cpuset: --cpuset-cpus, --cpuset-mems.
	Cpuset bool
	// Pids: --pids-limit.
	Pids bool
	// IO: --blkio-weight and --device-{read,write}-{bps,iops} (io on v2,
	// blkio on v1).
	IO bool
	// Freezer: pause and unpause.
	Freezer bool
	// Hint explains what is missing and how to get it; empty when nothing
	// is.
	Hint string
}

// Manager creates and controls containers' cgroups below one parent. A
// container's cgroup is named by the name given to Create, a single path
// element (the container's ID). A Manager MUST be safe for concurrent use;
// the implementations keep no state besides their Options.
type Manager interface {
	// Create makes the container's cgroup (one per v1 hierarchy) and writes
	// the limits. On any error it removes what it made, and it fails rather
	// than leave a requested limit unset. An existing cgroup of that name
	// (left by a crash) is reused. With no limits requested and no usable
	// controller (rootless without delegation) it makes nothing and
	// succeeds: the container then runs without a cgroup of its own.
	Create(name string, r Resources) error
	// Add moves the process pid (all its threads) into the container's
	// cgroup(s), writing cgroup.procs. On v1 the caller's euid must match
	// the process's, so a process joins before it switches user.
	Add(name string, pid int) error
	// Update writes r, the complete new set of limits, to an existing
	// cgroup; zero fields reset to the defaults.
	Update(name string, r Resources) error
	// Stats reads the container's current usage.
	Stats(name string) (Stats, error)
	// OOMKilled reports whether the kernel's OOM killer has killed a process
	// in the container's cgroup (v2 memory.events oom_kill; v1
	// memory.oom_control oom_kill, or memory.failcnt > 0 on kernels before
	// 4.13 that lack it, which also counts a limit hit without a kill).
	OOMKilled(name string) (bool, error)
	// Freeze stops every process in the container and returns once they all
	// are (v2 cgroup.freeze; v1 freezer.state FROZEN).
	Freeze(name string) error
	// Thaw resumes the processes that Freeze stopped.
	Thaw(name string) error
	// Pids lists the processes in the container's cgroup and its
	// descendants, in no particular order.
	Pids(name string) ([]int, error)
	// Destroy removes the container's cgroup(s), including child cgroups
	// the container made. It kills nothing: processes must be gone (it
	// retries briefly while the kernel still reports EBUSY). Destroying a
	// cgroup that does not exist is not an error.
	Destroy(name string) error
	// ProcsFiles are the cgroup.procs files of the container's cgroup(s):
	// a process that writes "0" to each joins them itself (an exec does, in
	// the container, before it switches user). None when Create made nothing.
	ProcsFiles(name string) []string
	// Available reports which limits this manager can apply.
	Available() Capabilities
	// Version is 1 or 2.
	Version() int
}

// Options configure Detect. The zero value is root mode on /sys/fs/cgroup.
type Options struct {
	// Root is where the cgroup filesystem is mounted: the cgroup2 mount, or
	// the directory holding the v1 hierarchies' mounts. The default value is
	// "/sys/fs/cgroup".
	Root string
	// Parent is the cgroup, relative to the hierarchy's root, under which
	// containers' cgroups are made. The default is "skiff" as root (made on
	// first use); rootless on v2 the engine's own cgroup (from
	// /proc/self/cgroup), whose processes move to a leaf child "engine" so
	// that it may enable controllers for its children; rootless on v1
	// "skiff-USER", which root makes with SetupUserV1.
	Parent string
	// Rootless selects the rootless defaults and error hints: nothing is
	// made above Parent, and a controller is usable only when delegated.
	Rootless bool
	// UID is the user's uid on the host, used rootless to name the v1
	// subtree and in hints; 0 means os.Getuid(). Inside rootlesskit's user
	// namespace os.Getuid() is 0, so pass the host uid there.
	UID int
}

// controller names, as cgroup v2 spells them (blkio is "io").
const (
	ctlMemory  = "memory"
	ctlCPU     = "cpu"
	ctlCpuset  = "cpuset"
	ctlPids    = "pids"
	ctlIO      = "io"
	ctlFreezer = "freezer"
)

// Limited reports whether r asks for any limit (anything a cgroup
// controller must apply).
func (r Resources) Limited() bool { return len(needs(r)) > 0 }

// need is a controller that a requested limit uses, with the flag that
// requested it first, for error messages.
type need struct {
	controller string
	flag       string
}

// needs lists the controllers r's non-default limits use, each once, in a
// fixed order.
func needs(r Resources) []need {
	var out []need
	add := func(ctl, flag string, set bool) {
		if !set {
			return
		}
		for _, n := range out {
			if n.controller == ctl {
				return
			}
		}
		out = append(out, need{ctl, flag})
	}
	add(ctlMemory, "--memory", r.Memory != 0)
	add(ctlMemory, "--memory-swap", r.MemorySwap > 0)
	add(ctlMemory, "--memory-reservation", r.MemoryReservation != 0)
	add(ctlMemory, "--oom-kill-disable", r.OomKillDisable != nil && *r.OomKillDisable)
	add(ctlCPU, "--cpus", r.NanoCPUs != 0)
	add(ctlCPU, "--cpu-quota", r.CPUQuota > 0)
	add(ctlCPU, "--cpu-period", r.CPUPeriod != 0)
	add(ctlCPU, "--cpu-shares", r.CPUShares != 0)
	add(ctlCpuset, "--cpuset-cpus", r.CpusetCpus != "")
	add(ctlCpuset, "--cpuset-mems", r.CpusetMems != "")
	add(ctlPids, "--pids-limit", r.PidsLimit != nil && *r.PidsLimit > 0)
	add(ctlIO, "--blkio-weight", r.BlkioWeight != 0)
	add(ctlIO, "--device-read-bps", len(r.BlkioDeviceReadBps) > 0)
	add(ctlIO, "--device-write-bps", len(r.BlkioDeviceWriteBps) > 0)
	add(ctlIO, "--device-read-iops", len(r.BlkioDeviceReadIOps) > 0)
	add(ctlIO, "--device-write-iops", len(r.BlkioDeviceWriteIOps) > 0)
	return out
}

// limitError is the error for a limit that cannot be applied. It reads
// "--memory needs a delegated memory cgroup: run as root: skiff system
// cgroup-setup --user alice" and matches its sentinel with errors.Is.
type limitError struct {
	flag   string // "--memory"
	reason string // "needs a delegated memory cgroup"
	fix    string // what to do; may be empty
	err    error  // ErrNotDelegated or ErrNotSupported
}

func (e *limitError) Error() string {
	s := e.flag + " " + e.reason
	if e.fix != "" {
		s += ": " + e.fix
	}
	return s
}

func (e *limitError) Unwrap() error { return e.err }

// checkName refuses names that are not a single path element.
func checkName(name string) error {
	if name == "" || name == "." || name == ".." {
		return fmt.Errorf("invalid cgroup name %q", name)
	}
	for i := 0; i < len(name); i++ {
		if name[i] == '/' || name[i] == 0 {
			return fmt.Errorf("invalid cgroup name %q", name)
		}
	}
	return nil
}
