package engine

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/skiff-dev/skiff/dnsd"
	"github.com/skiff-dev/skiff/netslirp"
	"github.com/skiff-dev/skiff/userns"
)

// Docker's messages for network options that do not fit the network mode.
var (
	errConflictSharedNetwork     = errors.New("container sharing network namespace with another container or host cannot be connected to any other network")
	errConflictHostLinks         = errors.New("conflicting options: host type networking can't be used with links. This would result in undefined behavior")
	errConflictContainerLinks    = errors.New("conflicting options: container type network can't be used with links. This would result in undefined behavior")
	errConflictNetworkHostname   = errors.New("conflicting options: hostname and the network mode")
	errConflictNetworkDNS        = errors.New("conflicting options: dns and the network mode")
	errConflictNetworkHosts      = errors.New("conflicting options: custom host-to-IP mapping and the network mode")
	errConflictNetworkPublish    = errors.New("conflicting options: port publishing and the container type network mode")
	errConflictNetworkExpose     = errors.New("conflicting options: port exposing and the container type network mode")
	errConflictNetworkMac        = errors.New("conflicting options: mac-address and the network mode")
	errUnsupportedNetworkIP      = errors.New("user specified IP address is supported on user defined networks only")
	errUnsupportedNetworkAlias   = errors.New("network-scoped alias is supported only for containers in user defined networks")
	errDisconnectFromHostNetwork = errors.New("cannot disconnect container from host network - container was created in host network mode")
)

// embeddedDNS is the address of the embedded DNS inside containers.
const embeddedDNS = "127.0.0.11"

// netRuntime is what a running container holds of its network, in memory.
type netRuntime struct {
	releases []func() error
	dns      io.Closer
}

// netState is the running container's network state on disk, so that a
// restarted engine can undo it.
type netState struct {
	// SandboxKey is the container's network namespace (a bind mount).
	SandboxKey string `json:",omitempty"`
	// Veths are the host ends of its veth pairs, by network ID.
	Veths map[string]string `json:",omitempty"`
	// Ports are the published ports, as inspect shows them.
	Ports network.PortMap `json:",omitempty"`
}

// initNetworks opens the network store and readies the bridges' namespace.
func (e *Engine) initNetworks() error {
	set := e.opt.Settings
	st, err := netslirp.OpenStore(e.opt.Paths.DataDir, set.Bridge, set.BIP)
	if err != nil {
		return err
	}
	e.nets = st
	mtu := 1500
	if e.opt.Paths.Rootless {
		mtu = userns.SlirpMTU
	}
	e.dp = &netslirp.Dataplane{NS: e.opt.NetNS, MTU: mtu}
	if set.Bridge != "" && set.Bridge != netslirp.DefaultBridgeIface {
		e.dp.Table = "skiff_" + set.Bridge
	}
	if err := e.dp.Init(); err != nil {
		return err
	}
	if e.opt.Paths.Rootless && set.AllowHostLoopback {
		if _, err := e.dp.StartHostLoopback(); err != nil {
			return err
		}
	}
	if err := e.dp.SyncRules(st.List()); err != nil {
		return err
	}
	if e.opt.Paths.Rootless {
		e.ports = &netslirp.RootlessKitPublisher{APISock: os.Getenv(userns.EnvAPISock)}
	} else {
		e.ports = &netslirp.HostPublisher{DP: e.dp}
	}
	e.dns = &dnsd.Server{Resolver: (*resolver)(e)}
	return nil
}

// netnsPath is where a container's network namespace is bound.
func (e *Engine) netnsPath(id string) string {
	return filepath.Join(e.opt.Paths.RunDir, "netns", id)
}

// modeOf is the container's network mode with "default" spelled bridge.
func modeOf(hc *container.HostConfig) string {
	m := string(hc.NetworkMode)
	if m == "" || m == "default" {
		return netslirp.DefaultBridge
	}
	return m
}

