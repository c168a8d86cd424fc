package cli

import (
	"encoding/csv"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/skiff-dev/skiff/opts"
)

// NetworkOptions are the network flags of run and create, as given.
type NetworkOptions struct {
	// Networks are --network/--net, each a name ("mynet", "host",
	// "container:web") or the long form name=mynet,alias=a,ip=10.1.0.5.
	Networks []string
	// Aliases are --network-alias: DNS names on a user-defined network.
	Aliases []string
	// Links are --link NAME[:ALIAS].
	Links []string
	// IP and IP6 are --ip and --ip6.
	IP, IP6 string
	// LinkLocalIPs are --link-local-ip.
	LinkLocalIPs []string
	// MacAddress is --mac-address.
	MacAddress string
	// Publish are -p/--publish; PublishAll is -P/--publish-all.
	Publish    []string
	PublishAll bool
	// Expose are --expose.
	Expose []string
	// DNS, DNSSearch and DNSOptions are --dns, --dns-search and --dns-option.
	DNS, DNSSearch, DNSOptions []string
	// ExtraHosts are --add-host NAME:IP or NAME=IP (IP may be host-gateway).
	ExtraHosts []string
}

// Apply checks the flags as the docker CLI does and sets the network parts
// of cfg (ExposedPorts) and hc (NetworkMode, PortBindings, PublishAllPorts,
// Links, Dns, DnsSearch, DnsOptions, ExtraHosts). It returns the endpoint
// settings for ContainerCreate, keyed by network: "default" when no
// --network was given; a single network given without options has none.
func (o NetworkOptions) Apply(cfg *container.Config, hc *container.HostConfig) (*network.NetworkingConfig, error) {
	for _, l := range o.Links {
		if _, _, err := opts.ParseLink(l); err != nil {
			return nil, flagError("--link", l, err)
		}
	}
	for _, a := range o.Aliases {
		if err := opts.NoControl("alias", a); err != nil {
			return nil, flagError("--network-alias", a, err)
		}
	}
	hc.Links = o.Links
	hc.DNS = []netip.Addr{}
	for _, d := range o.DNS {
		a, err := parseIP(d)
		if err != nil {
			return nil, flagError("--dns", d, fmt.Errorf("IP address is not correctly formatted: %s", d))
		}
		hc.DNS = append(hc.DNS, a)
	}
	hc.DNSSearch = []string{}
	for _, d := range o.DNSSearch {
		v, err := validateDNSSearch(d)
		if err != nil {
			return nil, flagError("--dns-search", d, err)
		}
		hc.DNSSearch = append(hc.DNSSearch, v)
	}
	hc.DNSOptions = []string{}
	for _, d := range o.DNSOptions {
		if err := opts.NoControl("dns-option", d); err != nil {
			return nil, flagError("--dns-option", d, err)
		}
		hc.DNSOptions = append(hc.DNSOptions, d)
	}
	hc.ExtraHosts = nil
	for _, h := range o.ExtraHosts {
		v, err := opts.ValidateExtraHost(h)
		if err != nil {
			return nil, flagError("--add-host", h, err)
		}
		hc.ExtraHosts = append(hc.ExtraHosts, v)
	}
	attachments := make([]attachment, 0, len(o.Networks))
	for _, n := range o.Networks {
		a, err := parseAttachment(n)
		if err != nil {
			return nil, flagError("--network", n, err)
		}
		attachments = append(attachments, a)
	}
	if o.MacAddress != "" {
		if _, err := net.ParseMAC(strings.TrimSpace(o.MacAddress)); err != nil {
			return nil, fmt.Errorf("%s is not a valid mac address", o.MacAddress)
		}
	}
	exposed, bindings, err := ParsePublish(o.Publish)
	if err != nil {
		return nil, err
	}
	if err := ParseExpose(o.Expose, exposed); err != nil {
		return nil, err
	}
	cfg.ExposedPorts = exposed
	hc.PortBindings = bindings
	hc.PublishAllPorts = o.PublishAll
	hc.NetworkMode = network.NetworkDefault
	if len(attachments) > 0 {
		hc.NetworkMode = container.NetworkMode(attachments[0].target)
	}
	endpoints, err := o.endpoints(attachments)
	if err != nil {
		return nil, err
	}
	return &network.NetworkingConfig{EndpointsConfig: endpoints}, nil
}

