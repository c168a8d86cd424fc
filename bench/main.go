// Command bench times `run --rm busybox true` and `exec CTR true` with
// skiff and with podman, both rootless as the same unprivileged user on this
// machine, in the same run, and prints the ratios (targets: skiff at or
// under 0.25x podman for run, 0.2x for exec).
// Run it as root (make bench): it prepares private XDG directories for the
// user, loads the locally built busybox image into both engines and never
// touches a registry.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"syscall"
	"time"

	"github.com/skiff-dev/skiff/hack/testimages"
)

func main() {
	skiff := flag.String("skiff", "bin/skiff", "skiff binary")
	userName := flag.String("user", "skiffuser", "unprivileged user with a subuid range")
	n := flag.Int("n", 20, "runs per engine")
	flag.Parse()
	if err := run(*skiff, *userName, *n); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

type runner struct {
	uid, gid int
	env      []string
}

func (r runner) cmd(name string, args ...string) *exec.Cmd {
	c := exec.Command(name, args...)
	c.Env = r.env
	c.Dir = "/"
	c.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(r.uid), Gid: uint32(r.gid)}}
	return c
}

func (r runner) must(name string, args ...string) error {
	var out bytes.Buffer
	c := r.cmd(name, args...)
	c.Stdout, c.Stderr = &out, &out
	if err := c.Run(); err != nil {
		return fmt.Errorf("%s %v: %v\n%s", name, args, err, out.String())
	}
	return nil
}

func run(skiff, userName string, n int) error {
	skiff, err := filepath.Abs(skiff)
	if err != nil {
		return err
	}
	u, err := user.Lookup(userName)
	if err != nil {
		return err
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	base, err := os.MkdirTemp("/tmp", "skb")
	if err != nil {
		return err
	}
	defer os.RemoveAll(base)
	os.Chmod(base, 0o755)
	for _, d := range []string{"data", "run", "config/containers"} {
		p := filepath.Join(base, d)
		if err := os.MkdirAll(p, 0o700); err != nil {
			return err
		}
	}
	// Podman 4.3 on this kind of host needs runc (crun 1.8 refuses the
	// hybrid cgroup layout), cgroupfs, file events, ulimits within the hard
	// limits, and the overlay driver (its rootless default is vfs).
	hard := syscall.Rlimit{}
	syscall.Getrlimit(syscall.RLIMIT_NOFILE, &hard)
	conf := fmt.Sprintf("[containers]\ndefault_ulimits = [\"nofile=%d:%d\"]\n[engine]\nruntime = \"runc\"\ncgroup_manager = \"cgroupfs\"\nevents_logger = \"file\"\n", hard.Max, hard.Max)
	if err := os.WriteFile(filepath.Join(base, "config/containers/containers.conf"), []byte(conf), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(base, "config/containers/storage.conf"), []byte("[storage]\ndriver = \"overlay\"\n"), 0o644); err != nil {
		return err
	}
	img, err := testimages.Busybox()
	if err != nil {
		return err
	}
	tarball := filepath.Join(base, "busybox.tar")
	if err := testimages.WriteTarball(tarball, img, "busybox:latest"); err != nil {
		return err
	}
	os.Chmod(tarball, 0o644)
	filepath.Walk(base, func(p string, _ os.FileInfo, _ error) error { return os.Lchown(p, uid, gid) })

	r := runner{uid: uid, gid: gid, env: []string{
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=" + u.HomeDir, "USER=" + userName,
		"XDG_DATA_HOME=" + base + "/data", "XDG_RUNTIME_DIR=" + base + "/run", "XDG_CONFIG_HOME=" + base + "/config",
	}}
	defer func() {
		// Stop skiff's engine.
		if b, err := os.ReadFile(filepath.Join(base, "run/skiff/engine.pid")); err == nil {
			if pid, _ := strconv.Atoi(string(bytes.TrimSpace(b))); pid > 0 {
				syscall.Kill(pid, syscall.SIGTERM)
				time.Sleep(time.Second)
			}
		}
		r.must("podman", "system", "reset", "-f")
	}()
	if err := r.must(skiff, "load", "-i", tarball); err != nil {
		return err
	}
	if err := r.must("podman", "load", "-i", tarball); err != nil {
		return err
	}
	runCmds := []bench{
		{"skiff", []string{skiff, "run", "--rm", "busybox", "true"}},
		{"podman", []string{"podman", "run", "--rm", "--net=none", "busybox", "true"}},
	}
	if err := compare(r, "run --rm busybox true", runCmds, n, 0.25); err != nil {
		return err
	}
	if err := r.must(skiff, "run", "-d", "--name", "benchx", "busybox", "sleep", "600"); err != nil {
		return err
	}
	if err := r.must("podman", "run", "-d", "--net=none", "--name", "benchx", "busybox", "sleep", "600"); err != nil {
		return err
	}
	defer r.must(skiff, "rm", "-f", "benchx")
	defer r.must("podman", "rm", "-f", "-t", "0", "benchx")
	execCmds := []bench{
		{"skiff", []string{skiff, "exec", "benchx", "true"}},
		{"podman", []string{"podman", "exec", "benchx", "true"}},
	}
	return compare(r, "exec CTR true", execCmds, n, 0.2)
}

type bench struct {
	name string
	args []string
}

// compare runs each command once to warm up, then n times alternating,
// and prints the medians and the skiff/podman ratio against target.
func compare(r runner, what string, cmds []bench, n int, target float64) error {
	times := map[string][]time.Duration{}
	for _, e := range cmds {
		if err := r.must(e.args[0], e.args[1:]...); err != nil {
			return err
		}
	}
	for i := 0; i < n; i++ {
		for _, e := range cmds {
			start := time.Now()
			if err := r.must(e.args[0], e.args[1:]...); err != nil {
				return err
			}
			times[e.name] = append(times[e.name], time.Since(start))
		}
	}
	med := map[string]time.Duration{}
	for _, e := range cmds {
		ts := times[e.name]
		sort.Slice(ts, func(i, j int) bool { return ts[i] < ts[j] })
		med[e.name] = ts[len(ts)/2]
		fmt.Printf("%-7s %s: median %v  min %v  max %v  (%d runs, rootless)\n", e.name, what, med[e.name].Round(time.Millisecond), ts[0].Round(time.Millisecond), ts[len(ts)-1].Round(time.Millisecond), len(ts))
	}
	ratio := float64(med["skiff"]) / float64(med["podman"])
	verdict := "meets"
	if ratio > target {
		verdict = "misses"
	}
	fmt.Printf("ratio skiff/podman for %s: %.2fx (%s the %.2fx target)\n", what, ratio, verdict, target)
	return nil
}
