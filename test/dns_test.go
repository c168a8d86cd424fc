package test

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"sort"
	"strings"
	"testing"
	"time"
)

// nslookupAddrs are the IPv4 answers in busybox nslookup's output (not
// the server's own address).
func nslookupAddrs(out string) []string {
	var addrs []string
	for _, l := range strings.Split(out, "\n") {
		f := strings.Fields(l)
		if len(f) != 2 || f[0] != "Address:" {
			continue
		}
		if a, err := netip.ParseAddr(f[1]); err == nil && a.Is4() && a.String() != "127.0.0.11" {
			addrs = append(addrs, a.String())
		}
	}
	return addrs
}

func sortedCopy(l []string) []string {
	c := append([]string(nil), l...)
	sort.Strings(c)
	return c
}

func TestDNSEmbedded(t *testing.T) {
	forEachMode(t, func(t *testing.T, e *env) {
		e.createNetwork(t, "dn-a", "--subnet", e.net24(9)+".0/24")
		e.createNetwork(t, "dn-b", "--subnet", e.net24(10)+".0/24")
		dns := []string{"--dns", "127.0.0.1"}
		var webIPs, ids []string
		for i, alias := range []string{"--network-alias", "--net-alias", "--network-alias"} {
			name := fmt.Sprintf("dn-w%d", i+1)
			id := e.runDetached(t, name, append(dns, "--net", "dn-a", alias, "web", "busybox", "sleep", "300")...)
			ids = append(ids, id)
			webIPs = append(webIPs, e.ipOn(t, name, "dn-a"))
		}
		want := strings.Join(sortedCopy(webIPs), " ")
		e.runDetached(t, "dn-c", append(dns, "--net", "dn-a", "--link", "dn-w1:db", "busybox", "sleep", "300")...)
		e.runDetached(t, "dn-c2", append(dns, "--net", "dn-a", "busybox", "sleep", "300")...)
		e.runDetached(t, "dn-o", append(dns, "--net", "dn-b", "busybox", "sleep", "300")...)

		// All three, the first one varying.
		r := e.exec(t, "dn-c", "sh", "-c", "for i in $(seq 20); do nslookup web; echo ===; done")
		firsts := map[string]int{}
		chunks := strings.Split(r.stdout, "===")
		if len(chunks) < 20 {
			t.Fatalf("20 nslookup web: %s", r)
		}
		for i, chunk := range chunks[:20] {
			got := nslookupAddrs(chunk)
			if strings.Join(sortedCopy(got), " ") != want {
				t.Errorf("nslookup web #%d: %v, want %s:\n%s\n%s", i, got, want, chunk, r.stderr)
				break
			}
			firsts[got[0]]++
		}
		if len(firsts) < 2 {
			t.Errorf("over 20 queries the first answer was always the same: %v", firsts)
		}

		// Names and short IDs, and PTR.
		for i, ip := range webIPs {
			name := fmt.Sprintf("dn-w%d", i+1)
			for _, q := range []string{name, ids[i][:12]} {
				if r := e.exec(t, "dn-c", "nslookup", q); strings.Join(nslookupAddrs(r.stdout), " ") != ip {
					t.Errorf("nslookup %s, want %s: %s", q, ip, r)
				}
			}
		}
		if r := e.exec(t, "dn-c", "nslookup", webIPs[1]); r.code != 0 || !strings.Contains(r.stdout, "dn-w2.dn-a") {
			t.Errorf("nslookup %s (PTR), want dn-w2.dn-a: %s", webIPs[1], r)
		}

		// NAME.NETWORK names a container on that network.
		if r := e.exec(t, "dn-c", "nslookup", "dn-w1.dn-a"); strings.Join(nslookupAddrs(r.stdout), " ") != webIPs[0] {
			t.Errorf("nslookup dn-w1.dn-a, want %s: %s", webIPs[0], r)
		}

		// --link on a user network: an alias for the linking container only.
		if r := e.exec(t, "dn-c", "nslookup", "db"); strings.Join(nslookupAddrs(r.stdout), " ") != webIPs[0] {
			t.Errorf("nslookup db in the linking container, want %s: %s", webIPs[0], r)
		}
		if r := e.exec(t, "dn-c2", "nslookup", "db"); r.code == 0 || len(nslookupAddrs(r.stdout)) > 0 {
			t.Errorf("nslookup db in a container without the link: %s", r)
		}

		// Names are scoped per network; unknown names fail fast.
		for _, q := range []string{"web", "dn-w1"} {
			if r := e.exec(t, "dn-o", "nslookup", q); r.code == 0 || len(nslookupAddrs(r.stdout)) > 0 {
				t.Errorf("nslookup %s from another network: %s", q, r)
			}
		}
		start := time.Now()
		r = e.exec(t, "dn-c", "nslookup", "dn-nosuchname")
		if r.code == 0 || len(nslookupAddrs(r.stdout)) > 0 {
			t.Errorf("nslookup of a name nobody has: %s", r)
		}
		// The embedded DNS finds no upstream that answers and says
		// SERVFAIL at once (moby v28.5.2's resolver); docker.io's (20.10)
		// does not answer, and nslookup times out.
		if e.target == "skiff" {
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("nslookup of a name nobody has took %s", d)
			}
			contains(t, "unknown name", r.stdout+r.stderr, "SERVFAIL")
		}

		// resolv.conf: the embedded DNS on user networks only.
		rc := e.exec(t, "dn-c", "cat", "/etc/resolv.conf").stdout
		var servers []string
		for _, l := range strings.Split(rc, "\n") {
			if strings.HasPrefix(l, "nameserver") {
				servers = append(servers, l)
			}
		}
		if strings.Join(servers, ";") != "nameserver 127.0.0.11" || !strings.Contains(rc, "options ndots:0") {
			t.Errorf("resolv.conf on a user network:\n%s", rc)
		}
		if rc := e.mustSkiff(t, "run", "--rm", "busybox", "cat", "/etc/resolv.conf"); strings.Contains(rc, "127.0.0.11") {
			t.Errorf("resolv.conf on the default bridge points at the embedded DNS:\n%s", rc)
		}

		// dig from the container's network namespace.
		pid := e.inspectF(t, "dn-c", "{{.State.Pid}}")
		dig := func(args ...string) result {
			base := []string{"nsenter", "--net=/proc/" + pid + "/ns/net"}
			if e.rootless {
				base = []string{"nsenter", "-t", pid, "-U", "-n", "--preserve-credentials"}
			}
			args = append(append(base, "dig", "+tries=1", "+time=3", "@127.0.0.11"), args...)
			return e.run(t, nil, args[0], args[1:]...)
		}
		r = dig("+short", "web")
		if got := strings.Join(sortedCopy(strings.Fields(r.stdout)), " "); r.code != 0 || got != want {
			t.Errorf("dig +short web: %s\nwant %s", r, want)
		}
		r = dig("+tcp", "+short", "web")
		if got := strings.Join(sortedCopy(strings.Fields(r.stdout)), " "); r.code != 0 || got != want {
			t.Errorf("dig +tcp +short web: %s\nwant %s", r, want)
		}
		r = dig("+noall", "+answer", "web")
		for _, l := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
			if f := strings.Fields(l); len(f) < 5 || f[1] != "600" || f[3] != "A" {
				t.Errorf("dig web answer %q, want TTL 600 and type A: %s", l, r)
			}
		}

		// A removed container's record goes with it.
		e.mustSkiff(t, "rm", "-f", "dn-w3")
		r = e.exec(t, "dn-c", "nslookup", "web")
		if got, want := strings.Join(sortedCopy(nslookupAddrs(r.stdout)), " "), strings.Join(sortedCopy(webIPs[:2]), " "); got != want {
			t.Errorf("nslookup web after rm of dn-w3: %s\nwant %s", r, want)
		}
	})
}

