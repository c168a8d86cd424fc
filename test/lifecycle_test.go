package test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"
)

func TestExec(t *testing.T) {
	forEachMode(t, func(t *testing.T, e *env) {
		e.mustSkiff(t, "run", "-d", "--name", "exectest", "-e", "CTR=yes", "-w", "/tmp", "busybox", "sleep", "300")
		e.cleanupContainer(t, "exectest")
		out := e.mustSkiff(t, "exec", "exectest", "sh", "-c", "echo $CTR $HOSTNAME; pwd; id -u")
		if f := strings.Fields(out); len(f) != 4 || f[0] != "yes" || len(f[1]) != 12 || f[2] != "/tmp" || f[3] != "0" {
			t.Errorf("exec sees %q", out)
		}
		out = e.mustSkiff(t, "exec", "-u", "nobody", "-w", "/", "-e", "X=1", "exectest", "sh", "-c", "echo $X; pwd; id -u")
		if out != "1\n/\n65534\n" {
			t.Errorf("exec -u -w -e: %q", out)
		}
		if r := e.skiff(t, "exec", "exectest", "sh", "-c", "exit 9"); r.code != 9 {
			t.Errorf("exec exit code: %s", r)
		}
		// Docker 28 exits 127 (moby v28.5.2: setExitCodeFromError);
		// docker.io 126, with runc's error on stdout.
		r := e.skiff(t, "exec", "exectest", "nosuchcmd")
		if r.code != orDockerIO(e, 127, 126) || !strings.Contains(orDockerIO(e, r.stderr, r.stdout), `exec: "nosuchcmd": executable file not found in $PATH`) {
			t.Errorf("exec of a missing command: %s", r)
		}
		r = e.cli(t, []byte("one\ntwo\n"), "exec", "-i", "exectest", "wc", "-l")
		if r.code != 0 || strings.TrimSpace(r.stdout) != "2" {
			t.Errorf("exec -i: %s", r)
		}
		e.mustSkiff(t, "exec", "-d", "exectest", "sh", "-c", "echo bg > /tmp/bg")
		deadline := time.Now().Add(10 * time.Second)
		for {
			if r := e.skiff(t, "exec", "exectest", "cat", "/tmp/bg"); r.stdout == "bg\n" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("exec -d did not run")
			}
			time.Sleep(100 * time.Millisecond)
		}
		// The exec shares the container's namespaces: pid 1 is the command.
		if out := e.mustSkiff(t, "exec", "exectest", "cat", "/proc/1/cmdline"); !strings.HasPrefix(out, "sleep") {
			t.Errorf("exec's pid 1: %q", out)
		}
		// Exiting an exec shell leaves the container running.
		if out := e.mustSkiff(t, "inspect", "-f", "{{.State.Running}}", "exectest"); out != "true\n" {
			t.Errorf("container after execs: %q", out)
		}
		// exec -it through a real terminal.
		text, code := e.ptyRun(t, []string{"exec", "-it", "exectest", "sh"}, "tty; echo $((3*5))x; exit 4\n")
		if code != 4 {
			t.Errorf("exec -it exit code %d", code)
		}
		contains(t, "exec -it", text, "/dev/pts/")
		contains(t, "exec -it", text, "15x")
		top := e.mustSkiff(t, "top", "exectest")
		contains(t, "top", top, "PID")
		contains(t, "top", top, "sleep 300")
		e.mustSkiff(t, "stop", "-t", "0", "exectest")
		r = e.skiff(t, "exec", "exectest", "true")
		if r.code != 1 || !strings.Contains(r.stderr, "is not running") {
			t.Errorf("exec in a stopped container: %s", r)
		}
	})
}

// ptyRun runs skiff with its terminal on a 30x90 pty, types input after a
// moment, and returns everything the terminal showed and the exit code.
func (e *env) ptyRun(t *testing.T, args []string, input string) (string, int) {
	t.Helper()
	return e.ptyRunSize(t, args, input, 30, 90)
}

// ptyRunSize is ptyRun on a terminal of the given size.
func (e *env) ptyRunSize(t *testing.T, args []string, input string, rows, cols uint16) (string, int) {
	t.Helper()
	cmd := e.command(e.bin, args...)
	ptmx, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: rows, Cols: cols})
	if err != nil {
		t.Fatal(err)
	}
	defer ptmx.Close()
	out := make(chan string, 1)
	go func() {
		var b strings.Builder
		buf := make([]byte, 4096)
		for {
			n, err := ptmx.Read(buf)
			b.Write(buf[:n])
			if err != nil {
				out <- b.String()
				return
			}
		}
	}()
	time.Sleep(700 * time.Millisecond)
	if _, err := ptmx.Write([]byte(input)); err != nil {
		t.Errorf("typing on the terminal: %v", err)
	}
	// Wait's error is the exit status, which the caller gets from
	// ProcessState.
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		_ = cmd.Process.Kill() // it may have just exited
		<-done
		t.Errorf("%v did not finish", args)
	}
	ptmx.Close()
	return <-out, cmd.ProcessState.ExitCode()
}

