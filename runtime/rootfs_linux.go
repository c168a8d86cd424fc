package runtime

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	securejoin "github.com/cyphar/filepath-securejoin"
	"golang.org/x/sys/unix"
)

// devices are bind-mounted from the host: a user namespace cannot mknod.
var devices = []string{"null", "zero", "full", "random", "urandom", "tty"}

// setupRootfs builds the container's filesystem view in init's own mount
// namespace and pivots into it.
func setupRootfs(spec *Spec) error {
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_SLAVE, ""); err != nil {
		return fmt.Errorf("making / a slave mount: %w", err)
	}
	root := spec.Rootfs
	if err := unix.Mount(root, root, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("bind-mounting the rootfs: %w", err)
	}
	// Without a device cgroup, nodev is what keeps a container from
	// opening a device node its image carries or that it makes itself
	// (CAP_MKNOD): only the devices skiff bind-mounts into /dev work.
	nodev := uintptr(unix.MS_NODEV)
	if spec.Privileged {
		nodev = 0
	}
	if err := remountWith(root, nodev); err != nil {
		return fmt.Errorf("remounting the rootfs nodev: %w", err)
	}
	if err := mountProc(root); err != nil {
		return err
	}
	// Before /proc/sys becomes read-only (maskPaths).
	if err := writeSysctls(root, spec.Sysctls); err != nil {
		return err
	}
	if err := mountSys(root); err != nil {
		return err
	}
	if err := mountDev(root, spec.ShmSize, spec.Privileged, nodev); err != nil {
		return err
	}
	if !spec.Privileged {
		if err := maskPaths(root); err != nil {
			return err
		}
	}
	for _, m := range spec.Mounts {
		if err := mountOne(root, m, nodev); err != nil {
			return err
		}
	}
	if err := pivotRoot(root); err != nil {
		return err
	}
	if spec.ReadonlyRootfs {
		if err := remountWith("/", unix.MS_RDONLY); err != nil {
			return fmt.Errorf("remounting / read-only: %w", err)
		}
	}
	return nil
}

// securePath resolves dest inside root without following symlinks out of it.
func securePath(root, dest string) (string, error) {
	return securejoin.SecureJoin(root, dest)
}

func mkdirIn(root, dest string) (string, error) {
	p, err := securePath(root, dest)
	if err != nil {
		return "", err
	}
	return p, os.MkdirAll(p, 0o755)
}

func mountProc(root string) error {
	p, err := mkdirIn(root, "/proc")
	if err != nil {
		return err
	}
	if err := unix.Mount("proc", p, "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
		return fmt.Errorf("mounting /proc: %w", err)
	}
	return nil
}

func mountSys(root string) error {
	p, err := mkdirIn(root, "/sys")
	if err != nil {
		return err
	}
	flags := uintptr(unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC | unix.MS_RDONLY)
	if err := unix.Mount("sysfs", p, "sysfs", flags, ""); err != nil {
		// A network namespace we do not own: fall back to the host's /sys.
		if err := unix.Mount("/sys", p, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
			return fmt.Errorf("mounting /sys: %w", err)
		}
		// Read-only, keeping the flags the host's mount has (a user
		// namespace may not drop them).
		if err := remountWith(p, unix.MS_RDONLY); err != nil {
			return fmt.Errorf("making /sys read-only: %w", err)
		}
	}
	return nil
}

