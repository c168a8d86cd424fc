package cgroups

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// fakeFS is an in-process cgroup2 filesystem in a temporary directory. It
// does what the kernel does where the managers rely on it:
//   - mkdir creates the core interface files and those of every controller
//     the parent enabled in cgroup.subtree_control (listed in the child's
//     cgroup.controllers);
//   - writing "+ctl"/"-ctl" to cgroup.subtree_control changes the set, and
//     fails with EBUSY while a non-root cgroup holds processes, or with
//     ENOENT for a controller the cgroup is not offered;
//   - writing a pid to cgroup.procs moves it out of every other cgroup;
//   - io.max keeps one line per device;
//   - cgroup.freeze updates "frozen" in cgroup.events;
//   - rmdir fails with EBUSY while processes remain and ENOTEMPTY while
//     child cgroups do, and removes the interface files.
//
// Writes to files that do not exist fail with ENOENT, as on cgroupfs.
type fakeFS struct {
	root   string
	noSwap bool // no memory.swap.max, as with swap accounting off
}

// newFakeRoot makes a fake cgroup2 root offering controllers.
func newFakeRoot(t *testing.T, controllers string) *fakeFS {
	t.Helper()
	f := &fakeFS{root: t.TempDir()}
	f.files(t, f.root, map[string]string{
		"cgroup.controllers":     controllers,
		"cgroup.subtree_control": "",
		"cgroup.procs":           "1\n",
		"cpu.stat":               "usage_usec 0\n",
	})
	return f
}

// files writes test content into dir, creating the files.
func (f *fakeFS) files(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// mkdirAll makes the cgroups along rel, as a host with systemd would have
// them: each level enables the given controllers for the next, and the
// last one offers them.
func (f *fakeFS) mkdirAll(t *testing.T, rel string, controllers string) string {
	t.Helper()
	d := f.root
	for _, e := range strings.Split(strings.Trim(rel, "/"), "/") {
		if err := os.WriteFile(filepath.Join(d, "cgroup.subtree_control"), []byte(controllers), 0o644); err != nil {
			t.Fatal(err)
		}
		d = filepath.Join(d, e)
		if err := f.Mkdir(d); err != nil && !errors.Is(err, fs.ErrExist) {
			t.Fatal(err)
		}
	}
	return d
}

func (f *fakeFS) Mkdir(path string) error {
	if err := os.Mkdir(path, 0o755); err != nil {
		return err
	}
	enabled := strings.Fields(readOrEmpty(filepath.Join(filepath.Dir(path), "cgroup.subtree_control")))
	files := map[string]string{
		"cgroup.controllers":     strings.Join(enabled, " "),
		"cgroup.subtree_control": "",
		"cgroup.procs":           "",
		"cgroup.events":          "populated 0\nfrozen 0\n",
		"cgroup.freeze":          "0",
		"cpu.stat":               "usage_usec 0\nuser_usec 0\nsystem_usec 0\n",
	}
	for _, c := range enabled {
		switch c {
		case "memory":
			files["memory.max"] = "max"
			files["memory.low"] = "0"
			files["memory.current"] = "0"
			files["memory.stat"] = "anon 0\nfile 0\n"
			files["memory.events"] = "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n"
			if !f.noSwap {
				files["memory.swap.max"] = "max"
			}
		case "cpu":
			files["cpu.max"] = "max 100000"
			files["cpu.weight"] = "100"
		case "cpuset":
			files["cpuset.cpus"] = ""
			files["cpuset.mems"] = ""
		case "pids":
			files["pids.max"] = "max"
			files["pids.current"] = "0"
		case "io":
			files["io.max"] = ""
			files["io.weight"] = "default 100"
			files["io.stat"] = ""
		}
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(path, name), []byte(content), 0o644); err != nil {
			return err
		}
	}
	return nil
}

func (f *fakeFS) Rmdir(path string) error {
	entries, err := os.ReadDir(path)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if e.IsDir() {
			return &fs.PathError{Op: "rmdir", Path: path, Err: unix.ENOTEMPTY}
		}
	}
	if strings.TrimSpace(readOrEmpty(filepath.Join(path, "cgroup.procs"))) != "" {
		return &fs.PathError{Op: "rmdir", Path: path, Err: unix.EBUSY}
	}
	for _, e := range entries {
		os.Remove(filepath.Join(path, e.Name()))
	}
	return os.Remove(path)
}

func (f *fakeFS) Write(path string, lines ...string) error {
	cur, err := os.ReadFile(path)
	if err != nil {
		return err // ENOENT: cgroupfs cannot create files
	}
	dir, base := filepath.Dir(path), filepath.Base(path)
	content := strings.Join(lines, "\n")
	switch base {
	case "cgroup.subtree_control":
		set := strings.Fields(string(cur))
		offered := strings.Fields(readOrEmpty(filepath.Join(dir, "cgroup.controllers")))
		for _, tok := range strings.Fields(content) {
			c := tok[1:]
			if !slices.Contains(offered, c) {
				return &fs.PathError{Op: "write", Path: path, Err: unix.ENOENT}
			}
			if dir != f.root && strings.TrimSpace(readOrEmpty(filepath.Join(dir, "cgroup.procs"))) != "" {
				return &fs.PathError{Op: "write", Path: path, Err: unix.EBUSY}
			}
			switch {
			case tok[0] == '+' && !slices.Contains(set, c):
				set = append(set, c)
			case tok[0] == '-':
				set = slices.DeleteFunc(set, func(s string) bool { return s == c })
			}
		}
		content = strings.Join(set, " ")
	case "cgroup.procs":
		for _, pid := range lines {
			if err := f.removePid(pid); err != nil {
				return err
			}
		}
		content = strings.Join(append(splitLines(string(cur)), lines...), "\n") + "\n"
	case "io.max":
		byDev := map[string]string{}
		var order []string
		for _, l := range append(splitLines(string(cur)), lines...) {
			dev, _, _ := strings.Cut(l, " ")
			if _, ok := byDev[dev]; !ok {
				order = append(order, dev)
			}
			byDev[dev] = l
		}
		var out []string
		for _, dev := range order {
			if byDev[dev] != dev+" rbps=max wbps=max riops=max wiops=max" {
				out = append(out, byDev[dev])
			}
		}
		content = strings.Join(out, "\n")
	case "cgroup.freeze":
		events := fmt.Sprintf("populated 0\nfrozen %s\n", strings.TrimSpace(content))
		if err := os.WriteFile(filepath.Join(dir, "cgroup.events"), []byte(events), 0o644); err != nil {
			return err
		}
	}
	return os.WriteFile(path, []byte(content), 0o644)
}

// removePid takes pid out of every cgroup.procs in the tree.
func (f *fakeFS) removePid(pid string) error {
	return filepath.WalkDir(f.root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || d.Name() != "cgroup.procs" {
			return err
		}
		var keep []string
		for _, l := range splitLines(readOrEmpty(p)) {
			if l != pid {
				keep = append(keep, l)
			}
		}
		out := strings.Join(keep, "\n")
		if out != "" {
			out += "\n"
		}
		return os.WriteFile(p, []byte(out), 0o644)
	})
}

// readOrEmpty is the file's content, "" where it cannot be read.
func readOrEmpty(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return string(b)
}
