package cgroups

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// helperEnv makes the test binary, re-executed, act as a helper process
// instead of running tests (see TestMain).
const helperEnv = "SKIFF_CGROUPS_TEST_HELPER"

func TestMain(m *testing.M) {
	switch os.Getenv(helperEnv) {
	case "":
		os.Exit(m.Run())
	case "v1-rootless":
		if err := rootlessV1Helper(os.Getenv("SKIFF_CGROUPS_TEST_PARENT")); err != nil {
			fmt.Fprintln(os.Stderr, "helper:", err)
			os.Exit(1)
		}
		os.Exit(0)
	default:
		fmt.Fprintln(os.Stderr, "unknown helper", os.Getenv(helperEnv))
		os.Exit(2)
	}
}

// needV1Root skips unless the test runs as root on a host with cgroup v1
// hierarchies under /sys/fs/cgroup, and returns them.
func needV1Root(t *testing.T) []v1Mount {
	t.Helper()
	if os.Getuid() != 0 {
		t.Skip("needs root: makes cgroups under /sys/fs/cgroup")
	}
	if exists("/sys/fs/cgroup/cgroup.controllers") {
		t.Skip("needs cgroup v1: /sys/fs/cgroup is a cgroup2 mount")
	}
	mounts, err := v1Mounts("/proc/self/mountinfo", "/sys/fs/cgroup")
	if err != nil || len(mounts) == 0 {
		t.Skipf("needs cgroup v1 hierarchies under /sys/fs/cgroup (%v)", err)
	}
	return mounts
}

// testParent names a test's parent cgroup after the test, and removes it
// from every hierarchy when the test ends.
func testParent(t *testing.T, mounts []v1Mount) string {
	t.Helper()
	parent := "skiff-test-" + strings.NewReplacer("/", "-", " ", "_").Replace(t.Name())
	t.Cleanup(func() {
		for _, mt := range mounts {
			if err := removeTree(hostFS{}, filepath.Join(mt.point, parent)); err != nil {
				t.Errorf("cleanup: %v", err)
			}
		}
	})
	return parent
}

// startHeld starts `sh -c 'read x; exec CMD'` and returns it with a
// function that lets it exec CMD: the process joins a cgroup first, so
// that what CMD does is charged there.
func startHeld(t *testing.T, cmdline string) (*exec.Cmd, func()) {
	t.Helper()
	cmd := exec.Command("sh", "-c", "read x; exec "+cmdline)
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { killWait(t, cmd) })
	return cmd, func() {
		if _, err := io.WriteString(in, "go\n"); err != nil {
			t.Errorf("letting %q go on: %v", cmdline, err)
		}
	}
}

// killWait kills cmd, which may have exited already, and reaps it.
func killWait(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	if err := cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		t.Errorf("killing %v: %v", cmd.Args, err)
	}
	_ = cmd.Wait() // killed: its error is the kill's
}

// destroyLater destroys the cgroup name at the end of the test.
func destroyLater(t *testing.T, m Manager, name string) {
	t.Cleanup(func() {
		if err := m.Destroy(name); err != nil {
			t.Errorf("Destroy(%s): %v", name, err)
		}
	})
}

// waitComm waits until pid runs the program comm.
func waitComm(t *testing.T, pid int, comm string) {
	t.Helper()
	ok, _ := waitFor(5*time.Second, func() (bool, error) {
		c, err := readString(fmt.Sprintf("/proc/%d/comm", pid))
		return c == comm, err
	})
	if !ok {
		t.Fatalf("process %d did not exec %s", pid, comm)
	}
}

// procCgroup returns pid's cgroup path in the hierarchy with ctl.
func procCgroup(t *testing.T, pid int, ctl string) string {
	t.Helper()
	_, v1, err := selfCgroups(fmt.Sprintf("/proc/%d/cgroup", pid))
	if err != nil {
		t.Fatal(err)
	}
	return v1[ctl]
}

func procState(pid int) string {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "State:") {
			return strings.TrimSpace(strings.TrimPrefix(l, "State:"))
		}
	}
	return ""
}