// mountDev makes the container's /dev: a tmpfs with the standard nodes,
// or with privileged every device of the host.
func mountDev(root string, shmSize int64, privileged bool, nodev uintptr) error {
	dev, err := mkdirIn(root, "/dev")
	if err != nil {
		return err
	}
	// The nodes below are bind mounts of the host's: they work on a nodev
	// /dev, where a node made with mknod does not.
	if err := unix.Mount("tmpfs", dev, "tmpfs", unix.MS_NOSUID|unix.MS_STRICTATIME|nodev, "mode=755,size=65536k"); err != nil {
		return fmt.Errorf("mounting /dev: %w", err)
	}
	nodes := devices
	if privileged {
		nodes = hostDevices()
	}
	for _, d := range nodes {
		target := filepath.Join(dev, d)
		if err := os.WriteFile(target, nil, 0o666); err != nil {
			return err
		}
		if err := unix.Mount("/dev/"+d, target, "", unix.MS_BIND, ""); err != nil {
			return fmt.Errorf("bind-mounting /dev/%s: %w", d, err)
		}
	}
	pts := filepath.Join(dev, "pts")
	if err := os.Mkdir(pts, 0o755); err != nil {
		return err
	}
	opts := "newinstance,ptmxmode=0666,mode=0620,gid=5"
	if err := unix.Mount("devpts", pts, "devpts", unix.MS_NOSUID|unix.MS_NOEXEC, opts); err != nil {
		// gid 5 is not mapped when the user has no subgid range.
		if err := unix.Mount("devpts", pts, "devpts", unix.MS_NOSUID|unix.MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620"); err != nil {
			return fmt.Errorf("mounting /dev/pts: %w", err)
		}
	}
	if err := os.Symlink("pts/ptmx", filepath.Join(dev, "ptmx")); err != nil {
		return err
	}
	shm := filepath.Join(dev, "shm")
	if err := os.Mkdir(shm, 0o1777); err != nil {
		return err
	}
	if shmSize <= 0 {
		shmSize = 64 << 20
	}
	if err := unix.Mount("shm", shm, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC,
		"mode=1777,size="+strconv.FormatInt(shmSize, 10)); err != nil {
		return fmt.Errorf("mounting /dev/shm: %w", err)
	}
	mq := filepath.Join(dev, "mqueue")
	if err := os.Mkdir(mq, 0o755); err != nil {
		return err
	}
	if err := unix.Mount("mqueue", mq, "mqueue", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
		os.Remove(mq)
	}
	links := [][2]string{
		{"/proc/self/fd", "fd"}, {"/proc/self/fd/0", "stdin"},
		{"/proc/self/fd/1", "stdout"}, {"/proc/self/fd/2", "stderr"},
	}
	for _, l := range links {
		if err := os.Symlink(l[0], filepath.Join(dev, l[1])); err != nil {
			return err
		}
	}
	return nil
}

var propagationFlags = map[string]uintptr{
	"private": unix.MS_PRIVATE, "rprivate": unix.MS_PRIVATE | unix.MS_REC,
	"shared": unix.MS_SHARED, "rshared": unix.MS_SHARED | unix.MS_REC,
	"slave": unix.MS_SLAVE, "rslave": unix.MS_SLAVE | unix.MS_REC,
}

// mountOne mounts m below root: a bind mount or a tmpfs. nodev is
// MS_NODEV for an unprivileged container, or 0.
func mountOne(root string, m Mount, nodev uintptr) error {
	if m.Type == "tmpfs" {
		target, err := mkdirIn(root, m.Destination)
		if err != nil {
			return err
		}
		flags := m.Flags | nodev
		if m.ReadOnly {
			flags |= unix.MS_RDONLY
		}
		if err := unix.Mount("tmpfs", target, "tmpfs", flags, m.Data); err != nil {
			return fmt.Errorf("mounting a tmpfs on %s: %w", m.Destination, err)
		}
		return nil
	}
	return bindMount(root, m, nodev)
}