// attachment is one --network value.
type attachment struct {
	target       string
	aliases      []string
	links        []string
	ipv4, ipv6   netip.Addr
	linkLocalIPs []netip.Addr
	macAddress   string
	driverOpts   map[string]string
	gwPriority   int
}

// longNetworkSyntax tells name=mynet,alias=a from a network name.
var longNetworkSyntax = regexp.MustCompile(`\w+=\w+(,\w+=\w+)*`)

// parseAttachment reads a --network value as docker's NetworkOpt does
// (the long form is lower-cased, values too).
func parseAttachment(v string) (attachment, error) {
	if !longNetworkSyntax.MatchString(v) {
		return attachment{target: v}, nil
	}
	fields, err := csv.NewReader(strings.NewReader(v)).Read()
	if err != nil {
		return attachment{}, err
	}
	var a attachment
	for _, field := range fields {
		key, val, ok := strings.Cut(strings.ToLower(field), "=")
		if !ok || key == "" {
			return attachment{}, fmt.Errorf("invalid field %s", field)
		}
		key, val = strings.TrimSpace(key), strings.TrimSpace(val)
		switch key {
		case "name":
			a.target = val
		case "alias":
			if err := opts.NoControl("alias", val); err != nil {
				return attachment{}, err
			}
			a.aliases = append(a.aliases, val)
		case "ip":
			if a.ipv4, err = netip.ParseAddr(val); err != nil {
				return attachment{}, err
			}
		case "ip6":
			if a.ipv6, err = netip.ParseAddr(val); err != nil {
				return attachment{}, err
			}
		case "mac-address":
			a.macAddress = val
		case "link-local-ip":
			ip, err := netip.ParseAddr(val)
			if err != nil {
				return attachment{}, err
			}
			a.linkLocalIPs = append(a.linkLocalIPs, ip)
		case "driver-opt":
			k, v, ok := strings.Cut(val, "=")
			if !ok || k == "" {
				return attachment{}, errors.New("invalid key value pair format in driver options")
			}
			if a.driverOpts == nil {
				a.driverOpts = map[string]string{}
			}
			a.driverOpts[strings.TrimSpace(k)] = strings.TrimSpace(v)
		case "gw-priority":
			if a.gwPriority, err = strconv.Atoi(val); err != nil {
				var numErr *strconv.NumError
				if errors.As(err, &numErr) {
					err = numErr.Err
				}
				return attachment{}, fmt.Errorf("invalid gw-priority (%s): %w", val, err)
			}
		default:
			return attachment{}, errors.New("invalid field key " + key)
		}
	}
	if a.target == "" {
		return attachment{}, errors.New("network name/id is not specified")
	}
	return a, nil
}

// endpoints is docker's parseNetworkOpts: --ip, --ip6, --network-alias,
// --link (on a user-defined network), --link-local-ip and --mac-address
// apply to the first network, or to "default" when none was given.
func (o NetworkOptions) endpoints(attachments []attachment) (map[string]*network.EndpointSettings, error) {
	endpoints := make(map[string]*network.EndpointSettings, len(attachments))
	if len(attachments) == 0 {
		a := attachment{target: network.NetworkDefault}
		if err := o.applyTo(&a); err != nil {
			return nil, err
		}
		ep, err := a.endpoint()
		if err != nil {
			return nil, err
		}
		endpoints[a.target] = ep
		return endpoints, nil
	}
	var userDefined, other bool
	for i, a := range attachments {
		if container.NetworkMode(a.target).IsUserDefined() {
			userDefined = true
		} else {
			other = true
		}
		if i == 0 {
			if err := o.applyTo(&a); err != nil {
				return nil, err
			}
		}
		ep, err := a.endpoint()
		if err != nil {
			return nil, err
		}
		if _, ok := endpoints[a.target]; ok {
			return nil, fmt.Errorf("network %q is specified multiple times", a.target)
		}
		// A single network without options has no endpoint settings.
		if i == 0 && len(attachments) == 1 && reflect.ValueOf(*ep).IsZero() {
			continue
		}
		endpoints[a.target] = ep
	}
	if userDefined && other {
		return nil, errors.New("conflicting options: cannot attach both user-defined and non-user-defined network-modes")
	}
	return endpoints, nil
}

