package test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestRunExitCodes(t *testing.T) {
	forEachMode(t, func(t *testing.T, e *env) {
		cases := []struct {
			name   string
			args   []string
			code   int
			stdout string
			stderr string
			// docker is what docker.io prints instead of stderr, where
			// it differs (the case says why).
			docker string
		}{
			{"echo", []string{"run", "--rm", "busybox", "echo", "hello"}, 0, "hello\n", "", ""},
			{"exit 3", []string{"run", "--rm", "busybox", "sh", "-c", "exit 3"}, 3, "", "", ""},
			{"false", []string{"run", "--rm", "busybox", "false"}, 1, "", "", ""},
			{"missing command", []string{"run", "--rm", "busybox", "nosuchcmd"}, 127, "", `exec: "nosuchcmd": executable file not found in $PATH`, ""},
			{"missing path", []string{"run", "--rm", "busybox", "/no/such/file"}, 127, "", "no such file or directory", ""},
			{"not executable", []string{"run", "--rm", "busybox", "/etc/passwd"}, 126, "", "permission denied", ""},
			// runc built with Go 1.20+ (Docker 28's) says "is a directory",
			// Debian's runc 1.1.5 (Go 1.19) "permission denied".
			{"directory", []string{"run", "--rm", "busybox", "/etc"}, 126, "", "is a directory", `exec: "/etc": permission denied`},
			{"missing image", []string{"run", "--rm", registry + "/nosuchimage"}, 125, "", "Unable to find image '" + registry + "/nosuchimage:latest' locally", ""},
			{"bad reference", []string{"run", "--rm", "UPPER/Case"}, 125, "", "invalid reference format", ""},
			{"unknown flag", []string{"run", "--bogus-flag", "busybox"}, 125, "", "unknown flag: --bogus-flag", ""},
			{"no image", []string{"run"}, 1, "", "'" + e.prog() + " run' requires at least 1 argument", ""},
			{"env", []string{"run", "--rm", "-e", "FOO=bar", "busybox", "sh", "-c", "echo $FOO"}, 0, "bar\n", "", ""},
			{"relative workdir", []string{"run", "--rm", "-w", "tmp", "busybox", "true"}, 125, "", "it needs to be an absolute path", ""},
			{"bad stop signal", []string{"run", "--rm", "--stop-signal", "SIGNOPE", "busybox", "true"}, 125, "", "Invalid signal: SIGNOPE", ""},
			// skiff checks tmpfs options before anything is made; Docker
			// hands them to the kernel at start.
			{"bad tmpfs option", []string{"run", "--rm", "--tmpfs", "/t:size=lots", "busybox", "true"}, 125, "", `invalid tmpfs option "size=lots"`,
				`data: size=lots: invalid argument`},
			{"unknown network", []string{"run", "--rm", "--network", "nosuchnet", "busybox", "true"}, 125, "", "network nosuchnet not found", ""},
			{"network none", []string{"run", "--rm", "--network", "none", "busybox", "sh", "-c", "ls /sys/class/net"}, 0, "lo\n", "", ""},
			{"workdir", []string{"run", "--rm", "-w", "/tmp/newdir", "busybox", "pwd"}, 0, "/tmp/newdir\n", "", ""},
			{"user", []string{"run", "--rm", "-u", "nobody", "busybox", "id", "-u"}, 0, "65534\n", "", ""},
			{"entrypoint", []string{"run", "--rm", "--entrypoint", "echo", "busybox", "a", "b"}, 0, "a b\n", "", ""},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				r := e.skiff(t, c.args...)
				if r.code != c.code {
					t.Errorf("exit code: %s\nwant %d", r, c.code)
				}
				if c.stdout != "" && r.stdout != c.stdout {
					t.Errorf("stdout: %q, want %q", r.stdout, c.stdout)
				}
				want := c.stderr
				if e.target == "docker" && c.docker != "" {
					want = c.docker
				}
				if want != "" && !strings.Contains(r.stderr, want) {
					t.Errorf("stderr: %q, want it to contain %q", r.stderr, want)
				}
			})
		}
		// None of the --rm runs, failed or not, leaves a container or mount.
		if out := e.mustSkiff(t, "ps", "-a", "-q"); strings.TrimSpace(out) != "" {
			t.Errorf("containers left behind: %q", out)
		}
		waitNoMounts(t, e)
	})
}

