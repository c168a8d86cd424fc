package engine

import (
	"fmt"
	"net/netip"
	"sort"
	"strconv"
	"strings"

	"github.com/moby/moby/api/types/network"
	"github.com/skiff-dev/skiff/netslirp"
)

// publishPorts publishes the container's ports on its first network's
// address: -p bindings and, with -P, every exposed port; with fixed, those
// bindings exactly (an engine restart keeps the host ports it had). A
// first network that is internal publishes nothing, as Docker's. The
// caller holds c.netMu.
func (e *Engine) publishPorts(c *ctr, fixed network.PortMap) error {
	c.mu.Lock()
	bindings := fixed
	if bindings == nil {
		bindings = wantedPorts(c)
	}
	names := sortedNetworks(c)
	if len(names) == 0 || len(bindings) == 0 {
		c.mu.Unlock()
		return nil
	}
	first := c.rec.Networks[names[0]]
	ctrIP, netID, epID := first.IPAddress, first.NetworkID, first.EndpointID
	name := strings.TrimPrefix(c.rec.Name, "/")
	c.mu.Unlock()
	if n, err := e.nets.Get(netID); err != nil || n.Internal {
		return nil
	}
	if !ctrIP.IsValid() {
		return fmt.Errorf("container %s has no address on %s to publish ports to", name, names[0])
	}
	ports := make([]network.Port, 0, len(bindings))
	for p := range bindings {
		ports = append(ports, p)
	}
	sort.Slice(ports, func(i, j int) bool { return ports[i].Num() < ports[j].Num() })
	published := network.PortMap{}
	var releases []func() error
	fail := func(err error) error {
		e.releasePorts(c, releases)
		return errInvalid(fmt.Errorf("driver failed programming external connectivity on endpoint %s (%s): %w", name, epID, err))
	}
	for _, p := range ports {
		proto, err := netslirp.ParseProto(string(p.Proto()))
		if err != nil {
			return fail(err)
		}
		for _, b := range bindings[p] {
			m, release, err := e.publishOne(ctrIP, proto, p.Num(), b)
			if err != nil {
				return fail(err)
			}
			releases = append(releases, release)
			hostIP := m.HostIP
			if !hostIP.IsValid() {
				hostIP = netip.IPv4Unspecified()
			}
			published[p] = append(published[p], network.PortBinding{HostIP: hostIP, HostPort: strconv.Itoa(int(m.HostPort))})
		}
	}
	c.mu.Lock()
	c.rec.Net.Ports = published
	if c.netrt == nil {
		c.netrt = &netRuntime{}
	}
	c.netrt.ports, c.netrt.portsNet = releases, netID
	c.mu.Unlock()
	return nil
}

// wantedPorts are the bindings the container asks for: -p, and with -P
// every exposed port not bound (on a free host port). The caller holds
// c.mu.
func wantedPorts(c *ctr) network.PortMap {
	hc := c.rec.HostConfig
	bindings := network.PortMap{}
	for p, bs := range hc.PortBindings {
		bindings[p] = append([]network.PortBinding(nil), bs...)
	}
	if hc.PublishAllPorts {
		for p := range c.rec.Config.ExposedPorts {
			if _, ok := bindings[p]; !ok {
				bindings[p] = []network.PortBinding{{}}
			}
		}
	}
	return bindings
}

// publishOne publishes one binding: its host port, or the first of its
// range that can be bound, or a free one.
func (e *Engine) publishOne(ctrIP netip.Addr, proto string, ctrPort uint16, b network.PortBinding) (netslirp.PortMapping, func() error, error) {
	m := netslirp.PortMapping{Proto: proto, CtrPort: ctrPort}
	if b.HostIP.IsValid() && !b.HostIP.IsUnspecified() {
		m.HostIP = b.HostIP
	}
	lo, hi, err := hostPortRange(b.HostPort)
	if err != nil {
		return m, nil, err
	}
	for hp := lo; ; hp++ {
		m.HostPort = hp
		got, release, err := e.ports.Publish(ctrIP, m)
		if err == nil || hp >= hi {
			return got, release, err
		}
	}
}
