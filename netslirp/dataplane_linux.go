package netslirp

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// Dataplane makes the bridges, veth pairs and firewall rules of bridge
// networks in the namespace that holds the bridges: rootless, the network
// namespace rootlesskit detached for skiff; as root, the host's.
type Dataplane struct {
	// NS is the bridges' network namespace; empty is the engine's own.
	NS string
	// MTU of bridges and veths.
	MTU int
	// Table names skiff's nftables tables (Table and Table+"_ports");
	// empty means "skiff". Two root engines on one host need their own.
	Table string
	mu    sync.Mutex
	// hostLoop, when set, gets containers' TCP to SlirpHostAddr.
	hostLoop *HostLoopback
	// pending counts Detach's background deletions; pendingErrs (under
	// mu) are those that failed, for Wait.
	pending     sync.WaitGroup
	pendingErrs []error
	// forwardOnlyBridges: Init enabled the host's forwarding (root mode).
	forwardOnlyBridges bool
	// bridges are the bridge interfaces of the last SyncRules.
	bridges []string
}

// BridgeGroup is the interface group of skiff's bridges, so that rules
// can tell them from other interfaces whichever engine made them.
const BridgeGroup = 0x5c1f

// table is the name of skiff's nftables table here.
func (d *Dataplane) table() string {
	if d.Table == "" {
		return "skiff"
	}
	return d.Table
}

// Subnets returns the subnets of the addresses in the bridges' namespace,
// for new networks to avoid.
func (d *Dataplane) Subnets() ([]netip.Prefix, error) {
	var out []netip.Prefix
	err := InNetNS(d.NS, func() error {
		addrs, err := netlink.AddrList(nil, netlink.FAMILY_V4)
		if err != nil {
			return err
		}
		for _, a := range addrs {
			if p, ok := netip.AddrFromSlice(a.IP.To4()); ok {
				ones, _ := a.Mask.Size()
				out = append(out, netip.PrefixFrom(p, ones).Masked())
			}
		}
		return nil
	})
	return out, err
}

// Init enables forwarding in the bridges' namespace. When it is the one
// that turned forwarding on in the host's namespace (root mode), the rules
// then forward only to and from skiff's bridges, as Docker sets the
// FORWARD policy to drop: the host does not start routing for others.
func (d *Dataplane) Init() error {
	return InNetNS(d.NS, func() error {
		const path = "/proc/sys/net/ipv4/ip_forward"
		was, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("reading %s: %w", path, err)
		}
		if strings.TrimSpace(string(was)) == "1" {
			return nil
		}
		if err := os.WriteFile(path, []byte("1"), 0o644); err != nil {
			return fmt.Errorf("enabling IPv4 forwarding: %w", err)
		}
		d.mu.Lock()
		d.forwardOnlyBridges = d.NS == ""
		d.mu.Unlock()
		return nil
	})
}

// bridge returns n's bridge, creating it. It runs in the bridges' netns.
func (d *Dataplane) bridge(n *Network) (netlink.Link, error) {
	if l, err := netlink.LinkByName(n.Bridge); err == nil {
		return l, nil
	}
	la := netlink.NewLinkAttrs()
	la.Name, la.MTU = n.Bridge, d.MTU
	br := &netlink.Bridge{LinkAttrs: la}
	if err := netlink.LinkAdd(br); err != nil && !errors.Is(err, unix.EEXIST) {
		return nil, fmt.Errorf("creating bridge %s: %w", n.Bridge, err)
	}
	l, err := netlink.LinkByName(n.Bridge)
	if err != nil {
		return nil, err
	}
	addr := &netlink.Addr{IPNet: prefixNet(netip.PrefixFrom(n.Gateway, n.Subnet.Bits()))}
	if err := netlink.AddrReplace(l, addr); err != nil {
		return nil, fmt.Errorf("addressing bridge %s: %w", n.Bridge, err)
	}
	if err := netlink.LinkSetGroup(l, BridgeGroup); err != nil {
		return nil, fmt.Errorf("setting the interface group of bridge %s: %w", n.Bridge, err)
	}
	if err := netlink.LinkSetUp(l); err != nil {
		return nil, fmt.Errorf("bringing up bridge %s: %w", n.Bridge, err)
	}
	return l, nil
}

