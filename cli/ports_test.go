package cli

import (
	"context"
	"net/http"
	"net/netip"
	"reflect"
	"sort"
	"testing"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
)

func port(s string) network.Port { return network.MustParsePort(s) }

func binding(ip, hostPort string) network.PortBinding {
	b := network.PortBinding{HostPort: hostPort}
	if ip != "" {
		b.HostIP = netip.MustParseAddr(ip)
	}
	return b
}

func portSet(ps ...string) network.PortSet {
	set := network.PortSet{}
	for _, p := range ps {
		set[port(p)] = struct{}{}
	}
	return set
}

// The expectations were checked against docker 28.2.2 (what it sends to
// the API, and its messages).
func TestParsePublish(t *testing.T) {
	tests := []struct {
		in       []string
		exposed  network.PortSet
		bindings network.PortMap
	}{
		{nil, portSet(), network.PortMap{}},
		{[]string{"80"}, portSet("80/tcp"), network.PortMap{port("80/tcp"): {binding("", "")}}},
		{[]string{"8080:80"}, portSet("80/tcp"), network.PortMap{port("80/tcp"): {binding("", "8080")}}},
		{[]string{"127.0.0.1:8080:80"}, portSet("80/tcp"), network.PortMap{port("80/tcp"): {binding("127.0.0.1", "8080")}}},
		{[]string{"127.0.0.1::81/udp"}, portSet("81/udp"), network.PortMap{port("81/udp"): {binding("127.0.0.1", "")}}},
		{[]string{"[::1]:8080:80"}, portSet("80/tcp"), network.PortMap{port("80/tcp"): {binding("::1", "8080")}}},
		{[]string{"::1:80:80"}, portSet("80/tcp"), network.PortMap{port("80/tcp"): {binding("::1", "80")}}},
		{[]string{"[1.2.3.4]:80:80"}, portSet("80/tcp"), network.PortMap{port("80/tcp"): {binding("1.2.3.4", "80")}}},
		{[]string{"80/udp"}, portSet("80/udp"), network.PortMap{port("80/udp"): {binding("", "")}}},
		{[]string{"80/UDP"}, portSet("80/udp"), network.PortMap{port("80/udp"): {binding("", "")}}},
		{[]string{"80/"}, portSet("80/tcp"), network.PortMap{port("80/tcp"): {binding("", "")}}},
		{[]string{":80"}, portSet("80/tcp"), network.PortMap{port("80/tcp"): {binding("", "")}}},
		{[]string{"08080:080"}, portSet("80/tcp"), network.PortMap{port("80/tcp"): {binding("", "8080")}}},
		{[]string{"80-80"}, portSet("80/tcp"), network.PortMap{port("80/tcp"): {binding("", "")}}},
		{[]string{"0:0"}, portSet("0/tcp"), network.PortMap{port("0/tcp"): {binding("", "0")}}},
		{
			[]string{"8080-8081:80-81"}, portSet("80/tcp", "81/tcp"),
			network.PortMap{port("80/tcp"): {binding("", "8080")}, port("81/tcp"): {binding("", "8081")}},
		},
		{
			[]string{"[::1]:9090-9091:90-91"}, portSet("90/tcp", "91/tcp"),
			network.PortMap{port("90/tcp"): {binding("::1", "9090")}, port("91/tcp"): {binding("::1", "9091")}},
		},
		// A host range for one container port: the engine picks from it.
		{[]string{"8080-8081:80"}, portSet("80/tcp"), network.PortMap{port("80/tcp"): {binding("", "8080-8081")}}},
		// docker 28's go-connections reads the first two numbers.
		{[]string{"80-81-82:80"}, portSet("80/tcp"), network.PortMap{port("80/tcp"): {binding("", "80-81")}}},
		{
			[]string{"8080:80", "8081:80", "127.0.0.1:8080:80"}, portSet("80/tcp"),
			network.PortMap{port("80/tcp"): {binding("", "8080"), binding("", "8081"), binding("127.0.0.1", "8080")}},
		},
		{[]string{"published=8080,target=80"}, portSet("80/tcp"), network.PortMap{port("80/tcp"): {binding("", "8080")}}},
		{
			[]string{"published=8080,target=80,protocol=udp,mode=host"}, portSet("80/udp"),
			network.PortMap{port("80/udp"): {binding("", "8080")}},
		},
	}
	for _, tt := range tests {
		exposed, bindings, err := ParsePublish(tt.in)
		if err != nil {
			t.Errorf("ParsePublish(%q): %v", tt.in, err)
			continue
		}
		if !reflect.DeepEqual(exposed, tt.exposed) {
			t.Errorf("ParsePublish(%q) exposed = %v, want %v", tt.in, exposed, tt.exposed)
		}
		if !reflect.DeepEqual(bindings, tt.bindings) {
			t.Errorf("ParsePublish(%q) bindings = %v, want %v", tt.in, bindings, tt.bindings)
		}
	}
}

