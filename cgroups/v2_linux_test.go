package cgroups

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"
)

const allV2 = "cpuset cpu io memory pids"

// read returns a fake file's content, trimmed.
func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// checkFiles compares files in dir with want.
func checkFiles(t *testing.T, dir string, want map[string]string) {
	t.Helper()
	names := make([]string, 0, len(want))
	for n := range want {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if got := read(t, filepath.Join(dir, n)); got != want[n] {
			t.Errorf("%s = %q, want %q", n, got, want[n])
		}
	}
}

func rootV2(t *testing.T, f *fakeFS, opt Options) *v2 {
	t.Helper()
	opt.Root = f.root
	m, err := newV2(opt, f, "/nonexistent")
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestDetectV2 proves that a directory with cgroup.controllers is taken for
// a cgroup2 mount, and that Detect makes nothing.
func TestDetectV2(t *testing.T) {
	f := newFakeRoot(t, allV2)
	m, err := Detect(Options{Root: f.root})
	if err != nil {
		t.Fatal(err)
	}
	if m.Version() != 2 {
		t.Fatalf("Version() = %d", m.Version())
	}
	if exists(filepath.Join(f.root, "skiff")) {
		t.Error("Detect made the parent")
	}
	if _, err := Detect(Options{Root: t.TempDir()}); !errors.Is(err, ErrNotSupported) {
		t.Errorf("Detect on an empty directory: %v", err)
	}
}

// TestV2CreateWritesLimits proves that Create, as root, makes the parent
// "skiff" with controllers enabled on the way and writes every limit in
// cgroup v2's units; and Add, Pids and Destroy on that cgroup.
func TestV2CreateWritesLimits(t *testing.T) {
	f := newFakeRoot(t, allV2)
	m := rootV2(t, f, Options{})
	r := Resources{
		Memory: 64 * mib, MemoryReservation: 32 * mib,
		CPUShares: 512, NanoCPUs: 1.5e9,
		CpusetCpus: "0", CpusetMems: "0",
		PidsLimit:            i64(10),
		BlkioWeight:          500,
		BlkioDeviceReadBps:   []ThrottleDevice{{8, 0, 1048576}},
		BlkioDeviceWriteIOps: []ThrottleDevice{{8, 0, 100}, {253, 1, 50}},
	}
	if err := m.Create("c1", r); err != nil {
		t.Fatal(err)
	}
	checkFiles(t, f.root, map[string]string{"cgroup.subtree_control": allV2})
	parent := filepath.Join(f.root, "skiff")
	checkFiles(t, parent, map[string]string{"cgroup.subtree_control": allV2})
	dir := filepath.Join(parent, "c1")
	checkFiles(t, dir, map[string]string{
		"memory.max":      "67108864",
		"memory.swap.max": "67108864", // Docker's default: as much swap as memory
		"memory.low":      "33554432",
		"cpu.weight":      "20",
		"cpu.max":         "150000 100000",
		"cpuset.cpus":     "0",
		"cpuset.mems":     "0",
		"pids.max":        "10",
		"io.weight":       "4950",
		"io.max":          "8:0 rbps=1048576 wbps=max riops=max wiops=100\n253:1 rbps=max wbps=max riops=max wiops=50",
	})

	if err := m.Add("c1", 4242); err != nil {
		t.Fatal(err)
	}
	checkFiles(t, dir, map[string]string{"cgroup.procs": "4242"})
	if pids, err := m.Pids("c1"); err != nil || !reflect.DeepEqual(pids, []int{4242}) {
		t.Errorf("Pids = %v, %v", pids, err)
	}
	if err := m.Add("nope", 1); !errors.Is(err, ErrNotFound) {
		t.Errorf("Add to a missing cgroup: %v", err)
	}

	// Busy while the process is in it; the retry gives up in time.
	defer func(d time.Duration) { rmdirTimeout = d }(rmdirTimeout)
	rmdirTimeout = 20 * time.Millisecond
	if err := m.Destroy("c1"); err == nil || !strings.Contains(err.Error(), "processes are still in it") {
		t.Errorf("Destroy of a busy cgroup: %v", err)
	}
	f.files(t, dir, map[string]string{"cgroup.procs": ""})
	// A container's own child cgroup.
	if err := os.Mkdir(filepath.Join(dir, "nested"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := m.Destroy("c1"); err != nil {
		t.Fatal(err)
	}
	if exists(dir) {
		t.Error("Destroy left", dir)
	}
	if err := m.Destroy("c1"); err != nil {
		t.Errorf("second Destroy: %v", err)
	}
}

// TestV2Defaults proves that a cgroup without limits is still made (for
// stats and pause), with unlimited values, and that an existing one is
// reused.
func TestV2Defaults(t *testing.T) {
	f := newFakeRoot(t, allV2)
	m := rootV2(t, f, Options{Parent: "/machine/skiff"})
	for i := 0; i < 2; i++ {
		if err := m.Create("c1", Resources{}); err != nil {
			t.Fatal(err)
		}
	}
	checkFiles(t, filepath.Join(f.root, "machine/skiff/c1"), map[string]string{
		"memory.max": "max", "memory.swap.max": "max", "memory.low": "0",
		"cpu.weight": "100", "cpu.max": "max 100000", "pids.max": "max",
		"cpuset.cpus": "", "io.max": "", "io.weight": "100",
	})
}

// TestV2Update proves that Update replaces the whole set: changed values
// are written, and limits left out are reset (a device throttle removed
// from io.max, pids back to max).
func TestV2Update(t *testing.T) {
	f := newFakeRoot(t, allV2)
	m := rootV2(t, f, Options{})
	err := m.Create("c1", Resources{Memory: 64 * mib, PidsLimit: i64(10), CpusetCpus: "0",
		BlkioDeviceReadBps: []ThrottleDevice{{8, 0, 1048576}}, BlkioDeviceWriteBps: []ThrottleDevice{{8, 16, 5}}})
	if err != nil {
		t.Fatal(err)
	}
	err = m.Update("c1", Resources{Memory: 128 * mib, MemorySwap: -1, CPUQuota: 50000, CPUPeriod: 200000,
		BlkioDeviceWriteBps: []ThrottleDevice{{8, 16, 7}}})
	if err != nil {
		t.Fatal(err)
	}
	checkFiles(t, filepath.Join(f.root, "skiff/c1"), map[string]string{
		"memory.max": "134217728", "memory.swap.max": "max", "pids.max": "max",
		"cpu.max": "50000 200000", "cpuset.cpus": "", "io.max": "8:16 rbps=max wbps=7 riops=max wiops=max",
	})
	if err := m.Update("c2", Resources{}); !errors.Is(err, ErrNotFound) {
		t.Errorf("Update of a missing cgroup: %v", err)
	}
}

// TestV2MissingController proves that a limit whose controller the parent
// does not offer fails naming the flag, with the sentinel, and leaves no
// directory behind; limits that do not need it still work.
func TestV2MissingController(t *testing.T) {
	f := newFakeRoot(t, "cpu pids")
	m := rootV2(t, f, Options{})
	for _, tc := range []struct {
		r    Resources
		flag string
	}{
		{Resources{Memory: 64 * mib}, "--memory "},
		{Resources{PidsLimit: i64(5), MemoryReservation: 64 * mib}, "--memory-reservation "},
		{Resources{CpusetCpus: "0"}, "--cpuset-cpus "},
		{Resources{BlkioDeviceWriteBps: []ThrottleDevice{{8, 0, 1}}}, "--device-write-bps "},
	} {
		err := m.Create("c1", tc.r)
		if !errors.Is(err, ErrNotSupported) || !strings.HasPrefix(err.Error(), tc.flag) {
			t.Errorf("Create(%+v) = %v, want %s... wrapping ErrNotSupported", tc.r, err, tc.flag)
		}
		if exists(filepath.Join(f.root, "skiff", "c1")) {
			t.Fatal("a failed Create left its cgroup")
		}
	}
	if err := m.Create("c1", Resources{NanoCPUs: 1e9, PidsLimit: i64(3)}); err != nil {
		t.Fatal(err)
	}
	checkFiles(t, filepath.Join(f.root, "skiff/c1"), map[string]string{"cpu.max": "100000 100000", "pids.max": "3"})
	if exists(filepath.Join(f.root, "skiff/c1/memory.max")) {
		t.Error("memory files without the memory controller")
	}
	if err := m.Update("c1", Resources{Memory: 64 * mib}); !errors.Is(err, ErrNotSupported) {
		t.Errorf("Update with memory: %v", err)
	}
	c := m.Available()
	if c.Memory || !c.CPU || !c.Pids || c.IO || !strings.Contains(c.Hint, "cpuset, io, memory") {
		t.Errorf("Available() = %+v", c)
	}
}

// TestV2FailedWriteRemovesCgroup proves that when the kernel refuses a
// value after the cgroup was made, Create removes it.
func TestV2FailedWriteRemovesCgroup(t *testing.T) {
	f := newFakeRoot(t, allV2)
	f.noSwap = true
	m := rootV2(t, f, Options{})
	err := m.Create("c1", Resources{Memory: 64 * mib, MemorySwap: 128 * mib})
	if !errors.Is(err, ErrNotSupported) || !strings.HasPrefix(err.Error(), "--memory-swap ") {
		t.Fatalf("Create = %v", err)
	}
	if exists(filepath.Join(f.root, "skiff/c1")) {
		t.Fatal("a failed Create left its cgroup")
	}
	// Without an explicit --memory-swap the missing file is no error.
	if err := m.Create("c1", Resources{Memory: 64 * mib}); err != nil {
		t.Fatal(err)
	}
	if m.Available().MemorySwap {
		t.Error("Available reports swap without memory.swap.max")
	}
}

// TestV2OomKillDisable proves that --oom-kill-disable is refused on v2
// rather than ignored.
func TestV2OomKillDisable(t *testing.T) {
	f := newFakeRoot(t, allV2)
	m := rootV2(t, f, Options{})
	yes, no := true, false
	if err := m.Create("c1", Resources{OomKillDisable: &yes}); !errors.Is(err, ErrNotSupported) || !strings.HasPrefix(err.Error(), "--oom-kill-disable ") {
		t.Errorf("Create = %v", err)
	}
	if err := m.Create("c1", Resources{OomKillDisable: &no}); err != nil {
		t.Error(err)
	}
}

// userCgroup is where systemd puts a user's service on cgroup v2.
const userCgroup = "/user.slice/user-1000.slice/user@1000.service/app.slice/skiff.service"

// TestV2RootlessEvacuates proves the rootless default parent: the engine's
// own cgroup from /proc/self/cgroup, whose processes move to the leaf
// "engine" so that it can enable controllers; and that a restarted engine,
// found in that leaf, uses the same parent.
func TestV2RootlessEvacuates(t *testing.T) {
	f := newFakeRoot(t, allV2)
	parent := f.mkdirAll(t, userCgroup, "memory pids")
	f.files(t, parent, map[string]string{"cgroup.procs": "111\n222\n"})
	self := filepath.Join(t.TempDir(), "cgroup")
	f.files(t, filepath.Dir(self), map[string]string{"cgroup": "0::" + userCgroup + "\n"})

	m, err := newV2(Options{Root: f.root, Rootless: true, UID: 1000}, f, self)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Create("c1", Resources{Memory: 64 * mib, PidsLimit: i64(20)}); err != nil {
		t.Fatal(err)
	}
	checkFiles(t, parent, map[string]string{"cgroup.procs": "", "cgroup.subtree_control": "memory pids"})
	checkFiles(t, filepath.Join(parent, "engine"), map[string]string{"cgroup.procs": "111\n222"})
	checkFiles(t, filepath.Join(parent, "c1"), map[string]string{"memory.max": "67108864", "pids.max": "20"})
	if err := m.Create("engine", Resources{}); err == nil {
		t.Error("a container may not be named engine")
	}

	f.files(t, filepath.Dir(self), map[string]string{"cgroup": "0::" + userCgroup + "/engine\n"})
	m2, err := newV2(Options{Root: f.root, Rootless: true, UID: 1000}, f, self)
	if err != nil {
		t.Fatal(err)
	}
	if m2.parent != parent {
		t.Errorf("restarted engine's parent = %s, want %s", m2.parent, parent)
	}
}

// TestV2RootlessNotDelegated proves that a rootless limit on a controller
// systemd did not delegate fails with ErrNotDelegated, naming the flag and
// the fix, and makes nothing; a container without limits is still made.
func TestV2RootlessNotDelegated(t *testing.T) {
	f := newFakeRoot(t, allV2)
	parent := f.mkdirAll(t, userCgroup, "memory pids")
	m := rootV2(t, f, Options{Rootless: true, UID: 1000, Parent: userCgroup})
	err := m.Create("c1", Resources{NanoCPUs: 1e9})
	if !errors.Is(err, ErrNotDelegated) || !strings.HasPrefix(err.Error(), "--cpus needs the cpu cgroup controller delegated to ") ||
		!strings.Contains(err.Error(), "Delegate=") {
		t.Fatalf("Create = %v", err)
	}
	if exists(filepath.Join(parent, "c1")) {
		t.Fatal("a failed Create left its cgroup")
	}
	if err := m.Create("c1", Resources{}); err != nil {
		t.Fatal(err)
	}
	c := m.Available()
	if !c.Memory || !c.Pids || c.CPU || c.Cpuset || c.IO || !c.Freezer || !strings.Contains(c.Hint, "cpuset, cpu, io") {
		t.Errorf("Available() = %+v", c)
	}
}

// TestV2Stats proves which files Stats reads and how.
func TestV2Stats(t *testing.T) {
	f := newFakeRoot(t, allV2)
	m := rootV2(t, f, Options{})
	if err := m.Create("c1", Resources{Memory: 64 * mib}); err != nil {
		t.Fatal(err)
	}
	f.files(t, filepath.Join(f.root, "skiff/c1"), map[string]string{
		"memory.current": "1048576\n",
		"memory.stat":    "anon 1000\nfile 4096\nkernel 0\ninactive_file 1024\nactive_file 3072\n",
		"cpu.stat":       "usage_usec 2500\nuser_usec 2000\nsystem_usec 500\n",
		"pids.current":   "3\n",
		"io.stat":        "8:0 rbytes=100 wbytes=200 rios=1 wios=2 dbytes=0 dios=0\n253:0 rbytes=1 wbytes=2 rios=1 wios=1 dbytes=0 dios=0\n",
	})
	s, err := m.Stats("c1")
	if err != nil {
		t.Fatal(err)
	}
	want := Stats{MemoryUsage: 1048576, MemoryLimit: 64 * mib, MemoryCache: 4096, MemoryInactiveFile: 1024,
		CPUUsage: 2500000, PidsCurrent: 3, BlkioRead: 101, BlkioWrite: 202}
	if s != want {
		t.Errorf("Stats = %+v\nwant    %+v", s, want)
	}
	if err := m.Update("c1", Resources{}); err != nil {
		t.Fatal(err)
	}
	if s, _ := m.Stats("c1"); s.MemoryLimit != 0 {
		t.Errorf("unlimited memory reads as %d", s.MemoryLimit)
	}
	if _, err := m.Stats("c2"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Stats of a missing cgroup: %v", err)
	}
}

// TestV2OOMKilled proves that OOMKilled reads oom_kill in memory.events.
func TestV2OOMKilled(t *testing.T) {
	f := newFakeRoot(t, allV2)
	m := rootV2(t, f, Options{})
	if err := m.Create("c1", Resources{Memory: 64 * mib}); err != nil {
		t.Fatal(err)
	}
	if oom, err := m.OOMKilled("c1"); oom || err != nil {
		t.Errorf("OOMKilled = %v, %v", oom, err)
	}
	f.files(t, filepath.Join(f.root, "skiff/c1"), map[string]string{"memory.events": "low 0\nhigh 0\nmax 12\noom 1\noom_kill 1\noom_group_kill 0\n"})
	if oom, err := m.OOMKilled("c1"); !oom || err != nil {
		t.Errorf("OOMKilled = %v, %v", oom, err)
	}
	if _, err := m.OOMKilled("c2"); !errors.Is(err, ErrNotFound) {
		t.Errorf("OOMKilled of a missing cgroup: %v", err)
	}
}

// TestV2Freeze proves that Freeze and Thaw write cgroup.freeze and wait for
// cgroup.events to agree, and that a kernel without the v2 freezer is an
// error.
func TestV2Freeze(t *testing.T) {
	f := newFakeRoot(t, allV2)
	m := rootV2(t, f, Options{})
	if err := m.Create("c1", Resources{}); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(f.root, "skiff/c1")
	if err := m.Freeze("c1"); err != nil {
		t.Fatal(err)
	}
	checkFiles(t, dir, map[string]string{"cgroup.freeze": "1"})
	if err := m.Thaw("c1"); err != nil {
		t.Fatal(err)
	}
	checkFiles(t, dir, map[string]string{"cgroup.freeze": "0"})
	os.Remove(filepath.Join(dir, "cgroup.freeze"))
	if err := m.Freeze("c1"); !errors.Is(err, ErrNotSupported) {
		t.Errorf("Freeze without cgroup.freeze: %v", err)
	}
}
