package test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/skiff-dev/skiff/hack/testimages"
)

// The networking tests use only 127.0.0.1, the addresses they create and
// the containers' own. Every container that resolves a name runs with
// --dns 127.0.0.1: nothing answers there, so an unknown name fails at once
// and no query leaves the machine.

// modeIndex is 0 for a root env, 1 for a rootless one and 2 for docker,
// so that the addresses the tests pick differ between them (root and
// docker networks are on the host, where skiff's root tests may run at
// the same time).
func (e *env) modeIndex() int {
	switch {
	case e.target == "docker":
		return 2
	case e.rootless:
		return 1
	}
	return 0
}

// net24 is the first three octets ("10.150.X") of the /24 that the user
// network numbered n uses in this env: distinct per test, network and
// mode (docker's are 10.151.X).
func (e *env) net24(n int) string {
	if e.target == "docker" {
		return fmt.Sprintf("10.151.%d", n)
	}
	return fmt.Sprintf("10.150.%d", 2*n+e.modeIndex())
}

// runDetached runs a named container with run -d and removes it when the
// test ends. It returns the container's ID.
func (e *env) runDetached(t *testing.T, name string, args ...string) string {
	t.Helper()
	e.cleanupContainer(t, name)
	return strings.TrimSpace(e.mustSkiff(t, append([]string{"run", "-d", "--name", name}, args...)...))
}

// createNetwork makes a network (network create ARGS NAME), removed when
// the test ends, and returns its ID.
func (e *env) createNetwork(t *testing.T, name string, args ...string) string {
	t.Helper()
	t.Cleanup(func() { e.skiff(t, "network", "rm", name) })
	return strings.TrimSpace(e.mustSkiff(t, append(append([]string{"network", "create"}, args...), name)...))
}

// inspectF is `inspect -f FORMAT NAME`, trimmed.
func (e *env) inspectF(t *testing.T, name, format string) string {
	t.Helper()
	return strings.TrimSpace(e.mustSkiff(t, "inspect", "-f", format, name))
}