// prepareNetworks validates the network options of a new container and
// records its endpoint on its first network (Docker's checks and messages).
func (e *Engine) prepareNetworks(cfg *container.Config, hc *container.HostConfig, nc *network.NetworkingConfig) (map[string]*network.EndpointSettings, error) {
	mode := modeOf(hc)
	hc.NetworkMode = container.NetworkMode(mode)
	var epc *network.EndpointSettings
	if nc != nil {
		for k, v := range nc.EndpointsConfig {
			if k == mode || epc == nil {
				epc = v
			}
		}
	}
	hasIP := epc != nil && epc.IPAMConfig != nil && epc.IPAMConfig.IPv4Address.IsValid()
	switch {
	case mode == netslirp.HostNetwork || mode == netslirp.NoneNetwork:
		if len(hc.Links) > 0 {
			return nil, errInvalid(errConflictHostLinks)
		}
		if hasIP {
			return nil, errInvalid(errUnsupportedNetworkIP)
		}
		if epc != nil && len(epc.Aliases) > 0 {
			return nil, errInvalid(errUnsupportedNetworkAlias)
		}
		n, _ := e.nets.Get(mode)
		return map[string]*network.EndpointSettings{mode: {NetworkID: n.ID}}, nil
	case strings.HasPrefix(mode, "container:"):
		ref := strings.TrimPrefix(mode, "container:")
		switch {
		case len(hc.Links) > 0:
			return nil, errInvalid(errConflictContainerLinks)
		case cfg.Hostname != "":
			return nil, errInvalid(errConflictNetworkHostname)
		case len(hc.DNS) > 0 || len(hc.DNSSearch) > 0 || len(hc.DNSOptions) > 0:
			return nil, errInvalid(errConflictNetworkDNS)
		case len(hc.ExtraHosts) > 0:
			return nil, errInvalid(errConflictNetworkHosts)
		case len(hc.PortBindings) > 0 || hc.PublishAllPorts:
			return nil, errInvalid(errConflictNetworkPublish)
		case len(cfg.ExposedPorts) > 0:
			return nil, errInvalid(errConflictNetworkExpose)
		case epc != nil && len(epc.MacAddress) > 0:
			return nil, errInvalid(errConflictNetworkMac)
		}
		if _, err := e.lookup(ref); err != nil {
			// 400, not 404: a client would take a 404 for a missing image.
			return nil, errInvalid(err)
		}
		return nil, nil
	}
	n, err := e.nets.Get(mode)
	if err != nil {
		return nil, netError(err)
	}
	if !n.IsBridge() {
		return nil, errInvalid(errConflictSharedNetwork)
	}
	es, err := newEndpoint(n, epc)
	if err != nil {
		return nil, err
	}
	for _, l := range hc.Links {
		name, _, _ := strings.Cut(l, ":")
		if _, err := e.lookup(strings.TrimPrefix(name, "/")); err != nil {
			return nil, errInvalid(fmt.Errorf("could not get container for %s", strings.TrimPrefix(name, "/")))
		}
	}
	if err := validatePorts(hc); err != nil {
		return nil, errInvalid(err)
	}
	eps := map[string]*network.EndpointSettings{n.Name: es}
	// Further networks (API 1.44+ clients send them at create, as
	// `docker run --network a --network b` does).
	if nc != nil {
		for k, v := range nc.EndpointsConfig {
			if v == epc {
				continue
			}
			other, err := e.nets.Get(k)
			if err != nil {
				return nil, netError(err)
			}
			if !other.IsBridge() {
				return nil, errInvalid(errConflictSharedNetwork)
			}
			oes, err := newEndpoint(other, v)
			if err != nil {
				return nil, err
			}
			eps[other.Name] = oes
		}
	}
	return eps, nil
}

// newEndpoint is the configuration of a container's endpoint on n, from
// the client's settings (nil: none), checked.
func newEndpoint(n *netslirp.Network, cfg *network.EndpointSettings) (*network.EndpointSettings, error) {
	es := &network.EndpointSettings{NetworkID: n.ID}
	if cfg != nil {
		es.IPAMConfig, es.Aliases, es.Links, es.MacAddress, es.DriverOpts = cfg.IPAMConfig, cfg.Aliases, cfg.Links, cfg.MacAddress, cfg.DriverOpts
	}
	return es, checkEndpoint(n, es)
}