// TestV1Lifecycle proves, on the host's real v1 hierarchies as root:
// Create writes the limits the kernel then reports (memory+memsw, pids,
// CFS quota, shares, cpuset with the parent's mems, a write throttle);
// Add moves a process into every hierarchy; Stats, Pids, Freeze and Thaw
// work on it; Update rewrites and resets; Destroy removes every directory.
func TestV1Lifecycle(t *testing.T) {
	mounts := needV1Root(t)
	parent := testParent(t, mounts)
	mgr, err := Detect(Options{Parent: parent})
	if err != nil {
		t.Fatal(err)
	}
	if mgr.Version() != 1 {
		t.Fatalf("Version() = %d", mgr.Version())
	}
	m := mgr.(*v1)
	t.Logf("Available: %+v", mgr.Available())

	r := Resources{Memory: 32 * mib, PidsLimit: i64(10), CPUQuota: 50000, CPUPeriod: 100000, CPUShares: 512, CpusetCpus: "0"}
	// blkio.weight comes with the bfq scheduler, which not every kernel has.
	if blk := m.mount("blkio").point; exists(filepath.Join(blk, "blkio.weight")) || exists(filepath.Join(blk, "blkio.bfq.weight")) {
		r.BlkioWeight = 200
	} else {
		t.Log("this kernel has no blkio.weight (no bfq scheduler): --blkio-weight not tried")
	}
	var throttled string
	if dev, num := anyBlockDeviceOrEmpty(); dev != "" {
		maj, mn, err := DeviceNumbers(dev)
		if err != nil {
			t.Fatal(err)
		}
		r.BlkioDeviceWriteBps = []ThrottleDevice{{maj, mn, 1048576}}
		throttled = num + " 1048576"
	}
	if err := mgr.Create("c1", r); err != nil {
		t.Fatal(err)
	}
	dir := func(ctl string) string { return filepath.Join(m.mount(ctl).point, parent, "c1") }
	checkFiles(t, dir("memory"), map[string]string{"memory.limit_in_bytes": "33554432"})
	if exists(filepath.Join(dir("memory"), "memory.memsw.limit_in_bytes")) {
		checkFiles(t, dir("memory"), map[string]string{"memory.memsw.limit_in_bytes": "67108864"})
	} else {
		t.Log("this kernel has no memory.memsw.limit_in_bytes (swap accounting off)")
	}
	checkFiles(t, dir("pids"), map[string]string{"pids.max": "10"})
	checkFiles(t, dir("cpu"), map[string]string{"cpu.cfs_quota_us": "50000", "cpu.cfs_period_us": "100000", "cpu.shares": "512"})
	checkFiles(t, dir("cpuset"), map[string]string{
		"cpuset.cpus": "0",
		"cpuset.mems": read(t, filepath.Join(m.mount("cpuset").point, "cpuset.mems")),
	})
	if throttled != "" {
		checkFiles(t, dir("blkio"), map[string]string{"blkio.throttle.write_bps_device": throttled})
	}
	for _, f := range []string{"blkio.weight", "blkio.bfq.weight"} {
		if p := filepath.Join(dir("blkio"), f); exists(p) {
			t.Logf("%s: %q", f, read(t, p))
		}
	}

	cmd, release := startHeld(t, "sleep 30")
	pid := cmd.Process.Pid
	if err := mgr.Add("c1", pid); err != nil {
		t.Fatal(err)
	}
	for _, mt := range mounts {
		ctl := mt.controllers[0]
		if got, want := procCgroup(t, pid, ctl), "/"+parent+"/c1"; got != want {
			t.Errorf("/proc/%d/cgroup %s: %s, want %s", pid, ctl, got, want)
		}
	}
	release()
	waitComm(t, pid, "sleep")
	// The CPU time of the exec is charged when the task is descheduled:
	// wait until sleep sleeps before reading cpuacct.usage.
	if ok, _ := waitFor(5*time.Second, func() (bool, error) { return strings.HasPrefix(procState(pid), "S"), nil }); !ok {
		t.Fatalf("process %d never slept: %s", pid, procState(pid))
	}
	if pids, err := mgr.Pids("c1"); err != nil || len(pids) != 1 || pids[0] != pid {
		t.Errorf("Pids = %v, %v; want [%d]", pids, err, pid)
	}

	s, err := mgr.Stats("c1")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("Stats: %+v", s)
	if s.PidsCurrent != 1 || s.MemoryLimit != 32*mib || s.MemoryUsage == 0 || s.CPUUsage == 0 {
		t.Errorf("Stats = %+v", s)
	}

	if err := mgr.Freeze("c1"); err != nil {
		t.Fatal(err)
	}
	checkFiles(t, dir("freezer"), map[string]string{"freezer.state": "FROZEN"})
	t.Logf("frozen: /proc/%d/status State: %s", pid, procState(pid))
	if err := mgr.Thaw("c1"); err != nil {
		t.Fatal(err)
	}
	checkFiles(t, dir("freezer"), map[string]string{"freezer.state": "THAWED"})
	t.Logf("thawed: /proc/%d/status State: %s", pid, procState(pid))

	if oom, err := mgr.OOMKilled("c1"); oom || err != nil {
		t.Errorf("OOMKilled = %v, %v", oom, err)
	}

	// Update: larger memory (memsw first), --cpus instead of quota, no pids
	// limit, no throttle, the parent's CPUs.
	if err := mgr.Update("c1", Resources{Memory: 64 * mib, NanoCPUs: 0.25e9}); err != nil {
		t.Fatal(err)
	}
	checkFiles(t, dir("memory"), map[string]string{"memory.limit_in_bytes": "67108864"})
	checkFiles(t, dir("pids"), map[string]string{"pids.max": "max"})
	checkFiles(t, dir("cpu"), map[string]string{"cpu.cfs_quota_us": "25000", "cpu.cfs_period_us": "100000", "cpu.shares": "1024"})
	checkFiles(t, dir("cpuset"), map[string]string{"cpuset.cpus": read(t, filepath.Join(m.mount("cpuset").point, "cpuset.cpus"))})
	checkFiles(t, dir("blkio"), map[string]string{"blkio.throttle.write_bps_device": ""})
	// And smaller again (limit first).
	if err := mgr.Update("c1", Resources{Memory: 16 * mib, MemorySwap: 16 * mib}); err != nil {
		t.Fatal(err)
	}
	checkFiles(t, dir("memory"), map[string]string{"memory.limit_in_bytes": "16777216"})

	killWait(t, cmd)
	if err := mgr.Destroy("c1"); err != nil {
		t.Fatal(err)
	}
	for _, mt := range mounts {
		if d := filepath.Join(mt.point, parent, "c1"); exists(d) {
			t.Errorf("Destroy left %s", d)
		}
	}
	if err := mgr.Destroy("c1"); err != nil {
		t.Errorf("second Destroy: %v", err)
	}
	if _, err := mgr.Stats("c1"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Stats after Destroy: %v", err)
	}
}

