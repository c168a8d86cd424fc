package engine

import (
	"strconv"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/skiff-dev/skiff/api"
	"github.com/skiff-dev/skiff/netslirp"
)

// networkSettings is inspect's NetworkSettings. The caller holds c.mu.
func networkSettings(c *ctr) *api.NetworkSettings {
	ns := &api.NetworkSettings{Ports: network.PortMap{}, Networks: endpointsCopy(c)}
	if c.rec.Net != nil && c.running() {
		ns.SandboxKey = c.rec.Net.SandboxKey
		ns.SandboxID = c.rec.ID
		for p := range c.rec.Config.ExposedPorts {
			ns.Ports[p] = nil
		}
		for p, bs := range c.rec.Net.Ports {
			ns.Ports[p] = bs
		}
	}
	if es := c.rec.Networks[netslirp.DefaultBridge]; es != nil && es.IPAddress.IsValid() {
		ns.Bridge = netslirp.DefaultBridgeIface
		ns.EndpointID = es.EndpointID
		ns.Gateway = es.Gateway.String()
		ns.IPAddress = es.IPAddress.String()
		ns.IPPrefixLen = es.IPPrefixLen
		ns.MacAddress = es.MacAddress.String()
	}
	return ns
}

// endpointsCopy copies the container's endpoints. The caller holds c.mu.
func endpointsCopy(c *ctr) map[string]*network.EndpointSettings {
	out := make(map[string]*network.EndpointSettings, len(c.rec.Networks))
	for name, es := range c.rec.Networks {
		out[name] = es.Copy()
	}
	return out
}

// portSummary is ps's view of the ports: each published one, and the
// exposed ones that are not. The caller holds c.mu.
func portSummary(c *ctr) []container.PortSummary {
	out := []container.PortSummary{}
	published := map[network.Port]bool{}
	if c.rec.Net != nil && c.running() {
		for p, bs := range c.rec.Net.Ports {
			published[p] = true
			for _, b := range bs {
				hp, _ := strconv.ParseUint(b.HostPort, 10, 16)
				out = append(out, container.PortSummary{IP: b.HostIP, PrivatePort: p.Num(), PublicPort: uint16(hp), Type: string(p.Proto())})
			}
		}
	}
	for p := range c.rec.Config.ExposedPorts {
		if !published[p] {
			out = append(out, container.PortSummary{PrivatePort: p.Num(), Type: string(p.Proto())})
		}
	}
	return out
}
