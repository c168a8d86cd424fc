// Command bench times `run --rm busybox true` and `exec CTR true` with
// skiff and with podman, both rootless as the same unprivileged user on this
// machine, in the same run, and prints the ratios (targets: skiff at or
// under 0.25x podman for run, 0.2x for exec); then pulls from a registry
// on 127.0.0.1 against podman and `tar -xzf`; then iperf3 through
// published ports and to the host's loopback, the embedded DNS's rate, and
// the logging benchmark.
// Run it as root (make bench): it prepares private XDG directories for the
// user, loads the locally built busybox image into both engines and never
// touches a registry.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/skiff-dev/skiff/hack/testimages"
)

func main() {
	skiff := flag.String("skiff", "bin/skiff", "skiff binary")
	userName := flag.String("user", "skiffuser", "unprivileged user with a subuid range")
	n := flag.Int("n", 20, "runs per engine")
	logMiB := flag.Int("log-mib", 1024, "MiB of short lines a container writes for the logging benchmark (0 skips it)")
	netSecs := flag.Int("net-secs", 5, "seconds per iperf3 and DNS measurement in the network benchmark (0 skips it)")
	pullMiB := flag.Int("pull-mib", 400, "MiB of files in the images of the pull benchmark (0 skips it)")
	pullRuns := flag.Int("pull-runs", 3, "runs per engine in the pull benchmark")
	flag.Parse()
	if err := run(*skiff, *userName, *n, *logMiB, *netSecs, *pullMiB, *pullRuns); err != nil {
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
		return fmt.Errorf("%s %v: %w\n%s", name, args, err, out.String())
	}
	return nil
}

// cleanup runs a command that undoes what the benchmark made: a failure
// is reported on stderr, and the benchmark's result stands.
func (r runner) cleanup(name string, args ...string) {
	if err := r.must(name, args...); err != nil {
		fmt.Fprintln(os.Stderr, "bench: cleaning up:", err)
	}
}

func run(skiff, userName string, n, logMiB, netSecs, pullMiB, pullRuns int) error {
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
	if err := os.Chmod(base, 0o755); err != nil {
		return err
	}
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
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &hard); err != nil {
		return fmt.Errorf("RLIMIT_NOFILE: %w", err)
	}
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
	if err := os.Chmod(tarball, 0o644); err != nil {
		return err
	}
	err = filepath.Walk(base, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, uid, gid)
	})
	if err != nil {
		return err
	}

	r := runner{uid: uid, gid: gid, env: []string{
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=" + u.HomeDir, "USER=" + userName,
		"XDG_DATA_HOME=" + base + "/data", "XDG_RUNTIME_DIR=" + base + "/run", "XDG_CONFIG_HOME=" + base + "/config",
		// For the container→host benchmark (the engine reads it at start).
		"SKIFF_ALLOW_HOST_LOOPBACK=1",
	}}
	defer func() {
		// Stop skiff's engine.
		if b, err := os.ReadFile(filepath.Join(base, "run/skiff/engine.pid")); err == nil {
			if pid, _ := strconv.Atoi(string(bytes.TrimSpace(b))); pid > 0 {
				if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
					fmt.Fprintf(os.Stderr, "bench: stopping the engine (pid %d): %v\n", pid, err)
				}
				time.Sleep(time.Second)
			}
		}
		r.cleanup("podman", "system", "reset", "-f")
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
	defer r.cleanup(skiff, "rm", "-f", "benchx")
	defer r.cleanup("podman", "rm", "-f", "-t", "0", "benchx")
	execCmds := []bench{
		{"skiff", []string{skiff, "exec", "benchx", "true"}},
		{"podman", []string{"podman", "exec", "benchx", "true"}},
	}
	if err := compare(r, "exec CTR true", execCmds, n, 0.2); err != nil {
		return err
	}
	if pullMiB > 0 {
		if err := pullBench(r, skiff, base, pullMiB, pullRuns); err != nil {
			return err
		}
	}
	if netSecs > 0 {
		if err := netBench(r, skiff, base, netSecs); err != nil {
			return err
		}
	}
	if logMiB > 0 {
		return logBench(r, skiff, base, logMiB)
	}
	return nil
}

// logBench has a container print about mib MiB of numbered short lines
// (seq) in each engine, and reports the wall time until it has exited,
// the lines `logs` gives back against those printed, and the peak memory
// of the process that wrote the log (skiff's monitor, podman's conmon).
func logBench(r runner, skiff, base string, mib int) error {
	lines := int64(mib) << 20 / 9 // seq's lines average about 9 bytes here
	script := fmt.Sprintf("seq 1 %d", lines)
	type engine struct {
		name, bin  string
		run        []string
		monitorPID func(id string) int
	}
	engines := []engine{
		{"skiff", skiff, []string{"run", "-d", "--name", "logbench", "busybox", "sh", "-c", script}, func(id string) int {
			b, _ := os.ReadFile(filepath.Join(base, "run/skiff/c", id, "monitor.pid"))
			pid, _ := strconv.Atoi(string(bytes.TrimSpace(b)))
			return pid
		}},
		{"podman", "podman", []string{"run", "-d", "--net=none", "--name", "logbench", "busybox", "sh", "-c", script}, func(id string) int {
			out, _ := r.cmd("podman", "inspect", "-f", "{{.State.ConmonPid}}", id).Output()
			pid, _ := strconv.Atoi(string(bytes.TrimSpace(out)))
			return pid
		}},
	}
	for _, e := range engines {
		start := time.Now()
		out, err := r.cmd(e.bin, e.run...).Output()
		if err != nil {
			return fmt.Errorf("%s run: %w", e.name, err)
		}
		id := string(bytes.TrimSpace(out))
		pid := e.monitorPID(id)
		var peak int64
		done := make(chan struct{})
		go func() {
			for {
				if kb := vmHWM(pid); kb > peak {
					peak = kb
				}
				select {
				case <-done:
					return
				case <-time.After(100 * time.Millisecond):
				}
			}
		}()
		if err := r.must(e.bin, "wait", "logbench"); err != nil {
			return err
		}
		wall := time.Since(start)
		close(done)
		logs := r.cmd(e.bin, "logs", "logbench")
		pipe, _ := logs.StdoutPipe()
		if err := logs.Start(); err != nil {
			return err
		}
		got := countLines(pipe)
		if err := logs.Wait(); err != nil {
			return fmt.Errorf("%s logs: %w", e.name, err)
		}
		if err := r.must(e.bin, "rm", "-f", "logbench"); err != nil {
			return err
		}
		fmt.Printf("%-7s %d MiB of lines to stdout: wall %v, lines lost %d of %d, log writer peak memory %d KiB\n",
			e.name, mib, wall.Round(time.Millisecond), lines-got, lines, peak)
	}
	return nil
}

func vmHWM(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	return 0
}

func countLines(r io.Reader) int64 {
	var n int64
	buf := make([]byte, 1<<20)
	for {
		k, err := r.Read(buf)
		n += int64(bytes.Count(buf[:k], []byte{'\n'}))
		if err != nil {
			return n
		}
	}
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