// apiPost posts a JSON body to the engine's API and returns the status
// and the answer.
func (e *env) apiPost(t *testing.T, path, body string) (int, string) {
	t.Helper()
	c := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", e.socket())
		},
	}}
	resp, err := c.Post("http://skiff"+path, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// ipOn is the container's address on the network.
func (e *env) ipOn(t *testing.T, name, network string) string {
	t.Helper()
	return e.inspectF(t, name, fmt.Sprintf(`{{(index .NetworkSettings.Networks %q).IPAddress}}`, network))
}

// exec runs a command in a running container.
func (e *env) exec(t *testing.T, name string, cmd ...string) result {
	t.Helper()
	return e.skiff(t, append([]string{"exec", name}, cmd...)...)
}

// bridgeNet is the default network's subnet, gateway and interface, as
// network inspect shows them.
func (e *env) bridgeNet(t *testing.T) (netip.Prefix, netip.Addr, string) {
	t.Helper()
	out := e.mustSkiff(t, "network", "inspect", "bridge", "-f",
		`{{(index .IPAM.Config 0).Subnet}} {{(index .IPAM.Config 0).Gateway}} {{index .Options "com.docker.network.bridge.name"}}`)
	f := strings.Fields(out)
	if len(f) != 3 {
		t.Fatalf("network inspect bridge: %q", out)
	}
	subnet, err1 := netip.ParsePrefix(f[0])
	gw, err2 := netip.ParseAddr(f[1])
	if err1 != nil || err2 != nil {
		t.Fatalf("network inspect bridge: %q", out)
	}
	return subnet, gw, f[2]
}

// addrAdd is a plus n.
func addrAdd(a netip.Addr, n int) netip.Addr {
	b := a.As4()
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	v += uint32(n)
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

// ifaceNames are the interface names in `ip -o link` or `ip -o addr`
// output, each once, sorted.
func ifaceNames(out string) []string {
	seen := map[string]bool{}
	var names []string
	for _, l := range strings.Split(out, "\n") {
		f := strings.Fields(l)
		if len(f) < 2 {
			continue
		}
		name, _, _ := strings.Cut(strings.TrimSuffix(f[1], ":"), "@")
		if !seen[name] {
			seen[name] = true
			names = append(names, name)
		}
	}
	sort.Strings(names)
	return names
}

// inetOf is the first IPv4 address with prefix ("10.1.2.3/24") of iface in
// `ip -o addr` output.
func inetOf(out, iface string) string {
	for _, l := range strings.Split(out, "\n") {
		f := strings.Fields(l)
		if len(f) >= 4 && f[1] == iface && f[2] == "inet" {
			return f[3]
		}
	}
	return ""
}

// bridgeLinks is `ip -o link` where the bridges are: on the host as root,
// in skiff's namespace rootless.
func (e *env) bridgeLinks(t *testing.T) string {
	t.Helper()
	if e.rootless {
		return e.mustSkiff(t, "unshare", "--net", "ip", "-o", "link")
	}
	out, err := exec.Command("ip", "-o", "link").Output()
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// routeGet is `ip route get IP` where the bridges are.
func (e *env) routeGet(t *testing.T, ip string) string {
	t.Helper()
	if e.rootless {
		r := e.skiff(t, "unshare", "--net", "ip", "route", "get", ip)
		return r.stdout + r.stderr
	}
	out, _ := exec.Command("ip", "route", "get", ip).CombinedOutput()
	return string(out)
}

// pingable reports whether the container gets an answer from ip.
func (e *env) pingable(t *testing.T, name, ip string, wait int) (bool, result) {
	t.Helper()
	r := e.exec(t, name, "ping", "-c", "1", "-W", fmt.Sprint(wait), ip)
	return r.code == 0, r
}

// httpGet fetches http://addr/path from the test process.
func httpGet(addr, path string, timeout time.Duration) (string, error) {
	c := &http.Client{Timeout: timeout, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get("http://" + addr + path)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return string(b), err
	}
	if resp.StatusCode != http.StatusOK {
		return string(b), fmt.Errorf("status %s", resp.Status)
	}
	return string(b), nil
}

// waitHTTP fetches http://addr/path until the body contains want (servers
// in containers start after run -d returns); it fails the test after 20s.
func waitHTTP(t *testing.T, what, addr, path, want string) {
	t.Helper()
	var body string
	var err error
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		body, err = httpGet(addr, path, 3*time.Second)
		if err == nil && strings.Contains(body, want) {
			return
		}
	}
	t.Errorf("%s: http://%s%s: want %q, got %q, %v", what, addr, path, want, body, err)
}

// udpExchange sends msg to addr over UDP and returns the answer.
func udpExchange(addr, msg string, timeout time.Duration) (string, error) {
	c, err := net.Dial("udp4", addr)
	if err != nil {
		return "", err
	}
	defer c.Close()
	if _, err := c.Write([]byte(msg)); err != nil {
		return "", err
	}
	if err := c.SetReadDeadline(time.Now().Add(timeout)); err != nil {
		return "", err
	}
	buf := make([]byte, 2048)
	n, err := c.Read(buf)
	return string(buf[:n]), err
}

// waitUDP sends datagrams to addr until one is echoed; it fails the test
// after 20s.
func waitUDP(t *testing.T, what, addr string) bool {
	t.Helper()
	var got string
	var err error
	for i := 0; i < 40; i++ {
		msg := fmt.Sprintf("udp-check-%d", i)
		got, err = udpExchange(addr, msg, 500*time.Millisecond)
		if err == nil && got == msg {
			return true
		}
	}
	t.Errorf("%s: no UDP echo from %s: got %q, %v", what, addr, got, err)
	return false
}

// The udpecho image is busybox with /udpecho (test/udpecho), a UDP echo
// server: `udpecho PORT`.
var (
	udpechoOnce sync.Once
	udpechoErr  error
)

func buildUDPEcho() error {
	dir, err := os.MkdirTemp("", "udpecho")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = "/usr/local/go/bin/go" // where hack/setup.sh expects Go
	}
	bin := filepath.Join(dir, "udpecho")
	cmd := exec.Command(goBin, "build", "-o", bin, "./udpecho")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("building test/udpecho: %w\n%s", err, out)
	}
	b, err := os.ReadFile(bin)
	if err != nil {
		return err
	}
	bb, err := testimages.Busybox()
	if err != nil {
		return err
	}
	img, err := testimages.WithFile(bb, "/udpecho", b, 0o755, 0, 0)
	if err != nil {
		return err
	}
	return testimages.Push(registry, "udpecho:latest", img)
}

// udpechoImage makes the image "udpecho" available in the env.
func (e *env) udpechoImage(t *testing.T) string {
	t.Helper()
	udpechoOnce.Do(func() { udpechoErr = buildUDPEcho() })
	if udpechoErr != nil {
		t.Fatal(udpechoErr)
	}
	if !e.images["udpecho"] {
		e.mustSkiff(t, "pull", registry+"/udpecho:latest")
		e.mustSkiff(t, "tag", registry+"/udpecho:latest", "udpecho")
		if e.images == nil {
			e.images = map[string]bool{}
		}
		e.images["udpecho"] = true
	}
	return "udpecho"
}

// networkJSON is the part of `network inspect` the tests read.
type networkJSON struct {
	Name     string
	ID       string `json:"Id"`
	Driver   string
	Internal bool
	Labels   map[string]string
	IPAM     struct {
		Config []struct{ Subnet, IPRange, Gateway string }
	}
	Containers map[string]struct{ Name, IPv4Address string }
}

func (e *env) inspectNetwork(t *testing.T, name string) networkJSON {
	t.Helper()
	out := e.mustSkiff(t, "network", "inspect", name)
	var list []networkJSON
	if err := json.Unmarshal([]byte(out), &list); err != nil || len(list) != 1 {
		t.Fatalf("network inspect %s: %v\n%s", name, err, out)
	}
	return list[0]
}