func TestDetachKeysAndAttach(t *testing.T) {
	forEachMode(t, func(t *testing.T, e *env) {
		// Ctrl-P Ctrl-Q leaves the container running.
		_, code := e.ptyRun(t, []string{"run", "-it", "--name", "detachme", "busybox", "sh"}, "echo hi\n\x10\x11")
		e.cleanupContainer(t, "detachme")
		if code != 0 {
			t.Errorf("detach exit code %d", code)
		}
		if out := e.mustSkiff(t, "inspect", "-f", "{{.State.Running}}", "detachme"); out != "true\n" {
			t.Fatalf("after detaching: running=%q", out)
		}
		// attach, then a custom detach sequence; then exit stops it.
		// Docker's attach (unlike run) ends a detach with its error
		// "read escape sequence" and exit code 1.
		text, code := e.ptyRun(t, []string{"attach", "--detach-keys", "ctrl-x,x", "detachme"}, "echo again\n\x18x")
		if code != 1 || !strings.Contains(text, "read escape sequence") {
			t.Errorf("attach detach: exit code %d, want 1 and \"read escape sequence\":\n%s", code, text)
		}
		if out := e.mustSkiff(t, "inspect", "-f", "{{.State.Running}}", "detachme"); out != "true\n" {
			t.Fatalf("after the custom detach: running=%q", out)
		}
		text, code = e.ptyRun(t, []string{"attach", "detachme"}, "echo bye; exit 6\n")
		if code != 6 {
			t.Errorf("attach, exit: code %d (%q)", code, text)
		}
		if out := e.mustSkiff(t, "inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", "detachme"); out != "exited 6\n" {
			t.Errorf("after exit: %q", out)
		}
		// attach to a detached container shows its output.
		e.mustSkiff(t, "run", "-d", "--name", "ticker", "busybox", "sh", "-c", "sleep 1; for i in 1 2 3; do echo tick$i; done")
		e.cleanupContainer(t, "ticker")
		r := e.skiff(t, "attach", "ticker")
		if r.code != 0 || !strings.Contains(r.stdout, "tick3") {
			t.Errorf("attach output: %s", r)
		}
		r = e.skiff(t, "attach", "ticker")
		if r.code != 1 || !strings.Contains(r.stderr, "You cannot attach to a stopped container") {
			t.Errorf("attach to a stopped container: %s", r)
		}
	})
}

