package cgroups

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// v1 manages containers' cgroups in cgroup v1 hierarchies, one directory
// per hierarchy (controllers mounted together, as "cpu,cpuacct", share it).
type v1 struct {
	root     string
	parent   string // relative to each hierarchy's mount point
	rootless bool
	user     string
	mounts   []v1Mount
	fs       cgfs
}

func newV1(opt Options, mounts []v1Mount) *v1 {
	m := &v1{root: filepath.Clean(opt.Root), rootless: opt.Rootless, user: lookupUserName(opt.UID), mounts: mounts, fs: hostFS{}}
	m.parent = strings.TrimPrefix(filepath.Clean("/"+opt.Parent), "/")
	if opt.Parent == "" {
		m.parent = "skiff"
		if opt.Rootless {
			m.parent = "skiff-" + m.user
		}
	}
	return m
}

// lookupUserName is the name of uid (os.Getuid() for 0), or the number when it
// has none.
func lookupUserName(uid int) string {
	if uid == 0 {
		uid = os.Getuid()
	}
	if u, err := user.LookupId(strconv.Itoa(uid)); err == nil {
		return u.Username
	}
	return strconv.Itoa(uid)
}

func (m *v1) Version() int { return 1 }

// v1Name maps a manager's controller name to the v1 one.
func v1Name(ctl string) string {
	if ctl == ctlIO {
		return "blkio"
	}
	return ctl
}

// mount returns the hierarchy that has the v1 controller ctl, or nil.
func (m *v1) mount(ctl string) *v1Mount {
	for i := range m.mounts {
		for _, c := range m.mounts[i].controllers {
			if c == ctl {
				return &m.mounts[i]
			}
		}
	}
	return nil
}

// usable reports whether the manager may make cgroups in mt: as root
// always (it makes the parent), rootless when the parent is writable.
func (m *v1) usable(mt *v1Mount) bool {
	if !m.rootless {
		return true
	}
	p := filepath.Join(mt.point, m.parent)
	return writable(p) && writable(filepath.Join(p, "cgroup.procs"))
}

// dirOf is the container's directory in the hierarchy with v1 controller
// ctl, or "" when the manager cannot use that hierarchy.
func (m *v1) dirOf(ctl, name string) string {
	mt := m.mount(ctl)
	if mt == nil || !m.usable(mt) {
		return ""
	}
	return filepath.Join(mt.point, m.parent, name)
}

// errFor is the error for a limit whose controller is unusable.
func (m *v1) errFor(n need) error {
	ctl := v1Name(n.controller)
	if m.mount(ctl) == nil {
		return &limitError{flag: n.flag, err: ErrNotSupported,
			reason: fmt.Sprintf("needs the %s cgroup controller, which is not mounted under %s", ctl, m.root)}
	}
	return &limitError{flag: n.flag, err: ErrNotDelegated,
		reason: fmt.Sprintf("needs a delegated %s cgroup", ctl),
		fix:    "run as root: skiff system cgroup-setup --user " + m.user}
}

func (m *v1) Create(name string, r Resources) error {
	if err := checkName(name); err != nil {
		return err
	}
	ns := needs(r)
	for _, n := range ns {
		if m.dirOf(v1Name(n.controller), name) == "" {
			return m.errFor(n)
		}
	}
	var made []string
	// undo removes what Create made; the error it returns says what it
	// could not remove, beside the error that made it undo.
	undo := func() error {
		var errs []error
		for i := len(made) - 1; i >= 0; i-- {
			errs = append(errs, removeTree(m.fs, made[i]))
		}
		return errors.Join(errs...)
	}
	for i := range m.mounts {
		mt := &m.mounts[i]
		if !m.usable(mt) {
			continue
		}
		isCpuset := slicesContains(mt.controllers, ctlCpuset)
		// Root makes the parent and its ancestors; they stay, shared.
		d := mt.point
		elems := strings.Split(m.parent, "/")
		if m.rootless {
			d, elems = filepath.Join(mt.point, m.parent), nil
		}
		for _, e := range append(elems, name) {
			d = filepath.Join(d, e)
			err := m.fs.Mkdir(d)
			switch {
			case err == nil:
				if e == name {
					made = append(made, d)
				}
			case !errors.Is(err, fs.ErrExist):
				return errors.Join(fmt.Errorf("making cgroup: %w", err), undo())
			}
			// A new cpuset cgroup has no CPUs and no memory nodes, and no
			// task can join it until it gets some: copy the parent's.
			if isCpuset {
				if err := m.inheritCpuset(d); err != nil {
					return errors.Join(err, undo())
				}
			}
		}
	}
	if err := m.apply(name, r); err != nil {
		return errors.Join(err, undo())
	}
	return nil
}

