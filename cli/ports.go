package cli

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sort"
	"strconv"
	"strings"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
)

// ParsePublish reads -p/--publish values ([ip:][hostPort:]containerPort[/proto],
// ranges, [::1] for IPv6, or the long form published=8080,target=80) the way
// the docker 28 CLI does. It returns the ports to expose (every published
// port is exposed too) and their host bindings; an empty HostIP means every
// address and an empty HostPort a port the engine chooses.
func ParsePublish(specs []string) (network.PortSet, network.PortMap, error) {
	exposed := network.PortSet{}
	bindings := network.PortMap{}
	for _, spec := range specs {
		spec, err := publishShortForm(spec)
		if err != nil {
			return nil, nil, err
		}
		mappings, err := parsePortSpec(spec)
		if err != nil {
			return nil, nil, err
		}
		for _, m := range mappings {
			exposed[m.port] = struct{}{}
			bindings[m.port] = append(bindings[m.port], m.binding)
		}
	}
	return exposed, bindings, nil
}

// publishShortForm turns the long form (published=8080,target=80,protocol=udp)
// into 8080:80/udp; other values are returned as they are.
func publishShortForm(spec string) (string, error) {
	if !strings.Contains(spec, "=") {
		return spec, nil
	}
	params := map[string]string{"protocol": "tcp"}
	for _, param := range strings.Split(spec, ",") {
		k, v, ok := strings.Cut(param, "=")
		if !ok || k == "" {
			return "", fmt.Errorf("invalid publish opts format (should be name=value but got '%s')", param)
		}
		params[k] = v
	}
	return fmt.Sprintf("%s:%s/%s", params["published"], params["target"], params["protocol"]), nil
}

type portMapping struct {
	port    network.Port
	binding network.PortBinding
}

// parsePortSpec is go-connections' nat.ParsePortSpec as vendored by docker
// 28 (the order of its checks decides which error a bad spec gets).
func parsePortSpec(raw string) ([]portMapping, error) {
	ip, hostPort, containerPort := splitPortSpec(raw)
	containerPort, proto, _ := strings.Cut(containerPort, "/")
	if containerPort == "" {
		proto = ""
	} else if proto == "" {
		proto = "tcp"
	}
	if ip != "" && ip[0] == '[' {
		// [::1] for IPv6.
		host, _, err := net.SplitHostPort(ip + ":")
		if err != nil {
			return nil, fmt.Errorf("invalid IP address %v: %w", ip, err)
		}
		ip = host
	}
	var addr netip.Addr
	if ip != "" {
		a, err := netip.ParseAddr(ip)
		if err != nil || a.Zone() != "" {
			return nil, errors.New("invalid IP address: " + ip)
		}
		addr = a.Unmap()
	}
	if containerPort == "" {
		return nil, fmt.Errorf("no port specified: %s<empty>", raw)
	}
	start, end, err := parsePortRange(containerPort)
	if err != nil {
		return nil, errors.New("invalid containerPort: " + containerPort)
	}
	var hostStart, hostEnd uint64
	if hostPort != "" {
		hostStart, hostEnd, err = parsePortRange(hostPort)
		if err != nil {
			return nil, errors.New("invalid hostPort: " + hostPort)
		}
		// A host range for one container port is the range the
		// engine picks a free port from.
		if end-start != hostEnd-hostStart && end != start {
			return nil, fmt.Errorf("invalid ranges specified for container and host Ports: %s and %s", containerPort, hostPort)
		}
	}
	lower := strings.ToLower(proto)
	if lower != "tcp" && lower != "udp" && lower != "sctp" {
		return nil, errors.New("invalid proto: " + proto)
	}
	count := end - start + 1
	out := make([]portMapping, 0, count)
	for i := uint64(0); i < count; i++ {
		hp := ""
		if hostPort != "" {
			hp = strconv.FormatUint(hostStart+i, 10)
			if count == 1 && hostStart != hostEnd {
				hp += "-" + strconv.FormatUint(hostEnd, 10)
			}
		}
		p, _ := network.PortFrom(uint16(start+i), network.IPProtocol(lower))
		out = append(out, portMapping{port: p, binding: network.PortBinding{HostIP: addr, HostPort: hp}})
	}
	return out, nil
}

// splitPortSpec splits [ip:][hostPort:]containerPort; the IP is everything
// before the last two colons, so ::1:80:80 works.
func splitPortSpec(raw string) (ip, hostPort, containerPort string) {
	parts := strings.Split(raw, ":")
	n := len(parts)
	switch n {
	case 1:
		return "", "", parts[0]
	case 2:
		return "", parts[0], parts[1]
	default:
		return strings.Join(parts[:n-2], ":"), parts[n-2], parts[n-1]
	}
}

// parsePortRange reads "80" or "8000-8010" as docker 28's vendored
// go-connections does: "80-81-82" is 80-81, and the errors are strconv's.
func parsePortRange(ports string) (start, end uint64, err error) {
	if ports == "" {
		return 0, 0, errors.New("empty string specified for ports")
	}
	if !strings.Contains(ports, "-") {
		start, err = strconv.ParseUint(ports, 10, 16)
		return start, start, err
	}
	parts := strings.Split(ports, "-")
	if start, err = strconv.ParseUint(parts[0], 10, 16); err != nil {
		return 0, 0, err
	}
	if end, err = strconv.ParseUint(parts[1], 10, 16); err != nil {
		return 0, 0, err
	}
	if end < start {
		return 0, 0, errors.New("invalid range specified for port: " + ports)
	}
	return start, end, nil
}

