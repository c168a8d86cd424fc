package test

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/skiff-dev/skiff/hack/testimages"
	"github.com/skiff-dev/skiff/runtime"
)

// fdTargets lists what a process's fds point at, by fd number.
func fdTargets(pid int) map[int]string {
	out := map[int]string{}
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	ents, _ := os.ReadDir(dir)
	for _, ent := range ents {
		n, err := strconv.Atoi(ent.Name())
		if err != nil {
			continue
		}
		target, _ := os.Readlink(filepath.Join(dir, ent.Name()))
		out[n] = target
	}
	return out
}

// TestFDHygiene starts the engine from a shell that holds extra fds (a
// directory and the host's /) and checks that none of them reaches the
// engine or a container, and that a working directory through
// /proc/self/fd/N is refused (CVE-2024-21626).
func TestFDHygiene(t *testing.T) {
	forEachMode(t, func(t *testing.T, e *env) {
		dir := e.hostDir(t, "fdmark")
		// skiff's CLI starts its engine: the fds it holds do not reach it.
		if e.target == "skiff" {
			e.stopEngine()
			r := e.run(t, nil, "sh", "-c", `exec 8<"$1" 9</; exec "$2" version`, "sh", dir, *skiffBin)
			if r.code != 0 {
				t.Fatalf("starting the engine from a shell holding fds 8 and 9: %s", r)
			}
			pids := []int{e.enginePID()}
			if e.rootless {
				pids = append(pids, e.innerEnginePID(t))
			}
			for _, pid := range pids {
				for fd, target := range fdTargets(pid) {
					if target == dir || target == "/" {
						t.Errorf("engine process %d holds the shell's fd %d (%s)", pid, fd, target)
					}
				}
			}
		}
		// PID 1 of a container, and a process exec'd into it, hold stdio only.
		out := e.mustSkiff(t, "run", "--rm", "busybox", "sh", "-c", "ls /proc/1/fd; true")
		if got := strings.Join(strings.Fields(out), " "); got != "0 1 2" {
			t.Errorf("the container's PID 1 holds fds %q, want 0 1 2", got)
		}
		name := "fdhyg-" + e.name
		e.cleanupContainer(t, name)
		e.mustSkiff(t, "run", "-d", "--name", name, "busybox", "sleep", "300")
		out = e.mustSkiff(t, "exec", name, "sh", "-c", "ls /proc/$$/fd; true")
		if got := strings.Join(strings.Fields(out), " "); got != "0 1 2" {
			t.Errorf("an exec'd process holds fds %q, want 0 1 2", got)
		}
		for n := 3; n <= 20; n++ {
			wd := fmt.Sprintf("/proc/self/fd/%d", n)
			if r := e.skiff(t, "run", "--rm", "-w", wd, "busybox", "sh", "-c", "echo x > victim"); r.code == 0 {
				t.Errorf("run -w %s was accepted: %s", wd, r)
			}
			if r := e.skiff(t, "exec", "-w", wd, name, "sh", "-c", "echo x > victim"); r.code == 0 {
				t.Errorf("exec -w %s was accepted: %s", wd, r)
			}
		}
		if _, err := os.Stat(filepath.Join(dir, "victim")); err == nil {
			t.Errorf("a container wrote into the host directory %s", dir)
		}
		if _, err := os.Stat("/victim"); err == nil {
			os.Remove("/victim")
			t.Errorf("a container wrote into the host's /")
		}
	})
}

// containerPids lists the live processes in the pid namespace of pid.
func containerPids(pid int) []int {
	ns, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/pid", pid))
	if err != nil {
		return nil
	}
	var out []int
	ents, _ := os.ReadDir("/proc")
	for _, ent := range ents {
		p, err := strconv.Atoi(ent.Name())
		if err != nil {
			continue
		}
		if x, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/pid", p)); err == nil && x == ns && !runtime.Gone(p) {
			out = append(out, p)
		}
	}
	sort.Ints(out)
	return out
}

// monitorOf finds the monitor process of container id.
func monitorOf(id string) int {
	ents, _ := os.ReadDir("/proc")
	for _, ent := range ents {
		p, err := strconv.Atoi(ent.Name())
		if err != nil {
			continue
		}
		cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", p))
		args := strings.Split(strings.TrimRight(string(cmdline), "\x00"), "\x00")
		if len(args) == 3 && args[1] == "__monitor" && strings.Contains(args[2], id) {
			return p
		}
	}
	return 0
}