// checkEndpoint refuses a static address or aliases on the default bridge,
// and an address outside a user network's subnet.
func checkEndpoint(n *netslirp.Network, es *network.EndpointSettings) error {
	hasIP := es.IPAMConfig != nil && es.IPAMConfig.IPv4Address.IsValid()
	if n.Name == netslirp.DefaultBridge {
		if hasIP {
			return errInvalid(errUnsupportedNetworkIP)
		}
		if len(es.Aliases) > 0 {
			return errInvalid(errUnsupportedNetworkAlias)
		}
		return nil
	}
	if hasIP {
		ip := es.IPAMConfig.IPv4Address
		if !n.UserSubnet {
			return errInvalid(errors.New("user specified IP address is supported only when connecting to networks with user configured subnets"))
		}
		if !n.Subnet.Contains(ip) {
			return errInvalid(fmt.Errorf("no configured subnet or ip-range contain the IP address %s", ip))
		}
	}
	return nil
}

// validatePorts checks the published ports' host parts.
func validatePorts(hc *container.HostConfig) error {
	for p, bs := range hc.PortBindings {
		if _, err := netslirp.ParseProto(string(p.Proto())); err != nil {
			return err
		}
		for _, b := range bs {
			if _, _, err := hostPortRange(b.HostPort); err != nil {
				return err
			}
		}
	}
	return nil
}

// hostPortRange parses a binding's HostPort: "" (any), "8080" or
// "8000-8010" (the first free one).
func hostPortRange(s string) (uint16, uint16, error) {
	if s == "" {
		return 0, 0, nil
	}
	lo, hi, isRange := strings.Cut(s, "-")
	a, err := strconv.ParseUint(lo, 10, 16)
	if err != nil {
		return 0, 0, fmt.Errorf("invalid port specification: %q", s)
	}
	if !isRange {
		return uint16(a), uint16(a), nil
	}
	b, err := strconv.ParseUint(hi, 10, 16)
	if err != nil || b < a {
		return 0, 0, fmt.Errorf("invalid port specification: %q", s)
	}
	return uint16(a), uint16(b), nil
}

// netError maps the network store's errors to API statuses.
func netError(err error) error {
	switch {
	case errors.Is(err, netslirp.ErrNotFound):
		return errNotFound(errors.New(strings.TrimPrefix(err.Error(), netslirp.ErrNotFound.Error()+": ")))
	case errors.Is(err, netslirp.ErrConflict):
		return errConflict(errors.New(strings.TrimPrefix(err.Error(), netslirp.ErrConflict.Error()+": ")))
	case errors.Is(err, netslirp.ErrInvalid):
		return errInvalid(errors.New(strings.TrimPrefix(err.Error(), netslirp.ErrInvalid.Error()+": ")))
	case errors.Is(err, netslirp.ErrForbidden):
		return &apiError{403, errors.New(strings.TrimPrefix(err.Error(), netslirp.ErrForbidden.Error()+": "))}
	}
	return err
}

// sortedNetworks returns the container's network names, its first network
// (the network mode) first. The caller holds c.mu.
func sortedNetworks(c *ctr) []string {
	mode := modeOf(c.rec.HostConfig)
	names := make([]string, 0, len(c.rec.Networks))
	for name := range c.rec.Networks {
		names = append(names, name)
	}
	sort.Slice(names, func(i, j int) bool {
		if (names[i] == mode) != (names[j] == mode) {
			return names[i] == mode
		}
		return names[i] < names[j]
	})
	return names
}

