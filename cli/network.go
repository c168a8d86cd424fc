package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sort"
	"strconv"
	"strings"

	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
	"github.com/skiff-dev/skiff/opts"
)

// NetworkCreateOptions are `skiff network create`'s flags, as given.
type NetworkCreateOptions struct {
	// Driver is -d/--driver ("bridge" by default).
	Driver string
	// Options are -o/--opt key=value driver options.
	Options []string
	// Labels are --label key[=value].
	Labels []string
	// Internal is --internal: no access to the outside.
	Internal bool
	// Attachable is --attachable.
	Attachable bool
	// IPv4 and IPv6 are --ipv4/--ipv6; nil when not given.
	IPv4, IPv6 *bool
	// Scope is --scope.
	Scope string
	// ConfigOnly and ConfigFrom are --config-only and --config-from.
	ConfigOnly bool
	ConfigFrom string
	// Ingress is --ingress.
	Ingress bool
	// IPAMDriver is --ipam-driver ("default" by default).
	IPAMDriver string
	// IPAMOptions are --ipam-opt key=value.
	IPAMOptions []string
	// Subnets, IPRanges and Gateways are --subnet, --ip-range and
	// --gateway: each range and gateway belongs to the subnet holding it.
	Subnets, IPRanges, Gateways []string
	// AuxAddresses are --aux-address name=ip.
	AuxAddresses []string
}

// Request checks the options as the docker CLI does, before anything is
// asked of the engine, and turns them into the API's request.
func (o NetworkCreateOptions) Request() (client.NetworkCreateOptions, error) {
	for _, l := range o.Labels {
		if err := validateLabel(l); err != nil {
			return client.NetworkCreateOptions{}, flagError("--label", l, err)
		}
	}
	ipam, err := ipamConfig(o)
	if err != nil {
		return client.NetworkCreateOptions{}, err
	}
	return client.NetworkCreateOptions{
		Driver:     o.Driver,
		Scope:      o.Scope,
		EnableIPv4: o.IPv4,
		EnableIPv6: o.IPv6,
		IPAM:       ipam,
		Internal:   o.Internal,
		Attachable: o.Attachable,
		Ingress:    o.Ingress,
		ConfigOnly: o.ConfigOnly,
		ConfigFrom: o.ConfigFrom,
		Options:    keyValues(o.Options),
		Labels:     keyValues(o.Labels),
	}, nil
}

// NetworkCreate creates a network (NetworkCreateOptions.Request) and
// prints its ID.
func (c *CLI) NetworkCreate(ctx context.Context, name string, req client.NetworkCreateOptions) error {
	res, err := c.API.NetworkCreate(ctx, name, req)
	if err != nil {
		return err
	}
	fmt.Fprintln(c.Out, res.ID)
	return nil
}

// validateLabel is docker's check of a --label: a key without whitespace.
func validateLabel(l string) error {
	key, _, _ := strings.Cut(l, "=")
	key = strings.TrimLeft(key, " \t")
	if key == "" {
		return fmt.Errorf("invalid label '%s': empty name", l)
	}
	if strings.ContainsAny(key, " \t") {
		return fmt.Errorf("label '%s' contains whitespaces", key)
	}
	return nil
}

