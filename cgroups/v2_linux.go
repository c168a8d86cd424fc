package cgroups

import (
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

// v2Controllers are the v2 controllers a manager enables, in this order.
var v2Controllers = []string{ctlCpuset, ctlCPU, ctlIO, ctlMemory, ctlPids}

// engineLeaf is the child of a rootless parent that the engine's own
// processes move to, so that the parent holds no processes and may enable
// controllers for its children (cgroup v2's "no internal processes" rule).
const engineLeaf = "engine"

// delegateFix tells an admin how systemd delegates every controller.
const delegateFix = "as root, add \"[Service] Delegate=cpu cpuset io memory pids\" to /etc/systemd/system/user@.service.d/delegate.conf, run systemctl daemon-reload and log in again"

// delegatedCgroupFix tells a user how to run the engine in a cgroup of
// their own.
const delegatedCgroupFix = "start the engine in a delegated cgroup, e.g. systemd-run --user -p Delegate=yes --scope skiff engine"

// freezeTimeout bounds Freeze and Thaw.
const freezeTimeout = 10 * time.Second

// v2 manages containers' cgroups in a cgroup v2 (unified) hierarchy.
type v2 struct {
	root     string // the cgroup2 mount
	parent   string // absolute directory of the containers' parent cgroup
	rootless bool
	evacuate bool // parent is the engine's own cgroup: move its processes out first
	user     string
	fs       cgfs
}

// newV2 makes a v2 manager; procSelfCgroup is /proc/self/cgroup but for
// tests.
func newV2(opt Options, cfs cgfs, procSelfCgroup string) (*v2, error) {
	m := &v2{root: filepath.Clean(opt.Root), rootless: opt.Rootless, user: lookupUserName(opt.UID), fs: cfs}
	switch {
	case opt.Parent != "":
		m.parent = filepath.Join(m.root, filepath.Clean("/"+opt.Parent))
	case opt.Rootless:
		own, _, err := selfCgroups(procSelfCgroup)
		if err != nil {
			return nil, fmt.Errorf("finding the engine's cgroup: %w", err)
		}
		if own == "" {
			return nil, fmt.Errorf("finding the engine's cgroup: no cgroup v2 entry in %s", procSelfCgroup)
		}
		// A restarted engine finds itself in the leaf it moved to.
		if filepath.Base(own) == engineLeaf {
			own = filepath.Dir(own)
		}
		m.parent = filepath.Join(m.root, filepath.Clean("/"+own))
		m.evacuate = true
	default:
		m.parent = filepath.Join(m.root, "skiff")
	}
	return m, nil
}

func (m *v2) Version() int { return 2 }

func (m *v2) dir(name string) string { return filepath.Join(m.parent, name) }

// rel names a cgroup as /proc/PID/cgroup would.
func (m *v2) rel(dir string) string {
	r, err := filepath.Rel(m.root, dir)
	if err != nil || r == "." {
		return "/"
	}
	return "/" + r
}

// tokens reads a space-separated list such as cgroup.controllers; a "+"
// prefix (as written to cgroup.subtree_control) is dropped.
func tokens(path string) map[string]bool {
	s, _ := readString(path)
	out := map[string]bool{}
	for _, t := range strings.Fields(s) {
		out[strings.TrimPrefix(t, "+")] = true
	}
	return out
}

// nearest returns the parent, or its nearest existing ancestor when it has
// not been made yet (root mode makes it on first use).
func (m *v2) nearest() string {
	d := m.parent
	for d != m.root && !exists(d) {
		d = filepath.Dir(d)
	}
	return d
}

// delegated reports whether this process may manage the parent: always as
// root, and rootless when the parent (which must exist) is writable.
func (m *v2) delegated() bool {
	if !m.rootless {
		return true
	}
	return writable(m.parent) && writable(filepath.Join(m.parent, "cgroup.subtree_control")) &&
		writable(filepath.Join(m.parent, "cgroup.procs"))
}

// errFor is the error for a limit whose controller the parent cannot give.
func (m *v2) errFor(n need, delegated bool) error {
	if !m.rootless {
		return &limitError{flag: n.flag, err: ErrNotSupported,
			reason: fmt.Sprintf("needs the %s cgroup controller, which %s does not offer", n.controller, filepath.Join(m.nearest(), "cgroup.controllers"))}
	}
	if !delegated {
		return &limitError{flag: n.flag, err: ErrNotDelegated,
			reason: fmt.Sprintf("needs a delegated %s cgroup, but the engine's cgroup %s is not delegated to %s", n.controller, m.rel(m.parent), m.user),
			fix:    delegatedCgroupFix}
	}
	return &limitError{flag: n.flag, err: ErrNotDelegated,
		reason: fmt.Sprintf("needs the %s cgroup controller delegated to %s", n.controller, m.user),
		fix:    delegateFix}
}

// prepare makes sure the parent exists and enables, in its
// cgroup.subtree_control, every controller it offers; it fails naming the
// flag of the first need it cannot meet. It returns false, with no error,
// when nothing was needed and the parent cannot be used at all.
func (m *v2) prepare(ns []need) (bool, error) {
	if !m.delegated() {
		if len(ns) > 0 {
			return false, m.errFor(ns[0], false)
		}
		return false, nil
	}
	if !exists(m.parent) {
		if m.rootless {
			return false, fmt.Errorf("cgroup parent %s: %w", m.parent, fs.ErrNotExist)
		}
		if err := m.makeParent(ns); err != nil {
			return false, err
		}
	}
	offered := tokens(filepath.Join(m.parent, "cgroup.controllers"))
	for _, n := range ns {
		if !offered[n.controller] {
			return false, m.errFor(n, true)
		}
	}
	var want []string
	enabled := tokens(filepath.Join(m.parent, "cgroup.subtree_control"))
	for _, c := range v2Controllers {
		if offered[c] && !enabled[c] {
			want = append(want, c)
		}
	}
	if len(want) == 0 {
		return true, nil
	}
	failed, err := m.enable(m.parent, want)
	for _, n := range ns {
		if failed[n.controller] {
			return false, fmt.Errorf("%s: enabling the %s controller in %s: %w", n.flag, n.controller, m.rel(m.parent), err)
		}
	}
	return true, nil
}

// makeParent makes the (root mode) parent and its missing ancestors,
// enabling each level's controllers for the next.
func (m *v2) makeParent(ns []need) error {
	rel, _ := filepath.Rel(m.root, m.parent)
	d := m.root
	for _, elem := range strings.Split(rel, string(filepath.Separator)) {
		offered := tokens(filepath.Join(d, "cgroup.controllers"))
		enabled := tokens(filepath.Join(d, "cgroup.subtree_control"))
		var want []string
		for _, c := range v2Controllers {
			if offered[c] && !enabled[c] {
				want = append(want, c)
			}
		}
		if len(want) > 0 {
			failed, err := m.enable(d, want)
			for _, n := range ns {
				if failed[n.controller] {
					return fmt.Errorf("%s: enabling the %s controller in %s: %w", n.flag, n.controller, m.rel(d), err)
				}
			}
		}
		d = filepath.Join(d, elem)
		if err := m.fs.Mkdir(d); err != nil && !errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("making cgroup parent: %w", err)
		}
	}
	return nil
}