// RemoveBridge deletes n's bridge, if it exists.
func (d *Dataplane) RemoveBridge(n *Network) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return InNetNS(d.NS, func() error {
		l, err := netlink.LinkByName(n.Bridge)
		if err != nil {
			return nil
		}
		return netlink.LinkDel(l)
	})
}

// Endpoint is one container's interface on one network.
type Endpoint struct {
	// HostVeth is the veth end on the bridge.
	HostVeth string
	IfName   string // inside the container: eth0, eth1, ...
	IP       netip.Addr
	MAC      net.HardwareAddr
}

// Attach plugs the container's network namespace ctrNS into n: a veth with
// ep.IfName inside (address ep.IP, MAC ep.MAC, and the default route via
// n's gateway when defaultRoute), the other end on n's bridge.
func (d *Dataplane) Attach(ctrNS string, n *Network, ep *Endpoint, defaultRoute bool) error {
	nsf, err := os.Open(ctrNS)
	if err != nil {
		return err
	}
	defer nsf.Close()
	if ep.HostVeth == "" {
		b := make([]byte, 4)
		rand.Read(b)
		ep.HostVeth = "veth" + hex.EncodeToString(b)[:7]
	}
	d.mu.Lock()
	err = InNetNS(d.NS, func() error {
		br, err := d.bridge(n)
		if err != nil {
			return err
		}
		la := netlink.NewLinkAttrs()
		la.Name, la.MTU, la.MasterIndex = ep.HostVeth, d.MTU, br.Attrs().Index
		veth := &netlink.Veth{LinkAttrs: la, PeerName: ep.IfName, PeerHardwareAddr: ep.MAC, PeerNamespace: netlink.NsFd(nsf.Fd())}
		if err := netlink.LinkAdd(veth); err != nil {
			return fmt.Errorf("creating veth pair: %w", err)
		}
		if err := netlink.LinkSetUp(veth); err != nil {
			return errors.Join(fmt.Errorf("bringing up %s: %w", ep.HostVeth, err), netlink.LinkDel(veth))
		}
		return nil
	})
	d.mu.Unlock()
	if err != nil {
		return err
	}
	err = InNetNS(ctrNS, func() error {
		l, err := netlink.LinkByName(ep.IfName)
		if err != nil {
			return err
		}
		addr := &netlink.Addr{IPNet: prefixNet(netip.PrefixFrom(ep.IP, n.Subnet.Bits()))}
		if err := netlink.AddrAdd(l, addr); err != nil {
			return fmt.Errorf("addressing %s: %w", ep.IfName, err)
		}
		if err := netlink.LinkSetUp(l); err != nil {
			return fmt.Errorf("bringing up %s: %w", ep.IfName, err)
		}
		if defaultRoute {
			gw := n.Gateway.AsSlice()
			if err := netlink.RouteAdd(&netlink.Route{LinkIndex: l.Attrs().Index, Gw: gw}); err != nil {
				return fmt.Errorf("adding the default route: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return errors.Join(err, d.Detach(ep))
	}
	return nil
}

// Detach takes the container's veth off its bridge at once and deletes
// the pair in the background: deleting a veth waits for the kernel's RCU
// grace periods (tens of milliseconds), which a container's stop or
// removal need not wait for. Deleting one end deletes both; a pair whose
// namespace goes first goes with it.
func (d *Dataplane) Detach(ep *Endpoint) error {
	if ep.HostVeth == "" {
		return nil
	}
	var gone netlink.Link
	err := InNetNS(d.NS, func() error {
		l, err := netlink.LinkByName(ep.HostVeth)
		if err != nil {
			return nil // gone with its namespace
		}
		if err := netlink.LinkSetDown(l); err != nil {
			return fmt.Errorf("taking down %s: %w", ep.HostVeth, err)
		}
		gone = l
		return nil
	})
	if err != nil || gone == nil {
		return err
	}
	d.pending.Add(1)
	go func() {
		defer d.pending.Done()
		if err := InNetNS(d.NS, func() error { return netlink.LinkDel(gone) }); err != nil {
			d.mu.Lock()
			d.pendingErrs = append(d.pendingErrs, fmt.Errorf("deleting %s: %w", ep.HostVeth, err))
			d.mu.Unlock()
		}
	}()
	return nil
}

// Wait waits for the background deletions of Detach, and returns the
// errors of those that failed since the last Wait.
func (d *Dataplane) Wait() error {
	d.pending.Wait()
	d.mu.Lock()
	defer d.mu.Unlock()
	err := errors.Join(d.pendingErrs...)
	d.pendingErrs = nil
	return err
}

// SyncRules replaces skiff's nftables table with the rules of nets, in one
// transaction: outbound masquerade for each non-internal bridge network,
// no traffic between two bridge networks, and none leaving or entering an
// internal network's bridge.
func (d *Dataplane) SyncRules(nets []*Network) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	var bridges []*Network
	for _, n := range nets {
		if n.IsBridge() {
			bridges = append(bridges, n)
		}
	}
	return InNetNS(d.NS, func() error {
		err := replaceTable(d.table(), func(c *nftables.Conn, t *nftables.Table) {
			d.addRules(c, t, bridges)
		})
		if err != nil {
			return fmt.Errorf("writing nftables rules: %w", err)
		}
		d.bridges = d.bridges[:0]
		for _, n := range bridges {
			d.bridges = append(d.bridges, n.Bridge)
		}
		return nil
	})
}

// addRules adds SyncRules's chains and rules to t. The caller holds d.mu.
func (d *Dataplane) addRules(c *nftables.Conn, t *nftables.Table, bridges []*Network) {
	post := c.AddChain(&nftables.Chain{Name: "postrouting", Table: t, Type: nftables.ChainTypeNAT,
		Hooknum: nftables.ChainHookPostrouting, Priority: nftables.ChainPriorityNATSource})
	policy := nftables.ChainPolicyAccept
	fwd := c.AddChain(&nftables.Chain{Name: "forward", Table: t, Type: nftables.ChainTypeFilter,
		Hooknum: nftables.ChainHookForward, Priority: nftables.ChainPriorityFilter, Policy: &policy})
	if d.hostLoop != nil {
		pre := c.AddChain(&nftables.Chain{Name: "prerouting", Table: t, Type: nftables.ChainTypeNAT,
			Hooknum: nftables.ChainHookPrerouting, Priority: nftables.ChainPriorityNATDest})
		port := make([]byte, 2)
		binary.BigEndian.PutUint16(port, d.hostLoop.port)
		c.AddRule(&nftables.Rule{Table: t, Chain: pre, Exprs: []expr.Any{
			&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 16, Len: 4},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: SlirpHostAddr.AsSlice()},
			&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{unix.IPPROTO_TCP}},
			&expr.Immediate{Register: 1, Data: port},
			&expr.Redir{RegisterProtoMin: 1},
		}})
	}
	out := c.AddChain(&nftables.Chain{Name: "output", Table: t, Type: nftables.ChainTypeFilter,
		Hooknum: nftables.ChainHookOutput, Priority: nftables.ChainPriorityFilter, Policy: &policy})
	for _, n := range bridges {
		// A network's subnet is reached by its bridge or not at all:
		// never by the default route (rootless: out through
		// slirp4netns, off the machine) while the bridge is missing.
		for _, ch := range []*nftables.Chain{fwd, out} {
			c.AddRule(&nftables.Rule{Table: t, Chain: ch, Exprs: cat(daddrIn(n.Subnet), ifname(expr.MetaKeyOIFNAME, n.Bridge, false), drop())})
		}
		if n.Internal {
			c.AddRule(&nftables.Rule{Table: t, Chain: fwd, Exprs: cat(ifname(expr.MetaKeyIIFNAME, n.Bridge, true), ifname(expr.MetaKeyOIFNAME, n.Bridge, false), drop())})
			c.AddRule(&nftables.Rule{Table: t, Chain: fwd, Exprs: cat(ifname(expr.MetaKeyOIFNAME, n.Bridge, true), ifname(expr.MetaKeyIIFNAME, n.Bridge, false), drop())})
			continue
		}
		c.AddRule(&nftables.Rule{Table: t, Chain: post, Exprs: cat(saddrIn(n.Subnet), ifname(expr.MetaKeyOIFNAME, n.Bridge, false), []expr.Any{&expr.Masq{}})})
		for _, o := range bridges {
			if o != n {
				c.AddRule(&nftables.Rule{Table: t, Chain: fwd, Exprs: cat(ifname(expr.MetaKeyIIFNAME, n.Bridge, true), ifname(expr.MetaKeyOIFNAME, o.Bridge, true), drop())})
			}
		}
	}
	if d.forwardOnlyBridges {
		// Forward only what enters or leaves a skiff bridge (of any
		// skiff engine on the host: they share BridgeGroup).
		c.AddRule(&nftables.Rule{Table: t, Chain: fwd, Exprs: cat(group(expr.MetaKeyIIFGROUP), group(expr.MetaKeyOIFGROUP), drop())})
	}
}