// anyBlockDeviceOrEmpty returns a block device node that is not a loop
// device and its "MAJ:MIN" from sysfs, or "".
func anyBlockDeviceOrEmpty() (string, string) {
	entries, _ := os.ReadDir("/sys/block")
	for _, e := range entries {
		dev := "/dev/" + e.Name()
		num, err := readString(filepath.Join("/sys/block", e.Name(), "dev"))
		if err == nil && exists(dev) && !strings.HasPrefix(e.Name(), "loop") {
			return dev, num
		}
	}
	return "", ""
}

// TestV1OOMKilled proves OOMKilled on a real OOM kill: a process that
// grows without bound in an 8 MiB cgroup.
func TestV1OOMKilled(t *testing.T) {
	mounts := needV1Root(t)
	parent := testParent(t, mounts)
	mgr, err := Detect(Options{Parent: parent})
	if err != nil {
		t.Fatal(err)
	}
	if err := mgr.Create("c1", Resources{Memory: 8 * mib}); err != nil {
		t.Fatal(err)
	}
	destroyLater(t, mgr, "c1")
	cmd, release := startHeld(t, "tail /dev/zero")
	if err := mgr.Add("c1", cmd.Process.Pid); err != nil {
		t.Fatal(err)
	}
	release()
	err = cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("tail /dev/zero ended with %v, want SIGKILL", err)
	}
	if oom, err := mgr.OOMKilled("c1"); !oom || err != nil {
		t.Errorf("OOMKilled = %v, %v", oom, err)
	}
}

