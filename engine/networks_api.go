package engine

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/moby/moby/api/types/events"
	"github.com/moby/moby/api/types/network"
	"github.com/skiff-dev/skiff/netslirp"
	"github.com/skiff-dev/skiff/opts"
)

// networkView is a network as the API shows it.
func (e *Engine) networkView(n *netslirp.Network) network.Inspect {
	driver := n.Driver
	v := network.Inspect{
		Network: network.Network{
			Name: n.Name, ID: n.ID, Created: n.Created, Scope: "local", Driver: driver,
			EnableIPv4: true, Internal: n.Internal, Attachable: n.Attach,
			IPAM:    network.IPAM{Driver: "default", Options: map[string]string{}, Config: []network.IPAMConfig{}},
			Options: map[string]string{}, Labels: map[string]string{},
		},
		Containers: map[string]network.EndpointResource{},
	}
	for k, val := range n.Options {
		v.Options[k] = val
	}
	for k, val := range n.Labels {
		v.Labels[k] = val
	}
	if n.Name == netslirp.DefaultBridge {
		v.Options = map[string]string{
			"com.docker.network.bridge.default_bridge":       "true",
			"com.docker.network.bridge.enable_icc":           "true",
			"com.docker.network.bridge.enable_ip_masquerade": "true",
			"com.docker.network.bridge.host_binding_ipv4":    "0.0.0.0",
			netslirp.BridgeNameOption:                        n.Bridge,
			"com.docker.network.driver.mtu":                  fmt.Sprint(e.dp.MTU),
		}
	}
	if n.Subnet.IsValid() {
		v.IPAM.Config = append(v.IPAM.Config, network.IPAMConfig{Subnet: n.Subnet, IPRange: n.IPRange, Gateway: n.Gateway})
	}
	for _, c := range e.list() {
		c.mu.Lock()
		for _, es := range c.rec.Networks {
			if es.NetworkID == n.ID && (es.IPAddress.IsValid() || c.running() && !n.IsBridge()) {
				r := network.EndpointResource{Name: strings.TrimPrefix(c.rec.Name, "/"), EndpointID: es.EndpointID, MacAddress: es.MacAddress}
				if es.IPAddress.IsValid() {
					r.IPv4Address = netip.PrefixFrom(es.IPAddress, es.IPPrefixLen)
				}
				v.Containers[c.rec.ID] = r
			}
		}
		c.mu.Unlock()
	}
	return v
}

// NetworkList implements api.NetworkService.
func (e *Engine) NetworkList(_ context.Context, f opts.Filters) ([]network.Inspect, error) {
	out := []network.Inspect{}
	for _, n := range e.nets.List() {
		v := e.networkView(n)
		if matchNetwork(n, len(v.Containers), f) {
			out = append(out, v)
		}
	}
	return out, nil
}

// matchNetwork applies network ls filters: each key must match, any of
// its values (labels: all of them).
func matchNetwork(n *netslirp.Network, used int, f map[string][]string) bool {
	anyOf := func(key string, ok func(string) bool) bool { return anyFilter(f, key, ok) }
	return anyOf("name", func(v string) bool { return strings.Contains(n.Name, v) }) &&
		anyOf("id", func(v string) bool { return strings.HasPrefix(n.ID, v) }) &&
		anyOf("driver", func(v string) bool { return n.Driver == v }) &&
		anyOf("scope", func(v string) bool { return v == "local" }) &&
		anyOf("type", func(v string) bool { return (v == "builtin") == n.Builtin() }) &&
		anyOf("dangling", func(v string) bool { return (v == "true" || v == "1") == (used == 0 && !n.Builtin()) }) &&
		opts.MatchLabels(n.Labels, f["label"])
}

// NetworkInspect implements api.NetworkService.
func (e *Engine) NetworkInspect(_ context.Context, ref string) (network.Inspect, error) {
	n, err := e.nets.Get(ref)
	if err != nil {
		return network.Inspect{}, netError(err)
	}
	return e.networkView(n), nil
}