func TestLinkLegacy(t *testing.T) {
	forEachMode(t, func(t *testing.T, e *env) {
		e.runDetached(t, "lk-db", "-e", "PASS=x", "--expose", "5432", "busybox", "sleep", "300")
		ip := e.ipOn(t, "lk-db", "bridge")
		out := e.mustSkiff(t, "run", "--rm", "--name", "lk-client", "--link", "lk-db:database", "busybox", "sh", "-c", "env; cat /etc/hosts")
		for _, want := range []string{
			"DATABASE_PORT_5432_TCP_ADDR=" + ip + "\n",
			"DATABASE_PORT_5432_TCP_PORT=5432\n",
			"DATABASE_PORT=tcp://" + ip + ":5432\n",
			"DATABASE_ENV_PASS=x\n",
			"DATABASE_NAME=/lk-client/database\n",
		} {
			contains(t, "linked env", out, want)
		}
		found := false
		for _, l := range strings.Split(out, "\n") {
			f := strings.Fields(l)
			if len(f) >= 3 && f[0] == ip {
				names := strings.Join(f[1:], " ")
				found = strings.Contains(" "+names+" ", " database ") && strings.Contains(" "+names+" ", " lk-db ")
			}
		}
		if !found {
			t.Errorf("no hosts line for %s with database and lk-db:\n%s", ip, out)
		}

		e.cleanupContainer(t, "lk-stopped")
		e.mustSkiff(t, "create", "--name", "lk-stopped", "busybox", "sleep", "300")
		e.cleanupContainer(t, "lk-c2")
		r := e.skiff(t, "run", "--rm", "--name", "lk-c2", "--link", "lk-stopped:x", "busybox", "true")
		if r.code == 0 || !strings.Contains(r.stderr, "Cannot link to a non running container") {
			t.Errorf("a link to a stopped container: %s", r)
		}
		e.cleanupContainer(t, "lk-c3")
		r = e.skiff(t, "run", "--rm", "--name", "lk-c3", "--link", "lk-nosuch:x", "busybox", "true")
		if r.code == 0 || !strings.Contains(r.stderr, "could not get container for lk-nosuch") {
			t.Errorf("a link to a missing container: %s", r)
		}
	})
}