// ipamConfig groups the subnets with their ranges, gateways and auxiliary
// addresses, with the docker CLI's checks and messages; the subnets keep
// the order they were given in.
func ipamConfig(o NetworkCreateOptions) (*network.IPAM, error) {
	if len(o.Subnets) < len(o.IPRanges) || len(o.Subnets) < len(o.Gateways) {
		return nil, errors.New("every ip-range or gateway must have a corresponding subnet")
	}
	configs := make([]network.IPAMConfig, 0, len(o.Subnets))
	for i, s := range o.Subnets {
		for _, prev := range o.Subnets[:i] {
			in, err := subnetMatches(prev, s)
			if err != nil {
				return nil, err
			}
			holds, err := subnetMatches(s, prev)
			if err != nil {
				return nil, err
			}
			if in || holds {
				return nil, errors.New("multiple overlapping subnet configuration is not supported")
			}
		}
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return nil, err
		}
		configs = append(configs, network.IPAMConfig{Subnet: p, AuxAddress: map[string]netip.Addr{}})
	}
	// ranges[i] and gateways[i] are as given, for the messages.
	ranges := make([]string, len(configs))
	gateways := make([]string, len(configs))
	for _, r := range o.IPRanges {
		if _, _, err := net.ParseCIDR(r); err != nil {
			return nil, err
		}
		match := false
		for i, s := range o.Subnets {
			ok, err := subnetMatches(s, r)
			if err != nil {
				return nil, err
			}
			if !ok {
				continue
			}
			if ranges[i] != "" {
				return nil, fmt.Errorf("cannot configure multiple ranges (%s, %s) on the same subnet (%s)", r, ranges[i], s)
			}
			p, err := netip.ParsePrefix(r)
			if err != nil {
				return nil, err
			}
			ranges[i], configs[i].IPRange = r, p
			match = true
		}
		if !match {
			return nil, fmt.Errorf("no matching subnet for range %s", r)
		}
	}
	for _, g := range o.Gateways {
		match := false
		for i, s := range o.Subnets {
			ok, err := subnetMatches(s, g)
			if err != nil {
				return nil, err
			}
			if !ok {
				continue
			}
			if gateways[i] != "" {
				return nil, fmt.Errorf("cannot configure multiple gateways (%s, %s) for the same subnet (%s)", g, gateways[i], s)
			}
			a, err := parseIP(g)
			if err != nil {
				return nil, err
			}
			gateways[i], configs[i].Gateway = g, a
			match = true
		}
		if !match {
			return nil, fmt.Errorf("no matching subnet for gateway %s", g)
		}
	}
	for _, kv := range o.AuxAddresses {
		name, aux, _ := strings.Cut(kv, "=")
		match := false
		for i, s := range o.Subnets {
			ok, err := subnetMatches(s, aux)
			if err != nil {
				return nil, err
			}
			if !ok {
				continue
			}
			a, err := parseIP(aux)
			if err != nil {
				return nil, err
			}
			configs[i].AuxAddress[name] = a
			match = true
		}
		if !match {
			return nil, fmt.Errorf("no matching subnet for aux-address %s", aux)
		}
	}
	for i := range configs {
		if len(configs[i].AuxAddress) == 0 {
			configs[i].AuxAddress = nil
		}
	}
	driver := o.IPAMDriver
	if driver == "" {
		driver = "default"
	}
	return &network.IPAM{Driver: driver, Config: configs, Options: keyValues(o.IPAMOptions)}, nil
}

// subnetMatches reports whether subnet holds data, an address or the
// address of a CIDR; an address that does not parse is held by none.
func subnetMatches(subnet, data string) (bool, error) {
	_, s, err := net.ParseCIDR(subnet)
	if err != nil {
		return false, fmt.Errorf("invalid subnet: %w", err)
	}
	var ip net.IP
	if strings.Contains(data, "/") {
		if ip, _, err = net.ParseCIDR(data); err != nil {
			return false, err
		}
	} else {
		ip = net.ParseIP(data)
	}
	return s.Contains(ip), nil
}

// parseIP parses an address as net.ParseIP does (IPv4-mapped IPv6
// addresses become IPv4, no zones).
func parseIP(s string) (netip.Addr, error) {
	ip := net.ParseIP(strings.TrimSpace(s))
	if ip == nil {
		return netip.Addr{}, fmt.Errorf("failed to parse IP: %q", s)
	}
	a, _ := netip.AddrFromSlice(ip)
	return a.Unmap(), nil
}

// NetworkLsOptions are `skiff network ls`.
type NetworkLsOptions struct {
	Quiet   bool
	NoTrunc bool
	// Filters are -f key=value: driver, id, label, name, scope, type, dangling.
	Filters []string
	Format  string
}

