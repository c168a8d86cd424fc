// Package test holds skiff's end-to-end tests: they drive the built skiff
// binary as root and as an unprivileged user, against a registry on
// 127.0.0.1, with real namespaces, mounts and processes.
package test

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/skiff-dev/skiff/hack/testimages"
)

var (
	skiffBin = flag.String("skiff", "", "path of the skiff binary under test")
	userName = flag.String("user", "skiffuser", "unprivileged user (with a subuid range) for the rootless runs")
	modes    = flag.String("modes", "root,rootless", "which modes to test")
	noSubID  = flag.String("nosubid-user", "skiffnosub", "unprivileged user without a subuid range")
)

// registry is the address of the test registry; busyboxRef and ownedRef
// are images pushed to it.
var (
	registry   string
	busyboxRef string
	ownedRef   string
	withVolRef string
)

// env is one skiff installation under test: a user, a data directory and
// a runtime directory, with its own engine.
type env struct {
	name     string
	rootless bool
	uid, gid int
	home     string
	base     string // temp root of this env
	environ  []string
	// bridge is a root env's default bridge interface (sk<N>), held by
	// bridgeLock; rootless envs use skiff0 in their own namespace.
	bridge     string
	bridgeLock *os.File
	// images are the extra test images pulled into this env.
	images map[string]bool
}

