package test

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// webScript serves "eighty" on port 80 and "eightyone" on port 81.
const webScript = "mkdir -p /www /www81 && echo eighty > /www/index.html && echo eightyone > /www81/index.html && " +
	"httpd -p 81 -h /www81 && exec httpd -f -p 80 -h /www"

var webArgs = []string{"busybox", "sh", "-c", webScript}

// freePortPair finds two consecutive TCP ports that are free on the host.
func freePortPair(t *testing.T) int {
	t.Helper()
	for i := 0; i < 50; i++ {
		p := freeLocalPort(t, "tcp")
		if p >= 65535 {
			continue
		}
		l1, err1 := net.Listen("tcp4", fmt.Sprintf(":%d", p))
		l2, err2 := net.Listen("tcp4", fmt.Sprintf(":%d", p+1))
		if l1 != nil {
			l1.Close()
		}
		if l2 != nil {
			l2.Close()
		}
		if err1 == nil && err2 == nil {
			return p
		}
	}
	t.Fatal("no two consecutive free ports")
	return 0
}

// psRow is the ps line of the named container.
func (e *env) psRow(t *testing.T, name string) string {
	t.Helper()
	out := e.mustSkiff(t, "ps")
	for _, l := range strings.Split(out, "\n") {
		if f := strings.Fields(l); len(f) > 0 && f[len(f)-1] == name {
			return l
		}
	}
	t.Errorf("ps does not list %s:\n%s", name, out)
	return ""
}

var hostPortRE = regexp.MustCompile(`^(0\.0\.0\.0|127\.0\.0\.1):(\d+)$`)

// publishedPort is the host port that `port NAME PRIVATE` prints, which
// must be on hostIP. Docker publishes on [::] too and prints that line
// after the IPv4 one (skiff publishes IPv4 only).
func (e *env) publishedPort(t *testing.T, name, private, hostIP string) int {
	t.Helper()
	out := strings.TrimSpace(e.mustSkiff(t, "port", name, private))
	first, _, _ := strings.Cut(out, "\n")
	m := hostPortRE.FindStringSubmatch(first)
	if m == nil || m[1] != hostIP {
		t.Fatalf("port %s %s: %q, want %s:PORT", name, private, out, hostIP)
	}
	p, _ := strconv.Atoi(m[2])
	if p == 0 {
		t.Fatalf("port %s %s: %q", name, private, out)
	}
	return p
}