// inheritCpuset copies the parent's cpuset.cpus and cpuset.mems into the
// cpuset cgroup d where d's are empty.
func (m *v1) inheritCpuset(d string) error {
	for _, f := range []string{"cpuset.cpus", "cpuset.mems"} {
		cur, err := readString(filepath.Join(d, f))
		if err != nil {
			return err
		}
		if cur != "" {
			continue
		}
		p, err := readString(filepath.Join(filepath.Dir(d), f))
		if err != nil {
			return err
		}
		if err := write(m.fs, d, f, p); err != nil {
			return err
		}
	}
	return nil
}

func (m *v1) Update(name string, r Resources) error {
	if err := checkName(name); err != nil {
		return err
	}
	if !m.anyExists(name) {
		return fmt.Errorf("cgroup %s/%s: %w", m.parent, name, ErrNotFound)
	}
	for _, n := range needs(r) {
		if m.dirOf(v1Name(n.controller), name) == "" {
			return m.errFor(n)
		}
	}
	return m.apply(name, r)
}

// anyExists reports whether the container has a cgroup in any hierarchy.
func (m *v1) anyExists(name string) bool {
	for i := range m.mounts {
		if m.usable(&m.mounts[i]) && exists(filepath.Join(m.mounts[i].point, m.parent, name)) {
			return true
		}
	}
	return false
}

