package opts

import (
	"fmt"
	"net"
	"strings"
)

// HostGateway is the --add-host address that stands for the host.
const HostGateway = "host-gateway"

// ValidateExtraHost checks an --add-host value as the docker CLI does:
// NAME:IP or NAME=IP, an IPv6 address perhaps in brackets, or IP
// host-gateway. It returns NAME:IP, the form the API takes. Beyond
// docker, control characters are refused anywhere in the value: the
// value becomes a line of /etc/hosts.
func ValidateExtraHost(val string) (string, error) {
	if err := NoControl("add-host", val); err != nil {
		return "", err
	}
	k, v, ok := strings.Cut(val, "=")
	if !ok {
		// IPv6 addresses hold colons: split on the first.
		k, v, ok = strings.Cut(val, ":")
	}
	if !ok || k == "" || strings.Contains(k, ":") {
		return "", fmt.Errorf("bad format for add-host: %q", val)
	}
	if v != HostGateway {
		if len(v) > 2 && v[0] == '[' && v[len(v)-1] == ']' {
			v = v[1 : len(v)-1]
		}
		if net.ParseIP(strings.TrimSpace(v)) == nil {
			return "", fmt.Errorf("invalid IP address in add-host: %q", v)
		}
	}
	return k + ":" + v, nil
}

// ValidateExtraHostAPI checks a HostConfig.ExtraHosts entry as the Docker
// daemon does: NAME:IP, split on the first colon, IP an address or
// host-gateway; and, beyond Docker, without control characters. It
// returns the name and the address.
func ValidateExtraHostAPI(val string) (name, ip string, err error) {
	if err := NoControl("add-host", val); err != nil {
		return "", "", err
	}
	name, ip, ok := strings.Cut(val, ":")
	if !ok || name == "" {
		return "", "", fmt.Errorf("bad format for add-host: %q", val)
	}
	if ip != HostGateway && net.ParseIP(strings.TrimSpace(ip)) == nil {
		return "", "", fmt.Errorf("invalid IP address in add-host: %q", ip)
	}
	return name, strings.TrimSpace(ip), nil
}

// NoControl refuses a value holding a control character (a newline, a
// tab, NUL, DEL...). Docker takes them in hostnames, --add-host,
// --dns-search, --dns-option and aliases, which then write arbitrary
// lines into a container's /etc/hosts and /etc/resolv.conf; skiff does
// not. what names the value in the message: "hostname", "add-host".
func NoControl(what, val string) error {
	for _, r := range val {
		if r < 0x20 || r == 0x7f || r >= 0x80 && r < 0xa0 {
			return fmt.Errorf("invalid %s %q: control characters are not allowed", what, val)
		}
	}
	return nil
}

// ParseLink reads a --link value as Docker does: NAME or NAME:ALIAS
// (or /NAME:/SELF/ALIAS, the form inspect shows). It returns the
// container's name and the alias. Beyond Docker, control characters are
// refused: the alias becomes a line of /etc/hosts.
func ParseLink(val string) (name, alias string, err error) {
	if val == "" {
		return "", "", fmt.Errorf("empty string specified for links")
	}
	if err := NoControl("link", val); err != nil {
		return "", "", err
	}
	arr := strings.Split(val, ":")
	if len(arr) > 2 {
		return "", "", fmt.Errorf("bad format for links: %s", val)
	}
	if len(arr) == 1 {
		return val, val, nil
	}
	if strings.HasPrefix(arr[0], "/") {
		i := strings.LastIndex(arr[1], "/")
		return arr[0][1:], arr[1][i+1:], nil
	}
	return arr[0], arr[1], nil
}