func TestMain(m *testing.M) {
	flag.Parse()
	if *skiffBin == "" {
		fmt.Fprintln(os.Stderr, "end-to-end tests need -skiff=/path/to/skiff (run `make test-e2e`)")
		os.Exit(2)
	}
	if os.Geteuid() != 0 {
		fmt.Fprintln(os.Stderr, "end-to-end tests run as root: they start skiff both as root and as the unprivileged user")
		os.Exit(2)
	}
	addr, stop, err := testimages.StartRegistry()
	if err != nil {
		fmt.Fprintln(os.Stderr, "starting the test registry:", err)
		os.Exit(2)
	}
	registry = addr
	if err := pushImages(); err != nil {
		fmt.Fprintln(os.Stderr, "pushing test images:", err)
		os.Exit(2)
	}
	if err := startUpstream(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	code := m.Run()
	stopUpstream()
	for _, e := range allEnvs {
		e.shutdown()
	}
	stop()
	os.Exit(code)
}

func pushImages() error {
	bb, err := testimages.Busybox()
	if err != nil {
		return err
	}
	busyboxRef = registry + "/busybox:latest"
	if err := testimages.Push(registry, "busybox:latest", bb); err != nil {
		return err
	}
	owned, err := testimages.WithFile(bb, "/owned/by-1000", []byte("mine\n"), 0o640, 1000, 1000)
	if err != nil {
		return err
	}
	ownedRef = registry + "/owned:latest"
	if err := testimages.Push(registry, "owned:latest", owned); err != nil {
		return err
	}
	// An image that declares VOLUME /vol, with a file in it.
	seeded, err := testimages.WithFile(bb, "/vol/seed", []byte("seed\n"), 0o644, 0, 0)
	if err != nil {
		return err
	}
	cfg, err := seeded.ConfigFile()
	if err != nil {
		return err
	}
	cfg = cfg.DeepCopy()
	cfg.Config.Volumes = map[string]struct{}{"/vol": {}}
	withVol, err := mutate.ConfigFile(seeded, cfg)
	if err != nil {
		return err
	}
	withVolRef = registry + "/withvol:latest"
	return testimages.Push(registry, "withvol:latest", withVol)
}

var allEnvs = map[string]*env{}

// newEnv makes (once per name) an installation for mode "root" or
// "rootless"; extra environment (SKIFF_STORAGE_DRIVER=...) gives it its
// own engine. The busybox image is pulled and tagged "busybox".
func newEnv(t *testing.T, mode string, extra ...string) *env {
	t.Helper()
	key := mode + strings.Join(extra, ",")
	if e, ok := allEnvs[key]; ok {
		return e
	}
	base, err := os.MkdirTemp("/tmp", "sk")
	if err != nil {
		t.Fatal(err)
	}
	must(t, os.Chmod(base, 0o755))
	e := &env{name: mode, base: base}
	path := "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	if mode == "rootless" || mode == "nosubid" {
		name := *userName
		if mode == "nosubid" {
			name = *noSubID
		}
		u, err := user.Lookup(name)
		if err != nil {
			t.Fatalf("rootless tests need the user %q (hack/setup.sh creates it): %v", name, err)
		}
		e.rootless = true
		e.uid, _ = strconv.Atoi(u.Uid)
		e.gid, _ = strconv.Atoi(u.Gid)
		e.home = u.HomeDir
		for _, d := range []string{"data", "run", "config"} {
			p := filepath.Join(base, d)
			must(t, os.Mkdir(p, 0o700))
			must(t, os.Chown(p, e.uid, e.gid))
		}
		e.environ = []string{path, "HOME=" + u.HomeDir, "USER=" + u.Username, "LOGNAME=" + u.Username,
			"XDG_DATA_HOME=" + base + "/data", "XDG_RUNTIME_DIR=" + base + "/run", "XDG_CONFIG_HOME=" + base + "/config"}
	} else {
		e.home = "/root"
		e.environ = []string{path, "HOME=/root", "SKIFF_DATA_DIR=" + base + "/data", "SKIFF_RUN_DIR=" + base + "/run",
			"SKIFF_CONFIG=" + base + "/engine.json"}
		// Root engines share the host: each gets its own default bridge,
		// subnet and nftables table.
		n, lock, err := claimBridge()
		if err != nil {
			t.Fatal(err)
		}
		e.bridge, e.bridgeLock = fmt.Sprintf("sk%d", n), lock
		cfg := fmt.Sprintf(`{"bridge":%q,"bip":"10.%d.0.1/24"}`, e.bridge, 200+n)
		if err := os.WriteFile(filepath.Join(base, "engine.json"), []byte(cfg), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	e.environ = append(e.environ, extra...)
	allEnvs[key] = e
	e.mustSkiff(t, "pull", busyboxRef)
	e.mustSkiff(t, "tag", busyboxRef, "busybox")
	return e
}

// claimBridge picks N for a root engine's bridge sk<N> and subnet
// 10.<200+N>.0.0/24: one that no interface on the host has, and whose lock
// (held until the env shuts down or the test process ends) no other test
// process on this machine holds.
func claimBridge() (int, *os.File, error) {
	used := map[string]bool{}
	ifaces, err := net.Interfaces()
	if err != nil {
		return 0, nil, err
	}
	for _, ifc := range ifaces {
		used[ifc.Name] = true
		addrs, _ := ifc.Addrs()
		for _, a := range addrs {
			if ipn, ok := a.(*net.IPNet); ok {
				if ip4 := ipn.IP.To4(); ip4 != nil && ip4[0] == 10 {
					used[fmt.Sprintf("10.%d", ip4[1])] = true
				}
			}
		}
	}
	for n := 0; n < 50; n++ {
		if used[fmt.Sprintf("sk%d", n)] || used[fmt.Sprintf("10.%d", 200+n)] {
			continue
		}
		f, err := os.OpenFile(fmt.Sprintf("/run/lock/skiff-e2e-sk%d", n), os.O_CREATE|os.O_RDWR, 0o600)
		if err != nil {
			return 0, nil, err
		}
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
			f.Close()
			continue
		}
		return n, f, nil
	}
	return 0, nil, errors.New("no free bridge sk0..sk49 for a root engine")
}

// runDir is where the engine keeps its socket.
func (e *env) runDir() string {
	if e.rootless {
		return filepath.Join(e.base, "run", "skiff")
	}
	return filepath.Join(e.base, "run")
}

func (e *env) socket() string { return filepath.Join(e.runDir(), "skiff.sock") }

// result is one command's outcome.
type result struct {
	stdout, stderr string
	code           int
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
}

// command builds a command that runs as this env's user.
func (e *env) command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	cmd.Env = e.environ
	cmd.Dir = "/"
	if e.rootless {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(e.uid), Gid: uint32(e.gid)}}
	}
	return cmd
}

// skiff runs the skiff CLI with args and returns what it printed.
func (e *env) skiff(t *testing.T, args ...string) result {
	t.Helper()
	return e.run(t, nil, *skiffBin, args...)
}

func (e *env) run(t *testing.T, stdin []byte, name string, args ...string) result {
	t.Helper()
	cmd := e.command(name, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		r := result{stdout: out.String(), stderr: errb.String()}
		if err != nil {
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				r.code = ee.ExitCode()
			} else {
				t.Fatalf("%s %v: %v", name, args, err)
			}
		}
		return r
	case <-time.After(2 * time.Minute):
		_ = cmd.Process.Kill() // it may have just exited: the test fails either way
		t.Fatalf("%s %v: timed out after 2 minutes\nstdout: %s\nstderr: %s", name, args, out.String(), errb.String())
		return result{}
	}
}

