package engine

import (
	"bufio"
	"bytes"
	"net"
	"net/netip"
	"os"
	"strings"

	"github.com/skiff-dev/skiff/netslirp"
)

// embeddedDNS is the address of the embedded DNS inside containers.
const embeddedDNS = "127.0.0.11"

// resolver answers the embedded DNS from the engine's containers: on the
// networks the asking container shares with them, their names, short IDs,
// aliases, and the asker's links.
type resolver Engine

// endpointView is one running container's address on one network.
type endpointView struct {
	c     *ctr
	netID string
	ip    netip.Addr
	names []string // lower-case
}

// endpoints lists the running (and starting) containers' addresses, with the asker's
// networks (ID → name) and link aliases (alias → container name).
func (r *resolver) endpoints(from string) (mine map[string]string, links map[string]string, eps []endpointView) {
	e := (*Engine)(r)
	mine, links = map[string]string{}, map[string]string{}
	for _, c := range e.list() {
		c.mu.Lock()
		// A starting container is on its networks already: its process
		// may ask (or be asked for) before the engine records it running.
		if c.running() || c.starting {
			for name, es := range c.rec.Networks {
				if !es.IPAddress.IsValid() {
					continue
				}
				if c.rec.ID == from {
					mine[es.NetworkID] = name
				}
				names := []string{c.rec.ID}
				for _, n := range answerNames(c, es) {
					names = append(names, strings.ToLower(n))
				}
				eps = append(eps, endpointView{c: c, netID: es.NetworkID, ip: es.IPAddress, names: names})
			}
			if c.rec.ID == from {
				for _, l := range c.rec.HostConfig.Links {
					target, alias := splitLink(l)
					links[strings.ToLower(alias)] = strings.ToLower(target)
				}
			}
		}
		c.mu.Unlock()
	}
	return mine, links, eps
}

// splitLink parses a --link value, "name:alias", "/name:/ctr/alias" or
// "name", into the target's name and the alias.
func splitLink(l string) (target, alias string) {
	target, alias, ok := strings.Cut(l, ":")
	target = strings.TrimPrefix(target, "/")
	if !ok {
		alias = target
	}
	if i := strings.LastIndex(alias, "/"); i >= 0 {
		alias = alias[i+1:]
	}
	return target, alias
}

// LookupHost implements dnsd.Resolver.
func (r *resolver) LookupHost(from, name string) ([]netip.Addr, bool) {
	mine, links, eps := r.endpoints(from)
	// name.network restricts the answer to that network.
	only := ""
	for _, netName := range mine {
		if suffix := "." + strings.ToLower(netName); strings.HasSuffix(name, suffix) {
			name, only = strings.TrimSuffix(name, suffix), netName
			break
		}
	}
	if t, ok := links[name]; ok {
		name = t
	}
	var out []netip.Addr
	for _, ep := range eps {
		netName, shared := mine[ep.netID]
		if !shared || (only != "" && netName != only) {
			continue
		}
		for _, n := range ep.names {
			if n == name {
				out = append(out, ep.ip)
				break
			}
		}
	}
	return out, len(out) > 0
}

// LookupAddr implements dnsd.Resolver: container.network for an address
// on a network the asker is on.
func (r *resolver) LookupAddr(from string, ip netip.Addr) ([]string, bool) {
	mine, _, eps := r.endpoints(from)
	for _, ep := range eps {
		if netName, shared := mine[ep.netID]; shared && ep.ip == ip {
			ep.c.mu.Lock()
			name := strings.TrimPrefix(ep.c.rec.Name, "/")
			ep.c.mu.Unlock()
			return []string{name + "." + netName}, true
		}
	}
	return nil, false
}

// Upstreams implements dnsd.Resolver: the container's --dns servers, the
// engine's dns setting, or the host's servers. The engine forwards from
// the host's network namespace, so a resolver on the host's loopback works.
// A container only on internal networks gets none (Docker does not
// forward for it either): its names stay on the machine.
func (r *resolver) Upstreams(from string) []string {
	e := (*Engine)(r)
	var servers []string
	e.mu.Lock()
	c := e.containers[from]
	e.mu.Unlock()
	if c == nil {
		return nil
	}
	c.mu.Lock()
	for _, a := range c.rec.HostConfig.DNS {
		servers = append(servers, a.String())
	}
	var netIDs []string
	for _, es := range c.rec.Networks {
		netIDs = append(netIDs, es.NetworkID)
	}
	c.mu.Unlock()
	external := false
	for _, id := range netIDs {
		if n, err := e.nets.Get(id); err == nil && !n.Internal {
			external = true
		}
	}
	if !external {
		return nil
	}
	if len(servers) == 0 {
		servers = e.opt.Settings.DNS
	}
	if len(servers) == 0 {
		servers, _ = hostResolvConf(true)
	}
	out := make([]string, 0, len(servers))
	for _, s := range servers {
		out = append(out, net.JoinHostPort(s, "53"))
	}
	return out
}

// hostResolvConf reads the host's nameservers (with those on the loopback
// when withLoopback) and its search/options/domain lines.
func hostResolvConf(withLoopback bool) (servers, other []string) {
	b, _ := os.ReadFile("/etc/resolv.conf")
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		f := strings.Fields(line)
		switch {
		case len(f) >= 2 && f[0] == "nameserver":
			if ip, err := netip.ParseAddr(f[1]); err == nil && (withLoopback || !ip.IsLoopback()) {
				servers = append(servers, f[1])
			}
		case len(f) >= 1 && (f[0] == "search" || f[0] == "options" || f[0] == "domain"):
			other = append(other, line)
		}
	}
	return servers, other
}

// hostGateway is the address --add-host NAME:host-gateway resolves to:
// rootless, slirp4netns's address for the host (its loopback, when the
// engine allows it); as root, the default bridge's gateway.
func (e *Engine) hostGateway() string {
	if e.opt.Paths.Rootless {
		return "10.0.2.2"
	}
	if n, err := e.nets.Get(netslirp.DefaultBridge); err == nil {
		return n.Gateway.String()
	}
	return "172.17.0.1"
}

// serveDNS starts the embedded DNS for a container on a user-defined
// network: sockets on 127.0.0.11 at free ports inside its namespace, to
// which 127.0.0.11:53 is redirected (the container keeps port 53). The
// caller holds c.netMu.
func (e *Engine) serveDNS(c *ctr, nsPath string) error {
	if !e.usesEmbeddedDNS(c) {
		return nil
	}
	pc, l, err := netslirp.ListenDNS(nsPath, netip.MustParseAddr(embeddedDNS))
	if err != nil {
		return err
	}
	closer := e.dns.Serve(c.rec.ID, pc, l)
	c.mu.Lock()
	if c.netrt == nil {
		c.netrt = &netRuntime{}
	}
	c.netrt.dns = closer
	c.mu.Unlock()
	return nil
}

// usesEmbeddedDNS reports whether the container's first network is a
// user-defined bridge network, where Docker answers names at 127.0.0.11.
func (e *Engine) usesEmbeddedDNS(c *ctr) bool {
	c.mu.Lock()
	mode := modeOf(c.rec.HostConfig)
	c.mu.Unlock()
	if mode == netslirp.DefaultBridge || mode == netslirp.HostNetwork || mode == netslirp.NoneNetwork || sharesNetNS(mode) {
		return false
	}
	n, err := e.nets.Get(mode)
	return err == nil && n.IsBridge()
}