// TestV1CreateFailureLeavesNothing proves that a value the kernel refuses
// (a CPU the host lacks) makes Create fail and remove every directory it
// made, in every hierarchy.
func TestV1CreateFailureLeavesNothing(t *testing.T) {
	mounts := needV1Root(t)
	parent := testParent(t, mounts)
	mgr, err := Detect(Options{Parent: parent})
	if err != nil {
		t.Fatal(err)
	}
	err = mgr.Create("c1", Resources{Memory: 32 * mib, CpusetCpus: "1023"})
	if err == nil {
		t.Fatal("Create accepted CPU 1023")
	}
	t.Log(err)
	for _, mt := range mounts {
		if d := filepath.Join(mt.point, parent, "c1"); exists(d) {
			t.Errorf("failed Create left %s", d)
		}
	}
}

// TestSetupUserV1 proves that SetupUserV1 makes skiff-USER in every
// hierarchy, chowns the directory, cgroup.procs and tasks (and not the
// limit files), copies the cpuset, and can run again.
func TestSetupUserV1(t *testing.T) {
	mounts := needV1Root(t)
	name := fmt.Sprintf("skifftest%d", os.Getpid())
	const uid, gid = 4242, 4343
	t.Cleanup(func() {
		for _, mt := range mounts {
			if err := removeTree(hostFS{}, filepath.Join(mt.point, "skiff-"+name)); err != nil {
				t.Error(err)
			}
		}
	})
	dirs, err := SetupUserV1("", name, uid, gid)
	if err != nil {
		t.Fatal(err)
	}
	if len(dirs) != len(mounts) {
		t.Errorf("SetupUserV1 made %v for %d hierarchies", dirs, len(mounts))
	}
	owner := func(p string) (int, int) {
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		s := st.Sys().(*syscall.Stat_t)
		return int(s.Uid), int(s.Gid)
	}
	for _, d := range dirs {
		for _, p := range []string{d, filepath.Join(d, "cgroup.procs"), filepath.Join(d, "tasks")} {
			if u, g := owner(p); u != uid || g != gid {
				t.Errorf("%s owned by %d:%d", p, u, g)
			}
		}
		if p := filepath.Join(d, "memory.limit_in_bytes"); exists(p) {
			if u, _ := owner(p); u != 0 {
				t.Errorf("%s owned by %d, want root's", p, u)
			}
		}
		if strings.HasSuffix(filepath.Dir(d), "/cpuset") {
			checkFiles(t, d, map[string]string{
				"cpuset.cpus": read(t, filepath.Join(filepath.Dir(d), "cpuset.cpus")),
				"cpuset.mems": read(t, filepath.Join(filepath.Dir(d), "cpuset.mems")),
			})
		}
	}
	again, err := SetupUserV1("/sys/fs/cgroup", name, uid, gid)
	if err != nil || strings.Join(again, " ") != strings.Join(dirs, " ") {
		t.Errorf("second SetupUserV1 = %v, %v", again, err)
	}
	if _, err := SetupUserV1("", "a/b", uid, gid); err == nil {
		t.Error("SetupUserV1 accepted a/b")
	}
}

