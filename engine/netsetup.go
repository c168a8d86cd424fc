package engine

import (
	"fmt"
	"net"
	"net/netip"
	"strings"

	"github.com/moby/moby/api/types/events"
	"github.com/moby/moby/api/types/network"
	"github.com/skiff-dev/skiff/netslirp"
)

// setupNetwork gives a starting container its network namespace: for
// bridge networks a new one with a veth per network, the published ports
// and the embedded DNS. It returns the namespace to join (empty: the
// engine's) or newNS for a fresh one (--network none). On error nothing is
// left.
func (e *Engine) setupNetwork(c *ctr) (netNS string, newNS bool, err error) {
	c.mu.Lock()
	mode := modeOf(c.rec.HostConfig)
	c.mu.Unlock()
	switch {
	case mode == netslirp.NoneNetwork:
		return "", true, nil
	case mode == netslirp.HostNetwork:
		return e.opt.NetNS, false, nil
	case sharesNetNS(mode):
		other, err := e.lookup(strings.TrimPrefix(mode, "container:"))
		if err != nil {
			return "", false, err
		}
		other.mu.Lock()
		pid, running := other.rec.State.Pid, other.running()
		name, status := strings.TrimPrefix(other.rec.Name, "/"), other.rec.State.Status
		other.mu.Unlock()
		if other == c {
			return "", false, errInvalid(fmt.Errorf("cannot join own network namespace"))
		}
		if !running {
			return "", false, errConflict(fmt.Errorf("cannot join network namespace of a non running container: container %s is %s", name, status))
		}
		return fmt.Sprintf("/proc/%d/ns/net", pid), false, nil
	}
	c.netMu.Lock()
	defer c.netMu.Unlock()
	path := e.netnsPath(c.rec.ID)
	// One an engine killed mid-start left.
	if err := netslirp.RemoveNetNS(path); err != nil {
		return "", false, err
	}
	if err := netslirp.NewNetNS(path); err != nil {
		return "", false, err
	}
	c.mu.Lock()
	c.rec.Net = &netState{SandboxKey: path, Veths: map[string]string{}, GeneratedMAC: map[string]bool{}}
	if len(c.rec.Networks) == 0 {
		// A container recorded before it had endpoints: its network mode.
		if n, err := e.nets.Get(mode); err == nil {
			c.rec.Networks = map[string]*network.EndpointSettings{n.Name: {NetworkID: n.ID}}
		}
	}
	names := sortedNetworks(c)
	c.mu.Unlock()
	defer func() {
		if err != nil {
			e.teardownLocked(c)
		}
	}()
	if len(names) == 0 {
		return "", false, errNotFound(fmt.Errorf("network %s not found", mode))
	}
	e.netsMu.RLock()
	for i, name := range names {
		if err = e.attach(c, name, fmt.Sprintf("eth%d", i), i == 0); err != nil {
			break
		}
	}
	e.netsMu.RUnlock()
	if err != nil {
		return "", false, err
	}
	if err := e.publishPorts(c, nil); err != nil {
		return "", false, err
	}
	if err := e.serveDNS(c, path); err != nil {
		return "", false, err
	}
	return path, false, nil
}

// attach connects the container's namespace to the network called name:
// an address lease and a veth named ifname, with the default route when
// defaultRoute. The caller holds c.netMu; c.rec.Net is set.
func (e *Engine) attach(c *ctr, name, ifname string, defaultRoute bool) error {
	c.mu.Lock()
	es := c.rec.Networks[name]
	var netID string
	if es != nil {
		netID = es.NetworkID
	}
	nsPath := c.rec.Net.SandboxKey
	c.mu.Unlock()
	n, err := e.nets.Get(netID)
	if err != nil {
		return errNotFound(fmt.Errorf("network %s not found", name))
	}
	var want netip.Addr
	if es.IPAMConfig != nil {
		want = es.IPAMConfig.IPv4Address
	}
	ip, err := e.nets.Lease(n, c.rec.ID, want)
	if err != nil {
		return netError(err)
	}
	mac := net.HardwareAddr(es.MacAddress)
	generated := len(mac) == 0
	if generated {
		mac = netslirp.MACFor(ip)
	}
	ep := &netslirp.Endpoint{IfName: ifname, IP: ip, MAC: mac}
	if err := e.dp.Attach(nsPath, n, ep, defaultRoute && !n.Internal); err != nil {
		e.nets.Release(n.ID, c.rec.ID)
		return err
	}
	c.mu.Lock()
	c.rec.Net.Veths[n.ID] = ep.HostVeth
	c.rec.Net.GeneratedMAC[n.ID] = generated
	es.EndpointID = newID()
	es.Gateway = n.Gateway
	es.IPAddress = ip
	es.IPPrefixLen = n.Subnet.Bits()
	es.MacAddress = network.HardwareAddr(mac)
	if n.Name != netslirp.DefaultBridge {
		es.DNSNames = answerNames(c, es)
	}
	c.mu.Unlock()
	// As Docker: a running container's endpoint joining is a connect.
	e.emitNetwork(n, events.ActionConnect, c.rec.ID)
	return nil
}

// answerNames are the names the container answers to on a user network
// (Docker's DNSNames): its name, aliases, short ID and hostname. The
// caller holds c.mu.
func answerNames(c *ctr, es *network.EndpointSettings) []string {
	names := []string{strings.TrimPrefix(c.rec.Name, "/")}
	names = append(names, es.Aliases...)
	names = append(names, c.rec.ID[:12])
	if h := c.rec.Config.Hostname; h != "" && h != c.rec.ID[:12] && !strings.Contains(h, ".") {
		names = append(names, h)
	}
	return names
}