// NetworkCreate implements api.NetworkService.
func (e *Engine) NetworkCreate(_ context.Context, req network.CreateRequest) (network.CreateResponse, error) {
	n, err := e.createNetwork(&req)
	if err != nil {
		return network.CreateResponse{}, err
	}
	e.emitNetwork(n, events.ActionCreate, "")
	return network.CreateResponse{ID: n.ID}, nil
}

func (e *Engine) createNetwork(req *network.CreateRequest) (_ *netslirp.Network, err error) {
	if req.Name == "" {
		return nil, errInvalid(errors.New("network name must not be empty"))
	}
	if err := addressableName(req.Name); err != nil {
		return nil, errInvalid(err)
	}
	if err := checkMTU(req.Options); err != nil {
		return nil, errInvalid(err)
	}
	if req.EnableIPv6 != nil && *req.EnableIPv6 {
		return nil, errInvalid(errors.New("IPv6 networks are not supported by skiff yet"))
	}
	if req.ConfigOnly || req.ConfigFrom != nil && req.ConfigFrom.Network != "" || req.Ingress {
		return nil, errInvalid(errors.New("config-only, config-from and ingress networks are not supported by skiff"))
	}
	o := netslirp.CreateOptions{Name: req.Name, Driver: req.Driver, Internal: req.Internal, Attach: req.Attachable,
		Labels: req.Labels, Options: req.Options}
	if req.IPAM != nil {
		if d := req.IPAM.Driver; d != "" && d != "default" {
			return nil, errNotFound(fmt.Errorf("could not find plugin %s in v1 plugin registry: plugin not found", d))
		}
		if len(req.IPAM.Config) > 1 {
			return nil, errInvalid(errors.New("skiff supports one IPv4 subnet per network"))
		}
		for _, c := range req.IPAM.Config {
			if c.Subnet.IsValid() {
				o.Subnet = c.Subnet.String()
			}
			if c.IPRange.IsValid() {
				o.IPRange = c.IPRange.String()
			}
			if c.Gateway.IsValid() {
				o.Gateway = c.Gateway.String()
			}
		}
	}
	if o.Avoid, err = e.dp.Subnets(); err != nil {
		return nil, err
	}
	o.LinkExists = e.dp.HasLink
	n, err := e.nets.Create(o)
	if err != nil {
		return nil, netError(err)
	}
	if err := e.dp.SyncRules(e.nets.List()); err != nil {
		return nil, errors.Join(err, e.nets.Remove(n.ID))
	}
	return n, nil
}

// activeEndpoints names the running containers attached to n, as Docker's
// error lists them.
func (e *Engine) activeEndpoints(n *netslirp.Network) []string {
	var out []string
	for _, c := range e.list() {
		c.mu.Lock()
		for _, es := range c.rec.Networks {
			if es.NetworkID == n.ID && es.IPAddress.IsValid() {
				out = append(out, fmt.Sprintf("name:%q id:%q", strings.TrimPrefix(c.rec.Name, "/"), es.EndpointID[:min(12, len(es.EndpointID))]))
			}
		}
		c.mu.Unlock()
	}
	return out
}

func (e *Engine) removeNetwork(n *netslirp.Network) error {
	e.netsMu.Lock()
	defer e.netsMu.Unlock()
	if n.Builtin() {
		return errForbidden(fmt.Errorf("%s is a pre-defined network and cannot be removed", n.Name))
	}
	if eps := e.activeEndpoints(n); len(eps) > 0 {
		return errForbidden(fmt.Errorf("error while removing network: network %s has active endpoints (%s)", n.Name, strings.Join(eps, ", ")))
	}
	if err := e.nets.Remove(n.ID); err != nil {
		return netError(err)
	}
	e.emitNetwork(n, events.ActionDestroy, "")
	if err := e.dp.RemoveBridge(n); err != nil {
		e.log.Printf("network %s: %v", n.Name, err)
	}
	return e.dp.SyncRules(e.nets.List())
}