// cgroupProcs is the cgroup.procs file of pid's memory (v1) or unified
// (v2) cgroup, or "".
func cgroupProcs(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.SplitN(line, ":", 3)
		if len(f) != 3 || f[2] == "/" {
			continue
		}
		switch {
		case f[1] == "memory":
			return filepath.Join("/sys/fs/cgroup/memory", f[2], "cgroup.procs")
		case f[0] == "0" && f[1] == "":
			if _, err := os.Stat("/sys/fs/cgroup/cgroup.controllers"); err == nil {
				return filepath.Join("/sys/fs/cgroup", f[2], "cgroup.procs")
			}
		}
	}
	return ""
}

// TestMonitorKilled kills a container's monitor with SIGKILL: the
// container's processes die with it, inspect says it stopped, and rm -f
// works.
func TestMonitorKilled(t *testing.T) {
	skiffOnly(t, "skiff's per-container monitor process")
	forEachMode(t, func(t *testing.T, e *env) {
		name := "monkill-" + e.name
		e.cleanupContainer(t, name)
		id := strings.TrimSpace(e.mustSkiff(t, "run", "-d", "--name", name, "busybox", "sh", "-c", "sleep 1000 & exec sleep 1001"))
		pid, _ := strconv.Atoi(strings.TrimSpace(e.mustSkiff(t, "inspect", "-f", "{{.State.Pid}}", name)))
		var procs []int
		for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
			if procs = containerPids(pid); len(procs) >= 2 {
				break
			}
		}
		if len(procs) < 2 {
			t.Fatalf("the container runs %v, want PID 1 and a background sleep", procs)
		}
		cg := cgroupProcs(pid)
		mon := monitorOf(id)
		if mon == 0 {
			t.Fatal("cannot find the container's monitor")
		}
		if err := syscall.Kill(mon, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		status := ""
		for end := time.Now().Add(30 * time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
			if status = strings.TrimSpace(e.mustSkiff(t, "inspect", "-f", "{{.State.Status}}", name)); status != "running" {
				break
			}
		}
		if status != "exited" {
			t.Errorf("after its monitor was killed the container is %q, want exited", status)
		}
		for _, p := range procs {
			if !runtime.Gone(p) {
				t.Errorf("process %d of the container outlived its monitor", p)
			}
		}
		if cg != "" {
			if b, err := os.ReadFile(cg); err == nil && strings.TrimSpace(string(b)) != "" {
				t.Errorf("the container's cgroup still holds processes: %s", b)
			}
		}
		e.mustSkiff(t, "rm", "-f", name)
	})
}

var hostileOnce struct {
	sync.Once
	canary string
	corpus []testimages.Hostile
	err    error
}

// hostileCorpus pushes the hostile-layer images to the test registry
// (once); their layers aim at a canary file on the host.
func hostileCorpus(t *testing.T) (string, []testimages.Hostile) {
	t.Helper()
	h := &hostileOnce
	h.Do(func() {
		dir, err := os.MkdirTemp("/tmp", "skiff-canary-")
		if err != nil {
			h.err = err
			return
		}
		if h.err = os.Chmod(dir, 0o755); h.err != nil {
			return
		}
		h.canary = filepath.Join(dir, "canary")
		if h.err = os.WriteFile(h.canary, []byte("canary\n"), 0o666); h.err != nil {
			return
		}
		if h.err = os.Chmod(h.canary, 0o666); h.err != nil {
			return
		}
		bb, err := testimages.Busybox()
		if err != nil {
			h.err = err
			return
		}
		if h.corpus, h.err = testimages.HostileCorpus(bb, h.canary); h.err != nil {
			return
		}
		for _, c := range h.corpus {
			if h.err = testimages.Push(registry, "hostile-"+c.Name+":latest", c.Image); h.err != nil {
				return
			}
		}
	})
	if h.err != nil {
		t.Fatalf("building the hostile-layer corpus: %v", h.err)
	}
	return h.canary, h.corpus
}

func checkCanary(t *testing.T, canary string) {
	t.Helper()
	b, err := os.ReadFile(canary)
	if err != nil || string(b) != "canary\n" {
		t.Fatalf("the host's canary %s changed: %q, %v", canary, b, err)
	}
	dir := filepath.Dir(canary)
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Fatalf("files appeared next to the canary in %s: %v", dir, ents)
	}
}