// enable writes the controllers to dir's cgroup.subtree_control, all at
// once and, if that fails, one by one; it returns the ones that failed and
// the first error. A rootless parent that holds the engine's processes has
// them moved to its "engine" leaf first.
func (m *v2) enable(dir string, ctls []string) (map[string]bool, error) {
	if m.evacuate && dir == m.parent {
		if err := m.evacuateParent(); err != nil {
			return setOf(ctls), err
		}
	}
	all := make([]string, len(ctls))
	for i, c := range ctls {
		all[i] = "+" + c
	}
	if write(m.fs, dir, "cgroup.subtree_control", strings.Join(all, " ")) == nil {
		return nil, nil
	}
	failed := map[string]bool{}
	var first error
	for _, c := range ctls {
		err := write(m.fs, dir, "cgroup.subtree_control", "+"+c)
		// A process that forked into the parent meanwhile: move it too.
		if errors.Is(err, unix.EBUSY) && m.evacuate && dir == m.parent {
			if m.evacuateParent() == nil {
				err = write(m.fs, dir, "cgroup.subtree_control", "+"+c)
			}
		}
		if err != nil {
			failed[c] = true
			if first == nil {
				first = err
			}
		}
	}
	return failed, first
}

func setOf(list []string) map[string]bool {
	out := map[string]bool{}
	for _, s := range list {
		out[s] = true
	}
	return out
}