// hostServer serves "from-host" over HTTP on addr ("0.0.0.0:0",
// "127.0.0.1:0") until the test ends; it returns the port.
func hostServer(t *testing.T, addr string) int {
	t.Helper()
	l, err := net.Listen("tcp4", addr)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "from-host")
	})}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
	t.Cleanup(func() {
		srv.Close()
		if err := <-served; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("the host's HTTP server: %v", err)
		}
	})
	return l.Addr().(*net.TCPAddr).Port
}

func TestHostGateway(t *testing.T) {
	forEachMode(t, func(t *testing.T, e *env) {
		gw := "10.0.2.2"
		if !e.rootless {
			_, g, _ := e.bridgeNet(t)
			gw = g.String()
		}
		out := e.mustSkiff(t, "run", "--rm", "--add-host", "h:host-gateway", "busybox", "cat", "/etc/hosts")
		contains(t, "/etc/hosts", out, gw+"\th\n")

		// wget resolves h from /etc/hosts; --dns 127.0.0.1 keeps any DNS
		// query on the container's own loopback.
		fetch := func(e *env, port int) result {
			return e.skiff(t, "run", "--rm", "--dns", "127.0.0.1", "--add-host", "h:host-gateway", "busybox",
				"timeout", "10", "wget", "-qO-", fmt.Sprintf("http://h:%d/", port))
		}
		if !e.rootless {
			port := hostServer(t, "0.0.0.0:0")
			if r := fetch(e, port); r.code != 0 || r.stdout != "from-host\n" {
				t.Errorf("a server on the host's 0.0.0.0:%d from a container at h: %s", port, r)
			}
			return
		}
		port := hostServer(t, "127.0.0.1:0")
		if r := fetch(e, port); r.code == 0 {
			t.Errorf("the host's loopback is reachable without allow-host-loopback: %s", r)
		}
		const extra = "SKIFF_ALLOW_HOST_LOOPBACK=1"
		lo := newEnv(t, "rootless", extra)
		t.Cleanup(func() {
			lo.shutdown()
			delete(allEnvs, "rootless"+extra)
		})
		if r := fetch(lo, port); r.code != 0 || r.stdout != "from-host\n" {
			t.Errorf("a server on the host's 127.0.0.1:%d with host loopback allowed: %s", port, r)
		}
	})
}