// TestHostileLayers pulls and runs each image of the hostile-layer corpus:
// each is refused with an error naming the entry, or unpacks and runs
// without touching the host. Docker refuses some that skiff unpacks, with
// words of its own: there only the host's canary is checked.
func TestHostileLayers(t *testing.T) {
	canary, corpus := hostileCorpus(t)
	forEachMode(t, func(t *testing.T, e *env) {
		for _, h := range corpus {
			t.Run(h.Name, func(t *testing.T) {
				ref := registry + "/hostile-" + h.Name + ":latest"
				r := e.skiff(t, "pull", ref)
				if e.target == "docker" && r.code != 0 {
					t.Logf("refused: %s", strings.TrimSpace(r.stderr))
					if out := e.mustSkiff(t, "images", "-q", ref); strings.TrimSpace(out) != "" {
						t.Errorf("the refused image is in the store: %s", out)
					}
					checkCanary(t, canary)
					return
				}
				if h.Refused != "" && e.target == "skiff" {
					if r.code == 0 || !strings.Contains(r.stderr, `entry "`+h.Refused+`"`) {
						t.Errorf("pull of %s: want a refusal naming entry %q: %s", h.Name, h.Refused, r)
					}
					if out := e.mustSkiff(t, "images", "-q", ref); strings.TrimSpace(out) != "" {
						t.Errorf("the refused image is in the store: %s", out)
					}
					checkCanary(t, canary)
					return
				}
				if r.code != 0 {
					t.Fatalf("pull of %s: %s", h.Name, r)
				}
				t.Cleanup(func() { e.skiff(t, "rmi", "-f", ref) })
				checkCanary(t, canary)
				if r := e.skiff(t, "run", "--rm", ref, "sh", "-c", "echo owned > "+canary+"; true"); r.code != 0 {
					t.Errorf("run %s: %s", h.Name, r)
				}
				checkCanary(t, canary)
				if h.Name == "device" {
					// Device nodes from an image never open: not made
					// rootless, nodev as root.
					for _, dev := range []string{"/sda-evil", "/mem-evil"} {
						if r := e.skiff(t, "run", "--rm", ref, "head", "-c", "1", dev); r.code == 0 {
							t.Errorf("a container read the device node %s from its image: %s", dev, r)
						}
					}
				}
			})
		}
	})
}

// TestMknodInContainer: CAP_MKNOD is in Docker's default set, so a
// container may make a device node, but never open one but the few that
// skiff gives it (as Docker's device cgroup does).
func TestMknodInContainer(t *testing.T) {
	forEachMode(t, func(t *testing.T, e *env) {
		vol := e.hostDir(t, "mknodvol")
		for _, dir := range []string{"/tmp", "/dev", "/dev/shm", "/v"} {
			out := e.mustSkiff(t, "run", "--rm", "-v", vol+":/v", "busybox", "sh", "-c",
				"mknod "+dir+"/sdx b 8 0 2>/dev/null || { echo NOMKNOD; exit 0; }; head -c 1 "+dir+"/sdx >/dev/null 2>&1 && echo OPENED; rm -f "+dir+"/sdx")
			if strings.Contains(out, "OPENED") {
				t.Errorf("a container opened a block device it made in %s", dir)
			}
			if !e.rootless && strings.Contains(out, "NOMKNOD") {
				t.Errorf("mknod in %s failed as root; Docker's default capabilities allow it", dir)
			}
		}
		e.mustSkiff(t, "run", "--rm", "busybox", "sh", "-c", "echo hi > /dev/null && head -c 1 /dev/zero >/dev/null && head -c 1 /dev/urandom >/dev/null")
	})
}

