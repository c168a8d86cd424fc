package cgroups

import (
	"errors"
	"os/exec"
	"slices"
	"strconv"
	"testing"
	"time"
)

// process is something to Add: a pid, and a function that ends it.
type process func(t *testing.T) (pid int, exit func())

// testManager is the behaviour every Manager shares, whatever the cgroup
// version: name checks, ErrNotFound, reuse on a second Create, Add, Pids,
// Freeze/Thaw, Update visible in Stats, Destroy that kills nothing and
// then removes.
func testManager(t *testing.T, m Manager, proc process) {
	defer func(d time.Duration) { rmdirTimeout = d }(rmdirTimeout)
	rmdirTimeout = 50 * time.Millisecond

	for _, bad := range []string{"", "..", "a/b"} {
		if m.Create(bad, Resources{}) == nil || m.Add(bad, 1) == nil || m.Destroy(bad) == nil || m.Update(bad, Resources{}) == nil {
			t.Errorf("name %q accepted", bad)
		}
	}
	const name = "conformance"
	if _, err := m.Stats(name); !errors.Is(err, ErrNotFound) {
		t.Errorf("Stats before Create: %v", err)
	}
	if _, err := m.Pids(name); !errors.Is(err, ErrNotFound) {
		t.Errorf("Pids before Create: %v", err)
	}
	if _, err := m.OOMKilled(name); !errors.Is(err, ErrNotFound) {
		t.Errorf("OOMKilled before Create: %v", err)
	}
	if err := m.Freeze(name); !errors.Is(err, ErrNotFound) {
		t.Errorf("Freeze before Create: %v", err)
	}
	if err := m.Update(name, Resources{}); !errors.Is(err, ErrNotFound) {
		t.Errorf("Update before Create: %v", err)
	}
	if err := m.Add(name, 1); !errors.Is(err, ErrNotFound) {
		t.Errorf("Add before Create: %v", err)
	}
	if err := m.Destroy(name); err != nil {
		t.Errorf("Destroy before Create: %v", err)
	}

	r := Resources{Memory: 32 * mib, PidsLimit: i64(10)}
	if err := m.Create(name, r); err != nil {
		t.Fatal(err)
	}
	destroyLater(t, m, name)
	if err := m.Create(name, r); err != nil {
		t.Fatalf("second Create: %v", err)
	}
	pid, exit := proc(t)
	if err := m.Add(name, pid); err != nil {
		t.Fatal(err)
	}
	if pids, err := m.Pids(name); err != nil || !slices.Contains(pids, pid) {
		t.Errorf("Pids = %v, %v; want %d in it", pids, err, pid)
	}
	if err := m.Freeze(name); err != nil {
		t.Fatal(err)
	}
	if err := m.Thaw(name); err != nil {
		t.Fatal(err)
	}
	if s, err := m.Stats(name); err != nil || s.MemoryLimit != 32*mib {
		t.Errorf("Stats = %+v, %v", s, err)
	}
	if err := m.Update(name, Resources{Memory: 64 * mib}); err != nil {
		t.Fatal(err)
	}
	if s, err := m.Stats(name); err != nil || s.MemoryLimit != 64*mib {
		t.Errorf("Stats after Update = %+v, %v", s, err)
	}
	if oom, err := m.OOMKilled(name); oom || err != nil {
		t.Errorf("OOMKilled = %v, %v", oom, err)
	}

	if err := m.Destroy(name); err == nil {
		t.Error("Destroy removed a cgroup with a process in it")
	}
	if pids, _ := m.Pids(name); !slices.Contains(pids, pid) {
		t.Errorf("after a failed Destroy, Pids = %v; want %d in it", pids, pid)
	}
	exit()
	if err := m.Destroy(name); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Stats(name); !errors.Is(err, ErrNotFound) {
		t.Errorf("Stats after Destroy: %v", err)
	}
}

func TestV2Conformance(t *testing.T) {
	f := newFakeRoot(t, allV2)
	testManager(t, rootV2(t, f, Options{}), func(t *testing.T) (int, func()) {
		const pid = 4242
		return pid, func() {
			if err := f.removePid(strconv.Itoa(pid)); err != nil {
				t.Fatal(err)
			}
		}
	})
}

func TestV1Conformance(t *testing.T) {
	mounts := needV1Root(t)
	m, err := Detect(Options{Parent: testParent(t, mounts)})
	if err != nil {
		t.Fatal(err)
	}
	testManager(t, m, func(t *testing.T) (int, func()) {
		cmd := exec.Command("sleep", "30")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exit := func() { killWait(t, cmd) }
		t.Cleanup(exit)
		return cmd.Process.Pid, exit
	})
}