// TestNetDockerCLI drives the networking with the real docker CLI.
func TestNetDockerCLI(t *testing.T) {
	docker, err := lookDocker()
	if err != nil {
		t.Fatal(err)
	}
	forEachMode(t, func(t *testing.T, e *env) {
		d := e.dockerEnv()
		s := e.net24(11)
		t.Cleanup(func() { e.skiff(t, "network", "rm", "dk-net") })
		if r := d.run(t, nil, docker, "network", "create", "--subnet", s+".0/24", "--label", "via=docker", "dk-net"); r.code != 0 {
			t.Fatalf("docker network create: %s", r)
		}
		e.cleanupContainer(t, "dk-a")
		if r := d.run(t, nil, docker, "run", "-d", "--name", "dk-a", "--network", "dk-net", "--network-alias", "dk-alias", "--dns", "127.0.0.1", "busybox", "sleep", "300"); r.code != 0 {
			t.Fatalf("docker run --network --network-alias: %s", r)
		}
		ip := e.ipOn(t, "dk-a", "dk-net")
		r := d.run(t, nil, docker, "network", "inspect", "-f", `{{(index .IPAM.Config 0).Subnet}} {{.Labels.via}} {{range .Containers}}{{.Name}}={{.IPv4Address}}{{end}}`, "dk-net")
		if want := fmt.Sprintf("%s.0/24 docker dk-a=%s/24", s, ip); r.code != 0 || strings.TrimSpace(r.stdout) != want {
			t.Errorf("docker network inspect: %s\nwant %q", r, want)
		}
		r = d.run(t, nil, docker, "run", "--rm", "--network", "dk-net", "--dns", "127.0.0.1", "busybox", "nslookup", "dk-alias")
		if strings.Join(nslookupAddrs(r.stdout), " ") != ip {
			t.Errorf("docker run nslookup dk-alias, want %s: %s", ip, r)
		}
		// A network that does not exist: one error, and no pull (a 404
		// on create makes the docker CLI pull the image; the image is on
		// the local test registry, so that pull would stay here).
		e.cleanupContainer(t, "dk-missing")
		if r := d.run(t, nil, docker, "run", "--name", "dk-missing", "--network", "dk-nosuch", busyboxRef, "true"); r.code != 125 ||
			!strings.Contains(r.stderr, "network dk-nosuch not found") || strings.Contains(r.stderr, "Unable to find image") {
			t.Errorf("docker run --network with a missing network: %s", r)
		}
		// Two networks at create, as API 1.44+ clients send them.
		t.Cleanup(func() { e.skiff(t, "network", "rm", "dk-net2") })
		if r := d.run(t, nil, docker, "network", "create", "--subnet", e.net24(13)+".0/24", "dk-net2"); r.code != 0 {
			t.Fatalf("docker network create: %s", r)
		}
		r = d.run(t, nil, docker, "run", "--rm", "--network", "dk-net", "--network", "dk-net2", "busybox", "ip", "-o", "-4", "addr")
		if e.target == "docker" {
			// docker.io's daemon (API 1.41) takes one network at create,
			// and names them in no order.
			if want := "docker: Error response from daemon: Container cannot be connected to network endpoints: dk-net"; r.code != 125 || !strings.HasPrefix(r.stderr, want) {
				t.Errorf("docker run --network dk-net --network dk-net2 on docker.io: %s\nwant first: %s", r, want)
			}
		} else if r.code != 0 || !strings.Contains(r.stdout, s+".") || !strings.Contains(r.stdout, e.net24(13)+".") {
			t.Errorf("docker run --network dk-net --network dk-net2: %s", r)
		}

		hp := freeLocalPort(t, "tcp")
		e.cleanupContainer(t, "dk-web")
		if r := d.run(t, nil, docker, append([]string{"run", "-d", "--name", "dk-web", "-p", fmt.Sprintf("%d:80", hp)}, webArgs...)...); r.code != 0 {
			t.Fatalf("docker run -p: %s", r)
		}
		waitHTTP(t, "docker run -p", fmt.Sprintf("127.0.0.1:%d", hp), "/", "eighty")
		r = d.run(t, nil, docker, "port", "dk-web")
		contains(t, "docker port", r.stdout, fmt.Sprintf("80/tcp -> 0.0.0.0:%d", hp))
		r = d.run(t, nil, docker, "ps", "--filter", "name=dk-web", "--format", "{{.Ports}}")
		contains(t, "docker ps", r.stdout, fmt.Sprintf("0.0.0.0:%d->80/tcp", hp))
	})
}