// ParseExpose adds --expose values (80, 80/udp, 8000-8010/tcp) to set.
func ParseExpose(specs []string, set network.PortSet) error {
	for _, e := range specs {
		if strings.Contains(e, ":") {
			return fmt.Errorf("invalid port format for --expose: %s", e)
		}
		port, proto, _ := strings.Cut(e, "/")
		if port == "" {
			proto = ""
		} else if proto == "" {
			proto = "tcp"
		}
		start, end, err := parsePortRange(port)
		if err != nil {
			return fmt.Errorf("invalid range format for --expose: %s, error: %w", e, err)
		}
		for n := start; n <= end; n++ {
			p, _ := network.PortFrom(uint16(n), network.IPProtocol(proto))
			set[p] = struct{}{}
		}
	}
	return nil
}

// formatPorts is the PORTS column of ps, docker's DisplayablePorts:
// sorted by container port; runs of consecutive ports published on the
// same port number are grouped (0.0.0.0:80-81->80-81/tcp, 9000-9001/tcp),
// those published on another host port are listed one by one at the end.
// A published port without an address is shown on 0.0.0.0.
func formatPorts(in []container.PortSummary) string {
	type group struct{ first, last uint16 }
	ports := make([]container.PortSummary, len(in))
	copy(ports, in)
	for i, p := range ports {
		if p.PublicPort != 0 && !p.IP.IsValid() {
			ports[i].IP = netip.IPv4Unspecified()
		}
	}
	ipString := func(a netip.Addr) string {
		if !a.IsValid() {
			return ""
		}
		return a.String()
	}
	sort.Slice(ports, func(i, j int) bool {
		a, b := ports[i], ports[j]
		if a.PrivatePort != b.PrivatePort {
			return a.PrivatePort < b.PrivatePort
		}
		if a.IP != b.IP {
			return ipString(a.IP) < ipString(b.IP)
		}
		if a.PublicPort != b.PublicPort {
			return a.PublicPort < b.PublicPort
		}
		return a.Type < b.Type
	})
	groups := map[string]*group{}
	var keys, result, hostMappings []string
	for _, p := range ports {
		key := p.Type
		if p.IP.IsValid() {
			if p.PublicPort != p.PrivatePort {
				hostMappings = append(hostMappings, fmt.Sprintf("%s->%d/%s",
					net.JoinHostPort(p.IP.String(), strconv.Itoa(int(p.PublicPort))), p.PrivatePort, p.Type))
				continue
			}
			key = p.IP.String() + "/" + p.Type
		}
		g := groups[key]
		switch {
		case g == nil:
			groups[key] = &group{first: p.PrivatePort, last: p.PrivatePort}
			keys = append(keys, key)
		case p.PrivatePort == g.last+1:
			g.last = p.PrivatePort
		default:
			result = append(result, formatPortGroup(key, g.first, g.last))
			groups[key] = &group{first: p.PrivatePort, last: p.PrivatePort}
		}
	}
	for _, k := range keys {
		result = append(result, formatPortGroup(k, groups[k].first, groups[k].last))
	}
	return strings.Join(append(result, hostMappings...), ", ")
}

// formatPortGroup prints a group keyed "proto" or "ip/proto".
func formatPortGroup(key string, first, last uint16) string {
	ip, proto, ok := strings.Cut(key, "/")
	if !ok {
		ip, proto = "", key
	}
	ports := strconv.Itoa(int(first))
	if first != last {
		ports += "-" + strconv.Itoa(int(last))
	}
	if ip != "" {
		ports = net.JoinHostPort(ip, ports) + "->" + ports
	}
	return ports + "/" + proto
}

// naturalLess orders strings with their runs of digits compared as
// numbers ("9/tcp" before "53/udp"), as the docker CLI sorts (fvbommel's
// sortorder.NaturalLess).
func naturalLess(a, b string) bool {
	isDigit := func(c byte) bool { return '0' <= c && c <= '9' }
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		ca, cb := a[i], b[j]
		da, db := isDigit(ca), isDigit(cb)
		switch {
		case da != db:
			return da // digits sort before everything else
		case !da:
			if ca != cb {
				return ca < cb
			}
			i++
			j++
		default:
			for i < len(a) && a[i] == '0' {
				i++
			}
			for j < len(b) && b[j] == '0' {
				j++
			}
			na, nb := i, j
			for i < len(a) && isDigit(a[i]) {
				i++
			}
			for j < len(b) && isDigit(b[j]) {
				j++
			}
			if la, lb := i-na, j-nb; la != lb {
				return la < lb
			}
			if x, y := a[na:i], b[nb:j]; x != y {
				return x < y
			}
			// Equal numbers: fewer leading zeros first.
			if na != nb {
				return na < nb
			}
		}
	}
	return len(a) < len(b)
}
