package cgroups

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// cgfs is how a manager changes the cgroup filesystem. The real one is
// hostFS; tests use a fake that emulates what the kernel does on mkdir
// (create the interface files), rmdir and writes to cgroup.procs.
type cgfs interface {
	// Mkdir makes a cgroup; it fails with fs.ErrExist if it exists.
	Mkdir(path string) error
	// Rmdir removes an empty cgroup.
	Rmdir(path string) error
	// Write writes each line to an existing interface file with its own
	// write(2) on one open file, as the kernel takes one io.max or
	// blkio.throttle.* entry per write.
	Write(path string, lines ...string) error
}

// hostFS is the real cgroup filesystem.
type hostFS struct{}

func (hostFS) Mkdir(path string) error { return os.Mkdir(path, 0o755) }

func (hostFS) Rmdir(path string) error { return unix.Rmdir(path) }

func (hostFS) Write(path string, lines ...string) error {
	// No O_CREATE: cgroupfs has no file to create, and a missing interface
	// file must fail rather than leave a plain file behind.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		return err
	}
	for _, l := range lines {
		if _, err := f.WriteString(l); err != nil {
			f.Close()
			return err
		}
	}
	return f.Close()
}

// write writes lines to dir/file and names both in its error.
func write(cfs cgfs, dir, file string, lines ...string) error {
	if err := cfs.Write(filepath.Join(dir, file), lines...); err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return fmt.Errorf("writing %q to %s: %w", strings.Join(lines, "; "), filepath.Join(dir, file), err)
	}
	return nil
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

func readString(path string) (string, error) {
	b, err := os.ReadFile(path)
	return strings.TrimSpace(string(b)), err
}

// readUint reads a file holding one number; "max" reads as 0 with
// unlimited true.
func readUint(path string) (v uint64, unlimited bool, err error) {
	s, err := readString(path)
	if err != nil {
		return 0, false, err
	}
	if s == "max" {
		return 0, true, nil
	}
	v, err = strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, false, fmt.Errorf("parsing %s: %w", path, err)
	}
	return v, false, nil
}

// readKeyed reads a flat keyed file ("key value" per line, as memory.stat,
// cpu.stat, memory.events, memory.oom_control).
func readKeyed(path string) (map[string]uint64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	out := map[string]uint64{}
	for _, l := range splitLines(string(b)) {
		k, v, ok := strings.Cut(l, " ")
		if !ok {
			continue
		}
		if n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 64); err == nil {
			out[k] = n
		}
	}
	return out, nil
}

// readPids reads the pids in dir/cgroup.procs and, with recurse, in every
// child cgroup's.
func readPids(dir string, recurse bool) ([]int, error) {
	var pids []int
	walk := func(d string) error {
		b, err := os.ReadFile(filepath.Join(d, "cgroup.procs"))
		if err != nil {
			return err
		}
		for _, l := range splitLines(string(b)) {
			if pid, err := strconv.Atoi(l); err == nil {
				pids = append(pids, pid)
			}
		}
		return nil
	}
	if !recurse {
		return pids, walk(dir)
	}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p != dir && errors.Is(err, fs.ErrNotExist) {
				return nil // a child cgroup went away
			}
			return err
		}
		if !d.IsDir() {
			return nil
		}
		if err := walk(p); err != nil && (p == dir || !errors.Is(err, fs.ErrNotExist)) {
			return err
		}
		return nil
	})
	return pids, err
}

