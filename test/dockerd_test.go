package test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
)

// With -target=docker the tests drive the docker CLI against a dockerd
// (Debian's docker.io) that TestMain starts as root with state of its own
// under a temp directory, so that each Docker-compatible check is checked
// against Docker itself, as nerdctl's suite does with -test.target=docker.
//
// Nothing reaches the internet: the test images are on the registry on
// 127.0.0.1 (which dockerd reaches over plain HTTP, as it treats
// 127.0.0.0/8 as insecure), the harness refuses to pull any other name,
// and dockerd's HTTP(S) proxy is a listener of the harness that refuses
// every CONNECT and records it, so a pull of any other name fails at once
// and fails the run.

// dockerCLIs are the docker CLIs to use, in order: the CLI 28 this
// machine kind ships, then Debian's (20.10, docker.io's).
var dockerCLIs = []string{"/usr/local/bin/docker", "/usr/bin/docker"}

// daemon is the dockerd the tests drive with -target=docker.
var daemon *dockerd

type dockerd struct {
	cli     string // the docker CLI
	base    string // temp root: data-root, exec-root, pid file, socket
	sock    string
	pidFile string
	cmd     *exec.Cmd
	exited  chan struct{}
	logFile string
	proxy   *refusingProxy
	// iptables is iptables-save's output before dockerd started, to put
	// the host's tables back when it stops.
	iptables string
}

// dataRoot is dockerd's --data-root.
func (d *dockerd) dataRoot() string { return filepath.Join(d.base, "data") }

// findDockerCLI is the first of dockerCLIs that exists.
func findDockerCLI() (string, error) {
	for _, p := range dockerCLIs {
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("no docker CLI (looked for %s)", strings.Join(dockerCLIs, ", "))
}

// checkLocalRef refuses a reference that names an image anywhere but the
// test registry on 127.0.0.1 (a reference that does not parse never
// leaves the CLI).
func checkLocalRef(ref string) error {
	r, err := name.ParseReference(ref)
	if err != nil {
		return nil
	}
	host, _, err := net.SplitHostPort(r.Context().RegistryStr())
	if err != nil || host != "127.0.0.1" {
		return fmt.Errorf("%q is not on the test registry on 127.0.0.1: dockerd would pull it from the internet", ref)
	}
	return nil
}

// startDockerd starts dockerd as root with everything of its own under a
// temp directory and waits until it answers /_ping.
func startDockerd() (*dockerd, error) {
	for _, ref := range []string{busyboxRef, ownedRef, withVolRef} {
		if err := checkLocalRef(ref); err != nil {
			return nil, fmt.Errorf("refusing to start: %w", err)
		}
	}
	cli, err := findDockerCLI()
	if err != nil {
		return nil, err
	}
	bin, err := exec.LookPath("dockerd")
	if err != nil {
		return nil, errors.New("dockerd is not installed (hack/setup.sh installs Debian's docker.io)")
	}
	base, err := os.MkdirTemp("/tmp", "dk")
	if err != nil {
		return nil, err
	}
	d := &dockerd{cli: cli, base: base}
	d.sock = filepath.Join(base, "docker.sock")
	d.pidFile = filepath.Join(base, "dockerd.pid")
	d.logFile = filepath.Join(base, "dockerd.log")
	if err := os.Chmod(base, 0o755); err != nil {
		return nil, errors.Join(err, d.cleanup())
	}
	if d.proxy, err = startRefusingProxy(); err != nil {
		return nil, errors.Join(err, d.cleanup())
	}
	if out, err := exec.Command("iptables-save").Output(); err == nil {
		d.iptables = string(out)
	}
	if err := d.launch(bin); err != nil {
		return nil, errors.Join(err, d.stop())
	}
	if err := d.checkGuards(); err != nil {
		return nil, errors.Join(fmt.Errorf("refusing to run against dockerd: %w", err), d.stop())
	}
	return d, nil
}

// launch starts dockerd and waits until it answers.
func (d *dockerd) launch(bin string) error {
	logf, err := os.OpenFile(d.logFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close()
	d.exited = make(chan struct{})
	d.cmd = exec.Command(bin,
		"--data-root", d.dataRoot(),
		"--exec-root", filepath.Join(d.base, "exec"),
		"--pidfile", d.pidFile,
		"--host", "unix://"+d.sock,
		// Its own addresses, clear of skiff's root engines (skiff0 is
		// 172.17.0.1/16 on the host, test engines 10.200+N.0.1/24) and
		// of the subnets the tests pick (10.150.X, 10.151.X).
		"--bip", "10.199.0.1/24",
		"--default-address-pool", "base=10.198.0.0/16,size=24",
	)
	proxy := "http://" + d.proxy.addr
	d.cmd.Env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root",
		"HTTP_PROXY=" + proxy, "HTTPS_PROXY=" + proxy, "NO_PROXY=127.0.0.1,localhost"}
	d.cmd.Stdout, d.cmd.Stderr = logf, logf
	d.cmd.Dir = "/"
	// Its own process group, so that the terminal's signals reach the
	// test binary only.
	d.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := d.cmd.Start(); err != nil {
		d.cmd = nil
		return fmt.Errorf("starting dockerd: %w", err)
	}
	exited := d.exited
	go func(cmd *exec.Cmd) {
		_ = cmd.Wait() // the exit shows as the socket not answering
		close(exited)
	}(d.cmd)
	return d.waitPing(60 * time.Second)
}

// terminate stops dockerd with SIGTERM (it stops its containers first),
// or SIGKILL after a minute.
func (d *dockerd) terminate() error {
	if d.cmd == nil {
		return nil
	}
	select {
	case <-d.exited:
		return nil
	default:
	}
	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return err
	}
	select {
	case <-d.exited:
		return nil
	case <-time.After(60 * time.Second):
		_ = d.cmd.Process.Kill() // it may have just exited
		<-d.exited
		return fmt.Errorf("dockerd did not stop in 60s on SIGTERM:\n%s", d.logTail())
	}
}