// waitNoMounts checks that no container rootfs stays mounted.
func waitNoMounts(t *testing.T, e *env) {
	t.Helper()
	var ms []string
	for i := 0; i < 50; i++ {
		ms = nil
		for _, m := range e.engineMounts(t) {
			if strings.HasSuffix(m, "/merged") {
				ms = append(ms, m)
			}
		}
		if len(ms) == 0 {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Errorf("rootfs mounts left behind: %v", ms)
}

func TestRunStdinPipe(t *testing.T) {
	forEachMode(t, func(t *testing.T, e *env) {
		r := e.cli(t, []byte("line1\nline2\n"), "run", "--rm", "-i", "busybox", "wc", "-l")
		if r.code != 0 || strings.TrimSpace(r.stdout) != "2" {
			t.Errorf("stdin through run -i: %s", r)
		}
	})
}

func TestRunDetachedAndPs(t *testing.T) {
	forEachMode(t, func(t *testing.T, e *env) {
		id := strings.TrimSpace(e.mustSkiff(t, "run", "-d", "--name", "pstest", "busybox", "sleep", "300"))
		e.cleanupContainer(t, "pstest")
		if len(id) != 64 {
			t.Fatalf("run -d printed %q, want a 64-hex ID", id)
		}
		out := e.mustSkiff(t, "ps")
		lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
		header := lines[0]
		for _, col := range []string{"CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES"} {
			contains(t, "ps header", header, col)
		}
		var row string
		for _, l := range lines[1:] {
			if strings.HasPrefix(l, id[:12]) {
				row = l
			}
		}
		if row == "" {
			t.Fatalf("ps does not list %s:\n%s", id[:12], out)
		}
		contains(t, "ps row", row, `"sleep 300"`)
		contains(t, "ps row", row, "Up ")
		contains(t, "ps row", row, "pstest")
		contains(t, "ps row", row, "busybox")
		if strings.Index(row, "busybox") != strings.Index(header, "IMAGE") {
			t.Errorf("IMAGE column misaligned:\n%s\n%s", header, row)
		}
		// The hostname is the short ID.
		if got := e.mustSkiff(t, "run", "--rm", "busybox", "hostname"); len(strings.TrimSpace(got)) != 12 {
			t.Errorf("hostname %q, want 12 hex", got)
		}
		q := e.mustSkiff(t, "ps", "-q")
		contains(t, "ps -q", q, id[:12]+"\n")

		// An exited container shows only with -a, as "Exited (N) ... ago".
		if r := e.skiff(t, "run", "--name", "pstest-exited", "busybox", "sh", "-c", "exit 4"); r.code != 4 {
			t.Fatalf("run: %s", r)
		}
		e.cleanupContainer(t, "pstest-exited")
		if strings.Contains(e.mustSkiff(t, "ps"), "pstest-exited") {
			t.Error("ps lists an exited container")
		}
		out = e.mustSkiff(t, "ps", "-a")
		contains(t, "ps -a", out, "pstest-exited")
		contains(t, "ps -a", out, "Exited (4) ")

		st := e.mustSkiff(t, "inspect", "-f", "{{.State.Status}} {{.State.ExitCode}} {{.Name}}", "pstest-exited")
		if strings.TrimSpace(st) != "exited 4 /pstest-exited" {
			t.Errorf("inspect: %q", st)
		}
		// Random names are adjective_surname.
		e.mustSkiff(t, "create", "busybox")
		names := e.mustSkiff(t, "ps", "-a", "--format", "{{.Names}}")
		found := false
		for _, n := range strings.Fields(names) {
			if parts := strings.Split(n, "_"); len(parts) == 2 && parts[0] != "" && parts[1] != "" && n != "pstest-exited" {
				found = true
				e.skiff(t, "rm", n)
			}
		}
		if !found {
			t.Errorf("no adjective_surname name in %q", names)
		}

		// kill: SIGKILL by default, exit code 137.
		e.mustSkiff(t, "run", "-d", "--name", "pstest-kill", "busybox", "sleep", "300")
		e.cleanupContainer(t, "pstest-kill")
		if out := e.mustSkiff(t, "kill", "pstest-kill"); strings.TrimSpace(out) != "pstest-kill" {
			t.Errorf("kill printed %q", out)
		}
		if out := e.mustSkiff(t, "wait", "pstest-kill"); strings.TrimSpace(out) != "137" {
			t.Errorf("wait after kill: %q", out)
		}
		// stop: SIGTERM (ignored by sleep as PID 1), then SIGKILL after -t.
		e.mustSkiff(t, "run", "-d", "--name", "pstest-stop", "busybox", "sleep", "300")
		e.cleanupContainer(t, "pstest-stop")
		e.mustSkiff(t, "stop", "-t", "1", "pstest-stop")
		if st := e.mustSkiff(t, "inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", "pstest-stop"); strings.TrimSpace(st) != "exited 137" {
			t.Errorf("after stop: %q", st)
		}
		e.mustSkiff(t, "start", "pstest-stop")
		if st := e.mustSkiff(t, "inspect", "-f", "{{.State.Running}}", "pstest-stop"); strings.TrimSpace(st) != "true" {
			t.Errorf("after start: %q", st)
		}

		// A duplicate name is refused and leaves nothing.
		r := e.skiff(t, "run", "-d", "--name", "pstest", "busybox", "true")
		if r.code != 125 || !strings.Contains(r.stderr, `The container name "/pstest" is already in use`) {
			t.Errorf("duplicate name: %s", r)
		}
		// rm of a running container needs -f.
		// docker.io (moby 20.10): "You cannot remove a running container ...".
		r = e.skiff(t, "rm", "pstest")
		if r.code != 1 || !strings.Contains(r.stderr, orDockerIO(e, "container is running", "You cannot remove a running container")) {
			t.Errorf("rm of a running container: %s", r)
		}
		if out := e.mustSkiff(t, "rm", "-f", "pstest"); strings.TrimSpace(out) != "pstest" {
			t.Errorf("rm -f printed %q", out)
		}
		if r := e.skiff(t, "rm", "pstest"); r.code != 1 || !strings.Contains(r.stderr, "No such container: pstest") {
			t.Errorf("rm of a removed container: %s", r)
		}
	})
}

func TestLogs(t *testing.T) {
	forEachMode(t, func(t *testing.T, e *env) {
		e.mustSkiff(t, "run", "--name", "logtest", "busybox", "sh", "-c", "echo out1; echo err1 >&2; sleep 0.2; echo out2")
		e.cleanupContainer(t, "logtest")
		r := e.skiff(t, "logs", "logtest")
		if r.code != 0 || r.stdout != "out1\nout2\n" || r.stderr != "err1\n" {
			t.Errorf("logs: %s", r)
		}
		if out := e.mustSkiff(t, "logs", "--tail", "1", "logtest"); out != "out2\n" {
			t.Errorf("logs --tail 1: %q", out)
		}
		out := e.mustSkiff(t, "logs", "-t", "logtest")
		if !strings.Contains(out, "Z out1\n") || !strings.HasPrefix(out, time.Now().UTC().Format("2006-")) {
			t.Errorf("logs -t: %q", out)
		}
		// The json-file log has Docker's line format.
		path := strings.TrimSpace(e.mustSkiff(t, "inspect", "-f", "{{.LogPath}}", "logtest"))
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), `{"log":"out1\n","stream":"stdout","time":"`+time.Now().UTC().Format("2006-")) {
			t.Errorf("json-file log: %q", b)
		}
	})
}

