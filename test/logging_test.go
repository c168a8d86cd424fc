package test

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// logDir is the container's directory, where its log files are.
func (e *env) logDir(t *testing.T, ctr string) string {
	t.Helper()
	id := strings.TrimSpace(e.mustSkiff(t, "inspect", "-f", "{{.Id}}", ctr))
	return filepath.Join(e.containersDir(), id)
}

func TestLogRotation(t *testing.T) {
	forEachMode(t, func(t *testing.T, e *env) {
		// A fast writer, rotated through 5 files of 50 KB: logs reads the
		// rotated files back with no line lost.
		e.mustSkiff(t, "run", "--name", "rot", "--log-opt", "max-size=50k", "--log-opt", "max-file=5", "busybox",
			"sh", "-c", "i=1; while [ $i -le 2500 ]; do echo l$i; i=$((i+1)); done")
		e.cleanupContainer(t, "rot")
		dir := e.logDir(t, "rot")
		id := filepath.Base(dir)
		for _, suffix := range []string{"", ".1", ".2"} {
			st, err := os.Stat(filepath.Join(dir, id+"-json.log"+suffix))
			if err != nil {
				t.Errorf("rotated file: %v", err)
				continue
			}
			if st.Size() > 50_000+200 {
				t.Errorf("%s is %d bytes, over max-size", suffix, st.Size())
			}
		}
		lines := strings.Fields(e.mustSkiff(t, "logs", "rot"))
		if len(lines) != 2500 {
			t.Fatalf("logs read %d lines, want 2500", len(lines))
		}
		for i, l := range lines {
			if l != "l"+strconv.Itoa(i+1) {
				t.Fatalf("line %d is %q", i+1, l)
			}
		}
		// max-file=1 truncates; compress gzips the rotated files.
		e.mustSkiff(t, "run", "--name", "rot1", "--log-opt", "max-size=10k", "--log-opt", "max-file=1", "busybox",
			"sh", "-c", "i=1; while [ $i -le 1000 ]; do echo l$i; i=$((i+1)); done")
		e.cleanupContainer(t, "rot1")
		// docker.io (moby 20.10) renames the full file to .1 even with
		// max-file=1; moby v28.5.2 unlinks it.
		d1 := e.logDir(t, "rot1")
		if _, err := os.Stat(filepath.Join(d1, filepath.Base(d1)+"-json.log.1")); (err == nil) != (e.target == "docker") {
			t.Errorf("max-file=1: a rotated file: %v, want one on docker.io only", err == nil)
		}
		if out := e.mustSkiff(t, "logs", "--tail", "1", "rot1"); out != "l1000\n" {
			t.Errorf("max-file=1 last line: %q", out)
		}
		e.mustSkiff(t, "run", "--name", "rotgz", "--log-opt", "max-size=10k", "--log-opt", "max-file=3", "--log-opt", "compress=true",
			"busybox", "sh", "-c", "i=1; while [ $i -le 500 ]; do echo l$i; i=$((i+1)); done")
		e.cleanupContainer(t, "rotgz")
		dg := e.logDir(t, "rotgz")
		if _, err := os.Stat(filepath.Join(dg, filepath.Base(dg)+"-json.log.1.gz")); err != nil {
			t.Errorf("compress=true: %v", err)
		}
		// An unknown --log-opt is refused before anything is made.
		r := e.skiff(t, "run", "--name", "badopt", "--log-opt", "max-sise=1m", "busybox", "true")
		if r.code != 125 || !strings.Contains(r.stderr, "unknown log opt 'max-sise' for json-file log driver") {
			t.Errorf("unknown log opt: %s", r)
		}
		if out := e.mustSkiff(t, "ps", "-a", "-q", "--filter", "name=badopt"); out != "" {
			t.Errorf("a container was made: %q", out)
		}
	})
}

