package netslirp

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
)

func TestStoreBuiltinsAndCreate(t *testing.T) {
	dir := t.TempDir()
	s, err := OpenStore(dir, "", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, n := range s.List() {
		names = append(names, n.Name+"/"+n.Driver)
	}
	if got := strings.Join(names, " "); got != "bridge/bridge host/host none/null" {
		t.Fatalf("builtins: %s", got)
	}
	br, _ := s.Get("bridge")
	if br.Subnet.String() != "172.17.0.0/16" || br.Gateway.String() != "172.17.0.1" || br.Bridge != "skiff0" {
		t.Errorf("bridge: %+v", br)
	}

	a, err := s.Create(CreateOptions{Name: "net-a"})
	if err != nil {
		t.Fatal(err)
	}
	if a.Subnet.String() != "172.18.0.0/16" || a.Gateway.String() != "172.18.0.1" || a.Bridge != "br-"+a.ID[:12] {
		t.Errorf("a: %+v", a)
	}
	b, err := s.Create(CreateOptions{Name: "net-b", Subnet: "10.5.0.0/16", IPRange: "10.5.1.0/24"})
	if err != nil {
		t.Fatal(err)
	}
	if b.Gateway.String() != "10.5.1.1" {
		t.Errorf("gateway of b: %s", b.Gateway)
	}
	for _, tc := range []struct {
		o    CreateOptions
		kind error
		msg  string
	}{
		{CreateOptions{Name: "net-a"}, ErrConflict, "network with name net-a already exists"},
		{CreateOptions{Name: "x", Subnet: "10.5.128.0/17"}, ErrForbidden, "Pool overlaps with other one on this address space"},
		{CreateOptions{Name: "x", Subnet: "10.6.0.0/16", IPRange: "10.7.0.0/24"}, ErrInvalid, "invalid ip-range 10.7.0.0/24: parent subnet 10.6.0.0/16 doesn't contain ip-range"},
		{CreateOptions{Name: "x", Subnet: "10.6.0.0/16", Gateway: "10.8.0.1"}, ErrInvalid, "invalid gateway 10.8.0.1: parent subnet 10.6.0.0/16 doesn't contain this address"},
		{CreateOptions{Name: "x", IPRange: "10.6.0.0/24"}, ErrInvalid, "every ip-range or gateway must have a corresponding subnet"},
		{CreateOptions{Name: "x", Driver: "host"}, ErrForbidden, `only one instance of "host" network is allowed`},
		{CreateOptions{Name: "x", Driver: "nope"}, ErrNotFound, "plugin not found"},
	} {
		_, err := s.Create(tc.o)
		if !errors.Is(err, tc.kind) || err == nil || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("Create(%+v) = %v; want %v containing %q", tc.o, err, tc.kind, tc.msg)
		}
	}
	if _, err := s.Create(CreateOptions{Name: "x", Options: map[string]string{BridgeNameOption: "skiff0"}}); !errors.Is(err, ErrConflict) {
		t.Errorf("a bridge name another network has: %v", err)
	}
	if _, err := s.Create(CreateOptions{Name: "x", Options: map[string]string{BridgeNameOption: "eth0"}, LinkExists: func(n string) bool { return n == "eth0" }}); !errors.Is(err, ErrConflict) {
		t.Errorf("a bridge name of an existing interface: %v", err)
	}
	// Reopened from disk: the same networks.
	s2, err := OpenStore(dir, "", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := s2.Get(b.ID[:5]); err != nil || got.Name != "net-b" || got.IPRange != b.IPRange {
		t.Errorf("reopened b = %+v, %v", got, err)
	}
	if err := s2.Remove(br.ID); !errors.Is(err, ErrForbidden) {
		t.Errorf("Remove(bridge) = %v", err)
	}
	if err := s2.Remove(a.ID); err != nil {
		t.Fatal(err)
	}
	// (Names that are not hex: "a" could be taken for an ID prefix.)
	if _, err := s2.Get("net-a"); !errors.Is(err, ErrNotFound) {
		t.Errorf("removed a still found: %v", err)
	}
}

func TestDefaultBridgeAvoidsUsedSubnets(t *testing.T) {
	s, err := OpenStore(t.TempDir(), "", "", []netip.Prefix{netip.MustParsePrefix("172.17.0.0/16")})
	if err != nil {
		t.Fatal(err)
	}
	br, _ := s.Get("bridge")
	if br.Subnet.String() != "172.18.0.0/16" || br.Gateway.String() != "172.18.0.1" {
		t.Errorf("default bridge beside a docker0: %s gateway %s", br.Subnet, br.Gateway)
	}
}

func TestLease(t *testing.T) {
	s, err := OpenStore(t.TempDir(), "", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	n, _ := s.Get("bridge")
	var got []string
	for _, id := range []string{"c1", "c2", "c3"} {
		ip, err := s.Lease(n, id, netip.Addr{})
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, ip.String())
	}
	if strings.Join(got, " ") != "172.17.0.2 172.17.0.3 172.17.0.4" {
		t.Errorf("leases in order: %v", got)
	}
	if ip, _ := s.Lease(n, "c2", netip.Addr{}); ip.String() != "172.17.0.3" {
		t.Errorf("second lease of c2: %s", ip)
	}
	s.Release(n.ID, "c2")
	if ip, _ := s.Lease(n, "c4", netip.Addr{}); ip.String() != "172.17.0.3" {
		t.Errorf("freed address not reused: %s", ip)
	}
	if _, err := s.Lease(n, "c5", netip.MustParseAddr("172.17.0.9")); err == nil || !strings.Contains(err.Error(), "user configured subnets") {
		t.Errorf("static address on the default bridge: %v", err)
	}

	small, err := s.Create(CreateOptions{Name: "small", Subnet: "10.9.0.0/29", IPRange: "10.9.0.4/30"})
	if err != nil {
		t.Fatal(err)
	}
	// Range .4-.7: the gateway is .5 (the range's first host), and .7 is
	// the subnet's broadcast: .4 and .6 are all there is.
	var ips []string
	for _, id := range []string{"a", "b", "c"} {
		ip, err := s.Lease(small, id, netip.Addr{})
		if err != nil {
			ips = append(ips, "err")
			continue
		}
		ips = append(ips, ip.String())
	}
	if strings.Join(ips, " ") != "10.9.0.4 10.9.0.6 err" {
		t.Errorf("small range leases: %v (gateway %s)", ips, small.Gateway)
	}
	if _, err := s.Lease(small, "d", netip.MustParseAddr("10.9.0.6")); !errors.Is(err, ErrForbidden) {
		t.Errorf("taken static address: %v", err)
	}
	if ip, err := s.Lease(small, "d", netip.MustParseAddr("10.9.0.2")); err != nil || ip.String() != "10.9.0.2" {
		t.Errorf("static address outside the range but inside the subnet: %s %v", ip, err)
	}
}

// The messages are Docker's daemon's (validateIpamConfig), word for word.
func TestValidIPAM(t *testing.T) {
	for _, tc := range []struct {
		o    CreateOptions
		want string // "" for valid
	}{
		{CreateOptions{}, ""},
		{CreateOptions{Subnet: "10.9.0.0/16", IPRange: "10.9.1.0/24", Gateway: "10.9.0.254"}, ""},
		{CreateOptions{Gateway: "10.9.0.1"}, "every ip-range or gateway must have a corresponding subnet"},
		{CreateOptions{Subnet: "10.9.0.0"}, "invalid network config:\ninvalid subnet 10.9.0.0: invalid CIDR block notation"},
		{CreateOptions{Subnet: "10.9.0.1/16"}, "invalid network config:\ninvalid subnet 10.9.0.1/16: it should be 10.9.0.0/16"},
		{CreateOptions{Subnet: "10.9.0.0/16", IPRange: "10.9.1.0"}, "invalid network config:\ninvalid ip-range 10.9.1.0: invalid CIDR block notation"},
		{CreateOptions{Subnet: "10.9.0.0/16", IPRange: "fd00::/64"}, "invalid network config:\ninvalid ip-range fd00::/64: parent subnet is an IPv4 block"},
		{CreateOptions{Subnet: "10.9.0.0/16", IPRange: "10.9.1.1/24"}, "invalid network config:\ninvalid ip-range 10.9.1.1/24: it should be 10.9.1.0/24"},
		{CreateOptions{Subnet: "10.9.0.0/16", Gateway: "nope"}, "invalid network config:\ninvalid gateway nope: invalid address"},
		{CreateOptions{Subnet: "10.9.0.0/16", Gateway: "fd00::1"}, "invalid network config:\ninvalid gateway fd00::1: parent subnet is an IPv4 block"},
		{CreateOptions{Subnet: "10.9.0.0/16", IPRange: "10.0.0.0/8", Gateway: "10.8.0.1"}, "invalid network config:\n" +
			"* invalid ip-range 10.0.0.0/8: CIDR block is bigger than its parent subnet 10.9.0.0/16\n" +
			"* invalid gateway 10.8.0.1: parent subnet 10.9.0.0/16 doesn't contain this address"},
		{CreateOptions{Subnet: "fd00::/64"}, "IPv6 networks are not supported by skiff yet"},
		{CreateOptions{Subnet: "10.9.0.0/31"}, "invalid subnet 10.9.0.0/31: too small for a gateway and a container"},
	} {
		err := validIPAM(tc.o)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("validIPAM(%+v) = %v, want nil", tc.o, err)
		case tc.want != "" && (err == nil || err.Error() != tc.want || !errors.Is(err, ErrInvalid)):
			t.Errorf("validIPAM(%+v) = %v, want ErrInvalid %q", tc.o, err, tc.want)
		}
	}
}