func TestIsolationAndOwnership(t *testing.T) {
	forEachMode(t, func(t *testing.T, e *env) {
		e.mustSkiff(t, "run", "--name", "iso-a", "busybox", "sh", "-c", "echo a > /etc/written && rm /bin/ls")
		e.cleanupContainer(t, "iso-a")
		r := e.skiff(t, "run", "--rm", "busybox", "sh", "-c", "test ! -e /etc/written && test -e /bin/ls && echo clean")
		if r.code != 0 || r.stdout != "clean\n" {
			t.Errorf("a second container sees the first one's writes: %s", r)
		}
		// Namespaces: own pid 1, own hostname, own mounts.
		out := e.mustSkiff(t, "run", "--rm", "busybox", "sh", "-c", "echo $$; cat /proc/1/cmdline | tr '\\0' ' '")
		if !strings.HasPrefix(out, "1\n") {
			t.Errorf("the command is not PID 1: %q", out)
		}
		// File ownership in the image survives the user namespace.
		e.mustSkiff(t, "pull", ownedRef)
		out = e.mustSkiff(t, "run", "--rm", ownedRef, "stat", "-c", "%u:%g %a", "/owned/by-1000")
		if strings.TrimSpace(out) != "1000:1000 640" {
			t.Errorf("ownership: %q, want 1000:1000 640", out)
		}
		out = e.mustSkiff(t, "run", "--rm", "-u", "1000", ownedRef, "cat", "/owned/by-1000")
		if out != "mine\n" {
			t.Errorf("uid 1000 reads its file: %q", out)
		}
		e.skiff(t, "rmi", ownedRef)
	})
}