func TestCreateStartRestartRename(t *testing.T) {
	forEachMode(t, func(t *testing.T, e *env) {
		e.mustSkiff(t, "create", "-i", "--name", "csr", "busybox", "sh", "-c", "read x; echo got $x")
		e.cleanupContainer(t, "csr")
		if out := e.mustSkiff(t, "ps", "-a", "--filter", "name=csr", "--format", "{{.Status}}"); out != "Created\n" {
			t.Errorf("created status: %q", out)
		}
		r := e.cli(t, []byte("value\n"), "start", "-a", "-i", "csr")
		if r.code != 0 || r.stdout != "got value\n" {
			t.Errorf("start -a -i: %s", r)
		}
		e.mustSkiff(t, "rename", "csr", "csr2")
		if r := e.skiff(t, "inspect", "csr"); r.code != 1 {
			t.Errorf("old name still answers: %s", r)
		}
		if out := e.mustSkiff(t, "inspect", "-f", "{{.Name}}", "csr2"); out != "/csr2\n" {
			t.Errorf("renamed: %q", out)
		}
		e.mustSkiff(t, "rename", "csr2", "csr")

		e.mustSkiff(t, "run", "-d", "--name", "rst", "busybox", "sh", "-c", "trap 'exit 7' USR1; echo started; while true; do sleep 0.1; done")
		e.cleanupContainer(t, "rst")
		pid1 := e.mustSkiff(t, "inspect", "-f", "{{.State.Pid}}", "rst")
		e.mustSkiff(t, "restart", "-t", "1", "rst")
		if pid2 := e.mustSkiff(t, "inspect", "-f", "{{.State.Pid}}", "rst"); pid2 == pid1 || pid2 == "0\n" {
			t.Errorf("restart kept pid %s", pid2)
		}
		var logsOut string
		for i := 0; i < 50; i++ {
			if logsOut = e.mustSkiff(t, "logs", "rst"); logsOut == "started\nstarted\n" {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if logsOut != "started\nstarted\n" {
			t.Errorf("logs across a restart: %q", logsOut)
		}
		// kill -s, wait.
		e.mustSkiff(t, "kill", "-s", "USR1", "rst")
		if out := e.mustSkiff(t, "wait", "rst"); out != "7\n" {
			t.Errorf("wait after SIGUSR1: %q", out)
		}
		// The idioms from the notes.
		e.mustSkiff(t, "run", "-d", "--name", "idiom1", "busybox", "sleep", "300")
		e.mustSkiff(t, "run", "-d", "--name", "idiom2", "busybox", "sleep", "300")
		ids := strings.Fields(e.mustSkiff(t, "ps", "-q", "--filter", "name=idiom"))
		if len(ids) != 2 {
			t.Fatalf("ps -q: %v", ids)
		}
		e.mustSkiff(t, append([]string{"stop", "-t", "0"}, ids...)...)
		e.mustSkiff(t, append([]string{"rm"}, ids...)...)
		out := e.mustSkiff(t, "container", "prune", "-f")
		contains(t, "container prune", out, "Total reclaimed space:")
		if out := e.mustSkiff(t, "ps", "-a", "-q", "--filter", "name=csr"); out != "" {
			t.Errorf("prune left %q", out)
		}
	})
}

func TestRunOptions(t *testing.T) {
	forEachMode(t, func(t *testing.T, e *env) {
		envFile := filepath.Join(e.base, "envfile")
		must(t, os.WriteFile(envFile, []byte("# comment\nFROMFILE=1\n"), 0o644))
		out := e.mustSkiff(t, "run", "--rm", "-h", "myhost", "--env-file", envFile, "-l", "a=b", "busybox", "sh", "-c", "hostname; echo $FROMFILE")
		if out != "myhost\n1\n" {
			t.Errorf("-h/--env-file: %q", out)
		}
		r := e.skiff(t, "run", "--rm", "--read-only", "--tmpfs", "/scratch", "busybox", "sh", "-c", "touch /scratch/ok && touch /nope")
		if r.code == 0 || !strings.Contains(r.stderr, "Read-only file system") {
			t.Errorf("--read-only: %s", r)
		}
		out = e.mustSkiff(t, "run", "--rm", "--ulimit", "nofile=100:200", "busybox", "sh", "-c", "ulimit -n; ulimit -Hn")
		if out != "100\n200\n" {
			t.Errorf("--ulimit: %q", out)
		}
		out = e.mustSkiff(t, "run", "--rm", "--cap-drop", "ALL", "--cap-add", "NET_RAW", "busybox", "grep", "CapEff", "/proc/self/status")
		contains(t, "caps", out, "0000000000002000")
		out = e.mustSkiff(t, "run", "--rm", "--security-opt", "no-new-privileges", "busybox", "grep", "NoNewPrivs", "/proc/self/status")
		contains(t, "no-new-privileges", out, "1")
		if why := e.noPrivileged(); why != "" {
			t.Logf("--privileged not checked: %s", why)
		} else if out = e.mustSkiff(t, "run", "--rm", "--privileged", "busybox", "sh", "-c", "mkdir -p /mnt && mount -t tmpfs none /mnt && echo mounted"); out != "mounted\n" {
			t.Errorf("--privileged: %q", out)
		}
		r = e.skiff(t, "run", "--rm", "--cap-add", "BOGUS", "busybox", "true")
		if r.code != 125 || !strings.Contains(r.stderr, `unknown capability: "CAP_BOGUS"`) {
			t.Errorf("--cap-add BOGUS: %s", r)
		}
		// --init: the command is not PID 1, and signals reach it.
		out = e.mustSkiff(t, "run", "--rm", "--init", "busybox", "sh", "-c", "echo $$")
		if out == "1\n" {
			t.Errorf("--init: the command is PID 1")
		}
		e.mustSkiff(t, "run", "-d", "--init", "--name", "inittest", "busybox", "sleep", "300")
		e.cleanupContainer(t, "inittest")
		start := time.Now()
		e.mustSkiff(t, "stop", "-t", "20", "inittest")
		if time.Since(start) > 10*time.Second {
			t.Errorf("stop of an --init container waited for SIGKILL")
		}
		if out := e.mustSkiff(t, "inspect", "-f", "{{.State.ExitCode}}", "inittest"); out != "143\n" {
			t.Errorf("--init exit code after SIGTERM: %q", out)
		}
		// --stop-signal
		e.mustSkiff(t, "run", "-d", "--init", "--name", "stopsig", "--stop-signal", "USR1", "busybox", "sleep", "300")
		e.cleanupContainer(t, "stopsig")
		e.mustSkiff(t, "stop", "stopsig")
		if out := e.mustSkiff(t, "inspect", "-f", "{{.State.ExitCode}} {{.Config.StopSignal}}", "stopsig"); out != "138 USR1\n" {
			t.Errorf("--stop-signal: %q", out)
		}
		// --stop-timeout replaces stop's default of 10 seconds.
		e.mustSkiff(t, "run", "-d", "--name", "stoptimeout", "--stop-timeout", "1", "busybox", "sleep", "300")
		e.cleanupContainer(t, "stoptimeout")
		start = time.Now()
		e.mustSkiff(t, "stop", "stoptimeout")
		if took := time.Since(start); took > 6*time.Second {
			t.Errorf("stop with --stop-timeout 1 took %v", took)
		}
		if out := e.mustSkiff(t, "inspect", "-f", "{{.State.ExitCode}} {{.Config.StopTimeout}}", "stoptimeout"); out != "137 1\n" {
			t.Errorf("--stop-timeout: %q", out)
		}
		// port: nothing is published, and asking for one port says so as
		// Docker 28 does (with the port as typed).
		if out := e.mustSkiff(t, "port", "stoptimeout"); out != "" {
			t.Errorf("port: %q", out)
		}
		if r := e.skiff(t, "port", "stoptimeout", "80"); r.code != 1 || !strings.Contains(r.stderr, "No public port '80' published for stoptimeout") {
			t.Errorf("port 80: %s", r)
		}
		// --restart
		e.mustSkiff(t, "run", "-d", "--name", "onfail", "--restart", "on-failure:2", "busybox", "sh", "-c", "exit 3")
		e.cleanupContainer(t, "onfail")
		deadline := time.Now().Add(20 * time.Second)
		for {
			out = e.mustSkiff(t, "inspect", "-f", "{{.State.Status}} {{.RestartCount}}", "onfail")
			if out == "exited 2\n" || time.Now().After(deadline) {
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
		if out != "exited 2\n" {
			t.Errorf("on-failure:2: %q", out)
		}
		e.mustSkiff(t, "run", "-d", "--name", "always", "--restart", "always", "busybox", "sleep", "300")
		e.cleanupContainer(t, "always")
		e.mustSkiff(t, "exec", "always", "kill", "1")
		e.mustSkiff(t, "exec", "always", "true") // exec waits for nothing: just keep the pid below.
		e.mustSkiff(t, "stop", "-t", "0", "always")
		time.Sleep(500 * time.Millisecond)
		if out := e.mustSkiff(t, "inspect", "-f", "{{.State.Status}}", "always"); out != "exited\n" {
			t.Errorf("a stopped --restart always container: %q", out)
		}
		r = e.skiff(t, "run", "--rm", "--restart", "always", "busybox", "true")
		if r.code != 125 || !strings.Contains(r.stderr, "conflicting options: cannot specify both --restart and --rm") {
			t.Errorf("--restart with --rm: %s", r)
		}
		r = e.skiff(t, "run", "--restart", "sometimes", "busybox", "true")
		if r.code != 125 || !strings.Contains(r.stderr, "invalid restart policy") {
			t.Errorf("--restart sometimes: %s", r)
		}
	})
}

func TestPsFiltersAndFormat(t *testing.T) {
	forEachMode(t, func(t *testing.T, e *env) {
		e.mustSkiff(t, "run", "-d", "--name", "psf-a", "-l", "role=web", "busybox", "sleep", "300")
		e.cleanupContainer(t, "psf-a")
		e.mustSkiff(t, "create", "--name", "psf-b", "-l", "role=db", "busybox")
		e.cleanupContainer(t, "psf-b")
		q := func(args ...string) string {
			return e.mustSkiff(t, append([]string{"ps", "-a", "--format", "{{.Names}}"}, args...)...)
		}
		if out := q("--filter", "label=role=web"); out != "psf-a\n" {
			t.Errorf("label filter: %q", out)
		}
		if out := q("--filter", "status=created", "--filter", "name=psf"); out != "psf-b\n" {
			t.Errorf("status filter: %q", out)
		}
		if out := q("--filter", "ancestor=busybox", "--filter", "name=psf"); !strings.Contains(out, "psf-a") || !strings.Contains(out, "psf-b") {
			t.Errorf("ancestor filter: %q", out)
		}
		if out := e.mustSkiff(t, "ps", "-n", "1", "--format", "{{.Names}}"); out != "psf-b\n" {
			t.Errorf("ps -n 1: %q", out)
		}
		id := strings.TrimSpace(e.mustSkiff(t, "ps", "-q", "--no-trunc", "--filter", "name=psf-a"))
		if len(id) != 64 {
			t.Errorf("--no-trunc id %q", id)
		}
		if out := q("--filter", "id="+id[:10]); out != "psf-a\n" {
			t.Errorf("id filter: %q", out)
		}
		out := e.mustSkiff(t, "inspect", "-f", "{{json .Config.Labels}} {{.HostConfig.RestartPolicy.Name}} {{len .Id}}", "psf-a")
		if out != `{"role":"web"} no 64`+"\n" {
			t.Errorf("inspect -f json: %q", out)
		}
	})
}