// containerOn finds the container called name in a network's Containers.
func (n networkJSON) containerOn(name string) (ipv4 string, ok bool) {
	for _, c := range n.Containers {
		if c.Name == name {
			return c.IPv4Address, true
		}
	}
	return "", false
}

func TestNetDefaultBridge(t *testing.T) {
	forEachMode(t, func(t *testing.T, e *env) {
		subnet, gw, bridge := e.bridgeNet(t)
		if !e.rootless && bridge != e.bridge {
			t.Errorf("default bridge interface %q, want %q (engine.json)", bridge, e.bridge)
		}
		if !subnet.Contains(gw) {
			t.Fatalf("gateway %s outside the bridge subnet %s", gw, subnet)
		}

		// lo and eth0, with an address in the bridge subnet.
		out := e.mustSkiff(t, "run", "--rm", "busybox", "ip", "-o", "addr")
		if names := ifaceNames(out); strings.Join(names, " ") != "eth0 lo" {
			t.Errorf("interfaces %v, want eth0 and lo:\n%s", names, out)
		}
		inet := inetOf(out, "eth0")
		if p, err := netip.ParsePrefix(inet); err != nil || !subnet.Contains(p.Addr()) || p.Bits() != subnet.Bits() {
			t.Errorf("eth0 address %q, want one in %s:\n%s", inet, subnet, out)
		}
		mtu := "mtu 1500"
		if e.rootless {
			mtu = "mtu 65520"
		}
		contains(t, "eth0", e.mustSkiff(t, "run", "--rm", "busybox", "ip", "-o", "link", "show", "eth0"), mtu)

		// Addresses are handed out in order and reused after removal.
		empty := strings.TrimSpace(e.mustSkiff(t, "ps", "-q")) == ""
		names := []string{"nb-1", "nb-2", "nb-3"}
		var ips []netip.Addr
		for _, n := range names {
			e.runDetached(t, n, "busybox", "sleep", "300")
			got := e.inspectF(t, n, "{{.NetworkSettings.IPAddress}} {{.NetworkSettings.Networks.bridge.IPAddress}}")
			f := strings.Fields(got)
			if len(f) != 2 || f[0] != f[1] {
				t.Fatalf("%s: IPAddress and Networks.bridge.IPAddress differ: %q", n, got)
			}
			ip, err := netip.ParseAddr(f[0])
			if err != nil || !subnet.Contains(ip) {
				t.Fatalf("%s: address %q outside %s", n, got, subnet)
			}
			ips = append(ips, ip)
		}
		first := ips[0]
		if empty {
			first = addrAdd(subnet.Masked().Addr(), 2)
		}
		for i, ip := range ips {
			if want := addrAdd(first, i); ip != want {
				t.Errorf("%s got %s, want %s (addresses in order)", names[i], ip, want)
			}
		}
		e.mustSkiff(t, "rm", "-f", "nb-2")
		e.runDetached(t, "nb-4", "busybox", "sleep", "300")
		if got := e.ipOn(t, "nb-4", "bridge"); got != ips[1].String() {
			t.Errorf("a new container got %s, want the freed %s", got, ips[1])
		}
		names = []string{"nb-1", "nb-4", "nb-3"}
		ips[1], _ = netip.ParseAddr(e.ipOn(t, "nb-4", "bridge"))

		// Containers on the bridge reach each other.
		if ok, r := e.pingable(t, "nb-1", ips[2].String(), 3); !ok {
			t.Errorf("nb-1 cannot ping nb-3 at %s: %s", ips[2], r)
		}

		// network inspect lists the running containers.
		n := e.inspectNetwork(t, "bridge")
		for i, name := range names {
			want := fmt.Sprintf("%s/%d", ips[i], subnet.Bits())
			if got, ok := n.containerOn(name); !ok || got != want {
				t.Errorf("network inspect bridge: %s has %q (listed: %v), want %s: %+v", name, got, ok, want, n.Containers)
			}
		}
		if _, ok := n.containerOn("nb-2"); ok {
			t.Errorf("network inspect bridge still lists the removed nb-2: %+v", n.Containers)
		}

		// Once they are removed, no veth is left on the bridge.
		e.mustSkiff(t, "rm", "-f", "nb-1", "nb-3", "nb-4")
		// The engine deletes veths in the background (root and rootless).
		onBridge := func() string {
			if e.rootless {
				return e.bridgeLinks(t)
			}
			out, err := exec.Command("ip", "-o", "link", "show", "master", bridge).CombinedOutput()
			if err != nil {
				t.Fatalf("ip link show master %s: %v\n%s", bridge, err, out)
			}
			return string(out)
		}
		out = onBridge()
		for deadline := time.Now().Add(10 * time.Second); strings.Contains(out, "veth") && time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			out = onBridge()
		}
		if strings.Contains(out, "veth") {
			t.Errorf("veths left on the bridge after their containers were removed:\n%s", out)
		}
		if n := e.inspectNetwork(t, "bridge"); len(n.Containers) != 0 {
			t.Errorf("network inspect bridge lists containers after their removal: %+v", n.Containers)
		}
	})
}