func TestParsePublishErrors(t *testing.T) {
	tests := []struct{ in, want string }{
		{"99999:80", "invalid hostPort: 99999"},
		{"80:99999", "invalid containerPort: 99999"},
		{"65536", "invalid containerPort: 65536"},
		{"abc", "invalid containerPort: abc"},
		{"+80:80", "invalid hostPort: +80"},
		{"81-80:80", "invalid hostPort: 81-80"},
		{"80-70:80-70", "invalid containerPort: 80-70"},
		{"8080-8082:80-81", "invalid ranges specified for container and host Ports: 80-81 and 8080-8082"},
		{"1.2.3:80:80", "invalid IP address: 1.2.3"},
		{"8080:80:80:80", "invalid IP address: 8080:80"},
		{"127.0.0.1:80", "invalid hostPort: 127.0.0.1"},
		{"[::1:80:80", "invalid IP address [::1: address [::1:: missing ']' in address"},
		{"80/xyz", "invalid proto: xyz"},
		{"80/XYZ", "invalid proto: XYZ"},
		{"", "no port specified: <empty>"},
		{"/udp", "no port specified: /udp<empty>"},
		// The order of the checks: the address, then the ports, then the protocol.
		{"1.2.3:80:80/xyz", "invalid IP address: 1.2.3"},
		{"1.2.3:abc:80", "invalid IP address: 1.2.3"},
		{"abc:80/xyz", "invalid hostPort: abc"},
		{"target=80,bogus", "invalid publish opts format (should be name=value but got 'bogus')"},
	}
	for _, tt := range tests {
		_, _, err := ParsePublish([]string{tt.in})
		if err == nil || err.Error() != tt.want {
			t.Errorf("ParsePublish(%q) error = %v, want %q", tt.in, err, tt.want)
		}
	}
}