// detach undoes attach for the network with ID netID: its veth, lease and
// runtime fields, and the published ports if they forward to it. The
// caller holds c.netMu.
func (e *Engine) detach(c *ctr, netID string) {
	c.mu.Lock()
	var veth string
	generated := true
	if c.rec.Net != nil {
		veth = c.rec.Net.Veths[netID]
		// A record from before GeneratedMAC: the MAC was skiff's.
		g, known := c.rec.Net.GeneratedMAC[netID]
		generated = g || !known
		delete(c.rec.Net.Veths, netID)
		delete(c.rec.Net.GeneratedMAC, netID)
	}
	for _, es := range c.rec.Networks {
		if es.NetworkID == netID {
			clearEndpoint(es, generated)
		}
	}
	var unpublish []func() error
	if c.netrt != nil && c.netrt.portsNet == netID {
		unpublish, c.netrt.ports = c.netrt.ports, nil
		if c.rec.Net != nil {
			c.rec.Net.Ports = nil
		}
	}
	c.mu.Unlock()
	e.releasePorts(c, unpublish)
	if veth != "" {
		if err := e.dp.Detach(&netslirp.Endpoint{HostVeth: veth}); err != nil {
			e.log.Printf("container %s: %v", c.rec.ID[:12], err)
		}
	}
	e.nets.Release(netID, c.rec.ID)
	if n, err := e.nets.Get(netID); err == nil {
		e.emitNetwork(n, events.ActionDisconnect, c.rec.ID)
	}
}

// clearEndpoint forgets what an endpoint had while it ran; a MAC address
// skiff made goes too, one the user gave stays.
func clearEndpoint(es *network.EndpointSettings, generatedMAC bool) {
	es.EndpointID, es.Gateway, es.IPAddress, es.IPPrefixLen, es.DNSNames = "", netip.Addr{}, netip.Addr{}, 0, nil
	if generatedMAC {
		es.MacAddress = nil
	}
}

// releasePorts removes published ports, logging failures.
func (e *Engine) releasePorts(c *ctr, releases []func() error) {
	for _, release := range releases {
		if err := release(); err != nil {
			e.log.Printf("container %s: removing a published port: %v", c.rec.ID[:12], err)
		}
	}
}

// teardownNetwork removes everything setupNetwork and connect made.
func (e *Engine) teardownNetwork(c *ctr) {
	c.netMu.Lock()
	defer c.netMu.Unlock()
	e.teardownLocked(c)
}

// teardownLocked is teardownNetwork with c.netMu held.
func (e *Engine) teardownLocked(c *ctr) {
	c.mu.Lock()
	rt := c.netrt
	c.netrt = nil
	st := c.rec.Net
	var netIDs []string
	if st != nil {
		for id := range st.Veths {
			netIDs = append(netIDs, id)
		}
	}
	c.mu.Unlock()
	if rt != nil {
		if rt.dns != nil {
			rt.dns.Close()
		}
		e.releasePorts(c, rt.ports)
	}
	if st == nil {
		return
	}
	for _, id := range netIDs {
		e.detach(c, id)
	}
	c.mu.Lock()
	for _, es := range c.rec.Networks {
		if es.NetworkID != "" {
			e.nets.Release(es.NetworkID, c.rec.ID)
		}
		clearEndpoint(es, false) // attached ones were cleared by detach
	}
	c.rec.Net = nil
	c.mu.Unlock()
	if st.SandboxKey != "" {
		if err := netslirp.RemoveNetNS(st.SandboxKey); err != nil {
			e.log.Printf("container %s: %v", c.rec.ID[:12], err)
		}
	}
}

// reserveLeases records the addresses of a container that kept running
// across an engine restart, before any container starts.
func (e *Engine) reserveLeases(c *ctr) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.rec.Net == nil {
		return
	}
	for _, es := range c.rec.Networks {
		if es.IPAddress.IsValid() {
			e.nets.Reserve(es.NetworkID, c.rec.ID, es.IPAddress)
		}
	}
}

// restoreNetwork takes up a container that kept running across an engine
// restart: its ports are published again (on the same host ports) and its
// embedded DNS served again, if its veths are still on this engine's
// bridges. A rootless engine has a new network namespace, without them:
// the container's network is then marked lost.
func (e *Engine) restoreNetwork(c *ctr) {
	c.netMu.Lock()
	defer c.netMu.Unlock()
	c.mu.Lock()
	st := c.rec.Net
	pid := c.rec.State.Pid
	var veths []string
	if st != nil {
		for _, v := range st.Veths {
			veths = append(veths, v)
		}
	}
	c.mu.Unlock()
	if st == nil {
		return
	}
	lost := len(veths) == 0
	for _, v := range veths {
		lost = lost || !e.dp.HasLink(v)
	}
	if lost {
		e.log.Printf("container %s lost its network when the engine restarted: restart it to reconnect", c.rec.ID[:12])
		c.mu.Lock()
		for _, es := range c.rec.Networks {
			e.nets.Release(es.NetworkID, c.rec.ID)
			clearEndpoint(es, st.GeneratedMAC[es.NetworkID])
		}
		st.Ports, st.Veths = nil, map[string]string{}
		e.persist(c)
		c.mu.Unlock()
		return
	}
	c.mu.Lock()
	fixed := st.Ports
	c.mu.Unlock()
	if err := e.publishPorts(c, fixed); err != nil {
		e.log.Printf("container %s: publishing its ports again: %v", c.rec.ID[:12], err)
	}
	if err := e.serveDNS(c, fmt.Sprintf("/proc/%d/ns/net", pid)); err != nil {
		e.log.Printf("container %s: restarting the embedded DNS: %v", c.rec.ID[:12], err)
	}
}