// NetworkLs lists networks, sorted by name as docker sorts them.
func (c *CLI) NetworkLs(ctx context.Context, o NetworkLsOptions) error {
	f, err := parseFilterFlags(o.Filters)
	if err != nil {
		return err
	}
	res, err := c.API.NetworkList(ctx, client.NetworkListOptions{Filters: f})
	if err != nil {
		return err
	}
	sort.SliceStable(res.Items, func(i, j int) bool { return naturalLess(res.Items[i].Name, res.Items[j].Name) })
	rows := make([]*networkRow, 0, len(res.Items))
	for _, n := range res.Items {
		rows = append(rows, &networkRow{n: n, trunc: !o.NoTrunc})
	}
	return writeList(c.Out, listFormat{Format: o.Format, Quiet: o.Quiet, Table: networkTable, Headers: networkHeaders}, rows)
}

// networkTable is network ls' default table.
const networkTable = "table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}"

var networkHeaders = map[string]string{
	"ID": "NETWORK ID", "Name": "NAME", "Driver": "DRIVER", "Scope": "SCOPE", "IPv4": "IPV4", "IPv6": "IPV6",
	"Internal": "INTERNAL", "Labels": "LABELS", "CreatedAt": "CREATED AT",
}

// networkRow is a network ls row; its methods are the --format fields.
type networkRow struct {
	n     network.Summary
	trunc bool
}

func (r *networkRow) ID() string {
	if r.trunc {
		return shortID(r.n.ID)
	}
	return r.n.ID
}

func (r *networkRow) Name() string      { return r.n.Name }
func (r *networkRow) Driver() string    { return r.n.Driver }
func (r *networkRow) Scope() string     { return r.n.Scope }
func (r *networkRow) IPv4() string      { return strconv.FormatBool(r.n.EnableIPv4) }
func (r *networkRow) IPv6() string      { return strconv.FormatBool(r.n.EnableIPv6) }
func (r *networkRow) Internal() string  { return strconv.FormatBool(r.n.Internal) }
func (r *networkRow) CreatedAt() string { return r.n.Created.String() }

// Labels are key=value, sorted, comma-separated.
func (r *networkRow) Labels() string {
	labels := make([]string, 0, len(r.n.Labels))
	for k, v := range r.n.Labels {
		labels = append(labels, k+"="+v)
	}
	sort.Strings(labels)
	return strings.Join(labels, ",")
}

// Label is the value of one label ({{.Label "com.example"}}).
func (r *networkRow) Label(name string) string { return r.n.Labels[name] }

// MarshalJSON is {{json .}}: the fields docker's "json" format prints.
func (r *networkRow) MarshalJSON() ([]byte, error) { return json.Marshal(r.jsonFields()) }

func (r *networkRow) jsonFields() map[string]string {
	return map[string]string{
		"ID": r.ID(), "Name": r.Name(), "Driver": r.Driver(), "Scope": r.Scope(), "IPv4": r.IPv4(), "IPv6": r.IPv6(),
		"Internal": r.Internal(), "Labels": r.Labels(), "CreatedAt": r.CreatedAt(),
	}
}

// NetworkInspect prints networks as JSON or through a template.
func (c *CLI) NetworkInspect(ctx context.Context, names []string, format string, verbose bool) error {
	return c.inspectAll(names, format, func(n string) (inspected, error) {
		res, err := c.API.NetworkInspect(ctx, n, client.NetworkInspectOptions{Verbose: verbose})
		if err != nil {
			return inspected{}, err
		}
		return inspected{typed: res.Network, raw: res.Raw}, nil
	})
}

