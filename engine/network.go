package engine

import (
	"errors"
	"fmt"
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
	errConflictNoneNetwork       = errors.New("container cannot be connected to multiple networks with one of the networks in private (none) mode")
	errConnectToHostNetwork      = errors.New("cannot connect container to host network - container must be created in host network mode")
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

// netRuntime is what a running container holds of its network, in memory.
type netRuntime struct {
	// ports remove the published ports; portsNet is the ID of the network
	// whose address they forward to.
	ports    []func() error
	portsNet string
	dns      interface{ Close() error }
}

// netState is the running container's network state on disk, so that a
// restarted engine can find and undo it.
type netState struct {
	// SandboxKey is the container's network namespace (a bind mount).
	SandboxKey string `json:",omitempty"`
	// Veths are the host ends of its veth pairs, by network ID.
	Veths map[string]string `json:",omitempty"`
	// GeneratedMAC marks, by network ID, the MAC addresses skiff made
	// (not --mac-address): they go when the container stops.
	GeneratedMAC map[string]bool `json:",omitempty"`
	// Ports are the published ports, as inspect shows them.
	Ports network.PortMap `json:",omitempty"`
}

// initNetworks opens the network store and readies the bridges' namespace.
func (e *Engine) initNetworks() error {
	set := e.opt.Settings
	mtu := 1500
	if e.opt.Paths.Rootless {
		mtu = userns.SlirpMTU
	}
	e.dp = &netslirp.Dataplane{NS: e.opt.NetNS, MTU: mtu}
	if set.Bridge != "" && set.Bridge != netslirp.DefaultBridgeIface {
		e.dp.Table = "skiff_" + set.Bridge
	}
	used, err := e.dp.Subnets()
	if err != nil {
		return err
	}
	st, err := netslirp.OpenStore(e.opt.Paths.DataDir, set.Bridge, set.BIP, used)
	if err != nil {
		return err
	}
	e.nets = st
	if err := e.dp.Init(); err != nil {
		return err
	}
	if e.opt.Paths.Rootless && set.AllowHostLoopback {
		if e.hostLoop, err = e.dp.StartHostLoopback(); err != nil {
			return err
		}
	}
	if err := e.dp.SyncRules(st.List()); err != nil {
		return err
	}
	if e.opt.Paths.Rootless {
		e.ports = &netslirp.RootlessKitPublisher{APISock: e.opt.PortAPISock}
	} else {
		hp := &netslirp.HostPublisher{DP: e.dp}
		// Rules an earlier engine left: its running containers are
		// published again as they are found.
		if err := hp.Reset(); err != nil {
			return err
		}
		e.ports = hp
	}
	e.dns = &dnsd.Server{Resolver: (*resolver)(e), Logf: e.log.Printf}
	return nil
}

// shutdownNetworks removes the bridges and firewall rules when the engine
// stops with no container running (running ones keep their network).
func (e *Engine) shutdownNetworks() {
	if e.hostLoop != nil {
		e.hostLoop.Close()
	}
	defer func() {
		if err := e.dp.Wait(); err != nil {
			e.log.Printf("removing veths: %v", err)
		}
	}()
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

// sharesNetNS reports whether the mode is another container's namespace.
func sharesNetNS(mode string) bool { return strings.HasPrefix(mode, "container:") }

// prepareNetworks validates the network options of a new container and
// returns its endpoints' configuration by network name (Docker's checks
// and messages). A user network given by ID is recorded by name.
func (e *Engine) prepareNetworks(cfg *container.Config, hc *container.HostConfig, nc *network.NetworkingConfig) (map[string]*network.EndpointSettings, error) {
	mode := modeOf(hc)
	hc.NetworkMode = container.NetworkMode(mode)
	var endpoints map[string]*network.EndpointSettings
	if nc != nil {
		endpoints = nc.EndpointsConfig
	}
	switch {
	case mode == netslirp.HostNetwork || mode == netslirp.NoneNetwork:
		return e.prepareHostOrNone(mode, hc, endpoints)
	case sharesNetNS(mode):
		return nil, e.prepareShared(strings.TrimPrefix(mode, "container:"), cfg, hc, endpoints)
	}
	n, err := e.nets.Get(mode)
	if err != nil {
		// 400, not Docker's 404: a client takes a 404 on create for a
		// missing image and pulls it.
		return nil, errInvalid(err)
	}
	if !n.IsBridge() {
		return nil, errInvalid(errConflictSharedNetwork)
	}
	hc.NetworkMode = container.NetworkMode(n.Name)
	for _, l := range hc.Links {
		if target, _ := splitLink(l); target != "" {
			if _, err := e.lookup(target); err != nil {
				return nil, errInvalid(fmt.Errorf("could not get container for %s: No such container: %s", target, target))
			}
		}
	}
	if err := validatePorts(hc); err != nil {
		return nil, errInvalid(err)
	}
	// The first network's settings, then the others (API 1.44+ clients
	// send them all at create, as `docker run --network a --network b`).
	out := map[string]*network.EndpointSettings{}
	var primary *network.EndpointSettings
	others := map[*netslirp.Network]*network.EndpointSettings{}
	for k, v := range endpoints {
		if k == "default" && n.Name == netslirp.DefaultBridge {
			primary = v
			continue
		}
		other, err := e.nets.Get(k)
		if err != nil {
			return nil, errInvalid(err)
		}
		if other.ID == n.ID {
			primary = v
			continue
		}
		if !other.IsBridge() {
			return nil, errInvalid(errConflictSharedNetwork)
		}
		others[other] = v
	}
	es, err := newEndpoint(n, primary)
	if err != nil {
		return nil, err
	}
	out[n.Name] = es
	for other, v := range others {
		oes, err := newEndpoint(other, v)
		if err != nil {
			return nil, err
		}
		out[other.Name] = oes
	}
	return out, nil
}

// prepareHostOrNone checks a --network host or none container's options.
func (e *Engine) prepareHostOrNone(mode string, hc *container.HostConfig, endpoints map[string]*network.EndpointSettings) (map[string]*network.EndpointSettings, error) {
	if len(hc.Links) > 0 {
		return nil, errInvalid(errConflictHostLinks)
	}
	for _, v := range endpoints {
		if v == nil {
			continue
		}
		if v.IPAMConfig != nil && v.IPAMConfig.IPv4Address.IsValid() {
			return nil, errInvalid(errUnsupportedNetworkIP)
		}
		if len(v.Aliases) > 0 {
			return nil, errInvalid(errUnsupportedNetworkAlias)
		}
	}
	n, err := e.nets.Get(mode)
	if err != nil {
		return nil, err
	}
	return map[string]*network.EndpointSettings{mode: {NetworkID: n.ID}}, nil
}

// prepareShared checks a --network container:REF container's options.
func (e *Engine) prepareShared(ref string, cfg *container.Config, hc *container.HostConfig, endpoints map[string]*network.EndpointSettings) error {
	mac := false
	for _, v := range endpoints {
		mac = mac || v != nil && len(v.MacAddress) > 0
	}
	switch {
	case len(hc.Links) > 0:
		return errInvalid(errConflictContainerLinks)
	case cfg.Hostname != "":
		return errInvalid(errConflictNetworkHostname)
	case len(hc.DNS) > 0 || len(hc.DNSSearch) > 0 || len(hc.DNSOptions) > 0:
		return errInvalid(errConflictNetworkDNS)
	case len(hc.ExtraHosts) > 0:
		return errInvalid(errConflictNetworkHosts)
	case len(hc.PortBindings) > 0 || hc.PublishAllPorts:
		return errInvalid(errConflictNetworkPublish)
	case len(cfg.ExposedPorts) > 0:
		return errInvalid(errConflictNetworkExpose)
	case mac:
		return errInvalid(errConflictNetworkMac)
	}
	if _, err := e.lookup(ref); err != nil {
		return errInvalid(err) // 400: a 404 makes clients pull the image
	}
	return nil
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
	if es.IPAMConfig != nil && es.IPAMConfig.IPv6Address.IsValid() {
		return errInvalid(fmt.Errorf("invalid endpoint settings: IPv6 address %s on network %s: skiff does not support IPv6 networks yet", es.IPAMConfig.IPv6Address, n.Name))
	}
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

// validatePorts checks the published ports' protocols and host parts.
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

// netError gives the network store's errors their API statuses.
func netError(err error) error {
	switch {
	case errors.Is(err, netslirp.ErrNotFound):
		return errNotFound(err)
	case errors.Is(err, netslirp.ErrConflict):
		return errConflict(err)
	case errors.Is(err, netslirp.ErrInvalid):
		return errInvalid(err)
	case errors.Is(err, netslirp.ErrForbidden):
		return errForbidden(err)
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

// firstIP is the container's address on its first network, if any. The
// caller holds c.mu.
func firstIP(c *ctr) string {
	for _, name := range sortedNetworks(c) {
		if ip := c.rec.Networks[name].IPAddress; ip.IsValid() {
			return ip.String()
		}
	}
	return ""
}