// setupNetwork gives a starting container its network: for bridge
// networks a namespace with one veth per network, published ports and the
// embedded DNS; it sets spec's namespace fields. On error nothing is left.
func (e *Engine) setupNetwork(c *ctr) (netNS string, newNS bool, err error) {
	c.mu.Lock()
	mode := modeOf(c.rec.HostConfig)
	c.mu.Unlock()
	switch {
	case mode == netslirp.NoneNetwork:
		return "", true, nil
	case mode == netslirp.HostNetwork:
		return e.opt.NetNS, false, nil
	case strings.HasPrefix(mode, "container:"):
		ref := strings.TrimPrefix(mode, "container:")
		other, err := e.lookup(ref)
		if err != nil {
			return "", false, err
		}
		other.mu.Lock()
		pid, running := other.rec.State.Pid, other.running()
		name, status := strings.TrimPrefix(other.rec.Name, "/"), other.rec.State.Status
		other.mu.Unlock()
		if !running {
			return "", false, errConflict(fmt.Errorf("cannot join network namespace of a non running container: container %s is %s", name, status))
		}
		return fmt.Sprintf("/proc/%d/ns/net", pid), false, nil
	}
	path := e.netnsPath(c.rec.ID)
	netslirp.RemoveNetNS(path) // one an engine killed mid-start left
	if err := netslirp.NewNetNS(path); err != nil {
		return "", false, err
	}
	c.mu.Lock()
	c.rec.Net = &netState{SandboxKey: path, Veths: map[string]string{}}
	c.mu.Unlock()
	defer func() {
		if err != nil {
			e.teardownNetwork(c)
		}
	}()
	c.mu.Lock()
	if len(c.rec.Networks) == 0 {
		// A container recorded before it had endpoints: its network mode.
		if n, err := e.nets.Get(mode); err == nil {
			c.rec.Networks = map[string]*network.EndpointSettings{n.Name: {NetworkID: n.ID}}
		}
	}
	names := sortedNetworks(c)
	c.mu.Unlock()
	if len(names) == 0 {
		return "", false, errNotFound(fmt.Errorf("network %s not found", mode))
	}
	for i, name := range names {
		if err := e.attach(c, name, fmt.Sprintf("eth%d", i), i == 0); err != nil {
			return "", false, err
		}
	}
	if err := e.publishPorts(c); err != nil {
		return "", false, err
	}
	if err := e.serveDNS(c, path); err != nil {
		return "", false, err
	}
	return path, false, nil
}

