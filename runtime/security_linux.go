package runtime

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/moby/sys/capability"
	"golang.org/x/sys/unix"
)

// defaultCaps is Docker's default capability set.
var defaultCaps = []capability.Cap{
	capability.CAP_CHOWN, capability.CAP_DAC_OVERRIDE, capability.CAP_FSETID, capability.CAP_FOWNER,
	capability.CAP_MKNOD, capability.CAP_NET_RAW, capability.CAP_SETGID, capability.CAP_SETUID,
	capability.CAP_SETFCAP, capability.CAP_SETPCAP, capability.CAP_NET_BIND_SERVICE, capability.CAP_SYS_CHROOT,
	capability.CAP_KILL, capability.CAP_AUDIT_WRITE,
}

// CapabilitySet is Docker's default set changed by --cap-add and
// --cap-drop (names with or without CAP_, any case, or ALL), or every
// capability with --privileged.
func CapabilitySet(add, drop []string, privileged bool) ([]capability.Cap, error) {
	all := capability.ListKnown()
	last, err := capability.LastCap()
	if err == nil {
		known := all[:0:0]
		for _, c := range all {
			if c <= last {
				known = append(known, c)
			}
		}
		all = known
	}
	if privileged {
		return all, nil
	}
	set := map[capability.Cap]bool{}
	for _, c := range defaultCaps {
		set[c] = true
	}
	byName := map[string]capability.Cap{}
	for _, c := range all {
		byName[strings.ToUpper(c.String())] = c
	}
	parse := func(flag, name string) ([]capability.Cap, error) {
		n := strings.TrimPrefix(strings.ToUpper(name), "CAP_")
		if n == "ALL" {
			return all, nil
		}
		c, ok := byName[n]
		if !ok {
			return nil, fmt.Errorf("invalid %s: unknown capability: %q", flag, "CAP_"+n)
		}
		return []capability.Cap{c}, nil
	}
	for _, name := range drop {
		cs, err := parse("CapDrop", name)
		if err != nil {
			return nil, err
		}
		for _, c := range cs {
			delete(set, c)
		}
	}
	for _, name := range add {
		cs, err := parse("CapAdd", name)
		if err != nil {
			return nil, err
		}
		for _, c := range cs {
			set[c] = true
		}
	}
	out := make([]capability.Cap, 0, len(set))
	for _, c := range all {
		if set[c] {
			out = append(out, c)
		}
	}
	return out, nil
}

// setCapabilities leaves the calling thread (init locks itself to one)
// exactly caps: in the bounding, permitted, effective and inheritable
// sets. A non-root user loses the permitted and effective ones at setuid,
// as with Docker.
func setCapabilities(caps []capability.Cap) error {
	c, err := capability.NewPid2(0)
	if err != nil {
		return err
	}
	if err := c.Load(); err != nil {
		return err
	}
	// Never more than this process has (rootless: the user namespace's;
	// as root, what the host gave root).
	have := caps[:0:0]
	for _, cp := range caps {
		if c.Get(capability.BOUNDING, cp) && c.Get(capability.PERMITTED, cp) {
			have = append(have, cp)
		}
	}
	for _, which := range []capability.CapType{capability.BOUNDING, capability.PERMITTED, capability.EFFECTIVE, capability.INHERITABLE} {
		c.Clear(which)
		c.Set(which, have...)
	}
	if err := c.Apply(capability.BOUNDS); err != nil {
		return fmt.Errorf("setting the capability bounding set: %w", err)
	}
	if err := c.Apply(capability.CAPS); err != nil {
		return fmt.Errorf("setting capabilities: %w", err)
	}
	return nil
}

// rlimits maps Docker's ulimit names to resources.
var rlimits = map[string]int{
	"as": unix.RLIMIT_AS, "core": unix.RLIMIT_CORE, "cpu": unix.RLIMIT_CPU, "data": unix.RLIMIT_DATA,
	"fsize": unix.RLIMIT_FSIZE, "locks": unix.RLIMIT_LOCKS, "memlock": unix.RLIMIT_MEMLOCK,
	"msgqueue": unix.RLIMIT_MSGQUEUE, "nice": unix.RLIMIT_NICE, "nofile": unix.RLIMIT_NOFILE,
	"nproc": unix.RLIMIT_NPROC, "rss": unix.RLIMIT_RSS, "rtprio": unix.RLIMIT_RTPRIO,
	"rttime": unix.RLIMIT_RTTIME, "sigpending": unix.RLIMIT_SIGPENDING, "stack": unix.RLIMIT_STACK,
}

// ValidateUlimit checks a ulimit's name and values.
func ValidateUlimit(u Ulimit) error {
	if _, ok := rlimits[u.Name]; !ok {
		return fmt.Errorf("invalid ulimit type: %s", u.Name)
	}
	if u.Soft > u.Hard && u.Hard >= 0 {
		return fmt.Errorf("ulimit soft limit must be less than or equal to hard limit: %d > %d", u.Soft, u.Hard)
	}
	return nil
}

func setRlimits(us []Ulimit) error {
	for _, u := range us {
		r, ok := rlimits[u.Name]
		if !ok {
			return fmt.Errorf("invalid ulimit type: %s", u.Name)
		}
		lim := unix.Rlimit{Cur: uint64(u.Soft), Max: uint64(u.Hard)}
		if err := unix.Setrlimit(r, &lim); err != nil {
			return &StartError{Code: 125, Msg: fmt.Sprintf("error setting rlimit type %s: %v", u.Name, err)}
		}
	}
	return nil
}

// maskedPaths and readonlyPaths are Docker's defaults: kernel interfaces
// a container must not read, or must not write.
var (
	maskedPaths = []string{
		"/proc/asound", "/proc/acpi", "/proc/interrupts", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
		"/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi",
		"/sys/firmware", "/sys/devices/virtual/powercap",
	}
	readonlyPaths = []string{"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"}
)

// maskPaths hides maskedPaths (an empty read-only tmpfs over directories,
// /dev/null over files) and makes readonlyPaths read-only, below root.
func maskPaths(root string) error {
	for _, p := range maskedPaths {
		target := filepath.Join(root, p)
		st, err := os.Stat(target)
		if err != nil {
			continue
		}
		if st.IsDir() {
			err = unix.Mount("tmpfs", target, "tmpfs", unix.MS_RDONLY, "size=0")
		} else {
			err = unix.Mount("/dev/null", target, "", unix.MS_BIND, "")
		}
		if err != nil {
			return fmt.Errorf("masking %s: %w", p, err)
		}
	}
	for _, p := range readonlyPaths {
		target := filepath.Join(root, p)
		if _, err := os.Stat(target); err != nil {
			continue
		}
		if err := unix.Mount(target, target, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
			return fmt.Errorf("bind-mounting %s: %w", p, err)
		}
		if err := unix.Mount("", target, "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY|unix.MS_REC|unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
			return fmt.Errorf("making %s read-only: %w", p, err)
		}
	}
	return nil
}
