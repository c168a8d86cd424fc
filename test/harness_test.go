// Package test holds skiff's end-to-end tests: they drive the built skiff
// binary as root and as an unprivileged user, against a registry on
// 127.0.0.1, with real namespaces, mounts and processes. With
// -target=docker the same tests drive the docker CLI against a dockerd
// they start (Debian's docker.io), so that every Docker-compatible check
// is checked against Docker itself; the skiff-only ones skip, saying why.
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
	target   = flag.String("target", "skiff", "engine under test: skiff (the -skiff binary, root and rootless) or docker (the docker CLI against a dockerd the tests start as root)")
	gaps     = flag.Bool("check-gaps", false, "check the known gaps on skiff too (each fails until skiff does what Docker does)")
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
// a runtime directory, with its own engine; or, with -target=docker, the
// docker CLI on the tests' dockerd.
type env struct {
	name string
	// target is "skiff" or "docker" (-target); bin is the CLI that
	// e.skiff runs (skiff, or docker with DOCKER_HOST on the tests'
	// dockerd).
	target   string
	bin      string
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
	switch *target {
	case "skiff":
		if *skiffBin == "" {
			fmt.Fprintln(os.Stderr, "end-to-end tests need -skiff=/path/to/skiff (run `make test-e2e`)")
			os.Exit(2)
		}
	case "docker":
	default:
		fmt.Fprintf(os.Stderr, "-target=%s: want skiff or docker\n", *target)
		os.Exit(2)
	}
	if os.Geteuid() != 0 {
		fmt.Fprintln(os.Stderr, "end-to-end tests run as root: they start skiff both as root and as the unprivileged user, or dockerd")
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
	if *target == "docker" {
		if daemon, err = startDockerd(); err != nil {
			fmt.Fprintln(os.Stderr, "starting dockerd:", err)
			stopUpstream()
			stop()
			os.Exit(2)
		}
	}
	code := m.Run()
	stopUpstream()
	for _, e := range allEnvs {
		e.shutdown()
	}
	if daemon != nil {
		if err := daemon.stop(); err != nil {
			fmt.Fprintln(os.Stderr, "stopping dockerd:", err)
			code = 1
		}
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

// newEnv makes (once per name) an installation for mode "root",
// "rootless" or "nosubid"; extra environment (SKIFF_STORAGE_DRIVER=...)
// gives it its own engine. With -target=docker the only mode is "docker":
// the docker CLI on the tests' dockerd. The busybox image is pulled and
// tagged "busybox".
func newEnv(t *testing.T, mode string, extra ...string) *env {
	t.Helper()
	if (*target == "docker") != (mode == "docker") {
		t.Fatalf("no %q env with -target=%s (a skiff-only test calls skiffOnly first)", mode, *target)
	}
	key := mode + strings.Join(extra, ",")
	if e, ok := allEnvs[key]; ok {
		return e
	}
	base, err := os.MkdirTemp("/tmp", "sk")
	if err != nil {
		t.Fatal(err)
	}
	must(t, os.Chmod(base, 0o755))
	e := &env{name: mode, target: *target, bin: *skiffBin, base: base}
	path := "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	switch mode {
	case "docker":
		// Root, on the tests' dockerd; base holds the test's own files
		// and the CLI's config (no credential helper of the host's).
		e.bin = daemon.cli
		e.bridge = "docker0"
		e.environ = []string{path, "HOME=/root", "DOCKER_HOST=unix://" + daemon.sock, "DOCKER_CONFIG=" + base + "/docker-config"}
	case "rootless", "nosubid":
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
	default:
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

// noPrivileged says why --privileged cannot work on this machine with
// dockerd, or "": dockerd asks runc for every capability the kernel has,
// and runc cannot apply one outside the bounding set the tests run with
// (skiff gives a container only the capabilities its user has).
func (e *env) noPrivileged() string {
	if e.target != "docker" {
		return ""
	}
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return err.Error()
	}
	last, err := os.ReadFile("/proc/sys/kernel/cap_last_cap")
	if err != nil {
		return err.Error()
	}
	n, _ := strconv.Atoi(strings.TrimSpace(string(last)))
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "CapBnd:\t"); ok {
			bnd, _ := strconv.ParseUint(v, 16, 64)
			if all := uint64(1)<<(n+1) - 1; bnd&all != all {
				return fmt.Sprintf("the tests' bounding set %s lacks capabilities the kernel has (%#x): dockerd's --privileged asks for them and runc cannot apply them", v, all&^bnd)
			}
		}
	}
	return ""
}

// rootEnv is the root env of the target: skiff as root, or docker.
func rootEnv(t *testing.T) *env {
	t.Helper()
	if *target == "docker" {
		return newEnv(t, "docker")
	}
	return newEnv(t, "root")
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

// runDir is where the engine keeps its socket (skiff).
func (e *env) runDir() string {
	if e.rootless {
		return filepath.Join(e.base, "run", "skiff")
	}
	return filepath.Join(e.base, "run")
}

// socket is the engine's API socket: skiff's, or the tests' dockerd's.
func (e *env) socket() string {
	if e.target == "docker" {
		return daemon.sock
	}
	return filepath.Join(e.runDir(), "skiff.sock")
}

// prog is the CLI's name as it prints it in its errors ("skiff: ...",
// "'skiff run' requires ...").
func (e *env) prog() string { return e.target }

// orDockerIO is want, or dockerIO on the docker target: what Debian's
// docker.io (dockerd 20.10) does where the Docker that skiff follows (28:
// moby v28.5.2's source, the docker CLI 28) does otherwise. Each use says
// what changed between the two.
func orDockerIO[T any](e *env, want, dockerIO T) T {
	if e.target == "docker" {
		return dockerIO
	}
	return want
}

// knownGap reports whether a check of Docker's behaviour is one that
// skiff does not pass yet: on the skiff target it logs the gap (the check
// is not made) unless -check-gaps; on the docker target it returns false
// and the check runs. Each gap is listed in the README's section on
// -target=docker.
func (e *env) knownGap(t *testing.T, what string) bool {
	t.Helper()
	if e.target == "skiff" && !*gaps {
		t.Logf("known gap (skiff differs from Docker, not checked): %s", what)
		return true
	}
	return false
}

// skiffOnly skips a test of something only skiff has (rootless mode, its
// engine's processes, its storage drivers, ...) when the target is docker.
func skiffOnly(t *testing.T, why string) {
	t.Helper()
	if *target != "skiff" {
		t.Skip("skiff-only: " + why)
	}
}

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

// skiff runs the CLI under test (skiff, or docker with -target=docker)
// with args and returns what it printed.
func (e *env) skiff(t *testing.T, args ...string) result {
	t.Helper()
	return e.cli(t, nil, args...)
}

// cli runs the CLI under test with stdin.
func (e *env) cli(t *testing.T, stdin []byte, args ...string) result {
	t.Helper()
	if e.target == "docker" {
		if err := checkPull(args); err != nil {
			t.Fatal(err)
		}
	}
	return e.run(t, stdin, e.bin, args...)
}

// checkPull refuses a pull of a name that is not on the test registry.
func checkPull(args []string) error {
	if len(args) > 1 && args[0] == "image" {
		args = args[1:]
	}
	if len(args) == 0 || args[0] != "pull" {
		return nil
	}
	for _, a := range args[1:] {
		if !strings.HasPrefix(a, "-") {
			if err := checkLocalRef(a); err != nil {
				return fmt.Errorf("refusing to pull: %w", err)
			}
		}
	}
	return nil
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

// mustAPI141 is mustSkiff for a command that the docker CLI 28 refuses to
// send to a daemon older than API 1.44 (--mac-address with --network):
// on the docker target it runs docker.io's own CLI (20.10), which sends it
// as API 1.41 has it.
func (e *env) mustAPI141(t *testing.T, args ...string) string {
	t.Helper()
	if e.target != "docker" {
		return e.mustSkiff(t, args...)
	}
	r := e.run(t, nil, dockerCLIs[len(dockerCLIs)-1], args...)
	if r.code != 0 {
		t.Fatalf("[%s] docker (20.10) %s: %s", e.name, strings.Join(args, " "), r)
	}
	return r.stdout
}

// mustSkiff runs skiff and fails the test unless it exits 0.
func (e *env) mustSkiff(t *testing.T, args ...string) string {
	t.Helper()
	r := e.skiff(t, args...)
	if r.code != 0 {
		t.Fatalf("[%s] %s %s: %s", e.name, e.prog(), strings.Join(args, " "), r)
	}
	return r.stdout
}

// enginePID is the outermost engine process (or dockerd), from its pid
// file.
func (e *env) enginePID() int {
	pidFile := filepath.Join(e.runDir(), "engine.pid")
	if e.target == "docker" {
		pidFile = daemon.pidFile
	}
	b, err := os.ReadFile(pidFile)
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
// The tests' dockerd is stopped and started again.
func (e *env) restartEngine(t *testing.T) {
	t.Helper()
	if e.target == "docker" {
		if err := daemon.restart(); err != nil {
			t.Fatal(err)
		}
		return
	}
	old := e.enginePID()
	e.stopEngine()
	e.mustSkiff(t, "ps")
	if pid := e.enginePID(); pid == 0 || pid == old {
		t.Fatalf("the engine did not restart (pid %d, before %d)", pid, old)
	}
}

// shutdown stops the env's engine and removes its files (TestMain stops
// the tests' dockerd).
func (e *env) shutdown() {
	if e.target != "docker" {
		e.stopEngine()
	}
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

// engineMounts lists the mounts below the env's directory (dockerd's
// data-root: its exec-root holds network namespaces it makes when it
// needs them) as the engine sees them (rootless: inside its mount
// namespace).
func (e *env) engineMounts(t *testing.T) []string {
	t.Helper()
	if e.target == "docker" {
		return mountsUnder("/proc/self/mountinfo", daemon.dataRoot())
	}
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

// forEachMode runs fn as a subtest for root and rootless (-modes), or
// once, as "docker", with -target=docker.
func forEachMode(t *testing.T, fn func(t *testing.T, e *env)) {
	if *target == "docker" {
		t.Run("docker", func(t *testing.T) {
			fn(t, newEnv(t, "docker"))
		})
		return
	}
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