// RemoveRules deletes skiff's nftables tables.
func (d *Dataplane) RemoveRules() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return InNetNS(d.NS, func() error {
		return errors.Join(replaceTable(d.table(), nil), replaceTable(d.table()+"_ports", nil))
	})
}

func cat(parts ...[]expr.Any) []expr.Any {
	var out []expr.Any
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func drop() []expr.Any { return []expr.Any{&expr.Verdict{Kind: expr.VerdictDrop}} }

// group matches an input or output interface outside BridgeGroup.
func group(key expr.MetaKey) []expr.Any {
	b := make([]byte, 4)
	binary.NativeEndian.PutUint32(b, BridgeGroup)
	return []expr.Any{&expr.Meta{Key: key, Register: 1}, &expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: b}}
}

// ifname matches the input or output interface name (eq or not).
func ifname(key expr.MetaKey, name string, eq bool) []expr.Any {
	b := make([]byte, 16)
	copy(b, name)
	op := expr.CmpOpEq
	if !eq {
		op = expr.CmpOpNeq
	}
	return []expr.Any{&expr.Meta{Key: key, Register: 1}, &expr.Cmp{Op: op, Register: 1, Data: b}}
}

// saddrIn matches an IPv4 source address inside p.
func saddrIn(p netip.Prefix) []expr.Any {
	mask := net.CIDRMask(p.Bits(), 32)
	return []expr.Any{
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 12, Len: 4},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4, Mask: mask, Xor: make([]byte, 4)},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: p.Masked().Addr().AsSlice()},
	}
}

