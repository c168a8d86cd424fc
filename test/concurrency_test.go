package test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestConcurrentRuns runs 20 `run --rm` and 20 `run -d` + `rm -f` at the
// same time, then finds no container, mount, monitor process or state
// directory left.
func TestConcurrentRuns(t *testing.T) {
	forEachMode(t, func(t *testing.T, e *env) {
		skiff := e.target == "skiff"
		var cgroupsBefore int
		if skiff {
			cgroupsBefore, _ = e.cgroupCount(t)
		}
		var wg sync.WaitGroup
		errs := make(chan string, 80)
		for i := 0; i < 20; i++ {
			wg.Add(2)
			go func(i int) {
				defer wg.Done()
				r := e.skiff(t, "run", "--rm", "busybox", "echo", fmt.Sprint("rm", i))
				if r.code != 0 || r.stdout != fmt.Sprintf("rm%d\n", i) {
					errs <- fmt.Sprintf("run --rm %d: %s", i, r)
				}
			}(i)
			go func(i int) {
				defer wg.Done()
				name := fmt.Sprintf("conc%d", i)
				if r := e.skiff(t, "run", "-d", "--name", name, "busybox", "sleep", "300"); r.code != 0 {
					errs <- fmt.Sprintf("run -d %d: %s", i, r)
					return
				}
				if r := e.skiff(t, "rm", "-f", name); r.code != 0 {
					errs <- fmt.Sprintf("rm -f %d: %s", i, r)
				}
			}(i)
		}
		wg.Wait()
		close(errs)
		for msg := range errs {
			t.Error(msg)
		}
		if out := e.mustSkiff(t, "ps", "-a", "-q"); out != "" {
			t.Errorf("containers left: %q", out)
		}
		waitNoMounts(t, e)
		if !skiff {
			return // the rest is skiff's engine: monitors, cgroups, state
		}
		// No monitor of this env is left (a container's processes die with
		// its init, which its monitor waits for).
		deadline := time.Now().Add(10 * time.Second)
		for {
			left := e.processesMatching(t, "__monitor")
			if len(left) == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Errorf("processes left: %v", left)
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		// No cgroup is left (they are removed in the background).
		for deadline := time.Now().Add(10 * time.Second); ; {
			n, ok := e.cgroupCount(t)
			if !ok {
				t.Fatal("no parent cgroup after 40 containers ran: the check would prove nothing")
			}
			if n <= cgroupsBefore {
				break
			}
			if time.Now().After(deadline) {
				t.Errorf("%d cgroups left", n-cgroupsBefore)
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		for _, dir := range []string{filepath.Join(e.runDir(), "c"), e.containersDir()} {
			ents, _ := os.ReadDir(dir)
			if len(ents) != 0 {
				t.Errorf("state left in %s: %d entries", dir, len(ents))
			}
		}
	})
}

// containersDir holds a directory per container, where its logs are
// (skiff's layout is Docker's).
func (e *env) containersDir() string { return filepath.Join(e.dataDir(), "containers") }

// processesMatching lists the processes whose command line names this
// env's directory and contains one of the words.
func (e *env) processesMatching(t *testing.T, words ...string) []string {
	t.Helper()
	ents, _ := os.ReadDir("/proc")
	var out []string
	for _, ent := range ents {
		cmdline, err := os.ReadFile(filepath.Join("/proc", ent.Name(), "cmdline"))
		if err != nil {
			continue
		}
		cl := strings.ReplaceAll(string(cmdline), "\x00", " ")
		if !strings.Contains(cl, e.base) {
			continue
		}
		for _, w := range words {
			if strings.Contains(cl, w) {
				out = append(out, ent.Name()+": "+cl)
			}
		}
	}
	return out
}

// cgroupCount counts the container cgroups under this env's parent cgroup
// in the pids hierarchy (cgroup v1), and says whether that parent exists.
func (e *env) cgroupCount(t *testing.T) (int, bool) {
	t.Helper()
	parent := "skiff"
	if e.rootless {
		parent = "skiff-" + *userName
	}
	ents, err := os.ReadDir(filepath.Join("/sys/fs/cgroup/pids", parent))
	if err != nil {
		return 0, false
	}
	n := 0
	for _, ent := range ents {
		if ent.IsDir() {
			n++
		}
	}
	return n, true
}