// TestLayerDigests loads an image whose layer is not what its config's
// diff_ids say, and one that claims another image's layer before that
// image is pulled.
func TestLayerDigests(t *testing.T) {
	bb, err := testimages.Busybox()
	if err != nil {
		t.Fatal(err)
	}
	genuine, err := testimages.WithLayerFile(bb, "app", "the real thing\n")
	if err != nil {
		t.Fatal(err)
	}
	if err := testimages.Push(registry, "digest-real:latest", genuine); err != nil {
		t.Fatal(err)
	}
	cfg, err := genuine.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	top := len(cfg.RootFS.DiffIDs) - 1
	fake, err := testimages.WithLayerFile(bb, "app", "poison\n")
	if err != nil {
		t.Fatal(err)
	}
	poison, err := testimages.WithDiffID(fake, top, cfg.RootFS.DiffIDs[top])
	if err != nil {
		t.Fatal(err)
	}
	liar, err := testimages.WithDiffID(fake, top, v1.Hash{Algorithm: "sha256", Hex: strings.Repeat("ab", 32)})
	if err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("/tmp", "skiff-digest-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	must(t, os.Chmod(dir, 0o755))
	for name, img := range map[string]v1.Image{"poison": poison, "liar": liar} {
		if err := testimages.WriteTarball(filepath.Join(dir, name+".tar"), img, "digest-"+name+":latest"); err != nil {
			t.Fatal(err)
		}
		must(t, os.Chmod(filepath.Join(dir, name+".tar"), 0o644))
	}
	if err := testimages.Push(registry, "digest-liar:latest", liar); err != nil {
		t.Fatal(err)
	}
	forEachMode(t, func(t *testing.T, e *env) {
		before := e.mustSkiff(t, "images", "-q")
		r := e.skiff(t, "load", "-i", filepath.Join(dir, "liar.tar"))
		if r.code == 0 || !strings.Contains(r.stderr, `invalid diffID for layer `+strconv.Itoa(top)+`: expected "sha256:abab`) {
			t.Errorf("load of a layer that is not its diff_id: %s", r)
		}
		r = e.skiff(t, "pull", registry+"/digest-liar:latest")
		if r.code == 0 || !strings.Contains(r.stderr, "layers from manifest don't match image configuration") {
			t.Errorf("pull of a layer that is not its diff_id: %s", r)
		}
		r = e.skiff(t, "load", "-i", filepath.Join(dir, "poison.tar"))
		if r.code == 0 {
			t.Errorf("load of a layer that claims another image's diff_id was accepted: %s", r)
		}
		if after := e.mustSkiff(t, "images", "-q"); after != before {
			t.Errorf("refused images changed the store: before\n%safter\n%s", before, after)
		}
		ref := registry + "/digest-real:latest"
		out := e.mustSkiff(t, "pull", ref)
		t.Cleanup(func() { e.skiff(t, "rmi", "-f", ref) })
		if !strings.Contains(out, "Pull complete") {
			t.Errorf("the real image's layer was not unpacked afresh after the poisoned load:\n%s", out)
		}
		if got := e.mustSkiff(t, "run", "--rm", ref, "cat", "/app"); got != "the real thing\n" {
			t.Errorf("the real image runs %q, want its own file", got)
		}
	})
}

// TestSparseLayer pulls and loads an image whose few-kilobyte layer holds
// a 10 GiB sparse file: it must stay sparse in the store (Docker writes
// every zero), and read back the same in the container.
func TestSparseLayer(t *testing.T) {
	skiffOnly(t, "beyond Docker, which writes every zero of a sparse file it unpacks")
	const size = 10 << 30
	bb, err := testimages.Busybox()
	if err != nil {
		t.Fatal(err)
	}
	img, err := testimages.WithSparseFile(bb, "big", size, map[int64]string{0: "head", 5 << 30: "middle", size - 4: "tail"})
	if err != nil {
		t.Fatal(err)
	}
	if err := testimages.Push(registry, "sparse:latest", img); err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("/tmp", "skiff-sparse-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	must(t, os.Chmod(dir, 0o755))
	archive := filepath.Join(dir, "sparse.tar")
	if err := testimages.WriteTarball(archive, img, "sparse-loaded:latest"); err != nil {
		t.Fatal(err)
	}
	must(t, os.Chmod(archive, 0o644))
	forEachMode(t, func(t *testing.T, e *env) {
		for _, how := range []struct{ name, ref string }{
			{"pull", registry + "/sparse:latest"},
			{"load", "sparse-loaded:latest"},
		} {
			t.Run(how.name, func(t *testing.T) {
				if how.name == "pull" {
					e.mustSkiff(t, "pull", how.ref)
				} else {
					e.mustSkiff(t, "load", "-i", archive)
				}
				t.Cleanup(func() { e.skiff(t, "rmi", "-f", how.ref) })
				out := e.mustSkiff(t, "run", "--rm", how.ref, "sh", "-c",
					"stat -c '%s %b %B' /big; head -c 4 /big; echo; dd if=/big bs=1M skip=5120 count=1 2>/dev/null | head -c 6; echo; tail -c 4 /big")
				lines := strings.Split(out, "\n")
				var gotSize, blocks, blockSize int64
				if _, err := fmt.Sscan(lines[0], &gotSize, &blocks, &blockSize); err != nil {
					t.Fatalf("stat: %q", out)
				}
				if gotSize != size {
					t.Errorf("the file is %d bytes, want %d", gotSize, int64(size))
				}
				if used := blocks * blockSize; used > 1<<20 {
					t.Errorf("the 10 GiB sparse file takes %d bytes on disk, want its holes kept", used)
				}
				if len(lines) < 4 || lines[1] != "head" || lines[2] != "middle" || lines[3] != "tail" {
					t.Errorf("the file reads %q, want head, middle and tail", lines[1:])
				}
			})
		}
	})
}