// evacuateParent moves every process in the parent cgroup to its leaf
// child "engine" (as rootlesskit's --evacuate-cgroup2 does).
func (m *v2) evacuateParent() error {
	pids, err := readPids(m.parent, false)
	if err != nil || len(pids) == 0 {
		return err
	}
	leaf := filepath.Join(m.parent, engineLeaf)
	if err := m.fs.Mkdir(leaf); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("making the engine's leaf cgroup: %w", err)
	}
	for _, pid := range pids {
		err := write(m.fs, leaf, "cgroup.procs", strconv.Itoa(pid))
		if err != nil && !errors.Is(err, unix.ESRCH) {
			return fmt.Errorf("moving the engine's processes to %s: %w", m.rel(leaf), err)
		}
	}
	return nil
}

func (m *v2) Create(name string, r Resources) error {
	if err := checkName(name); err != nil {
		return err
	}
	if name == engineLeaf && m.evacuate {
		return fmt.Errorf("invalid cgroup name %q: the engine uses it", name)
	}
	ns := needs(r)
	if r.OomKillDisable != nil && *r.OomKillDisable {
		return &limitError{flag: "--oom-kill-disable", reason: "is not supported on cgroup v2", err: ErrNotSupported}
	}
	usable, err := m.prepare(ns)
	if err != nil || !usable {
		return err
	}
	dir := m.dir(name)
	made := true
	if err := m.fs.Mkdir(dir); err != nil {
		if !errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("making cgroup: %w", err)
		}
		made = false
	}
	if err := m.apply(dir, r, ns); err != nil {
		if made {
			return errors.Join(err, removeTree(m.fs, dir))
		}
		return err
	}
	return nil
}

func (m *v2) Update(name string, r Resources) error {
	if err := checkName(name); err != nil {
		return err
	}
	dir := m.dir(name)
	if !exists(dir) {
		return fmt.Errorf("cgroup %s: %w", m.rel(dir), ErrNotFound)
	}
	if r.OomKillDisable != nil && *r.OomKillDisable {
		return &limitError{flag: "--oom-kill-disable", reason: "is not supported on cgroup v2", err: ErrNotSupported}
	}
	return m.apply(dir, r, needs(r))
}

// apply writes r to the cgroup dir. Each controller's files are written
// when the controller is enabled for dir, the defaults included, so that
// Update resets what r leaves at zero.
func (m *v2) apply(dir string, r Resources, ns []need) error {
	on := tokens(filepath.Join(dir, "cgroup.controllers"))
	for _, n := range ns {
		if !on[n.controller] {
			return m.errFor(n, true)
		}
	}
	flagFor := func(ctl string) string {
		for _, n := range ns {
			if n.controller == ctl {
				return n.flag
			}
		}
		return ""
	}
	missing := func(flag, file string) error {
		return &limitError{flag: flag, err: ErrNotSupported,
			reason: fmt.Sprintf("is not supported by this kernel: %s has no %s", m.rel(dir), file)}
	}

	if on[ctlCpuset] {
		for _, f := range []struct{ file, val string }{{"cpuset.cpus", r.CpusetCpus}, {"cpuset.mems", r.CpusetMems}} {
			cur, err := readString(filepath.Join(dir, f.file))
			if err != nil {
				return fmt.Errorf("reading %s: %w", f.file, err)
			}
			if cur == f.val {
				continue
			}
			val := f.val
			if val == "" {
				val = "\n" // empty: all of the parent's
			}
			if err := write(m.fs, dir, f.file, val); err != nil {
				return err
			}
		}
	}

	if on[ctlMemory] {
		if err := write(m.fs, dir, "memory.max", memoryMax(r.Memory)); err != nil {
			return err
		}
		switch {
		case exists(filepath.Join(dir, "memory.swap.max")):
			if err := write(m.fs, dir, "memory.swap.max", swapMax(r)); err != nil {
				return err
			}
		case r.MemorySwap > 0:
			return missing("--memory-swap", "memory.swap.max (swap accounting is off)")
		}
		if err := write(m.fs, dir, "memory.low", strconv.FormatInt(max(r.MemoryReservation, 0), 10)); err != nil {
			return err
		}
	}

	if on[ctlCPU] {
		if err := write(m.fs, dir, "cpu.weight", strconv.FormatUint(cpuWeight(r.CPUShares), 10)); err != nil {
			return err
		}
		quota, period := cpuQuotaPeriod(r)
		switch {
		case exists(filepath.Join(dir, "cpu.max")):
			if err := write(m.fs, dir, "cpu.max", cpuMax(quota, period)); err != nil {
				return err
			}
		case quota > 0 || r.CPUPeriod != 0:
			return missing(flagFor(ctlCPU), "cpu.max (CFS bandwidth control)")
		}
	}

	if on[ctlPids] {
		if err := write(m.fs, dir, "pids.max", pidsMax(r.PidsLimit)); err != nil {
			return err
		}
	}

	if on[ctlIO] {
		switch {
		case exists(filepath.Join(dir, "io.bfq.weight")):
			w := uint64(r.BlkioWeight)
			if w == 0 {
				w = defaultIOWeight
			}
			if err := write(m.fs, dir, "io.bfq.weight", strconv.FormatUint(w, 10)); err != nil {
				return err
			}
		case exists(filepath.Join(dir, "io.weight")):
			if err := write(m.fs, dir, "io.weight", strconv.FormatUint(ioWeight(r.BlkioWeight), 10)); err != nil {
				return err
			}
		case r.BlkioWeight != 0:
			return missing("--blkio-weight", "io.weight or io.bfq.weight")
		}
		throttled := len(r.BlkioDeviceReadBps)+len(r.BlkioDeviceWriteBps)+len(r.BlkioDeviceReadIOps)+len(r.BlkioDeviceWriteIOps) > 0
		cur, err := readString(filepath.Join(dir, "io.max"))
		switch {
		case err == nil:
			if lines := ioMaxLines(r, parseDevKeys(cur)); len(lines) > 0 {
				if err := write(m.fs, dir, "io.max", lines...); err != nil {
					return err
				}
			}
		case throttled:
			return missing(ioFlag(r), "io.max (block I/O throttling)")
		}
	}
	return nil
}

