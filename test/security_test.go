package test

import (
	"strings"
	"testing"
)

// TestSecurityDefaults checks Docker's default capability set, masked and
// read-only kernel paths, and the private /dev.
func TestSecurityDefaults(t *testing.T) {
	forEachMode(t, func(t *testing.T, e *env) {
		out := e.mustSkiff(t, "run", "--rm", "busybox", "grep", "-E", "^Cap(Eff|Bnd)", "/proc/self/status")
		// CHOWN DAC_OVERRIDE FOWNER FSETID KILL SETGID SETUID SETPCAP
		// NET_BIND_SERVICE NET_RAW SYS_CHROOT MKNOD AUDIT_WRITE SETFCAP.
		contains(t, "root's capabilities", out, "CapEff:\t00000000a80425fb")
		contains(t, "bounding set", out, "CapBnd:\t00000000a80425fb")
		out = e.mustSkiff(t, "run", "--rm", "-u", "nobody", "busybox", "grep", "^CapEff", "/proc/self/status")
		contains(t, "nobody's capabilities", out, "CapEff:\t0000000000000000")

		out = e.mustSkiff(t, "run", "--rm", "busybox", "sh", "-c", "wc -c < /proc/keys; ls /sys/firmware | wc -l")
		if f := strings.Fields(out); len(f) != 2 || f[0] != "0" || f[1] != "0" {
			t.Errorf("masked paths are visible: %q", out)
		}
		r := e.skiff(t, "run", "--rm", "busybox", "sh", "-c", "echo 1 > /proc/sys/kernel/domainname")
		if r.code == 0 || !strings.Contains(r.stderr, "Read-only file system") {
			t.Errorf("/proc/sys is writable: %s", r)
		}
		// The mount point exists, so only the missing CAP_SYS_ADMIN (and
		// seccomp) can make the mount fail.
		r = e.skiff(t, "run", "--rm", "busybox", "sh", "-c", "mkdir -p /mnt && mount -t tmpfs none /mnt")
		if r.code == 0 || !strings.Contains(r.stderr, "ermission denied") && !strings.Contains(r.stderr, "not permitted") {
			t.Errorf("a container without CAP_SYS_ADMIN mounted a tmpfs: %s", r)
		}
		out = e.mustSkiff(t, "run", "--rm", "busybox", "ls", "/dev")
		for _, d := range []string{"null", "zero", "random", "urandom", "tty", "pts", "shm", "ptmx", "full"} {
			contains(t, "/dev", out, d+"\n")
		}
		out = e.mustSkiff(t, "run", "--rm", "busybox", "sh", "-c", "echo ok > /dev/shm/x && cat /dev/shm/x")
		if out != "ok\n" {
			t.Errorf("/dev/shm: %q", out)
		}
	})
}