func bindMount(root string, m Mount, nodev uintptr) error {
	target, err := securePath(root, m.Destination)
	if err != nil {
		return err
	}
	st, err := os.Stat(m.Source)
	if err != nil {
		return fmt.Errorf("bind source %s: %w", m.Source, err)
	}
	if st.IsDir() {
		err = os.MkdirAll(target, 0o755)
	} else {
		if err = os.MkdirAll(filepath.Dir(target), 0o755); err == nil {
			var f *os.File
			f, err = os.OpenFile(target, os.O_CREATE|os.O_WRONLY, 0o644)
			if err == nil {
				f.Close()
			} else if errors.Is(err, unix.EISDIR) {
				err = nil
			}
		}
	}
	if err != nil {
		return fmt.Errorf("creating mount point %s: %w", m.Destination, err)
	}
	if err := unix.Mount(m.Source, target, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("bind-mounting %s on %s: %w", m.Source, m.Destination, err)
	}
	add := nodev
	if m.ReadOnly {
		add |= unix.MS_RDONLY
	}
	if add != 0 {
		if err := remountWith(target, add); err != nil {
			return fmt.Errorf("remounting %s: %w", m.Destination, err)
		}
	}
	prop := m.Propagation
	if prop == "" {
		prop = "rprivate"
	}
	flag, ok := propagationFlags[prop]
	if !ok {
		return fmt.Errorf("invalid propagation %q for %s", prop, m.Destination)
	}
	if err := unix.Mount("", target, "", flag, ""); err != nil {
		return fmt.Errorf("setting %s propagation on %s: %w", prop, m.Destination, err)
	}
	return nil
}

// pivotRoot makes root the new "/" and detaches the old root.
func pivotRoot(root string) error {
	if err := os.Chdir(root); err != nil {
		return err
	}
	if err := unix.PivotRoot(".", "."); err != nil {
		return fmt.Errorf("pivot_root: %w", err)
	}
	if err := unix.Mount("", ".", "", unix.MS_SLAVE|unix.MS_REC, ""); err != nil {
		return err
	}
	if err := unix.Unmount(".", unix.MNT_DETACH); err != nil {
		return fmt.Errorf("detaching the old root: %w", err)
	}
	return os.Chdir("/")
}

// hostDevices lists the character and block devices directly in /dev.
func hostDevices() []string {
	ents, err := os.ReadDir("/dev")
	if err != nil {
		return devices
	}
	var out []string
	for _, e := range ents {
		if e.Type()&(os.ModeDevice|os.ModeCharDevice) != 0 && e.Name() != "ptmx" && e.Name() != "console" {
			out = append(out, e.Name())
		}
	}
	return out
}

// statfsFlags maps statfs(2)'s ST_* mount flags to mount(2)'s MS_* ones.
var statfsFlags = []struct{ st, ms uintptr }{
	{unix.ST_RDONLY, unix.MS_RDONLY}, {unix.ST_NOSUID, unix.MS_NOSUID},
	{unix.ST_NODEV, unix.MS_NODEV}, {unix.ST_NOEXEC, unix.MS_NOEXEC},
	{unix.ST_NOATIME, unix.MS_NOATIME}, {unix.ST_NODIRATIME, unix.MS_NODIRATIME},
	{unix.ST_RELATIME, unix.MS_RELATIME},
}

// remountWith adds flags to the bind mount at target and keeps those it
// has: a remount sets every per-mount flag, and a user namespace may not
// clear the ones its mounts were locked with.
func remountWith(target string, flags uintptr) error {
	if flags == 0 {
		return nil
	}
	var st unix.Statfs_t
	if err := unix.Statfs(target, &st); err != nil {
		return err
	}
	for _, f := range statfsFlags {
		if uintptr(st.Flags)&f.st != 0 {
			flags |= f.ms
		}
	}
	return unix.Mount("", target, "", unix.MS_BIND|unix.MS_REMOUNT|flags, "")
}

// writeSysctls sets kernel parameters in the container's namespaces
// through its /proc/sys. The engine has checked that each is namespaced.
func writeSysctls(root string, sysctls map[string]string) error {
	for k, v := range sysctls {
		// As sysctl(8): a name with a slash uses it as the separator and
		// keeps its dots (net/ipv4/conf/eth0.100/forwarding).
		rel := k
		if !strings.Contains(k, "/") {
			rel = strings.ReplaceAll(k, ".", "/")
		}
		for _, el := range strings.Split(rel, "/") {
			if el == "" || el == "." || el == ".." {
				return fmt.Errorf("invalid sysctl %q", k)
			}
		}
		p, err := securePath(root, "/proc/sys/"+rel)
		if err != nil {
			return err
		}
		if err := os.WriteFile(p, []byte(v), 0); err != nil {
			return fmt.Errorf("setting sysctl %s=%s: %w", k, v, err)
		}
	}
	return nil
}