func TestLogsFlags(t *testing.T) {
	forEachMode(t, func(t *testing.T, e *env) {
		e.mustSkiff(t, "run", "--name", "lf", "-l", "app=demo", "--log-opt", "labels=app", "busybox", "sh", "-c",
			"echo first; echo err >&2; sleep 2; echo second")
		e.cleanupContainer(t, "lf")
		if r := e.skiff(t, "logs", "lf"); r.stdout != "first\nsecond\n" || r.stderr != "err\n" {
			t.Errorf("logs: %s", r)
		}
		if out := e.mustSkiff(t, "logs", "--tail", "1", "lf"); out != "second\n" {
			t.Errorf("--tail 1: %q", out)
		}
		if out := e.mustSkiff(t, "logs", "-n", "all", "lf"); out != "first\nsecond\n" {
			t.Errorf("--tail all: %q", out)
		}
		out := e.mustSkiff(t, "logs", "-t", "lf")
		var stamps []time.Time
		for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
			ts, _, _ := strings.Cut(l, " ")
			tm, err := time.Parse(time.RFC3339Nano, ts)
			if err != nil {
				t.Fatalf("-t line %q: %v", l, err)
			}
			stamps = append(stamps, tm)
		}
		// --since and --until select by those times (Unix seconds, RFC 3339).
		mid := stamps[0].Add(time.Second)
		if out := e.mustSkiff(t, "logs", "--since", mid.Format(time.RFC3339Nano), "lf"); out != "second\n" {
			t.Errorf("--since: %q", out)
		}
		if out := e.mustSkiff(t, "logs", "--until", strconv.FormatInt(mid.Unix(), 10), "lf"); out != "first\n" {
			t.Errorf("--until: %q", out)
		}
		if out := e.mustSkiff(t, "logs", "--since", "1h", "lf"); out != "first\nsecond\n" {
			t.Errorf("--since 1h: %q", out)
		}
		if out := e.mustSkiff(t, "logs", "--details", "lf"); !strings.Contains(out, "app=demo first") {
			t.Errorf("--details: %q", out)
		}
		// -f follows until the container stops.
		e.mustSkiff(t, "run", "-d", "--name", "lfollow", "busybox", "sh", "-c", "for i in 1 2 3; do echo f$i; sleep 0.5; done")
		e.cleanupContainer(t, "lfollow")
		start := time.Now()
		if out := e.mustSkiff(t, "logs", "-f", "lfollow"); out != "f1\nf2\nf3\n" {
			t.Errorf("-f: %q", out)
		}
		if time.Since(start) > 20*time.Second {
			t.Error("logs -f did not end with the container")
		}
		// A container that fails at start says why in its logs (the notes'
		// database without its required variable).
		r := e.skiff(t, "run", "--name", "nodb", "busybox", "sh", "-c",
			`if [ -z "$MYSQL_ROOT_PASSWORD" ]; then echo "error: database is uninitialized and password option is not specified" >&2; exit 1; fi`)
		e.cleanupContainer(t, "nodb")
		if r.code != 1 {
			t.Errorf("the database without its variable: %s", r)
		}
		if r := e.skiff(t, "logs", "nodb"); !strings.Contains(r.stderr, "password option is not specified") {
			t.Errorf("logs of the failed database: %s", r)
		}
	})
}

// TestSyslogDriver sends a container's output to a real rsyslogd that the
// test starts on 127.0.0.1, over UDP and TCP.
func TestSyslogDriver(t *testing.T) {
	bin, err := exec.LookPath("rsyslogd")
	if err != nil {
		bin = "/usr/sbin/rsyslogd"
		if _, err := os.Stat(bin); err != nil {
			t.Fatal("rsyslogd is missing (hack/setup.sh installs rsyslog)")
		}
	}
	dir := t.TempDir()
	udp, tcp := freeLocalPort(t, "udp"), freeLocalPort(t, "tcp")
	out := filepath.Join(dir, "out.log")
	conf := fmt.Sprintf(`global(workDirectory="%s")
module(load="imudp")
module(load="imtcp")
input(type="imudp" address="127.0.0.1" port="%d")
input(type="imtcp" address="127.0.0.1" port="%d")
template(name="t" type="string" string="%%syslogtag%%|%%app-name%%|%%msg%%\n")
*.* action(type="omfile" file="%s" template="t")
`, dir, udp, tcp, out)
	must(t, os.WriteFile(filepath.Join(dir, "rsyslog.conf"), []byte(conf), 0o644))
	cmd := exec.Command(bin, "-n", "-f", filepath.Join(dir, "rsyslog.conf"), "-i", filepath.Join(dir, "pid"))
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
			t.Errorf("killing rsyslogd: %v", err)
		}
		_ = cmd.Wait() // killed: its error is the kill's
	})
	for i := 0; ; i++ {
		if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", tcp)); err == nil {
			c.Close()
			break
		}
		if i > 300 {
			t.Fatal("rsyslogd does not answer")
		}
		time.Sleep(20 * time.Millisecond)
	}
	forEachMode(t, func(t *testing.T, e *env) {
		for _, proto := range []struct {
			name string
			port int
			fmt  string
		}{{"udp", udp, "rfc3164"}, {"tcp", tcp, "rfc5424"}} {
			name := "sl" + proto.name + e.name
			e.mustSkiff(t, "run", "--name", name, "--log-driver", "syslog",
				"--log-opt", fmt.Sprintf("syslog-address=%s://127.0.0.1:%d", proto.name, proto.port),
				"--log-opt", "syslog-format="+proto.fmt, "--log-opt", "tag={{.Name}}",
				"busybox", "echo", "hello "+name)
			e.cleanupContainer(t, name)
			want := "hello " + name
			deadline := time.Now().Add(10 * time.Second)
			for {
				b, _ := os.ReadFile(out)
				if strings.Contains(string(b), want) {
					line := ""
					for _, l := range strings.Split(string(b), "\n") {
						if strings.Contains(l, want) {
							line = l
						}
					}
					if !strings.Contains(line, name) {
						t.Errorf("%s: the tag is not the container's name: %q", proto.name, line)
					}
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("%s: the line did not arrive: %q", proto.name, b)
				}
				time.Sleep(50 * time.Millisecond)
			}
			// Dual logging: logs still shows the output.
			if out := e.mustSkiff(t, "logs", name); out != "hello "+name+"\n" {
				t.Errorf("logs with the syslog driver: %q", out)
			}
		}
		r := e.skiff(t, "run", "--rm", "--log-driver", "syslog", "--log-opt", "syslog-address=tcp://127.0.0.1:1", "busybox", "true")
		if r.code != 125 || !strings.Contains(r.stderr, "connection refused") {
			t.Errorf("an unreachable syslog: %s", r)
		}
	})
}

func freeLocalPort(t *testing.T, proto string) int {
	t.Helper()
	if proto == "udp" {
		c, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		return c.LocalAddr().(*net.UDPAddr).Port
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