// apply writes r to the container's cgroups, defaults included, so that
// Update resets what r leaves at zero.
func (m *v1) apply(name string, r Resources) error {
	missing := func(flag, dir, file string) error {
		return &limitError{flag: flag, err: ErrNotSupported,
			reason: fmt.Sprintf("is not supported by this kernel: %s has no %s", dir, file)}
	}

	if d := m.dirOf(ctlCpuset, name); d != "" {
		parent := filepath.Dir(d)
		for _, f := range []struct{ file, val string }{{"cpuset.cpus", r.CpusetCpus}, {"cpuset.mems", r.CpusetMems}} {
			val := f.val
			if val == "" {
				p, err := readString(filepath.Join(parent, f.file))
				if err != nil {
					return err
				}
				val = p
			}
			if err := write(m.fs, d, f.file, val); err != nil {
				return err
			}
		}
	}

	if d := m.dirOf(ctlMemory, name); d != "" {
		if err := m.applyMemory(d, r); err != nil {
			return err
		}
	}

	if d := m.dirOf(ctlCPU, name); d != "" {
		if err := write(m.fs, d, "cpu.shares", strconv.FormatInt(v1Shares(r.CPUShares), 10)); err != nil {
			return err
		}
		quota, period := cpuQuotaPeriod(r)
		if exists(filepath.Join(d, "cpu.cfs_quota_us")) {
			q, p := strconv.FormatInt(quota, 10), strconv.FormatUint(period, 10)
			// The kernel checks the quota/period pair against the
			// parent's on each write: if the period alone is refused,
			// write the quota first.
			if err := write(m.fs, d, "cpu.cfs_period_us", p); err != nil {
				if !errors.Is(err, unix.EINVAL) {
					return err
				}
				if err := write(m.fs, d, "cpu.cfs_quota_us", q); err != nil {
					return err
				}
				if err := write(m.fs, d, "cpu.cfs_period_us", p); err != nil {
					return err
				}
			}
			if err := write(m.fs, d, "cpu.cfs_quota_us", q); err != nil {
				return err
			}
		} else if quota > 0 || r.CPUPeriod != 0 {
			flag := "--cpus"
			if r.NanoCPUs == 0 {
				flag = "--cpu-quota"
				if r.CPUQuota <= 0 {
					flag = "--cpu-period"
				}
			}
			return missing(flag, d, "cpu.cfs_quota_us (CFS bandwidth control)")
		}
	}

	if d := m.dirOf(ctlPids, name); d != "" {
		if err := write(m.fs, d, "pids.max", pidsMax(r.PidsLimit)); err != nil {
			return err
		}
	}

	if d := m.dirOf("blkio", name); d != "" {
		weight := uint64(r.BlkioWeight)
		if weight == 0 {
			weight = defaultIOWeight
		}
		switch {
		case exists(filepath.Join(d, "blkio.weight")):
			if err := write(m.fs, d, "blkio.weight", strconv.FormatUint(weight, 10)); err != nil {
				return err
			}
		case exists(filepath.Join(d, "blkio.bfq.weight")):
			if err := write(m.fs, d, "blkio.bfq.weight", strconv.FormatUint(weight, 10)); err != nil {
				return err
			}
		case r.BlkioWeight != 0:
			return missing("--blkio-weight", d, "blkio.weight or blkio.bfq.weight")
		}
		for _, t := range []struct {
			file, flag string
			devs       []ThrottleDevice
		}{
			{"blkio.throttle.read_bps_device", "--device-read-bps", r.BlkioDeviceReadBps},
			{"blkio.throttle.write_bps_device", "--device-write-bps", r.BlkioDeviceWriteBps},
			{"blkio.throttle.read_iops_device", "--device-read-iops", r.BlkioDeviceReadIOps},
			{"blkio.throttle.write_iops_device", "--device-write-iops", r.BlkioDeviceWriteIOps},
		} {
			cur, err := readString(filepath.Join(d, t.file))
			if err != nil {
				if len(t.devs) > 0 {
					return missing(t.flag, d, t.file)
				}
				continue
			}
			if lines := v1ThrottleLines(t.devs, parseDevKeys(cur)); len(lines) > 0 {
				if err := write(m.fs, d, t.file, lines...); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// applyMemory writes the memory limits. memory.memsw.limit_in_bytes
// (memory+swap) must never be below memory.limit_in_bytes, so when the
// limit grows the memsw limit is written first, and when it shrinks last.
func (m *v1) applyMemory(d string, r Resources) error {
	limit := r.Memory
	if limit <= 0 {
		limit = -1
	}
	memsw := memorySwapTotal(r)
	hasMemsw := exists(filepath.Join(d, "memory.memsw.limit_in_bytes"))
	if !hasMemsw && r.MemorySwap > 0 {
		return &limitError{flag: "--memory-swap", err: ErrNotSupported,
			reason: fmt.Sprintf("needs swap accounting, which this kernel has off (%s has no memory.memsw.limit_in_bytes)", d),
			fix:    "boot with swapaccount=1"}
	}
	big := func(v int64) int64 {
		if v < 0 {
			return math.MaxInt64
		}
		return v
	}
	cur, _, err := readUint(filepath.Join(d, "memory.limit_in_bytes"))
	if err != nil {
		return err
	}
	writeLimit := func() error { return write(m.fs, d, "memory.limit_in_bytes", strconv.FormatInt(limit, 10)) }
	writeMemsw := func() error {
		if !hasMemsw {
			return nil
		}
		return write(m.fs, d, "memory.memsw.limit_in_bytes", strconv.FormatInt(memsw, 10))
	}
	first, second := writeLimit, writeMemsw
	if cur > math.MaxInt64 || big(limit) > int64(cur) {
		first, second = writeMemsw, writeLimit
	}
	if err := first(); err != nil {
		return err
	}
	if err := second(); err != nil {
		return err
	}
	if err := write(m.fs, d, "memory.soft_limit_in_bytes", v1Bytes(r.MemoryReservation)); err != nil {
		return err
	}
	if r.OomKillDisable != nil {
		v := "0"
		if *r.OomKillDisable {
			v = "1"
		}
		if err := write(m.fs, d, "memory.oom_control", v); err != nil {
			return err
		}
	}
	return nil
}

func (m *v1) Add(name string, pid int) error {
	if err := checkName(name); err != nil {
		return err
	}
	joined, usable := 0, false
	for i := range m.mounts {
		mt := &m.mounts[i]
		if !m.usable(mt) {
			continue
		}
		usable = true
		d := filepath.Join(mt.point, m.parent, name)
		if !exists(d) {
			continue
		}
		if err := write(m.fs, d, "cgroup.procs", strconv.Itoa(pid)); err != nil {
			return err
		}
		joined++
	}
	if joined == 0 && usable {
		return fmt.Errorf("cgroup %s/%s: %w", m.parent, name, ErrNotFound)
	}
	return nil
}

// existing returns the container's directory in the hierarchy with ctl,
// "" when the manager cannot use it, or ErrNotFound when the container has
// no cgroup at all.
func (m *v1) existing(ctl, name string) (string, error) {
	if err := checkName(name); err != nil {
		return "", err
	}
	if !m.anyExists(name) {
		return "", fmt.Errorf("cgroup %s/%s: %w", m.parent, name, ErrNotFound)
	}
	d := m.dirOf(ctl, name)
	if d != "" && !exists(d) {
		d = ""
	}
	return d, nil
}

func (m *v1) Stats(name string) (Stats, error) {
	var s Stats
	if _, err := m.existing(ctlMemory, name); err != nil {
		return s, err
	}
	var errs []error
	keep := func(err error) {
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	if d, _ := m.existing(ctlMemory, name); d != "" {
		var err error
		s.MemoryUsage, _, err = readUint(filepath.Join(d, "memory.usage_in_bytes"))
		keep(err)
		lim, _, err := readUint(filepath.Join(d, "memory.limit_in_bytes"))
		keep(err)
		if lim < 1<<62 { // the kernel's "unlimited" is about 2^63
			s.MemoryLimit = lim
		}
		st, err := readKeyed(filepath.Join(d, "memory.stat"))
		keep(err)
		s.MemoryCache, s.MemoryInactiveFile = st["total_cache"], st["total_inactive_file"]
	}
	if d, _ := m.existing("cpuacct", name); d != "" {
		var err error
		s.CPUUsage, _, err = readUint(filepath.Join(d, "cpuacct.usage"))
		keep(err)
	}
	if d, _ := m.existing(ctlPids, name); d != "" {
		var err error
		s.PidsCurrent, _, err = readUint(filepath.Join(d, "pids.current"))
		keep(err)
	}
	if d, _ := m.existing("blkio", name); d != "" {
		b, err := os.ReadFile(filepath.Join(d, "blkio.throttle.io_service_bytes_recursive"))
		keep(err)
		s.BlkioRead, s.BlkioWrite = parseBlkioBytes(string(b))
	}
	return s, errors.Join(errs...)
}

func (m *v1) OOMKilled(name string) (bool, error) {
	d, err := m.existing(ctlMemory, name)
	if err != nil || d == "" {
		return false, err
	}
	oc, err := readKeyed(filepath.Join(d, "memory.oom_control"))
	if err != nil {
		return false, err
	}
	if n, ok := oc["oom_kill"]; ok {
		return n > 0, nil
	}
	// Before Linux 4.13 there is no kill counter: a hit limit is the best
	// sign there is.
	fc, _, err := readUint(filepath.Join(d, "memory.failcnt"))
	return fc > 0, err
}

func (m *v1) Freeze(name string) error { return m.freeze(name, "FROZEN") }

func (m *v1) Thaw(name string) error { return m.freeze(name, "THAWED") }

// freeze writes state to freezer.state until the kernel reports it: a
// freeze goes through FREEZING and may need the write repeated while tasks
// sit in the kernel.
func (m *v1) freeze(name, state string) error {
	d, err := m.existing(ctlFreezer, name)
	if err != nil {
		return err
	}
	if d == "" {
		if mt := m.mount(ctlFreezer); mt == nil {
			return fmt.Errorf("pausing needs the freezer cgroup controller, which is not mounted under %s: %w", m.root, ErrNotSupported)
		}
		return fmt.Errorf("pausing needs a delegated freezer cgroup: run as root: skiff system cgroup-setup --user %s: %w", m.user, ErrNotDelegated)
	}
	tries := 0
	ok, err := waitFor(freezeTimeout, func() (bool, error) {
		if tries%10 == 0 {
			if err := write(m.fs, d, "freezer.state", state); err != nil {
				return false, err
			}
		}
		tries++
		cur, err := readString(filepath.Join(d, "freezer.state"))
		return cur == state, err
	})
	if err != nil {
		return err
	}
	if !ok {
		err := fmt.Errorf("cgroup %s: freezer.state did not become %s within %v", d, state, freezeTimeout)
		if state == "FROZEN" {
			// Half frozen helps no one: thaw it back.
			err = errors.Join(err, write(m.fs, d, "freezer.state", "THAWED"))
		}
		return err
	}
	return nil
}

func (m *v1) Pids(name string) ([]int, error) {
	for _, ctl := range []string{ctlPids, ctlFreezer, ctlMemory, ctlCPU, "cpuacct", ctlCpuset, "blkio"} {
		d, err := m.existing(ctl, name)
		if err != nil {
			return nil, err
		}
		if d != "" {
			return readPids(d, true)
		}
	}
	return nil, fmt.Errorf("cgroup %s/%s: %w", m.parent, name, ErrNotFound)
}

func (m *v1) Destroy(name string) error {
	if err := checkName(name); err != nil {
		return err
	}
	var errs []error
	for i := range m.mounts {
		mt := &m.mounts[i]
		if m.usable(mt) {
			errs = append(errs, removeTree(m.fs, filepath.Join(mt.point, m.parent, name)))
		}
	}
	return errors.Join(errs...)
}

func (m *v1) Available() Capabilities {
	var c Capabilities
	dir := func(ctl string) string {
		mt := m.mount(ctl)
		if mt == nil || !m.usable(mt) {
			return ""
		}
		return mt.point
	}
	c.Memory = dir(ctlMemory) != ""
	c.MemorySwap = c.Memory && exists(filepath.Join(dir(ctlMemory), "memory.memsw.limit_in_bytes"))
	c.CPU = dir(ctlCPU) != ""
	c.Cpuset = dir(ctlCpuset) != ""
	c.Pids = dir(ctlPids) != ""
	c.IO = dir("blkio") != ""
	c.Freezer = dir(ctlFreezer) != ""
	var notMounted, notDelegated []string
	for _, ctl := range []string{ctlMemory, ctlCPU, ctlCpuset, ctlPids, "blkio", ctlFreezer} {
		switch mt := m.mount(ctl); {
		case mt == nil:
			notMounted = append(notMounted, ctl)
		case !m.usable(mt):
			notDelegated = append(notDelegated, ctl)
		}
	}
	var hints []string
	if len(notMounted) > 0 {
		hints = append(hints, fmt.Sprintf("cgroup controllers not mounted under %s: %s", m.root, strings.Join(notMounted, ", ")))
	}
	if len(notDelegated) > 0 {
		hints = append(hints, fmt.Sprintf("cgroup controllers not delegated to %s: %s: run as root: skiff system cgroup-setup --user %s", m.user, strings.Join(notDelegated, ", "), m.user))
	}
	if c.Memory && !c.MemorySwap {
		hints = append(hints, "no swap limit support: boot with swapaccount=1")
	}
	c.Hint = strings.Join(hints, "; ")
	return c
}

func slicesContains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

var _ Manager = (*v1)(nil)

// Detect returns the manager for the cgroup filesystem at opt.Root: v2 when
// Root is a cgroup2 mount (it has cgroup.controllers), else v1 over the
// cgroup v1 hierarchies mounted under Root (a "hybrid" host's cgroup2 mount
// at Root/unified, which holds no controllers skiff uses, is ignored). As
// rootless on v2, the first Create moves the engine's processes into a
// leaf "engine" child of their cgroup; call Detect in the engine only.
func Detect(opt Options) (Manager, error) {
	if opt.Root == "" {
		opt.Root = "/sys/fs/cgroup"
	}
	if exists(filepath.Join(opt.Root, "cgroup.controllers")) {
		return newV2(opt, hostFS{}, "/proc/self/cgroup")
	}
	mounts, err := v1Mounts("/proc/self/mountinfo", filepath.Clean(opt.Root))
	if err != nil {
		return nil, fmt.Errorf("reading cgroup mounts: %w", err)
	}
	if len(mounts) == 0 {
		return nil, fmt.Errorf("no cgroup filesystem at %s: %w", opt.Root, ErrNotSupported)
	}
	return newV1(opt, mounts), nil
}

// delegatedFiles are the files of a v1 subtree that SetupUserV1 chowns
// besides its directory: enough to move processes into it and make child
// cgroups, which the kernel makes owned by their creator. Its limit files
// stay root's, so that root can cap the user's whole subtree.
var delegatedFiles = []string{"cgroup.procs", "tasks", "cgroup.clone_children"}

// SetupUserV1 delegates a cgroup v1 subtree to a user, as root: for each
// v1 hierarchy mounted under root (default /sys/fs/cgroup) it makes
// <hierarchy>/skiff-<user>, copies cpuset.cpus and cpuset.mems into the
// cpuset one (a new cpuset cgroup has none), and chowns the directory and
// its cgroup.procs, tasks and cgroup.clone_children to uid:gid. It returns
// the directories, made or already there; running it again repairs them.
// On error it removes the directories this call made.
func SetupUserV1(root, userName string, uid, gid int) ([]string, error) {
	if root == "" {
		root = "/sys/fs/cgroup"
	}
	if err := checkName("skiff-" + userName); err != nil || userName == "" {
		return nil, fmt.Errorf("invalid user name %q", userName)
	}
	if exists(filepath.Join(root, "cgroup.controllers")) {
		return nil, fmt.Errorf("%s is cgroup v2: delegate with systemd (Delegate=yes in user@.service) instead: %w", root, ErrNotSupported)
	}
	mounts, err := v1Mounts("/proc/self/mountinfo", filepath.Clean(root))
	if err != nil {
		return nil, fmt.Errorf("reading cgroup mounts: %w", err)
	}
	if len(mounts) == 0 {
		return nil, fmt.Errorf("no cgroup v1 hierarchies under %s: %w", root, ErrNotSupported)
	}
	cfs := hostFS{}
	var dirs, made []string
	fail := func(err error) ([]string, error) {
		errs := []error{err}
		for i := len(made) - 1; i >= 0; i-- {
			errs = append(errs, cfs.Rmdir(made[i]))
		}
		return nil, errors.Join(errs...)
	}
	for _, mt := range mounts {
		d := filepath.Join(mt.point, "skiff-"+userName)
		switch err := cfs.Mkdir(d); {
		case err == nil:
			made = append(made, d)
		case !errors.Is(err, fs.ErrExist):
			return fail(fmt.Errorf("making %s: %w", d, err))
		}
		if slicesContains(mt.controllers, ctlCpuset) {
			if err := (&v1{fs: cfs}).inheritCpuset(d); err != nil {
				return fail(err)
			}
		}
		if err := os.Chown(d, uid, gid); err != nil {
			return fail(err)
		}
		for _, f := range delegatedFiles {
			err := os.Chown(filepath.Join(d, f), uid, gid)
			if err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fail(err)
			}
		}
		dirs = append(dirs, d)
	}
	return dirs, nil
}

// ProcsFiles lists the container's cgroup.procs file in every hierarchy.
func (m *v1) ProcsFiles(name string) []string {
	if checkName(name) != nil {
		return nil
	}
	var out []string
	for i := range m.mounts {
		mt := &m.mounts[i]
		if !m.usable(mt) {
			continue
		}
		if d := filepath.Join(mt.point, m.parent, name); exists(d) {
			out = append(out, filepath.Join(d, "cgroup.procs"))
		}
	}
	return out
}