// ioFlag names the first device throttle flag r uses.
func ioFlag(r Resources) string {
	switch {
	case len(r.BlkioDeviceReadBps) > 0:
		return "--device-read-bps"
	case len(r.BlkioDeviceWriteBps) > 0:
		return "--device-write-bps"
	case len(r.BlkioDeviceReadIOps) > 0:
		return "--device-read-iops"
	default:
		return "--device-write-iops"
	}
}

func (m *v2) Add(name string, pid int) error {
	if err := checkName(name); err != nil {
		return err
	}
	dir := m.dir(name)
	if !exists(dir) {
		if !m.delegated() {
			return nil // Create made nothing: the container runs in the engine's cgroup
		}
		return fmt.Errorf("cgroup %s: %w", m.rel(dir), ErrNotFound)
	}
	return write(m.fs, dir, "cgroup.procs", strconv.Itoa(pid))
}

// existing returns the container's directory or ErrNotFound.
func (m *v2) existing(name string) (string, error) {
	if err := checkName(name); err != nil {
		return "", err
	}
	dir := m.dir(name)
	if !exists(dir) {
		return "", fmt.Errorf("cgroup %s: %w", m.rel(dir), ErrNotFound)
	}
	return dir, nil
}

func (m *v2) Stats(name string) (Stats, error) {
	var s Stats
	dir, err := m.existing(name)
	if err != nil {
		return s, err
	}
	ignoreMissing := func(err error) error {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return err
	}
	var errs []error
	if v, _, err := readUint(filepath.Join(dir, "memory.current")); err == nil {
		s.MemoryUsage = v
		if lim, unlimited, err := readUint(filepath.Join(dir, "memory.max")); err == nil && !unlimited {
			s.MemoryLimit = lim
		}
		st, err := readKeyed(filepath.Join(dir, "memory.stat"))
		s.MemoryCache, s.MemoryInactiveFile = st["file"], st["inactive_file"]
		errs = append(errs, ignoreMissing(err))
	} else {
		errs = append(errs, ignoreMissing(err))
	}
	cpu, err := readKeyed(filepath.Join(dir, "cpu.stat"))
	s.CPUUsage = cpu["usage_usec"] * 1000
	errs = append(errs, ignoreMissing(err))
	s.PidsCurrent, _, err = readUint(filepath.Join(dir, "pids.current"))
	errs = append(errs, ignoreMissing(err))
	if b, err := os.ReadFile(filepath.Join(dir, "io.stat")); err == nil {
		s.BlkioRead, s.BlkioWrite = parseIOStat(string(b))
	} else {
		errs = append(errs, ignoreMissing(err))
	}
	return s, errors.Join(errs...)
}