// TestRunTTY drives `run -it` through a real pseudo-terminal (40x100).
func TestRunTTY(t *testing.T) {
	forEachMode(t, func(t *testing.T, e *env) {
		text, code := e.ptyRunSize(t, []string{"run", "-it", "--rm", "busybox", "sh"},
			"tty; stty size; echo $((6*7))x; exit 5\n", 40, 100)
		if code != 5 {
			t.Errorf("exit code %d, want 5", code)
		}
		contains(t, "tty output", text, "/dev/pts/0")
		contains(t, "tty output", text, "40 100")
		contains(t, "tty output", text, "42x")
	})
}

func TestEngineAutostartAndReuse(t *testing.T) {
	skiffOnly(t, "the CLI starting skiff's engine on demand")
	for _, mode := range strings.Split(*modes, ",") {
		t.Run(mode, func(t *testing.T) {
			e := newEnv(t, mode, "SKIFF_TEST_ENV=autostart")
			pid := e.enginePID()
			if pid == 0 {
				t.Fatal("no engine.pid after the first command")
			}
			if _, err := os.Stat(e.socket()); err != nil {
				t.Fatalf("no socket: %v", err)
			}
			e.mustSkiff(t, "ps")
			e.mustSkiff(t, "images")
			if again := e.enginePID(); again != pid {
				t.Errorf("a second CLI call started another engine (%d, then %d)", pid, again)
			}
			// The engine log is where the CLI said it would be.
			if _, err := os.Stat(filepath.Join(e.runDir(), "engine.log")); err != nil {
				t.Errorf("engine.log: %v", err)
			}
			e.shutdown()
			delete(allEnvs, mode+"SKIFF_TEST_ENV=autostart")
		})
	}
}

func TestDockerCLI(t *testing.T) {
	docker, err := lookDocker()
	if err != nil {
		t.Fatal(err)
	}
	forEachMode(t, func(t *testing.T, e *env) {
		e2 := e.dockerEnv()
		r := e2.run(t, nil, docker, "run", "--rm", "busybox", "echo", "hi")
		if r.code != 0 || r.stdout != "hi\n" {
			t.Errorf("docker run: %s", r)
		}
		r = e2.run(t, nil, docker, "run", "--name", "dockercli", "busybox", "sh", "-c", "exit 7")
		e.cleanupContainer(t, "dockercli")
		if r.code != 7 {
			t.Errorf("docker run exit code: %s", r)
		}
		r = e2.run(t, nil, docker, "ps", "-a")
		if r.code != 0 || !strings.Contains(r.stdout, "dockercli") || !strings.Contains(r.stdout, "Exited (7)") {
			t.Errorf("docker ps -a: %s", r)
		}
		r = e2.run(t, nil, docker, "images")
		if r.code != 0 || !strings.Contains(r.stdout, "busybox") {
			t.Errorf("docker images: %s", r)
		}
		r = e2.run(t, nil, docker, "run", "--rm", "busybox", "nosuchcmd")
		if r.code != 127 {
			t.Errorf("docker run of a missing command: %s", r)
		}
	})
}
