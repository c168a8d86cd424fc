package test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// cgroupFile is a file of the running container's v1 cgroup on the host,
// found through its process's /proc/PID/cgroup.
func (e *env) cgroupFile(t *testing.T, ctr, controller, file string) string {
	t.Helper()
	pid := strings.TrimSpace(e.mustSkiff(t, "inspect", "-f", "{{.State.Pid}}", ctr))
	b, err := os.ReadFile(filepath.Join("/proc", pid, "cgroup"))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.SplitN(l, ":", 3)
		if len(f) != 3 {
			continue
		}
		for _, c := range strings.Split(f[1], ",") {
			if c == controller {
				return filepath.Join("/sys/fs/cgroup", controller, f[2], file)
			}
		}
	}
	t.Fatalf("%s is in no %s cgroup: %s", ctr, controller, b)
	return ""
}

func readUint(t *testing.T, path string) uint64 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// cpuSeconds is the container's CPU time over d, from its cgroup's counter.
func (e *env) cpuSeconds(t *testing.T, ctr string, d time.Duration) float64 {
	t.Helper()
	f := e.cgroupFile(t, ctr, "cpuacct", "cpuacct.usage")
	a := readUint(t, f)
	time.Sleep(d)
	b := readUint(t, f)
	return float64(b-a) / 1e9
}

func TestResourceLimits(t *testing.T) {
	if _, err := os.Stat("/sys/fs/cgroup/memory"); err != nil {
		t.Fatalf("these tests read cgroup v1 files: %v", err)
	}
	forEachMode(t, func(t *testing.T, e *env) {
		// Over the memory limit the container is OOM-killed.
		r := e.skiff(t, "run", "--name", "oomtest", "-m", "32m", "busybox", "sh", "-c", "x=$(head -c 200000000 /dev/zero | tr '\\0' a); echo survived")
		e.cleanupContainer(t, "oomtest")
		if r.code != 137 {
			t.Errorf("over --memory 32m: %s", r)
		}
		if out := e.mustSkiff(t, "inspect", "-f", "{{.State.OOMKilled}} {{.HostConfig.Memory}}", "oomtest"); out != "true 33554432\n" {
			t.Errorf("OOMKilled/Memory: %q", out)
		}
		r = e.skiff(t, "run", "--rm", "-m", "3m", "busybox", "true")
		if r.code != 125 || !strings.Contains(r.stderr, "Minimum memory limit allowed is 6MB") {
			t.Errorf("-m 3m: %s", r)
		}
		// --cpus 0.25 holds a busy loop near a quarter of a CPU.
		e.mustSkiff(t, "run", "-d", "--name", "cpuq", "--cpus", "0.25", "busybox", "sh", "-c", "while :; do :; done")
		e.cleanupContainer(t, "cpuq")
		if used := e.cpuSeconds(t, "cpuq", 3*time.Second); used < 0.5 || used > 1.0 {
			t.Errorf("--cpus 0.25 used %.2fs of CPU in 3s, want about 0.75s", used)
		}
		if out := e.mustSkiff(t, "inspect", "-f", "{{.HostConfig.NanoCpus}}", "cpuq"); out != "250000000\n" {
			t.Errorf("NanoCpus: %q", out)
		}
		e.mustSkiff(t, "rm", "-f", "cpuq")
		// --cpu-shares 512 vs 1024 on one CPU splits it about 1:2.
		e.mustSkiff(t, "run", "-d", "--name", "sh512", "--cpuset-cpus", "0", "--cpu-shares", "512", "busybox", "sh", "-c", "while :; do :; done")
		e.cleanupContainer(t, "sh512")
		e.mustSkiff(t, "run", "-d", "--name", "sh1024", "--cpuset-cpus", "0", "--cpu-shares", "1024", "busybox", "sh", "-c", "while :; do :; done")
		e.cleanupContainer(t, "sh1024")
		fa, fb := e.cgroupFile(t, "sh512", "cpuacct", "cpuacct.usage"), e.cgroupFile(t, "sh1024", "cpuacct", "cpuacct.usage")
		a0, b0 := readUint(t, fa), readUint(t, fb)
		time.Sleep(3 * time.Second)
		a1, b1 := readUint(t, fa), readUint(t, fb)
		share := float64(a1-a0) / float64(a1-a0+b1-b0)
		if share < 0.2 || share > 0.45 {
			t.Errorf("--cpu-shares 512 got %.2f of the CPU next to 1024, want about 0.33", share)
		}
		if out := e.mustSkiff(t, "exec", "sh512", "grep", "Cpus_allowed_list", "/proc/self/status"); !strings.HasSuffix(out, "\t0\n") {
			t.Errorf("--cpuset-cpus 0: %q", out)
		}
		e.mustSkiff(t, "rm", "-f", "sh512", "sh1024")
		// --pids-limit 10 stops a fork bomb at 10.
		e.mustSkiff(t, "run", "-d", "--name", "pids", "--pids-limit", "10", "busybox", "sleep", "300")
		e.cleanupContainer(t, "pids")
		r = e.skiff(t, "exec", "pids", "sh", "-c", "for i in $(seq 30); do sleep 30 </dev/null >/dev/null 2>&1 & done")
		if r.code == 0 || !strings.Contains(r.stderr, "can't fork") {
			t.Errorf("a fork bomb under --pids-limit 10: %s", r)
		}
		if n := readUint(t, e.cgroupFile(t, "pids", "pids", "pids.current")); n > 10 || n < 5 {
			t.Errorf("--pids-limit 10: %d processes", n)
		}
		e.mustSkiff(t, "rm", "-f", "pids")
		// update on a running container takes effect; pause/unpause; stats.
		e.mustSkiff(t, "run", "-d", "--name", "upd", "-m", "32m", "busybox", "sleep", "300")
		e.cleanupContainer(t, "upd")
		e.mustSkiff(t, "update", "-m", "64m", "upd")
		if n := readUint(t, e.cgroupFile(t, "upd", "memory", "memory.limit_in_bytes")); n != 64<<20 {
			t.Errorf("after update -m 64m the cgroup says %d", n)
		}
		if out := e.mustSkiff(t, "inspect", "-f", "{{.HostConfig.Memory}}", "upd"); out != "67108864\n" {
			t.Errorf("inspect after update: %q", out)
		}
		stats := e.mustSkiff(t, "stats", "--no-stream", "upd")
		for _, col := range []string{"CONTAINER ID", "NAME", "CPU %", "MEM USAGE / LIMIT", "MEM %", "NET I/O", "BLOCK I/O", "PIDS"} {
			contains(t, "stats", stats, col)
		}
		contains(t, "stats", stats, "/ 64MiB")
		e.mustSkiff(t, "pause", "upd")
		if out := e.mustSkiff(t, "inspect", "-f", "{{.State.Status}} {{.State.Paused}}", "upd"); out != "paused true\n" {
			t.Errorf("after pause: %q", out)
		}
		contains(t, "ps", e.mustSkiff(t, "ps", "--filter", "name=upd"), "(Paused)")
		e.mustSkiff(t, "unpause", "upd")
		if out := e.mustSkiff(t, "exec", "upd", "echo", "thawed"); out != "thawed\n" {
			t.Errorf("after unpause: %q", out)
		}
		if e.rootless {
			r := e.skiff(t, "run", "--rm", "--device-write-bps", "/dev/null:1mb", "busybox", "true")
			if r.code != 125 || !strings.Contains(r.stderr, "need root mode") {
				t.Errorf("blkio rootless: %s", r)
			}
		}
	})
}