// NetworkRm removes networks, printing each name; with force a network
// that does not exist is no error. Like docker, it ends with "exit status
// 1" when any failed.
func (c *CLI) NetworkRm(ctx context.Context, names []string, force bool) error {
	err := c.forEach(names, func(n string) error {
		_, err := c.API.NetworkRemove(ctx, n, client.NetworkRemoveOptions{})
		if force && isNotFound(err) {
			return errSkip
		}
		return err
	})
	if err != nil {
		return &StatusError{Code: 1, Msg: "exit status 1"}
	}
	return nil
}

// NetworkPrune removes the networks no container uses (filters: until,
// label, label!) and lists them.
func (c *CLI) NetworkPrune(ctx context.Context, filters []string) error {
	f, err := parseFilterFlags(filters)
	if err != nil {
		return err
	}
	res, err := c.API.NetworkPrune(ctx, client.NetworkPruneOptions{Filters: f})
	if err != nil {
		return err
	}
	printDeleted(c.Out, "Deleted Networks:", res.Report.NetworksDeleted)
	return nil
}

// NetworkConnectOptions are `skiff network connect`'s flags, as given.
type NetworkConnectOptions struct {
	// Aliases are --alias: the container's extra DNS names on the network.
	Aliases []string
	// IPv4 and IPv6 are --ip and --ip6.
	IPv4, IPv6 string
	// Links are --link CONTAINER[:ALIAS].
	Links []string
	// LinkLocalIPs are --link-local-ip.
	LinkLocalIPs []string
	// DriverOpts are --driver-opt key=value.
	DriverOpts []string
	// GwPriority is --gw-priority: the highest provides the default gateway.
	GwPriority int
}

// NetworkConnect connects a container to a network with the endpoint
// settings of NetworkConnectOptions.Endpoint.
func (c *CLI) NetworkConnect(ctx context.Context, netName, ctr string, ep *network.EndpointSettings) error {
	_, err := c.API.NetworkConnect(ctx, netName, client.NetworkConnectOptions{Container: ctr, EndpointConfig: ep})
	return err
}

// Endpoint checks the options as the docker CLI does and turns them into
// the endpoint settings network connect asks for.
func (o NetworkConnectOptions) Endpoint() (*network.EndpointSettings, error) {
	ep := &network.EndpointSettings{
		IPAMConfig: &network.EndpointIPAMConfig{},
		Links:      o.Links,
		Aliases:    o.Aliases,
		DriverOpts: map[string]string{},
		GwPriority: o.GwPriority,
	}
	if ep.Aliases == nil {
		ep.Aliases = []string{}
	}
	for _, l := range o.Links {
		if _, _, err := opts.ParseLink(l); err != nil {
			return nil, flagError("--link", l, err)
		}
	}
	for _, a := range o.Aliases {
		if err := opts.NoControl("alias", a); err != nil {
			return nil, flagError("--alias", a, err)
		}
	}
	var err error
	if o.IPv4 != "" {
		if ep.IPAMConfig.IPv4Address, err = parseIP(o.IPv4); err != nil {
			return nil, flagError("--ip", o.IPv4, err)
		}
	}
	if o.IPv6 != "" {
		if ep.IPAMConfig.IPv6Address, err = parseIP(o.IPv6); err != nil {
			return nil, flagError("--ip6", o.IPv6, err)
		}
	}
	for _, s := range o.LinkLocalIPs {
		a, err := parseIP(s)
		if err != nil {
			return nil, flagError("--link-local-ip", s, err)
		}
		ep.IPAMConfig.LinkLocalIPs = append(ep.IPAMConfig.LinkLocalIPs, a)
	}
	for _, kv := range o.DriverOpts {
		k, v, ok := strings.Cut(kv, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			return nil, errors.New("invalid key/value pair format in driver options")
		}
		ep.DriverOpts[k] = strings.TrimSpace(v)
	}
	return ep, nil
}

// NetworkDisconnect disconnects a container from a network.
func (c *CLI) NetworkDisconnect(ctx context.Context, netName, ctr string, force bool) error {
	_, err := c.API.NetworkDisconnect(ctx, netName, client.NetworkDisconnectOptions{Container: ctr, Force: force})
	return err
}