func TestParseExpose(t *testing.T) {
	tests := []struct {
		in   []string
		want network.PortSet
	}{
		{[]string{"80"}, portSet("80/tcp")},
		{[]string{"80/udp", "90-91/sctp"}, portSet("80/udp", "90/sctp", "91/sctp")},
		{[]string{"7000-7001"}, portSet("7000/tcp", "7001/tcp")},
		{[]string{"0", "080", "90-90/sctp"}, portSet("0/tcp", "80/tcp", "90/sctp")},
		{[]string{"80-81-82"}, portSet("80/tcp", "81/tcp")},
		{[]string{"80/xyz"}, portSet("80/xyz")},
	}
	for _, tt := range tests {
		got := network.PortSet{}
		if err := ParseExpose(tt.in, got); err != nil {
			t.Errorf("ParseExpose(%q): %v", tt.in, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseExpose(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
	errs := []struct{ in, want string }{
		{"80:90", "invalid port format for --expose: 80:90"},
		{"abc", `invalid range format for --expose: abc, error: strconv.ParseUint: parsing "abc": invalid syntax`},
		{"99999", `invalid range format for --expose: 99999, error: strconv.ParseUint: parsing "99999": value out of range`},
		{"80-70", "invalid range format for --expose: 80-70, error: invalid range specified for port: 80-70"},
		{"80-", `invalid range format for --expose: 80-, error: strconv.ParseUint: parsing "": invalid syntax`},
		{"", "invalid range format for --expose: , error: empty string specified for ports"},
		{"/udp", "invalid range format for --expose: /udp, error: empty string specified for ports"},
	}
	for _, tt := range errs {
		err := ParseExpose([]string{tt.in}, network.PortSet{})
		if err == nil || err.Error() != tt.want {
			t.Errorf("ParseExpose(%q) error = %v, want %q", tt.in, err, tt.want)
		}
	}
}

func TestFormatPorts(t *testing.T) {
	ip := netip.MustParseAddr
	tests := []struct {
		name string
		in   []container.PortSummary
		want string
	}{
		{"none", nil, ""},
		{"exposed only", []container.PortSummary{{PrivatePort: 80, Type: "tcp"}}, "80/tcp"},
		{"udp", []container.PortSummary{{PrivatePort: 53, Type: "udp"}}, "53/udp"},
		{
			"published on all addresses",
			[]container.PortSummary{{IP: ip("0.0.0.0"), PublicPort: 8080, PrivatePort: 80, Type: "tcp"}},
			"0.0.0.0:8080->80/tcp",
		},
		{
			"published on IPv4 and IPv6",
			[]container.PortSummary{
				{IP: ip("::"), PublicPort: 8080, PrivatePort: 80, Type: "tcp"},
				{IP: ip("0.0.0.0"), PublicPort: 8080, PrivatePort: 80, Type: "tcp"},
			},
			"0.0.0.0:8080->80/tcp, [::]:8080->80/tcp",
		},
		{
			"published without an address is on every address",
			[]container.PortSummary{{PublicPort: 8080, PrivatePort: 80, Type: "tcp"}},
			"0.0.0.0:8080->80/tcp",
		},
		{
			"published on the same port, on loopback",
			[]container.PortSummary{{IP: ip("127.0.0.1"), PublicPort: 5432, PrivatePort: 5432, Type: "tcp"}},
			"127.0.0.1:5432->5432/tcp",
		},
		{
			"a run on the same ports is grouped",
			[]container.PortSummary{
				{IP: ip("0.0.0.0"), PublicPort: 81, PrivatePort: 81, Type: "tcp"},
				{IP: ip("0.0.0.0"), PublicPort: 80, PrivatePort: 80, Type: "tcp"},
				{IP: ip("::"), PublicPort: 80, PrivatePort: 80, Type: "tcp"},
				{IP: ip("::"), PublicPort: 81, PrivatePort: 81, Type: "tcp"},
			},
			"0.0.0.0:80-81->80-81/tcp, [::]:80-81->80-81/tcp",
		},
		{
			"a run on other ports is not",
			[]container.PortSummary{
				{IP: ip("0.0.0.0"), PublicPort: 8081, PrivatePort: 81, Type: "tcp"},
				{IP: ip("0.0.0.0"), PublicPort: 8080, PrivatePort: 80, Type: "tcp"},
			},
			"0.0.0.0:8080->80/tcp, 0.0.0.0:8081->81/tcp",
		},
		{
			"exposed runs, broken runs, protocols apart",
			[]container.PortSummary{
				{PrivatePort: 9002, Type: "tcp"}, {PrivatePort: 9000, Type: "tcp"}, {PrivatePort: 9001, Type: "tcp"},
				{PrivatePort: 9005, Type: "tcp"}, {PrivatePort: 9001, Type: "udp"},
			},
			"9000-9002/tcp, 9005/tcp, 9001/udp",
		},
		{
			// This one was checked against docker 28.2.2's ps.
			"mixed",
			[]container.PortSummary{
				{PrivatePort: 80, PublicPort: 8080, Type: "tcp", IP: ip("0.0.0.0")},
				{PrivatePort: 80, PublicPort: 8080, Type: "tcp", IP: ip("::")},
				{PrivatePort: 81, PublicPort: 8081, Type: "tcp", IP: ip("0.0.0.0")},
				{PrivatePort: 82, PublicPort: 82, Type: "tcp", IP: ip("0.0.0.0")},
				{PrivatePort: 83, PublicPort: 83, Type: "tcp", IP: ip("0.0.0.0")},
				{PrivatePort: 9000, Type: "tcp"}, {PrivatePort: 9001, Type: "tcp"}, {PrivatePort: 53, Type: "udp"},
			},
			"53/udp, 0.0.0.0:82-83->82-83/tcp, 9000-9001/tcp, 0.0.0.0:8080->80/tcp, [::]:8080->80/tcp, 0.0.0.0:8081->81/tcp",
		},
	}
	for _, tt := range tests {
		in := append([]container.PortSummary(nil), tt.in...)
		if got := formatPorts(tt.in); got != tt.want {
			t.Errorf("%s: formatPorts = %q, want %q", tt.name, got, tt.want)
		}
		if !reflect.DeepEqual(in, tt.in) {
			t.Errorf("%s: formatPorts changed its argument", tt.name)
		}
	}
}

func TestNaturalLess(t *testing.T) {
	want := []string{
		"9/tcp -> 127.0.0.1:10009",
		"53/udp -> 0.0.0.0:5353",
		"80/tcp -> 0.0.0.0:8080",
		"80/tcp -> 0.0.0.0:8081",
		"80/tcp -> [::]:8080",
		"443/tcp -> 0.0.0.0:443",
		"a",
		"a1",
		"a01",
		"a2",
		"a10",
		"b",
		"bridge",
		"host",
		"net2",
		"net10",
	}
	got := append([]string(nil), want...)
	for i := range got {
		j := (i * 7) % len(got)
		got[i], got[j] = got[j], got[i]
	}
	sort.Slice(got, func(i, j int) bool { return naturalLess(got[i], got[j]) })
	if !reflect.DeepEqual(got, want) {
		t.Errorf("sorted = %q\nwant     %q", got, want)
	}
	for _, s := range want {
		if naturalLess(s, s) {
			t.Errorf("naturalLess(%q, %q) = true", s, s)
		}
	}
}

func mustAddr(s string) netip.Addr { return netip.MustParseAddr(s) }

// docker 28.2.2 printed the expectations for the same container.
func TestPort(t *testing.T) {
	const inspect = `{"Id":"c0ffee","Name":"/web","Config":{},"NetworkSettings":{"Ports":{
		"80/tcp":[{"HostIp":"0.0.0.0","HostPort":"8080"},{"HostIp":"::","HostPort":"8080"}],
		"9/tcp":[{"HostIp":"127.0.0.1","HostPort":"10009"}],
		"53/udp":[{"HostIp":"0.0.0.0","HostPort":"5353"}],
		"443/tcp":null}}}`
	tests := []struct {
		private string
		want    string
		err     string
	}{
		{"", "9/tcp -> 127.0.0.1:10009\n53/udp -> 0.0.0.0:5353\n80/tcp -> 0.0.0.0:8080\n80/tcp -> [::]:8080\n", ""},
		{"80", "0.0.0.0:8080\n[::]:8080\n", ""},
		{"80/tcp", "0.0.0.0:8080\n[::]:8080\n", ""},
		{"53/udp", "0.0.0.0:5353\n", ""},
		{"443", "", "Error: No public port '443' published for web"},
		{"9/udp", "", "Error: No public port '9/udp' published for web"},
		{"abc", "", `Error: invalid port (abc): strconv.ParseUint: parsing "abc": invalid syntax`},
	}
	for _, tt := range tests {
		c, _, out, _ := newTestCLI(t, map[string]http.HandlerFunc{"GET /containers/web/json": replyRaw(inspect)})
		err := c.Port(context.Background(), "web", tt.private)
		if tt.err != "" {
			if err == nil || err.Error() != tt.err {
				t.Errorf("port web %s: error %v, want %q", tt.private, err, tt.err)
			}
		} else if err != nil {
			t.Errorf("port web %s: %v", tt.private, err)
		}
		if out.String() != tt.want {
			t.Errorf("port web %s:\n%s\nwant:\n%s", tt.private, out, tt.want)
		}
	}
}