// NetworkRemove implements api.NetworkService.
func (e *Engine) NetworkRemove(_ context.Context, ref string) error {
	n, err := e.nets.Get(ref)
	if err == nil {
		err = e.removeNetwork(n)
	}
	return netError(err)
}

// NetworksPrune implements api.NetworkService: the unused networks that
// are not builtin, matching the label and until filters.
func (e *Engine) NetworksPrune(_ context.Context, filters opts.Filters) (network.PruneReport, error) {
	var until time.Time
	if vs := filters["until"]; len(vs) > 0 {
		var err error
		if until, err = parseUntil(vs[0]); err != nil {
			return network.PruneReport{}, errInvalid(err)
		}
	}
	report := network.PruneReport{NetworksDeleted: []string{}}
	for _, n := range e.nets.List() {
		if n.Builtin() || !opts.MatchLabels(n.Labels, filters["label"]) || !until.IsZero() && n.Created.After(until) {
			continue
		}
		if len(e.activeEndpoints(n)) > 0 {
			continue
		}
		if err := e.removeNetwork(n); err == nil {
			report.NetworksDeleted = append(report.NetworksDeleted, n.Name)
		}
	}
	return report, nil
}

// NetworkConnect implements api.NetworkService.
func (e *Engine) NetworkConnect(_ context.Context, ref, container string, cfg *network.EndpointSettings) error {
	if err := checkEndpointNames(cfg); err != nil {
		return errInvalid(err)
	}
	c, err := e.lookup(container)
	if err != nil {
		return err
	}
	n, err := e.nets.Get(ref)
	if err != nil {
		return netError(err)
	}
	// A running container's connect is published as it attaches.
	return e.connect(c, n, cfg)
}

// NetworkDisconnect implements api.NetworkService.
func (e *Engine) NetworkDisconnect(_ context.Context, ref, container string, force bool) error {
	c, err := e.lookup(container)
	if err != nil {
		return err
	}
	n, err := e.nets.Get(ref)
	switch {
	case err != nil && force:
		return e.forgetNetwork(c, ref)
	case err != nil:
		return netError(err)
	}
	// A running container's disconnect is published as it detaches.
	return e.disconnect(c, n)
}

// connect adds network n to the container; a running one gets its veth
// at once.
func (e *Engine) connect(c *ctr, n *netslirp.Network, cfg *network.EndpointSettings) error {
	switch n.Name {
	case netslirp.HostNetwork:
		return errInvalid(errConnectToHostNetwork)
	case netslirp.NoneNetwork:
		return errInvalid(errConflictNoneNetwork)
	}
	es, err := newEndpoint(n, cfg)
	if err != nil {
		return err
	}
	c.netMu.Lock()
	defer c.netMu.Unlock()
	c.mu.Lock()
	mode := modeOf(c.rec.HostConfig)
	name := strings.TrimPrefix(c.rec.Name, "/")
	_, already := c.rec.Networks[n.Name]
	running := c.running() && c.rec.Net != nil && c.rec.Net.SandboxKey != ""
	var nsPath string
	if running {
		nsPath = c.rec.Net.SandboxKey
	}
	c.mu.Unlock()
	switch {
	case mode == netslirp.NoneNetwork:
		return errInvalid(errConflictNoneNetwork)
	case mode == netslirp.HostNetwork || sharesNetNS(mode):
		return errInvalid(errConflictSharedNetwork)
	case already:
		return errForbidden(fmt.Errorf("endpoint with name %s already exists in network %s", name, n.Name))
	}
	c.mu.Lock()
	if c.rec.Networks == nil {
		c.rec.Networks = map[string]*network.EndpointSettings{}
	}
	c.rec.Networks[n.Name] = es
	c.mu.Unlock()
	if running {
		ifname, err := netslirp.FreeIfName(nsPath)
		if err == nil {
			e.netsMu.RLock()
			err = e.attach(c, n.Name, ifname, false)
			e.netsMu.RUnlock()
		}
		if err != nil {
			c.mu.Lock()
			delete(c.rec.Networks, n.Name)
			c.mu.Unlock()
			return err
		}
	}
	c.mu.Lock()
	err = c.save()
	c.mu.Unlock()
	if err == nil && !running {
		e.emitNetwork(n, events.ActionConnect, c.rec.ID)
	}
	return err
}