// attach connects the container's namespace to the network called name:
// an address lease and a veth named ifname.
func (e *Engine) attach(c *ctr, name, ifname string, defaultRoute bool) error {
	c.mu.Lock()
	es := c.rec.Networks[name]
	nsPath := c.rec.Net.SandboxKey
	c.mu.Unlock()
	n, err := e.nets.Get(es.NetworkID)
	if err != nil {
		return netError(err)
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
	if len(mac) == 0 {
		mac = netslirp.MACFor(ip)
	}
	ep := &netslirp.Endpoint{IfName: ifname, IP: ip, MAC: mac}
	if err := e.dp.Attach(nsPath, n, ep, defaultRoute && !n.Internal); err != nil {
		e.nets.Release(n.ID, c.rec.ID)
		return err
	}
	c.mu.Lock()
	c.rec.Net.Veths[n.ID] = ep.HostVeth
	es.NetworkID = n.ID
	es.EndpointID = newID()
	es.Gateway = n.Gateway
	es.IPAddress = ip
	es.IPPrefixLen = n.Subnet.Bits()
	es.MacAddress = network.HardwareAddr(mac)
	es.DNSNames = e.dnsNames(c, n, es)
	c.mu.Unlock()
	return nil
}

// dnsNames are the names the container answers to on n (Docker's
// DNSNames): its name, aliases and short ID, on user networks. The caller
// holds c.mu.
func (e *Engine) dnsNames(c *ctr, n *netslirp.Network, es *network.EndpointSettings) []string {
	if n.Name == netslirp.DefaultBridge {
		return nil
	}
	names := []string{strings.TrimPrefix(c.rec.Name, "/")}
	names = append(names, es.Aliases...)
	names = append(names, c.rec.ID[:12])
	if h := c.rec.Config.Hostname; h != "" && h != c.rec.ID[:12] && !strings.Contains(h, ".") {
		names = append(names, h)
	}
	return names
}

// detach undoes attach for the network with ID netID.
func (e *Engine) detach(c *ctr, netID string) {
	c.mu.Lock()
	var veth string
	if c.rec.Net != nil {
		veth = c.rec.Net.Veths[netID]
		delete(c.rec.Net.Veths, netID)
	}
	for _, es := range c.rec.Networks {
		if es.NetworkID == netID {
			clearEndpoint(es)
		}
	}
	c.mu.Unlock()
	if veth != "" {
		if err := e.dp.Detach(&netslirp.Endpoint{HostVeth: veth}); err != nil {
			e.log.Printf("container %s: %v", c.rec.ID[:12], err)
		}
	}
	e.nets.Release(netID, c.rec.ID)
}

func clearEndpoint(es *network.EndpointSettings) {
	es.EndpointID, es.Gateway, es.IPAddress, es.IPPrefixLen, es.DNSNames = "", netip.Addr{}, netip.Addr{}, 0, nil
	if es.IPAMConfig == nil || !es.IPAMConfig.IPv4Address.IsValid() {
		es.MacAddress = nil
	}
}

// teardownNetwork removes everything setupNetwork made.
func (e *Engine) teardownNetwork(c *ctr) {
	c.mu.Lock()
	rt := c.netrt
	c.netrt = nil
	st := c.rec.Net
	c.mu.Unlock()
	if rt != nil {
		if rt.dns != nil {
			rt.dns.Close()
		}
		for _, release := range rt.releases {
			if err := release(); err != nil {
				e.log.Printf("container %s: removing a published port: %v", c.rec.ID[:12], err)
			}
		}
	}
	if st == nil {
		return
	}
	for netID := range st.Veths {
		e.detach(c, netID)
	}
	c.mu.Lock()
	for _, es := range c.rec.Networks {
		if es.NetworkID != "" {
			e.nets.Release(es.NetworkID, c.rec.ID)
		}
		clearEndpoint(es)
	}
	c.rec.Net = nil
	c.mu.Unlock()
	if st.SandboxKey != "" {
		if err := netslirp.RemoveNetNS(st.SandboxKey); err != nil {
			e.log.Printf("container %s: %v", c.rec.ID[:12], err)
		}
	}
}

// publishPorts publishes the container's ports on its first network's
// address: -p bindings and, with -P, every exposed port.
func (e *Engine) publishPorts(c *ctr) error {
	c.mu.Lock()
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
	names := sortedNetworks(c)
	if len(names) == 0 || len(bindings) == 0 {
		c.mu.Unlock()
		return nil
	}
	first := c.rec.Networks[names[0]]
	ctrIP := first.IPAddress
	name := strings.TrimPrefix(c.rec.Name, "/")
	epID := first.EndpointID
	c.mu.Unlock()
	ports := make([]network.Port, 0, len(bindings))
	for p := range bindings {
		ports = append(ports, p)
	}
	sort.Slice(ports, func(i, j int) bool { return ports[i].Num() < ports[j].Num() })
	published := network.PortMap{}
	var releases []func() error
	fail := func(err error) error {
		for _, r := range releases {
			r()
		}
		return errInvalid(fmt.Errorf("driver failed programming external connectivity on endpoint %s (%s): %w", name, epID, err))
	}
	for _, p := range ports {
		proto, err := netslirp.ParseProto(string(p.Proto()))
		if err != nil {
			return fail(err)
		}
		for _, b := range bindings[p] {
			m := netslirp.PortMapping{Proto: proto, CtrPort: p.Num()}
			if b.HostIP.IsValid() && !b.HostIP.IsUnspecified() {
				m.HostIP = b.HostIP
			}
			lo, hi, err := hostPortRange(b.HostPort)
			if err != nil {
				return fail(err)
			}
			var release func() error
			for hp := lo; ; hp++ {
				m.HostPort = hp
				var got netslirp.PortMapping
				got, release, err = e.ports.Publish(ctrIP, m)
				if err == nil || hp >= hi {
					m = got
					break
				}
			}
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
	c.netrt.releases = releases
	c.mu.Unlock()
	return nil
}

// serveDNS starts the embedded DNS (127.0.0.11:53 inside the container's
// namespace) for a container on a user-defined network.
func (e *Engine) serveDNS(c *ctr, nsPath string) error {
	if !e.usesEmbeddedDNS(c) {
		return nil
	}
	var pc net.PacketConn
	var l net.Listener
	err := netslirp.InNetNS(nsPath, func() error {
		var err error
		if pc, err = net.ListenPacket("udp4", embeddedDNS+":53"); err != nil {
			return fmt.Errorf("starting the embedded DNS: %w", err)
		}
		if l, err = net.Listen("tcp4", embeddedDNS+":53"); err != nil {
			pc.Close()
			return fmt.Errorf("starting the embedded DNS: %w", err)
		}
		return nil
	})
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
	if mode == netslirp.DefaultBridge || mode == netslirp.HostNetwork || mode == netslirp.NoneNetwork || strings.HasPrefix(mode, "container:") {
		return false
	}
	n, err := e.nets.Get(mode)
	return err == nil && n.IsBridge()
}

// restoreNetwork re-registers the leases of a container that kept running
// across an engine restart, and republishes its ports and DNS where the
// namespace is still reachable.
func (e *Engine) restoreNetwork(c *ctr) {
	c.mu.Lock()
	st := c.rec.Net
	var leases []struct {
		n  string
		ip netip.Addr
	}
	for _, es := range c.rec.Networks {
		if es.IPAddress.IsValid() {
			leases = append(leases, struct {
				n  string
				ip netip.Addr
			}{es.NetworkID, es.IPAddress})
		}
	}
	pid := c.rec.State.Pid
	c.mu.Unlock()
	if st == nil {
		return
	}
	for _, veth := range st.Veths {
		if !e.dp.HasLink(veth) {
			// Rootless: this engine has a new network namespace; the
			// container's veths went with the old one.
			e.log.Printf("container %s lost its network when the engine restarted: restart it to reconnect", c.rec.ID[:12])
			c.mu.Lock()
			for _, es := range c.rec.Networks {
				clearEndpoint(es)
			}
			c.rec.Net.Ports = nil
			c.rec.Net.Veths = map[string]string{}
			c.save()
			c.mu.Unlock()
			return
		}
	}
	for _, l := range leases {
		e.nets.Reserve(l.n, c.rec.ID, l.ip)
	}
	if err := e.publishPorts(c); err != nil {
		e.log.Printf("container %s: republishing ports: %v", c.rec.ID[:12], err)
	}
	if err := e.serveDNS(c, fmt.Sprintf("/proc/%d/ns/net", pid)); err != nil {
		e.log.Printf("container %s: restarting the embedded DNS: %v", c.rec.ID[:12], err)
	}
}

// firstIP is the container's address on its first network, if any.
func (e *Engine) firstIP(c *ctr) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, name := range sortedNetworks(c) {
		if ip := c.rec.Networks[name].IPAddress; ip.IsValid() {
			return ip.String()
		}
	}
	return ""
}

// inspectResponse is a container's inspect answer with Docker API 1.41's
// NetworkSettings, which still has the first network's address at the top
// (`inspect -f '{{.NetworkSettings.IPAddress}}'`).
type inspectResponse struct {
	container.InspectResponse
	NetworkSettings *inspectNetworkSettings
}

type inspectNetworkSettings struct {
	Bridge                 string
	SandboxID              string
	SandboxKey             string
	HairpinMode            bool
	LinkLocalIPv6Address   string
	LinkLocalIPv6PrefixLen int
	Ports                  network.PortMap
	SecondaryIPAddresses   []string
	SecondaryIPv6Addresses []string
	EndpointID             string
	Gateway                string
	GlobalIPv6Address      string
	GlobalIPv6PrefixLen    int
	IPAddress              string
	IPPrefixLen            int
	IPv6Gateway            string
	MacAddress             string
	Networks               map[string]*network.EndpointSettings
}

// networkSettings is inspect's NetworkSettings. The caller holds c.mu.
func networkSettings(c *ctr) *inspectNetworkSettings {
	ns := &inspectNetworkSettings{Ports: network.PortMap{}, Networks: endpointsCopy(c)}
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

// shutdownNetworks removes the bridges and firewall rules when the engine
// stops with no container running (running ones keep their network).
func (e *Engine) shutdownNetworks() {
	defer e.dp.Wait()
	for _, c := range e.list() {
		c.mu.Lock()
		running := c.running()
		c.mu.Unlock()
		if running {
			return
		}
	}
	for _, n := range e.nets.List() {
		if n.IsBridge() {
			if err := e.dp.RemoveBridge(n); err != nil {
				e.log.Printf("network %s: %v", n.Name, err)
			}
		}
	}
	if err := e.dp.RemoveRules(); err != nil {
		e.log.Printf("removing the firewall rules: %v", err)
	}
}