// daddrIn matches an IPv4 destination address inside p.
func daddrIn(p netip.Prefix) []expr.Any {
	ex := saddrIn(p)
	ex[0] = &expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 16, Len: 4}
	return ex
}

// replaceTable writes the IPv4 nftables table name afresh in the calling
// thread's namespace, in one transaction: the old one (if any) is
// deleted and, unless build is nil, the table is made again with what
// build adds to it.
func replaceTable(name string, build func(c *nftables.Conn, t *nftables.Table)) error {
	c, err := nftables.New()
	if err != nil {
		return err
	}
	t := &nftables.Table{Family: nftables.TableFamilyIPv4, Name: name}
	c.AddTable(t)
	c.DelTable(t)
	if build != nil {
		c.AddTable(t)
		build(c, t)
	}
	return c.Flush()
}

// FreeIfName is the lowest ethN that the namespace at ctrNS does not have.
func FreeIfName(ctrNS string) (string, error) {
	taken := map[string]bool{}
	err := InNetNS(ctrNS, func() error {
		links, err := netlink.LinkList()
		for _, l := range links {
			taken[l.Attrs().Name] = true
		}
		return err
	})
	if err != nil {
		return "", err
	}
	for i := 0; ; i++ {
		if name := fmt.Sprintf("eth%d", i); !taken[name] {
			return name, nil
		}
	}
}

// HasLink reports whether the bridges' namespace has an interface name.
func (d *Dataplane) HasLink(name string) bool {
	found := false
	err := InNetNS(d.NS, func() error {
		_, err := netlink.LinkByName(name)
		found = err == nil
		return nil
	})
	return err == nil && found
}

func prefixNet(p netip.Prefix) *net.IPNet {
	return &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
}
