package runtime

import (
	"fmt"
	"os"
	"path/filepath"

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

// limitCapabilities leaves the calling thread (init locks itself to one)
// Docker's default capabilities: in the bounding, permitted, effective and
// inheritable sets. A non-root user loses the permitted and effective ones
// at setuid, as with Docker.
func limitCapabilities() error {
	caps, err := capability.NewPid2(0)
	if err != nil {
		return err
	}
	if err := caps.Load(); err != nil {
		return err
	}
	for _, which := range []capability.CapType{capability.BOUNDING, capability.PERMITTED, capability.EFFECTIVE, capability.INHERITABLE} {
		caps.Clear(which)
		caps.Set(which, defaultCaps...)
	}
	if err := caps.Apply(capability.CAPS | capability.BOUNDS); err != nil {
		return fmt.Errorf("setting capabilities: %w", err)
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