func TestPortPublish(t *testing.T) {
	forEachMode(t, func(t *testing.T, e *env) {
		udpImage := e.udpechoImage(t)
		local := func(p int) string { return fmt.Sprintf("127.0.0.1:%d", p) }

		// Two ports at once, TCP.
		hp1, hp2 := freeLocalPort(t, "tcp"), freeLocalPort(t, "tcp")
		e.runDetached(t, "pp-web", append([]string{"-p", fmt.Sprintf("%d:80", hp1), "-p", fmt.Sprintf("%d:81", hp2)}, webArgs...)...)
		waitHTTP(t, "-p HOST:80", local(hp1), "/", "eighty")
		waitHTTP(t, "-p HOST:81", local(hp2), "/", "eightyone")
		row := e.psRow(t, "pp-web")
		contains(t, "ps", row, fmt.Sprintf("0.0.0.0:%d->80/tcp", hp1))
		contains(t, "ps", row, fmt.Sprintf("0.0.0.0:%d->81/tcp", hp2))
		portOut := e.mustSkiff(t, "port", "pp-web")
		contains(t, "port", portOut, fmt.Sprintf("80/tcp -> 0.0.0.0:%d\n", hp1))
		contains(t, "port", portOut, fmt.Sprintf("81/tcp -> 0.0.0.0:%d\n", hp2))

		// UDP.
		up := freeLocalPort(t, "udp")
		e.runDetached(t, "pp-udp", "-p", fmt.Sprintf("%d:9999/udp", up), udpImage, "/udpecho", "9999")
		waitUDP(t, "-p HOST:9999/udp", local(up))
		contains(t, "ps", e.psRow(t, "pp-udp"), fmt.Sprintf("0.0.0.0:%d->9999/udp", up))
		contains(t, "port", e.mustSkiff(t, "port", "pp-udp"), fmt.Sprintf("9999/udp -> 0.0.0.0:%d\n", up))

		// -p CTR picks a free port; -p IP::CTR too, on that address.
		e.runDetached(t, "pp-any", append([]string{"-p", "80", "-p", "127.0.0.1::81"}, webArgs...)...)
		anyPort := e.publishedPort(t, "pp-any", "80", "0.0.0.0")
		waitHTTP(t, "-p 80", local(anyPort), "/", "eighty")
		loPort := e.publishedPort(t, "pp-any", "81", "127.0.0.1")
		waitHTTP(t, "-p 127.0.0.1::81", local(loPort), "/", "eightyone")

		// A range.
		rp := freePortPair(t)
		e.runDetached(t, "pp-range", append([]string{"-p", fmt.Sprintf("%d-%d:80-81", rp, rp+1)}, webArgs...)...)
		waitHTTP(t, "range, first port", local(rp), "/", "eighty")
		waitHTTP(t, "range, second port", local(rp+1), "/", "eightyone")
		portOut = e.mustSkiff(t, "port", "pp-range")
		contains(t, "port", portOut, fmt.Sprintf("80/tcp -> 0.0.0.0:%d\n", rp))
		contains(t, "port", portOut, fmt.Sprintf("81/tcp -> 0.0.0.0:%d\n", rp+1))

		// -P publishes the exposed ports.
		e.runDetached(t, "pp-all", append([]string{"--expose", "80", "-P"}, webArgs...)...)
		allPort := e.publishedPort(t, "pp-all", "80", "0.0.0.0")
		waitHTTP(t, "--expose 80 -P", local(allPort), "/", "eighty")

		// The notes' example: -p H:81 does not reach a server on 80.
		wrong := freeLocalPort(t, "tcp")
		e.runDetached(t, "pp-wrong", "-p", fmt.Sprintf("%d:81", wrong), "busybox", "sh", "-c",
			"mkdir /www && echo eighty > /www/index.html && exec httpd -f -p 80 -h /www")
		served := false
		for i := 0; i < 50 && !served; i++ {
			r := e.exec(t, "pp-wrong", "wget", "-qO-", "http://127.0.0.1:80/")
			served = r.code == 0 && strings.Contains(r.stdout, "eighty")
			if !served {
				time.Sleep(200 * time.Millisecond)
			}
		}
		if !served {
			t.Errorf("the server in pp-wrong does not answer on its own port 80")
		}
		if body, err := httpGet(local(wrong), "/", 3*time.Second); err == nil {
			t.Errorf("-p %d:81 reached a server on port 80: %q", wrong, body)
		}

		// Stopped: the port is gone (and free again); started: it is back.
		e.mustSkiff(t, "stop", "-t", "1", "pp-web")
		if body, err := httpGet(local(hp1), "/", 2*time.Second); err == nil {
			t.Errorf("a stopped container's port still answers: %q", body)
		}
		if l, err := net.Listen("tcp4", fmt.Sprintf(":%d", hp1)); err != nil {
			t.Errorf("the host port %d of a stopped container is still held: %v", hp1, err)
		} else {
			l.Close()
		}
		if out := e.mustSkiff(t, "port", "pp-web"); out != "" {
			t.Errorf("port of a stopped container: %q", out)
		}
		e.mustSkiff(t, "start", "pp-web")
		waitHTTP(t, "after restart", local(hp1), "/", "eighty")
		contains(t, "port after restart", e.mustSkiff(t, "port", "pp-web"), fmt.Sprintf("80/tcp -> 0.0.0.0:%d\n", hp1))

		// A port the test holds: run fails, nothing is left running, and
		// the port stays the test's.
		l, err := net.Listen("tcp4", "0.0.0.0:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		busy := l.Addr().(*net.TCPAddr).Port
		e.cleanupContainer(t, "pp-busy")
		r := e.skiff(t, "run", "-d", "--name", "pp-busy", "-p", fmt.Sprintf("%d:80", busy), "busybox", "sleep", "300")
		if r.code != 125 || !strings.Contains(r.stderr, strconv.Itoa(busy)) {
			t.Errorf("run -p on a port in use: %s\nwant exit 125 and an error naming port %d", r, busy)
		}
		if r := e.skiff(t, "inspect", "-f", "{{.State.Running}}", "pp-busy"); r.code == 0 && strings.TrimSpace(r.stdout) != "false" {
			t.Errorf("the container whose port was in use: running %q", r.stdout)
		}
		if strings.Contains(e.mustSkiff(t, "ps"), "pp-busy") {
			t.Errorf("ps lists pp-busy as running")
		}
		accepted := make(chan error, 1)
		go func() {
			if err := l.(*net.TCPListener).SetDeadline(time.Now().Add(5 * time.Second)); err != nil {
				accepted <- err
				return
			}
			c, err := l.Accept()
			if err == nil {
				c.Close()
			}
			accepted <- err
		}()
		if c, err := net.DialTimeout("tcp4", local(busy), 3*time.Second); err != nil {
			t.Errorf("dialing the test's own port %d: %v", busy, err)
		} else {
			c.Close()
		}
		if err := <-accepted; err != nil {
			t.Errorf("the test's listener on port %d no longer gets the connections: %v", busy, err)
		}

		start, _ := strconv.Atoi(strings.TrimSpace(mustOut(t, "cat", "/proc/sys/net/ipv4/ip_unprivileged_port_start")))
		if e.rootless && start > 80 {
			r := e.skiff(t, "run", "-d", "--name", "pp-priv", "-p", "80:80", "busybox", "sleep", "300")
			e.cleanupContainer(t, "pp-priv")
			if r.code == 0 || !strings.Contains(r.stderr, "ip_unprivileged_port_start") {
				t.Errorf("rootless run -p 80:80: %s\nwant an error naming ip_unprivileged_port_start", r)
			}
		}
	})
}

// clientNetns makes a network namespace with a veth to the host: the host
// end 10.X.0.1/24, the client end 10.X.0.2/24 with a default route via
// the host. It returns the namespace's name and both addresses.
func clientNetns(t *testing.T, name string, x int) (ns, hostIP, clientIP string) {
	t.Helper()
	hostIP, clientIP = fmt.Sprintf("10.%d.0.1", x), fmt.Sprintf("10.%d.0.2", x)
	hostEnd, clientEnd := name+"h", name+"c"
	sh := func(args ...string) {
		t.Helper()
		if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
	}
	// Deleted first in case a killed run left them (then an error only
	// says they were not there), and at the end.
	del := func() {
		_ = exec.Command("ip", "netns", "del", name).Run()
		_ = exec.Command("ip", "link", "del", hostEnd).Run()
	}
	del()
	t.Cleanup(del)
	sh("ip", "netns", "add", name)
	sh("ip", "link", "add", hostEnd, "type", "veth", "peer", "name", clientEnd)
	sh("ip", "link", "set", clientEnd, "netns", name)
	sh("ip", "addr", "add", hostIP+"/24", "dev", hostEnd)
	sh("ip", "link", "set", hostEnd, "up")
	sh("ip", "netns", "exec", name, "ip", "link", "set", "lo", "up")
	sh("ip", "netns", "exec", name, "ip", "addr", "add", clientIP+"/24", "dev", clientEnd)
	sh("ip", "netns", "exec", name, "ip", "link", "set", clientEnd, "up")
	sh("ip", "netns", "exec", name, "ip", "route", "add", "default", "via", hostIP)
	return name, hostIP, clientIP
}

// cgiDir is a web root whose /cgi-bin/ip prints the client's address.
func (e *env) cgiDir(t *testing.T) string {
	t.Helper()
	dir := e.hostDir(t, "cgi")
	bin := filepath.Join(dir, "cgi-bin")
	must(t, os.MkdirAll(bin, 0o755))
	script := filepath.Join(bin, "ip")
	if err := os.WriteFile(script, []byte("#!/bin/sh\necho \"Content-Type: text/plain\"\necho\necho \"$REMOTE_ADDR\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if e.rootless {
		must(t, os.Chown(bin, e.uid, e.gid))
		must(t, os.Chown(script, e.uid, e.gid))
	}
	return dir
}

// TestPortClientAddress: a client in a network namespace of the test's
// own reaches a published port, and the server sees the client's address.
func TestPortClientAddress(t *testing.T) {
	forEachMode(t, func(t *testing.T, e *env) {
		ns, hostIP, clientIP := clientNetns(t, fmt.Sprintf("skpca%d", e.modeIndex()), 190+e.modeIndex())
		dir := e.cgiDir(t)
		hp := freeLocalPort(t, "tcp")
		e.runDetached(t, "pca-web", "-v", dir+":/www", "-p", fmt.Sprintf("%d:80", hp), "busybox", "httpd", "-f", "-p", "80", "-h", "/www")
		url := fmt.Sprintf("http://%s:%d/cgi-bin/ip", hostIP, hp)
		var out []byte
		var err error
		for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
			out, err = exec.Command("ip", "netns", "exec", ns, "busybox", "wget", "-qO-", url).CombinedOutput()
			if err == nil {
				break
			}
		}
		if err != nil {
			t.Fatalf("the client in %s cannot reach %s: %v\n%s", ns, url, err, out)
		}
		got := strings.Trim(strings.TrimSpace(string(out)), "[]")
		got = strings.TrimPrefix(got, "::ffff:")
		if got != clientIP {
			t.Errorf("the server saw the client as %q, want %s", out, clientIP)
		}
		// From the host's loopback it works too.
		waitHTTP(t, "cgi from 127.0.0.1", fmt.Sprintf("127.0.0.1:%d", hp), "/cgi-bin/ip", ".")
	})
}
