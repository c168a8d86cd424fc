package netslirp

import (
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func nsRun(t *testing.T, ns string, args ...string) string {
	t.Helper()
	out, err := exec.Command("nsenter", append([]string{"--net=" + ns}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s in %s: %v\n%s", args, ns, err, out)
	}
	return string(out)
}

// TestDataplane builds, as root, a "bridges" namespace and two container
// namespaces on one network and checks addresses, the default route, that
// the containers reach each other through the bridge, the nftables rules,
// and that Detach and RemoveBridge leave nothing.
func TestDataplane(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root: it makes network namespaces, bridges and veths")
	}
	dir := t.TempDir()
	brNS := filepath.Join(dir, "bridges")
	if err := NewNetNS(brNS); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { removeNetNS(t, brNS) })
	d := &Dataplane{NS: brNS, MTU: 65520}
	if err := d.Init(); err != nil {
		t.Fatal(err)
	}
	n := &Network{ID: "0123456789abcdef", Name: "t", Driver: "bridge", Subnet: netip.MustParsePrefix("10.123.0.0/24"),
		Gateway: netip.MustParseAddr("10.123.0.1"), Bridge: "br-test"}
	var eps []*Endpoint
	for i, ip := range []string{"10.123.0.2", "10.123.0.3"} {
		ns := filepath.Join(dir, "c"+ip)
		if err := NewNetNS(ns); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { removeNetNS(t, ns) })
		a := netip.MustParseAddr(ip)
		ep := &Endpoint{IfName: "eth0", IP: a, MAC: MACFor(a)}
		if err := d.Attach(ns, n, ep, true); err != nil {
			t.Fatal(err)
		}
		eps = append(eps, ep)
		out := nsRun(t, ns, "ip", "-o", "addr")
		if !strings.Contains(out, ip+"/24") || !strings.Contains(out, "lo") {
			t.Errorf("container %d addresses:\n%s", i, out)
		}
		if out := nsRun(t, ns, "ip", "route"); !strings.Contains(out, "default via 10.123.0.1 dev eth0") {
			t.Errorf("container %d routes:\n%s", i, out)
		}
		if out := nsRun(t, ns, "ip", "link", "show", "eth0"); !strings.Contains(out, "mtu 65520") || !strings.Contains(out, "02:42:0a:7b:00") {
			t.Errorf("container %d eth0:\n%s", i, out)
		}
	}
	nsRun(t, filepath.Join(dir, "c10.123.0.2"), "busybox", "ping", "-c1", "-W2", "10.123.0.3")
	nsRun(t, filepath.Join(dir, "c10.123.0.2"), "busybox", "ping", "-c1", "-W2", "10.123.0.1")

	if err := d.SyncRules([]*Network{n}); err != nil {
		t.Fatal(err)
	}
	rules := nsRun(t, brNS, "nft", "list", "table", "ip", "skiff")
	if !strings.Contains(rules, `ip saddr 10.123.0.0/24 oifname != "br-test" masquerade`) {
		t.Errorf("rules:\n%s", rules)
	}
	for _, ep := range eps {
		if err := d.Detach(ep); err != nil {
			t.Fatal(err)
		}
	}
	if err := d.Wait(); err != nil {
		t.Fatal(err)
	}
	if err := d.RemoveBridge(n); err != nil {
		t.Fatal(err)
	}
	if out := nsRun(t, brNS, "ip", "-o", "link"); strings.Contains(out, "veth") || strings.Contains(out, "br-test") {
		t.Errorf("left behind:\n%s", out)
	}
	if err := d.RemoveRules(); err != nil {
		t.Fatal(err)
	}
}

func removeNetNS(t *testing.T, path string) {
	t.Helper()
	if err := RemoveNetNS(path); err != nil {
		t.Error(err)
	}
}