func (m *v2) OOMKilled(name string) (bool, error) {
	dir, err := m.existing(name)
	if err != nil {
		return false, err
	}
	ev, err := readKeyed(filepath.Join(dir, "memory.events"))
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil // no memory controller: no OOM kill to see
	}
	return ev["oom_kill"] > 0, err
}

func (m *v2) Freeze(name string) error { return m.freeze(name, true) }

func (m *v2) Thaw(name string) error { return m.freeze(name, false) }

func (m *v2) freeze(name string, frozen bool) error {
	dir, err := m.existing(name)
	if err != nil {
		return err
	}
	if !exists(filepath.Join(dir, "cgroup.freeze")) {
		return fmt.Errorf("pausing needs the cgroup v2 freezer (Linux 5.2 or later): %w", ErrNotSupported)
	}
	want := "0"
	if frozen {
		want = "1"
	}
	if err := write(m.fs, dir, "cgroup.freeze", want); err != nil {
		return err
	}
	ok, err := waitFor(freezeTimeout, func() (bool, error) {
		ev, err := readKeyed(filepath.Join(dir, "cgroup.events"))
		if err != nil {
			return false, err
		}
		return strconv.FormatUint(ev["frozen"], 10) == want, nil
	})
	if err != nil {
		return err
	}
	if !ok {
		err := fmt.Errorf("cgroup %s: cgroup.events did not report frozen %s within %v", m.rel(dir), want, freezeTimeout)
		if frozen {
			// Half frozen helps no one: thaw it back.
			err = errors.Join(err, write(m.fs, dir, "cgroup.freeze", "0"))
		}
		return err
	}
	return nil
}

func (m *v2) Pids(name string) ([]int, error) {
	dir, err := m.existing(name)
	if err != nil {
		return nil, err
	}
	return readPids(dir, true)
}

func (m *v2) Destroy(name string) error {
	if err := checkName(name); err != nil {
		return err
	}
	return removeTree(m.fs, m.dir(name))
}

func (m *v2) Available() Capabilities {
	var c Capabilities
	if !m.delegated() {
		c.Hint = fmt.Sprintf("the engine's cgroup %s is not delegated to %s, so no limits can be applied: %s", m.rel(m.parent), m.user, delegatedCgroupFix)
		return c
	}
	base := m.nearest()
	offered := tokens(filepath.Join(base, "cgroup.controllers"))
	c.Memory, c.CPU, c.Cpuset, c.Pids, c.IO = offered[ctlMemory], offered[ctlCPU], offered[ctlCpuset], offered[ctlPids], offered[ctlIO]
	c.MemorySwap = c.Memory && m.probe(base, "memory.swap.max", "memory.max")
	c.Freezer = m.probe(base, "cgroup.freeze", "cgroup.procs")
	var missing []string
	for _, ctl := range v2Controllers {
		if !offered[ctl] {
			missing = append(missing, ctl)
		}
	}
	switch {
	case len(missing) == 0:
	case m.rootless:
		c.Hint = fmt.Sprintf("cgroup controllers not delegated to %s: %s: %s", m.user, strings.Join(missing, ", "), delegateFix)
	default:
		c.Hint = fmt.Sprintf("cgroup controllers not offered by %s: %s", filepath.Join(base, "cgroup.controllers"), strings.Join(missing, ", "))
	}
	return c
}

// probe reports whether a non-root cgroup offers file: base itself unless
// it is the root cgroup (where the kernel hides it), else any child of the
// root that has marker (such as init.scope); with none to look at it
// assumes so, and Create will tell.
func (m *v2) probe(base, file, marker string) bool {
	if base != m.root {
		return exists(filepath.Join(base, file))
	}
	entries, _ := os.ReadDir(m.root)
	for _, e := range entries {
		d := filepath.Join(m.root, e.Name())
		if e.IsDir() && exists(filepath.Join(d, marker)) {
			return exists(filepath.Join(d, file))
		}
	}
	return true
}

var _ Manager = (*v2)(nil)

// ProcsFiles is the container's cgroup.procs, when it has a cgroup.
func (m *v2) ProcsFiles(name string) []string {
	if checkName(name) != nil {
		return nil
	}
	if dir := m.dir(name); exists(dir) {
		return []string{filepath.Join(dir, "cgroup.procs")}
	}
	return nil
}