// applyTo sets the single-network flags on the first network, refusing
// them where the long form already set the same thing.
func (o NetworkOptions) applyTo(a *attachment) error {
	switch {
	case len(a.aliases) > 0 && len(o.Aliases) > 0:
		return errors.New("conflicting options: cannot specify both --network-alias and per-network alias")
	case len(a.links) > 0 && len(o.Links) > 0:
		return errors.New("conflicting options: cannot specify both --link and per-network links")
	case a.ipv4.IsValid() && o.IP != "":
		return errors.New("conflicting options: cannot specify both --ip and per-network IPv4 address")
	case a.ipv6.IsValid() && o.IP6 != "":
		return errors.New("conflicting options: cannot specify both --ip6 and per-network IPv6 address")
	case a.macAddress != "" && o.MacAddress != "":
		return errors.New("conflicting options: cannot specify both --mac-address and per-network MAC address")
	case len(a.linkLocalIPs) > 0 && len(o.LinkLocalIPs) > 0:
		return errors.New("conflicting options: cannot specify both --link-local-ip and per-network link-local IP addresses")
	}
	if len(o.Aliases) > 0 {
		a.aliases = append([]string(nil), o.Aliases...)
	}
	// On a user-defined network a link is an alias; on the default
	// bridge it is a legacy link, in HostConfig.Links only.
	if container.NetworkMode(a.target).IsUserDefined() && len(o.Links) > 0 {
		a.links = append([]string(nil), o.Links...)
	}
	var err error
	if o.IP != "" {
		if a.ipv4, err = parseIP(o.IP); err != nil {
			return flagError("--ip", o.IP, err)
		}
	}
	if o.IP6 != "" {
		if a.ipv6, err = parseIP(o.IP6); err != nil {
			return flagError("--ip6", o.IP6, err)
		}
	}
	if o.MacAddress != "" {
		a.macAddress = o.MacAddress
	}
	for _, s := range o.LinkLocalIPs {
		ip, err := parseIP(s)
		if err != nil {
			return flagError("--link-local-ip", s, err)
		}
		a.linkLocalIPs = append(a.linkLocalIPs, ip)
	}
	return nil
}

// endpoint is the attachment's endpoint settings.
func (a attachment) endpoint() (*network.EndpointSettings, error) {
	if strings.TrimSpace(a.target) == "" {
		return nil, errors.New("no name set for network")
	}
	if !container.NetworkMode(a.target).IsUserDefined() {
		if len(a.aliases) > 0 {
			return nil, errors.New("network-scoped aliases are only supported for user-defined networks")
		}
		if len(a.links) > 0 {
			return nil, errors.New("links are only supported for user-defined networks")
		}
	}
	ep := &network.EndpointSettings{
		Aliases:    a.aliases,
		Links:      a.links,
		DriverOpts: a.driverOpts,
		GwPriority: a.gwPriority,
	}
	if a.ipv4.IsValid() || a.ipv6.IsValid() || len(a.linkLocalIPs) > 0 {
		ep.IPAMConfig = &network.EndpointIPAMConfig{IPv4Address: a.ipv4, IPv6Address: a.ipv6, LinkLocalIPs: a.linkLocalIPs}
	}
	if a.macAddress != "" {
		mac, err := net.ParseMAC(strings.TrimSpace(a.macAddress))
		if err != nil {
			return nil, fmt.Errorf("%s is not a valid mac address", a.macAddress)
		}
		ep.MacAddress = network.HardwareAddr(mac)
	}
	return ep, nil
}

var (
	dnsAlpha  = regexp.MustCompile(`[a-zA-Z]`)
	dnsDomain = regexp.MustCompile(`^(:?(:?[a-zA-Z0-9]|(:?[a-zA-Z0-9][a-zA-Z0-9\-]*[a-zA-Z0-9]))(:?\.(:?[a-zA-Z0-9]|(:?[a-zA-Z0-9][a-zA-Z0-9\-]*[a-zA-Z0-9])))*)\.?\s*$`)
)

// validateDNSSearch is docker's check of a --dns-search domain ("." for
// none); it returns the domain without a trailing dot.
func validateDNSSearch(v string) (string, error) {
	if v = strings.Trim(v, " "); v == "." {
		return v, nil
	}
	if dnsAlpha.FindString(v) == "" {
		return "", fmt.Errorf("%s is not a valid domain", v)
	}
	if m := dnsDomain.FindStringSubmatch(v); len(m) > 0 && len(m[1]) < 255 {
		return m[1], nil
	}
	return "", fmt.Errorf("%s is not a valid domain", v)
}