// mustSkiff runs skiff and fails the test unless it exits 0.
func (e *env) mustSkiff(t *testing.T, args ...string) string {
	t.Helper()
	r := e.skiff(t, args...)
	if r.code != 0 {
		t.Fatalf("[%s] skiff %s: %s", e.name, strings.Join(args, " "), r)
	}
	return r.stdout
}

// enginePID is the outermost engine process, from its pid file.
func (e *env) enginePID() int {
	b, err := os.ReadFile(filepath.Join(e.runDir(), "engine.pid"))
	if err != nil {
		return 0
	}
	n, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return n
}

// stopEngine stops the env's engine with SIGTERM and waits for it.
func (e *env) stopEngine() {
	if pid := e.enginePID(); pid > 0 {
		if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
			return // no such engine (a stale pid file)
		}
		for i := 0; i < 200 && syscall.Kill(pid, 0) == nil; i++ {
			time.Sleep(50 * time.Millisecond)
		}
	}
}

// restartEngine stops the engine; the next command starts a new one.
func (e *env) restartEngine(t *testing.T) {
	t.Helper()
	old := e.enginePID()
	e.stopEngine()
	e.mustSkiff(t, "ps")
	if pid := e.enginePID(); pid == 0 || pid == old {
		t.Fatalf("the engine did not restart (pid %d, before %d)", pid, old)
	}
}

// shutdown stops the env's engine and removes its files.
func (e *env) shutdown() {
	e.stopEngine()
	unmountUnder(e.base)
	os.RemoveAll(e.base)
	if e.bridgeLock != nil {
		e.bridgeLock.Close()
		e.bridgeLock = nil
	}
}

// mountsUnder lists the mount points below dir in the given mountinfo.
func mountsUnder(mountinfo, dir string) []string {
	b, err := os.ReadFile(mountinfo)
	if err != nil {
		return nil
	}
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) > 4 && strings.HasPrefix(f[4], dir+"/") {
			out = append(out, f[4])
		}
	}
	return out
}

func unmountUnder(dir string) {
	ms := mountsUnder("/proc/self/mountinfo", dir)
	for i := len(ms) - 1; i >= 0; i-- {
		// Best effort, on the way out: what stays mounted shows in the
		// checks for leftovers.
		_ = syscall.Unmount(ms[i], syscall.MNT_DETACH)
	}
}

// engineMounts lists the mounts below the env's directory as the engine
// sees them (rootless: inside its mount namespace).
func (e *env) engineMounts(t *testing.T) []string {
	t.Helper()
	mi := "/proc/self/mountinfo"
	if e.rootless {
		pid := e.innerEnginePID(t)
		mi = fmt.Sprintf("/proc/%d/mountinfo", pid)
	}
	return mountsUnder(mi, e.base)
}

// innerEnginePID finds the engine process that serves the API: the
// youngest "skiff engine" process of the env's user whose environment
// names this env.
func (e *env) innerEnginePID(t *testing.T) int {
	t.Helper()
	ents, _ := os.ReadDir("/proc")
	best := 0
	for _, ent := range ents {
		pid, err := strconv.Atoi(ent.Name())
		if err != nil {
			continue
		}
		cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if !strings.HasSuffix(string(cmdline), "engine\x00") {
			continue
		}
		environ, _ := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
		if !bytes.Contains(environ, []byte(e.base)) || !bytes.Contains(environ, []byte("_SKIFF_IN_USERNS=")) {
			continue
		}
		if pid > best {
			best = pid
		}
	}
	if best == 0 {
		t.Fatalf("[%s] cannot find the engine process", e.name)
	}
	return best
}

// forEachMode runs fn as a subtest for root and rootless.
func forEachMode(t *testing.T, fn func(t *testing.T, e *env)) {
	for _, mode := range strings.Split(*modes, ",") {
		t.Run(mode, func(t *testing.T) {
			fn(t, newEnv(t, mode))
		})
	}
}

// cleanupContainer removes the container when the test ends.
func (e *env) cleanupContainer(t *testing.T, name string) {
	t.Cleanup(func() { e.skiff(t, "rm", "-f", name) })
}

func contains(t *testing.T, what, s, want string) {
	t.Helper()
	if !strings.Contains(s, want) {
		t.Errorf("%s: want %q in:\n%s", what, want, s)
	}
}

func (e *env) uidString() string { return strconv.Itoa(e.uid) }

// must fails the test at a setup step that went wrong.
func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