func TestNetCommands(t *testing.T) {
	forEachMode(t, func(t *testing.T, e *env) {
		t.Run("create-ls-inspect", func(t *testing.T) {
			s := e.net24(0)
			id := e.createNetwork(t, "nc-a", "--subnet", s+".0/24", "--ip-range", s+".128/25", "--gateway", s+".254", "--label", "team=net")
			if len(id) != 64 {
				t.Errorf("network create printed %q, want a 64-hex ID", id)
			}
			ls := e.mustSkiff(t, "network", "ls")
			var lsNames []string
			for _, l := range strings.Split(strings.TrimSpace(ls), "\n")[1:] {
				if f := strings.Fields(l); len(f) >= 2 {
					lsNames = append(lsNames, f[1])
				}
			}
			for _, want := range []string{"bridge", "host", "none", "nc-a"} {
				found := false
				for _, n := range lsNames {
					found = found || n == want
				}
				if !found {
					t.Errorf("network ls does not list %s:\n%s", want, ls)
				}
			}
			contains(t, "network ls -q", e.mustSkiff(t, "network", "ls", "-q"), id[:12]+"\n")
			if out := e.mustSkiff(t, "network", "ls", "-q", "--filter", "name=nc-a"); out != id[:12]+"\n" {
				t.Errorf("network ls -q --filter name=nc-a: %q, want %q", out, id[:12]+"\n")
			}

			e.runDetached(t, "nc-c1", "--net", "nc-a", "busybox", "sleep", "300")
			e.runDetached(t, "nc-c2", "--net", "nc-a", "--ip", s+".200", "busybox", "sleep", "300")
			ip1 := e.ipOn(t, "nc-c1", "nc-a")
			if a, err := netip.ParseAddr(ip1); err != nil || !netip.MustParsePrefix(s+".128/25").Contains(a) {
				t.Errorf("nc-c1 got %q, want an address in the ip-range %s.128/25", ip1, s)
			}
			if ip := e.ipOn(t, "nc-c2", "nc-a"); ip != s+".200" {
				t.Errorf("--ip %s.200 gave %q", s, ip)
			}
			if out := e.exec(t, "nc-c2", "ip", "-o", "-4", "addr", "show", "eth0"); !strings.Contains(out.stdout, s+".200/24") {
				t.Errorf("eth0 of nc-c2: %s", out)
			}
			if out := e.exec(t, "nc-c1", "ip", "route"); !strings.Contains(out.stdout, "default via "+s+".254") {
				t.Errorf("route of nc-c1, want the gateway %s.254: %s", s, out)
			}

			n := e.inspectNetwork(t, "nc-a")
			if len(n.IPAM.Config) != 1 {
				t.Fatalf("IPAM.Config: %+v", n.IPAM)
			}
			c := n.IPAM.Config[0]
			if c.Subnet != s+".0/24" || c.IPRange != s+".128/25" || c.Gateway != s+".254" {
				t.Errorf("IPAM.Config %+v, want subnet %s.0/24, ip-range %s.128/25, gateway %s.254", c, s, s, s)
			}
			if n.Labels["team"] != "net" || n.Driver != "bridge" || n.ID != id {
				t.Errorf("network inspect: labels %v, driver %q, id %q", n.Labels, n.Driver, n.ID)
			}
			for name, ip := range map[string]string{"nc-c1": ip1, "nc-c2": s + ".200"} {
				if got, ok := n.containerOn(name); !ok || got != ip+"/24" {
					t.Errorf("network inspect nc-a: %s is %q (listed: %v), want %s/24", name, got, ok, ip)
				}
			}
			out := e.mustSkiff(t, "network", "inspect", "-f", "{{range .Containers}}{{.Name}}={{.IPv4Address}} {{end}}", "nc-a")
			contains(t, "network inspect -f", out, "nc-c2="+s+".200/24")

			// A network with a running container cannot be removed.
			r := e.skiff(t, "network", "rm", "nc-a")
			if r.code == 0 || !strings.Contains(r.stderr, "has active endpoints") {
				t.Errorf("network rm of a network in use: %s", r)
			}
			e.mustSkiff(t, "rm", "-f", "nc-c1", "nc-c2")
			if out := e.mustSkiff(t, "network", "rm", "nc-a"); strings.TrimSpace(out) != "nc-a" {
				t.Errorf("network rm printed %q", out)
			}
			if out := e.mustSkiff(t, "network", "ls"); strings.Contains(out, "nc-a") {
				t.Errorf("network ls after rm:\n%s", out)
			}
			if links := e.bridgeLinks(t); strings.Contains(links, "br-"+id[:12]) {
				t.Errorf("the bridge of a removed network is left:\n%s", links)
			}
		})

		t.Run("errors", func(t *testing.T) {
			bsub, _, _ := e.bridgeNet(t)
			s1, s2 := e.net24(1), e.net24(2)
			e.createNetwork(t, "nc-e", "--subnet", s1+".0/24")
			cases := []struct {
				name, want string
				args       []string
			}{
				// The CLI checks these before asking the engine, as docker's.
				{"ip-range outside", "no matching subnet for range " + e.net24(3) + ".0/25", []string{"--subnet", s2 + ".0/24", "--ip-range", e.net24(3) + ".0/25", "nc-bad1"}},
				{"gateway outside", "no matching subnet for gateway " + e.net24(3) + ".1", []string{"--subnet", s2 + ".0/24", "--gateway", e.net24(3) + ".1", "nc-bad2"}},
				{"overlap", "Pool overlaps", []string{"--subnet", s1 + ".0/25", "nc-bad3"}},
				{"overlap bridge", "Pool overlaps", []string{"--subnet", bsub.String(), "nc-bad4"}},
				{"duplicate name", "already exists", []string{"--subnet", s2 + ".0/24", "nc-e"}},
			}
			for _, c := range cases {
				name := c.args[len(c.args)-1]
				if name != "nc-e" {
					t.Cleanup(func() { e.skiff(t, "network", "rm", name) })
				}
				r := e.skiff(t, append([]string{"network", "create"}, c.args...)...)
				if r.code == 0 || !strings.Contains(r.stderr, c.want) {
					t.Errorf("%s: network create %v: %s\nwant an error with %q", c.name, c.args, r, c.want)
				}
			}
			// The engine's own answers, from its API (moby v28.5.2's
			// ValidateIPAM). docker.io's daemon makes the network with an
			// ip-range outside its subnet, and fails the gateway's with
			// 500 "failed to allocate gateway".
			for _, c := range []struct {
				name, ipam, want string
				dockerIO         int
				dockerIOWant     string
			}{
				{"nc-bad5", `{"Subnet":"` + s2 + `.0/24","IPRange":"` + e.net24(3) + `.0/25"}`, "doesn't contain ip-range", http.StatusCreated, ""},
				{"nc-bad6", `{"Subnet":"` + s2 + `.0/24","Gateway":"` + e.net24(3) + `.1"}`, "invalid gateway " + e.net24(3) + ".1",
					http.StatusInternalServerError, "failed to allocate gateway (" + e.net24(3) + ".1): Requested address is out of range"},
			} {
				t.Cleanup(func() { e.skiff(t, "network", "rm", c.name) })
				body := `{"Name":"` + c.name + `","IPAM":{"Config":[` + c.ipam + `]}}`
				code, out := e.apiPost(t, "/networks/create", body)
				if want := orDockerIO(e, http.StatusBadRequest, c.dockerIO); code != want || want != http.StatusCreated && !strings.Contains(out, orDockerIO(e, c.want, c.dockerIOWant)) {
					t.Errorf("POST /networks/create %s: %d %s\nwant %d and %q", body, code, out, want, c.want)
				}
				if code == http.StatusCreated {
					e.mustSkiff(t, "network", "rm", c.name)
				}
			}

			// --ip is for user networks only.
			r := e.skiff(t, "run", "--rm", "--ip", addrAdd(bsub.Masked().Addr(), 50).String(), "busybox", "true")
			if r.code != 125 || !strings.Contains(r.stderr, "user specified IP address is supported on user defined networks only") {
				t.Errorf("run --ip on the default bridge: %s", r)
			}
			r = e.skiff(t, "network", "rm", "bridge")
			if r.code == 0 || !strings.Contains(r.stderr, "pre-defined network") {
				t.Errorf("network rm bridge: %s", r)
			}
			if out := e.mustSkiff(t, "network", "ls"); !strings.Contains(out, "bridge") {
				t.Errorf("network ls after network rm bridge:\n%s", out)
			}
		})

		t.Run("prune", func(t *testing.T) {
			e.createNetwork(t, "nc-used", "--subnet", e.net24(4)+".0/24")
			e.createNetwork(t, "nc-unused", "--subnet", e.net24(5)+".0/24")
			// As Docker's: a network is in use while a running container
			// is on it (a stopped one does not keep it).
			e.runDetached(t, "nc-user", "--net", "nc-used", "busybox", "sleep", "300")
			out := e.mustSkiff(t, "network", "prune", "-f")
			contains(t, "network prune", out, "Deleted Networks:")
			contains(t, "network prune", out, "nc-unused")
			if strings.Contains(out, "nc-used") || strings.Contains(out, "bridge") {
				t.Errorf("network prune removed a network in use or a built-in one:\n%s", out)
			}
			ls := e.mustSkiff(t, "network", "ls")
			if strings.Contains(ls, "nc-unused") || !strings.Contains(ls, "nc-used") {
				t.Errorf("network ls after prune:\n%s", ls)
			}
		})

		t.Run("modes", func(t *testing.T) {
			s := e.net24(6)
			e.createNetwork(t, "nc-int", "--internal", "--subnet", s+".0/24")
			if n := e.inspectNetwork(t, "nc-int"); !n.Internal {
				t.Errorf("network inspect nc-int: Internal is false")
			}
			// No default route since Docker 25; docker.io's has one,
			// through the gateway that forwards nothing.
			r := e.skiff(t, "run", "--rm", "--net", "nc-int", "busybox", "sh", "-c", "ip -o -4 addr show eth0; ip route")
			if r.code != 0 || !strings.Contains(r.stdout, s+".") || strings.Contains(r.stdout, "default") != (e.target == "docker") {
				t.Errorf("a container on an internal network, want an address and %s: %s", orDockerIO(e, "no default route", "a default route"), r)
			}

			// --mac-address, --dns, --dns-search, --dns-option, --add-host.
			out := e.mustAPI141(t, "run", "--rm", "--net", "nc-int", "--mac-address", "02:42:0a:96:00:99", "--dns", "127.0.0.1",
				"--dns-search", "nc.example", "--dns-option", "timeout:1", "--add-host", "nc-static:192.0.2.77",
				"busybox", "sh", "-c", "ip -o link show eth0; cat /etc/resolv.conf /etc/hosts")
			for _, want := range []string{"link/ether 02:42:0a:96:00:99", "nameserver 127.0.0.11\n", "search nc.example\n", "192.0.2.77\tnc-static\n"} {
				contains(t, "network options on a user network", out, want)
			}
			// Docker adds the embedded DNS's ndots:0 after the
			// container's own options.
			if !strings.Contains(out, "options timeout:1 ndots:0\n") {
				t.Errorf("network options on a user network: want %q in:\n%s", "options timeout:1 ndots:0\n", out)
			}
			// Docker 28 writes nameservers, search, options (moby
			// v28.5.2's resolvconf template); docker.io search first.
			r = e.skiff(t, "run", "--rm", "--dns", "127.0.0.1", "--dns-search", "nc.example", "--dns-option", "timeout:1", "busybox", "cat", "/etc/resolv.conf")
			if want := orDockerIO(e, "nameserver 127.0.0.1\nsearch nc.example\noptions timeout:1\n", "search nc.example\nnameserver 127.0.0.1\noptions timeout:1\n"); r.stdout != want {
				t.Errorf("resolv.conf with --dns, --dns-search and --dns-option on the default bridge: %s\nwant %q", r, want)
			}

			out = e.mustSkiff(t, "run", "--rm", "--net", "none", "busybox", "ip", "-o", "link")
			if names := ifaceNames(out); strings.Join(names, " ") != "lo" {
				t.Errorf("--net none: interfaces %v, want only lo:\n%s", names, out)
			}

			// --net host: the host's interfaces as root, skiff's namespace
			// rootless. Other engines add and remove interfaces meanwhile:
			// compare with listings taken before and after.
			e.runDetached(t, "nc-b", "busybox", "sleep", "300")
			before := ifaceNames(e.bridgeLinks(t))
			out = e.mustSkiff(t, "run", "--rm", "--net", "host", "busybox", "ip", "-o", "link")
			after := ifaceNames(e.bridgeLinks(t))
			inCtr := ifaceNames(out)
			set := func(l []string) map[string]bool {
				m := map[string]bool{}
				for _, n := range l {
					m[n] = true
				}
				return m
			}
			b, a, c := set(before), set(after), set(inCtr)
			for n := range c {
				if !b[n] && !a[n] {
					t.Errorf("--net host: the container sees %s, which the host's namespace has not", n)
				}
			}
			for n := range b {
				if a[n] && !c[n] {
					t.Errorf("--net host: the container does not see %s", n)
				}
			}
			// The host's own: the interface of its default route.
			var want []string
			if f := strings.Fields(mustOut(t, "ip", "route", "show", "default")); len(f) >= 5 && f[3] == "dev" {
				want = []string{f[4]}
			}
			if e.rootless {
				want = []string{"tap0", "skiff0"}
			}
			for _, n := range want {
				if !c[n] {
					t.Errorf("--net host: no %s in the container:\n%s", n, out)
				}
			}

			// --net container:NAME shares NAME's interfaces.
			ip := e.ipOn(t, "nc-b", "bridge")
			out = e.mustSkiff(t, "run", "--rm", "--net", "container:nc-b", "busybox", "ip", "-o", "-4", "addr", "show", "eth0")
			if got := inetOf(out, "eth0"); !strings.HasPrefix(got, ip+"/") {
				t.Errorf("--net container:nc-b shows eth0 %q, want %s:\n%s", got, ip, out)
			}
		})

		t.Run("connect-disconnect", func(t *testing.T) {
			s1, s2 := e.net24(7), e.net24(8)
			e.createNetwork(t, "nc-n1", "--subnet", s1+".0/24")
			e.createNetwork(t, "nc-n2", "--subnet", s2+".0/24")
			e.runDetached(t, "nc-pa", "--net", "nc-n1", "--dns", "127.0.0.1", "busybox", "sleep", "300")
			e.runDetached(t, "nc-pb", "--net", "nc-n2", "--dns", "127.0.0.1", "busybox", "sleep", "300")
			ipB := e.ipOn(t, "nc-pb", "nc-n2")
			if ok, r := e.pingable(t, "nc-pa", ipB, 1); ok {
				t.Errorf("nc-pa on nc-n1 pings nc-pb on nc-n2 (bridges must be isolated): %s", r)
			}
			e.mustSkiff(t, "network", "connect", "nc-n2", "nc-pa")
			ipA2 := e.ipOn(t, "nc-pa", "nc-n2")
			if !strings.HasPrefix(ipA2, s2+".") {
				t.Errorf("after network connect, nc-pa's address on nc-n2 is %q", ipA2)
			}
			if r := e.exec(t, "nc-pa", "ip", "-o", "-4", "addr", "show", "eth1"); !strings.Contains(r.stdout, ipA2+"/24") {
				t.Errorf("eth1 after network connect: %s", r)
			}
			if ok, r := e.pingable(t, "nc-pa", ipB, 3); !ok {
				t.Errorf("after network connect, nc-pa cannot ping nc-pb: %s", r)
			}
			if _, ok := e.inspectNetwork(t, "nc-n2").containerOn("nc-pa"); !ok {
				t.Errorf("network inspect nc-n2 does not list nc-pa after network connect")
			}
			if out := e.mustSkiff(t, "ps", "--filter", "network=nc-n2", "--format", "{{.Names}}"); strings.Join(sortedCopy(strings.Fields(out)), " ") != "nc-pa nc-pb" {
				t.Errorf("ps --filter network=nc-n2: %q, want nc-pa and nc-pb", out)
			}
			e.mustSkiff(t, "network", "disconnect", "nc-n2", "nc-pa")
			if ok, r := e.pingable(t, "nc-pa", ipB, 1); ok {
				t.Errorf("after network disconnect, nc-pa still pings nc-pb: %s", r)
			}
			if r := e.exec(t, "nc-pa", "ip", "-o", "link"); strings.Contains(r.stdout, "eth1") {
				t.Errorf("eth1 left after network disconnect: %s", r)
			}
			if _, ok := e.inspectNetwork(t, "nc-n2").containerOn("nc-pa"); ok {
				t.Errorf("network inspect nc-n2 still lists nc-pa after network disconnect")
			}
			if got := e.inspectF(t, "nc-pa", "{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}"); got != "nc-n1" {
				t.Errorf("networks of nc-pa after disconnect: %q", got)
			}

			// connect with an alias and an address.
			e.mustSkiff(t, "network", "connect", "--alias", "nc-x", "--ip", s2+".77", "nc-n2", "nc-pa")
			if ip := e.ipOn(t, "nc-pa", "nc-n2"); ip != s2+".77" {
				t.Errorf("network connect --ip %s.77 gave %q", s2, ip)
			}
			contains(t, "aliases", e.inspectF(t, "nc-pa", `{{json (index .NetworkSettings.Networks "nc-n2").Aliases}}`), `"nc-x"`)
			if ok, r := e.pingable(t, "nc-pb", s2+".77", 3); !ok {
				t.Errorf("nc-pb cannot ping nc-pa at %s.77: %s", s2, r)
			}
			if r := e.exec(t, "nc-pb", "nslookup", "nc-x"); r.code != 0 || !strings.Contains(r.stdout, s2+".77") {
				t.Errorf("nslookup nc-x (the connect alias) from nc-pb: %s", r)
			}

			// host and none containers cannot be connected.
			e.runDetached(t, "nc-h", "--net", "host", "busybox", "sleep", "300")
			e.runDetached(t, "nc-none", "--net", "none", "busybox", "sleep", "300")
			for name, msg := range map[string]string{
				"nc-h":    "container sharing network namespace with another container or host cannot be connected to any other network",
				"nc-none": "container cannot be connected to multiple networks with one of the networks in private (none) mode",
			} {
				r := e.skiff(t, "network", "connect", "nc-n2", name)
				if r.code == 0 || !strings.Contains(r.stderr, msg) {
					t.Errorf("network connect nc-n2 %s: %s", name, r)
				}
			}
		})
	})
}