// restart stops dockerd and starts it again on the same state.
func (d *dockerd) restart() error {
	if err := d.terminate(); err != nil {
		return err
	}
	return d.launch(d.cmd.Path)
}

// waitPing waits until dockerd answers GET /_ping with OK.
func (d *dockerd) waitPing(timeout time.Duration) error {
	c := unixClient(d.sock, 2*time.Second)
	deadline := time.Now().Add(timeout)
	for {
		resp, err := c.Get("http://docker/_ping")
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK && string(b) == "OK" {
				return nil
			}
		}
		select {
		case <-d.exited:
			return fmt.Errorf("dockerd exited before it answered /_ping:\n%s", d.logTail())
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("dockerd does not answer /_ping after %s:\n%s", timeout, d.logTail())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// checkGuards checks, before any test runs, that dockerd pulls through the
// refusing proxy only and has no registry mirror.
func (d *dockerd) checkGuards() error {
	out, err := exec.Command(d.cli, "-H", "unix://"+d.sock, "info", "--format", "{{json .}}").Output()
	if err != nil {
		return fmt.Errorf("docker info: %w", err)
	}
	var info struct {
		HTTPProxy, HTTPSProxy string
		RegistryConfig        struct{ Mirrors []string }
	}
	if err := json.Unmarshal(out, &info); err != nil {
		return fmt.Errorf("docker info: %w", err)
	}
	want := "http://" + d.proxy.addr
	if info.HTTPProxy != want || info.HTTPSProxy != want {
		return fmt.Errorf("dockerd's proxies are %q and %q, want %q (the harness's refusing proxy)", info.HTTPProxy, info.HTTPSProxy, want)
	}
	if len(info.RegistryConfig.Mirrors) != 0 {
		return fmt.Errorf("dockerd has registry mirrors %v", info.RegistryConfig.Mirrors)
	}
	return nil
}

func (d *dockerd) logTail() string {
	b, _ := os.ReadFile(d.logFile)
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// stop removes what the tests left (dockerd's bridges included), stops
// dockerd, and puts the host back as it was: its processes gone, its
// mounts and files removed, the iptables rules it added deleted.
func (d *dockerd) stop() error {
	var errs []error
	bridges := d.bridges()
	errs = append(errs, d.terminate())
	// Its containerd, shims and proxies go with it; any left are killed.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		left := envProcesses(d.base)
		if len(left) == 0 {
			break
		}
		if time.Now().After(deadline) {
			errs = append(errs, fmt.Errorf("dockerd's processes outlived it:\n%s", strings.Join(left, "\n")))
			for _, l := range left {
				pid, _ := strconv.Atoi(strings.SplitN(l, ":", 2)[0])
				_ = syscall.Kill(pid, syscall.SIGKILL) // it may have just exited
			}
			break
		}
	}
	for _, br := range bridges {
		if _, err := net.InterfaceByName(br); err == nil {
			if out, err := exec.Command("ip", "link", "del", br).CombinedOutput(); err != nil {
				errs = append(errs, fmt.Errorf("ip link del %s: %w: %s", br, err, out))
			}
		}
	}
	errs = append(errs, d.restoreIPTables())
	if d.proxy != nil {
		d.proxy.close()
		if refused := d.proxy.refused(); len(refused) > 0 {
			errs = append(errs, fmt.Errorf("dockerd tried to reach the internet (refused): %s", strings.Join(refused, ", ")))
		}
	}
	errs = append(errs, d.cleanup())
	return errors.Join(errs...)
}

// bridges are the interfaces of dockerd's bridge networks.
func (d *dockerd) bridges() []string {
	if d.cmd == nil {
		return nil
	}
	cli := []string{"-H", "unix://" + d.sock}
	out, err := exec.Command(d.cli, append(cli, "network", "ls", "-q", "--no-trunc", "--filter", "driver=bridge")...).Output()
	if err != nil {
		return []string{"docker0"}
	}
	var names []string
	for _, id := range strings.Fields(string(out)) {
		br, err := exec.Command(d.cli, append(cli, "network", "inspect", "-f", `{{index .Options "com.docker.network.bridge.name"}}`, id)...).Output()
		if name := strings.TrimSpace(string(br)); err == nil && name != "" && name != "<no value>" {
			names = append(names, name)
		} else {
			names = append(names, "br-"+id[:12])
		}
	}
	return names
}

// restoreIPTables puts back the IPv4 tables dockerd changed: the tables
// that were there before as they were; the ones it made deleted
// (iptables-nft), or flushed, their chains deleted and their policies
// ACCEPT again (legacy iptables).
func (d *dockerd) restoreIPTables() error {
	after, err := exec.Command("iptables-save").Output()
	if err != nil {
		return nil // no iptables: dockerd would not have started
	}
	if string(after) == d.iptables {
		return nil
	}
	had := iptablesTables(d.iptables)
	v, _ := exec.Command("iptables", "-V").Output()
	nft := strings.Contains(string(v), "nf_tables")
	var errs []error
	if len(had) > 0 {
		cmd := exec.Command("iptables-restore")
		cmd.Stdin = strings.NewReader(d.iptables)
		if out, err := cmd.CombinedOutput(); err != nil {
			errs = append(errs, fmt.Errorf("iptables-restore: %w: %s", err, out))
		}
	}
	for table := range iptablesTables(string(after)) {
		if had[table] {
			continue
		}
		if nft {
			// iptables-nft's tables are nftables tables of that name.
			if out, err := exec.Command("nft", "delete", "table", "ip", table).CombinedOutput(); err != nil {
				errs = append(errs, fmt.Errorf("nft delete table ip %s: %w: %s", table, err, out))
			}
			continue
		}
		rules, _ := exec.Command("iptables", "-t", table, "-S").Output()
		for _, l := range strings.Split(string(rules), "\n") {
			if f := strings.Fields(l); len(f) == 3 && f[0] == "-P" {
				if out, err := exec.Command("iptables", "-t", table, "-P", f[1], "ACCEPT").CombinedOutput(); err != nil {
					errs = append(errs, fmt.Errorf("iptables -t %s -P %s ACCEPT: %w: %s", table, f[1], err, out))
				}
			}
		}
		for _, op := range []string{"-F", "-X"} {
			if out, err := exec.Command("iptables", "-t", table, op).CombinedOutput(); err != nil {
				errs = append(errs, fmt.Errorf("iptables -t %s %s: %w: %s", table, op, err, out))
			}
		}
	}
	return errors.Join(errs...)
}

// iptablesTables are the tables in iptables-save output.
func iptablesTables(save string) map[string]bool {
	m := map[string]bool{}
	for _, l := range strings.Split(save, "\n") {
		if strings.HasPrefix(l, "*") {
			m[strings.TrimPrefix(l, "*")] = true
		}
	}
	return m
}

// cleanup unmounts and removes dockerd's directory.
func (d *dockerd) cleanup() error {
	unmountUnder(d.base)
	if ms := mountsUnder("/proc/self/mountinfo", d.base); len(ms) > 0 {
		return fmt.Errorf("dockerd's mounts are left: %v", ms)
	}
	return os.RemoveAll(d.base)
}

// unixClient is an HTTP client for the API on a unix socket.
func unixClient(sock string, timeout time.Duration) *http.Client {
	return &http.Client{Timeout: timeout, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", sock)
		},
	}}
}

// refusingProxy is dockerd's HTTP and HTTPS proxy: it answers every
// request (a CONNECT to a registry, a plain GET) with 403 and records
// where it was going. Loopback addresses are never proxied, so the test
// registry is reached directly.
type refusingProxy struct {
	addr string
	l    net.Listener
	mu   sync.Mutex
	hits []string
	wg   sync.WaitGroup
}

func startRefusingProxy() (*refusingProxy, error) {
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &refusingProxy{addr: l.Addr().String(), l: l}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			p.wg.Add(1)
			go func() {
				defer p.wg.Done()
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(10 * time.Second))
				req, err := http.ReadRequest(bufio.NewReader(c))
				where := "(unreadable request)"
				if err == nil {
					where = req.Method + " " + req.Host
				}
				p.mu.Lock()
				p.hits = append(p.hits, where)
				p.mu.Unlock()
				fmt.Fprintln(os.Stderr, "test harness: refused dockerd's request through its proxy:", where)
				_, _ = io.WriteString(c, "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n") // it may have hung up
			}()
		}
	}()
	return p, nil
}

func (p *refusingProxy) close() {
	p.l.Close()
	p.wg.Wait()
}

func (p *refusingProxy) refused() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.hits...)
}