// TestBlkioLimitAsRoot: --device-write-bps 1mb on a loop device holds
// direct writes near 1 MB/s.
func TestBlkioLimitAsRoot(t *testing.T) {
	e := rootEnv(t)
	if why := e.noPrivileged(); why != "" {
		t.Skip(why)
	}
	img := filepath.Join(e.base, "loop.img")
	if err := os.WriteFile(img, make([]byte, 16<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("losetup", "--find", "--show", img).Output()
	if err != nil {
		t.Fatalf("losetup: %v", err)
	}
	dev := strings.TrimSpace(string(out))
	t.Cleanup(func() {
		if out, err := exec.Command("losetup", "-d", dev).CombinedOutput(); err != nil {
			t.Errorf("losetup -d %s: %v\n%s", dev, err, out)
		}
	})
	start := time.Now()
	r := e.skiff(t, "run", "--rm", "--privileged", "--device-write-bps", dev+":1mb", "busybox",
		"dd", "if=/dev/zero", "of="+dev, "bs=64k", "count=48", "oflag=direct")
	took := time.Since(start)
	if r.code != 0 {
		t.Fatalf("dd: %s", r)
	}
	if took < 2*time.Second || took > 8*time.Second {
		t.Errorf("3 MiB at 1 MB/s took %v, want about 3s", took)
	}
}

// TestLimitsWithoutDelegation: a user without a delegated cgroup gets a
// clear error for a limit, and containers without limits still run.
func TestLimitsWithoutDelegation(t *testing.T) {
	skiffOnly(t, "rootless limits without a delegated cgroup")
	e := newEnv(t, "nosubid")
	r := e.skiff(t, "run", "--rm", "-m", "32m", "busybox", "true")
	if r.code != 125 || !strings.Contains(r.stderr, "--memory needs a delegated memory cgroup") || !strings.Contains(r.stderr, "skiff system cgroup-setup --user "+*noSubID) {
		t.Errorf("-m without delegation: %s", r)
	}
	if out := e.mustSkiff(t, "ps", "-a", "-q"); out != "" {
		t.Errorf("a container was left: %q", out)
	}
	if out := e.mustSkiff(t, "run", "--rm", "busybox", "echo", "ok"); out != "ok\n" {
		t.Errorf("run without limits: %q", out)
	}
}