// TestNetEngineRestart: running containers keep their published ports,
// names and addresses across an engine restart; an engine that stops with
// nothing running leaves no bridge, firewall table or port behind.
func TestNetEngineRestart(t *testing.T) {
	skiffOnly(t, "containers that outlive skiff's engine (dockerd without live-restore stops them), skiff's bridges and nftables tables")
	for _, mode := range strings.Split(*modes, ",") {
		t.Run(mode, func(t *testing.T) {
			const extra = "SKIFF_TEST_ENV=netrestart"
			e := newEnv(t, mode, extra)
			t.Cleanup(func() {
				e.shutdown()
				delete(allEnvs, mode+extra)
			})
			_, _, bridge := e.bridgeNet(t)
			s := e.net24(12)
			id := e.createNetwork(t, "nr-net", "--subnet", s+".0/24")
			hp := freeLocalPort(t, "tcp")
			e.runDetached(t, "nr-web", append([]string{"--net", "nr-net", "--dns", "127.0.0.1", "--network-alias", "nr-alias", "-p", fmt.Sprintf("%d:80", hp)}, webArgs...)...)
			e.runDetached(t, "nr-c", "--net", "nr-net", "--dns", "127.0.0.1", "busybox", "sleep", "300")
			e.runDetached(t, "nr-b", "busybox", "sleep", "300")
			addr := fmt.Sprintf("127.0.0.1:%d", hp)
			waitHTTP(t, "before the restart", addr, "/", "eighty")
			webIP, cIP := e.ipOn(t, "nr-web", "nr-net"), e.ipOn(t, "nr-c", "nr-net")

			e.restartEngine(t)
			if e.rootless {
				// A new rootless engine has a new network namespace: the
				// running containers' veths went with the old one. They
				// show no address and nothing of theirs is published (a
				// forward to their old address would leave the machine
				// through slirp4netns); a restart reconnects them.
				if ip := e.ipOn(t, "nr-web", "nr-net"); ip != "" && ip != "invalid IP" {
					t.Errorf("after a rootless engine restart nr-web still shows the address %q", ip)
				}
				if c, err := net.DialTimeout("tcp4", addr, 2*time.Second); err == nil {
					c.Close()
					t.Errorf("after a rootless engine restart %s still accepts connections", addr)
				}
				e.mustSkiff(t, "restart", "-t", "0", "nr-web", "nr-c")
				webIP, cIP = e.ipOn(t, "nr-web", "nr-net"), e.ipOn(t, "nr-c", "nr-net")
			}
			// The published port is forwarded to the container's address in
			// the bridges' namespace: connect only if that address is still
			// routed to the network's bridge there, else (rootless) the
			// forward would leave through slirp4netns.
			if route := e.routeGet(t, webIP); !strings.Contains(route, "dev br-"+id[:12]) {
				t.Errorf("after an engine restart, %s is no longer routed to the bridge br-%s: %s\n%s", webIP, id[:12], route, e.bridgeLinks(t))
			} else {
				waitHTTP(t, "after an engine restart", addr, "/", "eighty")
			}
			if r := e.exec(t, "nr-c", "nslookup", "nr-alias"); strings.Join(nslookupAddrs(r.stdout), " ") != webIP {
				t.Errorf("nslookup nr-alias after an engine restart, want %s: %s", webIP, r)
			}
			if ok, r := e.pingable(t, "nr-c", webIP, 3); !ok {
				t.Errorf("ping between containers after an engine restart: %s", r)
			}
			e.runDetached(t, "nr-new", "--net", "nr-net", "busybox", "sleep", "300")
			if ip := e.ipOn(t, "nr-new", "nr-net"); ip == webIP || ip == cIP {
				t.Errorf("a new container got %s, an address of a running one (%s, %s)", ip, webIP, cIP)
			}
			e.runDetached(t, "nr-b2", "busybox", "sleep", "300")
			if a, b := e.ipOn(t, "nr-b", "bridge"), e.ipOn(t, "nr-b2", "bridge"); a == b {
				t.Errorf("two containers on the default bridge share %s after an engine restart", a)
			}

			e.mustSkiff(t, "rm", "-f", "nr-web", "nr-c", "nr-new", "nr-b", "nr-b2")
			e.mustSkiff(t, "network", "rm", "nr-net")
			e.stopEngine()
			portFree := func() {
				var err error
				for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
					var l net.Listener
					if l, err = net.Listen("tcp4", fmt.Sprintf(":%d", hp)); err == nil {
						l.Close()
						return
					}
				}
				t.Errorf("the published port %d is still held after the engine stopped: %v", hp, err)
			}
			if e.rootless {
				// Nothing of the env keeps running (slirp4netns, rootlesskit).
				var left []string
				for i := 0; i < 50; i++ {
					left = envProcesses(e.base)
					if len(left) == 0 {
						break
					}
					time.Sleep(100 * time.Millisecond)
				}
				if len(left) > 0 {
					t.Errorf("processes left after the engine stopped:\n%s", strings.Join(left, "\n"))
				}
				portFree()
				return
			}
			portFree()
			out, _ := exec.Command("ip", "-o", "link").Output()
			for _, name := range []string{bridge, "br-" + id[:12]} {
				if strings.Contains(string(out), " "+name+":") {
					t.Errorf("bridge %s left after the engine stopped:\n%s", name, out)
				}
			}
			tables, err := exec.Command("nft", "list", "tables").CombinedOutput()
			if err != nil {
				t.Fatalf("nft list tables: %v\n%s", err, tables)
			}
			for _, name := range []string{"skiff_" + bridge, "skiff_" + bridge + "_ports"} {
				if strings.Contains(string(tables)+"\n", "table ip "+name+"\n") {
					t.Errorf("nftables table %s left after the engine stopped:\n%s", name, tables)
				}
			}
		})
	}
}

// envProcesses lists the processes whose command line names dir.
func envProcesses(dir string) []string {
	var out []string
	ents, _ := os.ReadDir("/proc")
	for _, ent := range ents {
		if ent.Name()[0] < '0' || ent.Name()[0] > '9' {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", ent.Name(), "cmdline"))
		if err == nil && strings.Contains(string(b), dir) {
			out = append(out, ent.Name()+": "+strings.ReplaceAll(string(b), "\x00", " "))
		}
	}
	return out
}

// mustOut runs a host command and returns its output, failing the test on
// an error.
func mustOut(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
	return string(out)
}