// removeTree removes the cgroup dir and its child cgroups, deepest first,
// retrying each rmdir on EBUSY for a while: the kernel keeps a cgroup busy
// briefly after its last process exits. A missing dir is not an error.
func removeTree(cfs cgfs, dir string) error {
	var dirs []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if d.IsDir() {
			dirs = append(dirs, p)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for i := len(dirs) - 1; i >= 0; i-- {
		if err := rmdirRetry(cfs, dirs[i]); err != nil {
			return err
		}
	}
	return nil
}

// rmdirTimeout bounds how long rmdirRetry waits for a busy cgroup (a var
// for tests).
var rmdirTimeout = 2 * time.Second

func rmdirRetry(cfs cgfs, dir string) error {
	deadline := time.Now().Add(rmdirTimeout)
	delay := time.Millisecond
	for {
		err := cfs.Rmdir(dir)
		if err == nil || errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if !errors.Is(err, unix.EBUSY) || time.Now().After(deadline) {
			if errors.Is(err, unix.EBUSY) {
				return fmt.Errorf("removing cgroup %s: %w (processes are still in it)", dir, err)
			}
			return fmt.Errorf("removing cgroup %s: %w", dir, err)
		}
		time.Sleep(delay)
		delay = min(2*delay, 50*time.Millisecond)
	}
}

// waitFor polls cond until it returns true or an error, or timeout passes.
func waitFor(timeout time.Duration, cond func() (bool, error)) (bool, error) {
	deadline := time.Now().Add(timeout)
	delay := 100 * time.Microsecond
	for {
		ok, err := cond()
		if ok || err != nil {
			return ok, err
		}
		if time.Now().After(deadline) {
			return false, nil
		}
		time.Sleep(delay)
		delay = min(2*delay, 20*time.Millisecond)
	}
}

// writable reports whether this process may write path (access(2) with
// W_OK, which honours a user namespace's mapping of the owner).
func writable(path string) bool {
	return unix.Access(path, unix.W_OK) == nil
}

// DeviceNumbers returns the major and minor numbers of the block device at
// path, for ThrottleDevice.
func DeviceNumbers(path string) (major, minor int64, err error) {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return 0, 0, &os.PathError{Op: "stat", Path: path, Err: err}
	}
	if st.Mode&unix.S_IFMT != unix.S_IFBLK {
		return 0, 0, fmt.Errorf("%s is not a block device", path)
	}
	return int64(unix.Major(st.Rdev)), int64(unix.Minor(st.Rdev)), nil
}

// selfCgroups parses a /proc/PID/cgroup file: hierarchy controllers (""
// for the v2 line "0::/path", "name=systemd" kept as is) to path.
func selfCgroups(procFile string) (v2 string, v1 map[string]string, err error) {
	f, err := os.Open(procFile)
	if err != nil {
		return "", nil, err
	}
	defer f.Close()
	v1 = map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		parts := strings.SplitN(sc.Text(), ":", 3)
		if len(parts) != 3 {
			continue
		}
		if parts[0] == "0" && parts[1] == "" {
			v2 = parts[2]
			continue
		}
		for _, c := range strings.Split(parts[1], ",") {
			v1[c] = parts[2]
		}
	}
	return v2, v1, sc.Err()
}

// v1Mount is one cgroup v1 hierarchy's mount.
type v1Mount struct {
	point       string   // mount point, e.g. /sys/fs/cgroup/cpu
	controllers []string // e.g. [cpu cpuacct]
}

// v1Mounts reads a mountinfo file for the cgroup v1 hierarchies mounted at
// or under root, the first mount of each.
func v1Mounts(mountinfo, root string) ([]v1Mount, error) {
	f, err := os.Open(mountinfo)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []v1Mount
	seen := map[string]bool{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		// id parent maj:min root mountpoint opts [optional...] - fstype source superopts
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		if !ok {
			continue
		}
		fields, tail := strings.Fields(pre), strings.Fields(post)
		if len(fields) < 5 || len(tail) < 3 || tail[0] != "cgroup" {
			continue
		}
		point := unescapeMount(fields[4])
		if point != root && !strings.HasPrefix(point, strings.TrimSuffix(root, "/")+"/") {
			continue
		}
		var ctls []string
		for _, o := range strings.Split(tail[2], ",") {
			if knownV1[o] {
				ctls = append(ctls, o)
			}
		}
		key := strings.Join(ctls, ",")
		if len(ctls) == 0 || seen[key] {
			continue
		}
		seen[key] = true
		out = append(out, v1Mount{point: point, controllers: ctls})
	}
	return out, sc.Err()
}

// knownV1 are the v1 controllers a manager uses.
var knownV1 = map[string]bool{
	"cpu": true, "cpuacct": true, "cpuset": true, "memory": true,
	"pids": true, "blkio": true, "freezer": true,
}

// unescapeMount undoes mountinfo's octal escapes (\040 for a space).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