// disconnect removes network n from the container.
func (e *Engine) disconnect(c *ctr, n *netslirp.Network) error {
	c.netMu.Lock()
	defer c.netMu.Unlock()
	c.mu.Lock()
	mode := modeOf(c.rec.HostConfig)
	_, on := c.rec.Networks[n.Name]
	c.mu.Unlock()
	if mode == netslirp.HostNetwork && n.Name == netslirp.HostNetwork {
		return errInvalid(errDisconnectFromHostNetwork)
	}
	if !on || !n.IsBridge() {
		return errInvalid(fmt.Errorf("container %s is not connected to the network %s", c.rec.ID, n.Name))
	}
	e.detach(c, n.ID)
	c.mu.Lock()
	delete(c.rec.Networks, n.Name)
	err := c.save()
	c.mu.Unlock()
	return err
}

// forgetNetwork is `network disconnect -f` for a network that is gone:
// the container's record of it (by name or ID) is dropped.
func (e *Engine) forgetNetwork(c *ctr, ref string) error {
	c.netMu.Lock()
	defer c.netMu.Unlock()
	c.mu.Lock()
	defer c.mu.Unlock()
	for name, es := range c.rec.Networks {
		if name == ref || es.NetworkID == ref || len(ref) >= 12 && strings.HasPrefix(es.NetworkID, ref) {
			delete(c.rec.Networks, name)
			return c.save()
		}
	}
	return errNotFound(fmt.Errorf("network %s not found", ref))
}

// parseUntil reads a prune filter's until: a duration before now ("24h"),
// an RFC 3339 time or Unix seconds.
func parseUntil(v string) (time.Time, error) {
	if d, err := time.ParseDuration(v); err == nil {
		return time.Now().Add(-d), nil
	}
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t, nil
	}
	return opts.ParseUnixTime(v)
}

// addressableName refuses a network name that no Docker client can name
// in a URL: clients join "/networks/" and the name as a path, which
// drops "." and ".." segments, empty ones and a trailing slash (Docker
// makes such a network and then cannot remove it by name). Any other
// name, slashes included, works in every route.
func addressableName(name string) error {
	if p := "/networks/" + name; path.Clean(p) != p {
		return fmt.Errorf("invalid network name %q: a name cannot hold \".\" or \"..\" path segments, \"//\", or begin or end with \"/\"", name)
	}
	return nil
}

// checkMTU is Docker's bridge driver's check of the
// com.docker.network.driver.mtu option (0 is the default).
func checkMTU(options map[string]string) error {
	v, ok := options[mtuOption]
	if !ok {
		return nil
	}
	mtu, err := strconv.Atoi(v)
	if err != nil {
		return fmt.Errorf("failed to parse %s value: %v (%w)", mtuOption, v, err)
	}
	if mtu < 0 {
		return fmt.Errorf("invalid MTU number: %d", mtu)
	}
	return nil
}

const mtuOption = "com.docker.network.driver.mtu"

// emitNetwork publishes a network event; container is the container
// that connects or disconnects.
func (e *Engine) emitNetwork(n *netslirp.Network, action events.Action, container string) {
	attrs := map[string]string{"name": n.Name, "type": n.Driver}
	if container != "" {
		attrs["container"] = container
	}
	e.emit(events.NetworkEventType, action, n.ID, attrs)
}