// TestV1Unprivileged proves that the user skiffuser, in a subtree that
// SetupUserV1 delegated, runs the whole rootless lifecycle without any
// privilege: Create with limits, Add its own process, Freeze/Thaw, Stats,
// Destroy; and that a subtree that was not set up gives ErrNotDelegated
// with the hint. The helper is this test binary, re-executed as skiffuser.
func TestV1Unprivileged(t *testing.T) {
	mounts := needV1Root(t)
	u, err := user.Lookup("skiffuser")
	if err != nil {
		t.Skipf("needs the user skiffuser: %v", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	name := fmt.Sprintf("skifftest%d", os.Getpid())
	t.Cleanup(func() {
		for _, mt := range mounts {
			if err := removeTree(hostFS{}, filepath.Join(mt.point, "skiff-"+name)); err != nil {
				t.Errorf("cleanup: %v", err)
			}
		}
	})
	if _, err := SetupUserV1("", name, uid, gid); err != nil {
		t.Fatal(err)
	}

	// The test binary sits in go's private build directory: copy it where
	// skiffuser can run it.
	bin := copyExecutable(t)
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), helperEnv+"=v1-rootless", "SKIFF_CGROUPS_TEST_PARENT=skiff-"+name)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}
	out, err := cmd.CombinedOutput()
	t.Logf("helper as %s (uid %d):\n%s", u.Username, uid, out)
	if err != nil {
		t.Fatalf("helper: %v", err)
	}
}

func copyExecutable(t *testing.T) string {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "skiff-cgroups-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "cgroups.test")
	if err := os.WriteFile(bin, b, 0o755); err != nil {
		t.Fatal(err)
	}
	return bin
}

// rootlessV1Helper runs as an unprivileged user in the delegated subtree
// parent, and reports on stdout what it saw.
func rootlessV1Helper(parent string) error {
	if os.Getuid() == 0 {
		return errors.New("helper runs as root")
	}
	mgr, err := Detect(Options{Rootless: true, Parent: parent})
	if err != nil {
		return err
	}
	fmt.Printf("uid %d, Available: %+v\n", os.Getuid(), mgr.Available())

	// A subtree nobody set up: the error names the flag and the fix.
	other, err := Detect(Options{Rootless: true, Parent: parent + "-missing"})
	if err != nil {
		return err
	}
	err = other.Create("c1", Resources{Memory: 32 * mib})
	if !errors.Is(err, ErrNotDelegated) || !strings.HasPrefix(err.Error(), "--memory needs a delegated memory cgroup: run as root: skiff system cgroup-setup --user ") {
		return fmt.Errorf("Create in a subtree not set up = %w", err)
	}
	fmt.Println("not delegated:", err)

	if err := mgr.Create("c1", Resources{Memory: 32 * mib, PidsLimit: i64(10), CPUQuota: 50000, CpusetCpus: "0"}); err != nil {
		return err
	}
	sleep := exec.Command("sleep", "30")
	if err := sleep.Start(); err != nil {
		return errors.Join(err, mgr.Destroy("c1"))
	}
	// On an early return: stop the process, then its cgroup can go. The
	// process may be gone, and Wait's error is then the kill's.
	defer func() {
		_ = sleep.Process.Kill()
		_ = sleep.Wait()
		_ = mgr.Destroy("c1")
	}()
	if err := mgr.Add("c1", sleep.Process.Pid); err != nil {
		return fmt.Errorf("moving a process as its owner: %w", err)
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", sleep.Process.Pid))
	if err != nil {
		return err
	}
	fmt.Printf("/proc/%d/cgroup:\n%s", sleep.Process.Pid, b)
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		parts := strings.SplitN(l, ":", 3)
		for _, c := range strings.Split(parts[1], ",") {
			if knownV1[c] && parts[2] != "/"+parent+"/c1" {
				return fmt.Errorf("process in %s, want /%s/c1 for %s", parts[2], parent, c)
			}
		}
	}
	if err := mgr.Freeze("c1"); err != nil {
		return err
	}
	fmt.Println("frozen, State:", procState(sleep.Process.Pid))
	if err := mgr.Thaw("c1"); err != nil {
		return err
	}
	s, err := mgr.Stats("c1")
	if err != nil {
		return err
	}
	fmt.Printf("Stats: %+v\n", s)
	if s.PidsCurrent != 1 || s.MemoryLimit != 32*mib {
		return fmt.Errorf("Stats = %+v", s)
	}
	if err := sleep.Process.Kill(); err != nil {
		return err
	}
	_ = sleep.Wait() // killed: its error is the kill's
	if err := mgr.Destroy("c1"); err != nil {
		return err
	}
	fmt.Println("destroyed")
	return nil
}
