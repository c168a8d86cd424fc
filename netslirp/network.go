package netslirp

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/containerd/errdefs"
)

// Error is a failed network operation: Kind (ErrNotFound, ErrConflict,
// ErrInvalid, ErrForbidden) says which status it answers with, the
// message is Docker's.
type Error struct {
	Kind error
	Msg  string
}

func (e *Error) Error() string { return e.Msg }
func (e *Error) Unwrap() error { return e.Kind }

func errorf(kind error, format string, a ...any) error {
	return &Error{Kind: kind, Msg: fmt.Sprintf(format, a...)}
}

// The kinds of Error, with the errdefs class that gives their HTTP status.
var (
	ErrNotFound  = errdefs.ErrNotFound.WithMessage("network not found")
	ErrConflict  = errdefs.ErrConflict.WithMessage("conflict")
	ErrInvalid   = errdefs.ErrInvalidArgument.WithMessage("invalid")
	ErrForbidden = errdefs.ErrPermissionDenied.WithMessage("forbidden")
)

// The networks every engine has.
const (
	DefaultBridge = "bridge"
	HostNetwork   = "host"
	NoneNetwork   = "none"
	// DefaultBridgeIface is the default network's bridge interface.
	DefaultBridgeIface = "skiff0"
	// BridgeNameOption names a bridge network's interface, as Docker's.
	BridgeNameOption = "com.docker.network.bridge.name"
)

// DefaultBIP is the default network's gateway and subnet length.
const DefaultBIP = "172.17.0.1/16"

// Network is one network's record.
type Network struct {
	ID       string            `json:"id"`
	Name     string            `json:"name"`
	Driver   string            `json:"driver"` // bridge, host, null
	Created  time.Time         `json:"created"`
	Internal bool              `json:"internal,omitempty"`
	Attach   bool              `json:"attachable,omitempty"`
	Labels   map[string]string `json:"labels,omitempty"`
	Options  map[string]string `json:"options,omitempty"`
	Subnet   netip.Prefix      `json:"subnet,omitzero"`
	IPRange  netip.Prefix      `json:"ipRange,omitzero"`
	Gateway  netip.Addr        `json:"gateway,omitzero"`
	// Bridge is the bridge interface of a bridge network.
	Bridge string `json:"bridge,omitempty"`
	// UserSubnet records that the subnet was given, not picked.
	UserSubnet bool `json:"userSubnet,omitempty"`
}

// Builtin reports whether n is one of bridge, host and none.
func (n *Network) Builtin() bool {
	return n.Name == DefaultBridge || n.Name == HostNetwork || n.Name == NoneNetwork
}

// IsBridge reports whether containers on n get a veth into its bridge.
func (n *Network) IsBridge() bool { return n.Driver == "bridge" }

// CreateOptions are `network create`'s.
type CreateOptions struct {
	Name     string
	Driver   string
	Internal bool
	Attach   bool
	Labels   map[string]string
	Options  map[string]string
	// Subnet, IPRange and Gateway come from IPAM.Config (at most one
	// IPv4 entry); empty ones are picked.
	Subnet, IPRange, Gateway string
	// Avoid are subnets in use around the bridges (the addresses of the
	// namespace's interfaces): a picked subnet overlaps none of them.
	Avoid []netip.Prefix
	// LinkExists tells whether an interface name is taken in the
	// bridges' namespace (for the bridge-name option).
	LinkExists func(name string) bool
}

// Store holds the networks (networks.json) and the addresses leased on
// them. Leases live in memory: the engine re-registers those of running
// containers when it starts. It is safe for concurrent use.
type Store struct {
	path string
	mu   sync.Mutex
	nets map[string]*Network // by ID
	// leases: network ID → address → container ID.
	leases map[string]map[netip.Addr]string
}

// OpenStore loads (creating) the networks in dir/networks.json, adding the
// built-in ones when missing: the default bridge on the interface iface
// (empty: skiff0) with the gateway and prefix bip (empty: 172.17.0.1/16,
// or the first free default pool when that overlaps a subnet in avoid,
// such as Docker's docker0).
func OpenStore(dir, iface, bip string, avoid []netip.Prefix) (*Store, error) {
	if iface == "" {
		iface = DefaultBridgeIface
	}
	if bip == "" {
		bip = DefaultBIP
		for _, a := range avoid {
			if a.Overlaps(netip.MustParsePrefix(DefaultBIP).Masked()) {
				p, err := (&Store{}).freeSubnet(avoid)
				if err != nil {
					return nil, err
				}
				bip = netip.PrefixFrom(p.Addr().Next(), p.Bits()).String()
				break
			}
		}
	}
	gw, err := netip.ParsePrefix(bip)
	if err != nil || !gw.Addr().Is4() {
		return nil, fmt.Errorf("invalid bip %q: want an IPv4 address with a prefix length, such as %s", bip, DefaultBIP)
	}
	s := &Store{path: filepath.Join(dir, "networks.json"), nets: map[string]*Network{}, leases: map[string]map[netip.Addr]string{}}
	b, err := os.ReadFile(s.path)
	switch {
	case err == nil:
		var list []*Network
		if err := json.Unmarshal(b, &list); err != nil {
			return nil, fmt.Errorf("reading %s: %w", s.path, err)
		}
		for _, n := range list {
			s.nets[n.ID] = n
		}
	case !os.IsNotExist(err):
		return nil, err
	}
	added := false
	for _, n := range []*Network{
		{Name: DefaultBridge, Driver: "bridge", Subnet: gw.Masked(), Gateway: gw.Addr(), Bridge: iface},
		{Name: HostNetwork, Driver: "host"},
		{Name: NoneNetwork, Driver: "null"},
	} {
		if s.byName(n.Name) == nil {
			n.ID, n.Created = newID(), time.Now().UTC()
			s.nets[n.ID] = n
			added = true
		}
	}
	if added {
		if err := s.save(); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// newID is a random 64-hex-digit ID, as Docker's.
func newID() string {
	b := make([]byte, 32)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// byName finds a network by its name. The caller holds s.mu.
func (s *Store) byName(name string) *Network {
	for _, n := range s.nets {
		if n.Name == name {
			return n
		}
	}
	return nil
}

// save writes networks.json atomically. The caller holds s.mu.
func (s *Store) save() error {
	list := make([]*Network, 0, len(s.nets))
	for _, n := range s.nets {
		list = append(list, n)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].Created.Before(list[j].Created) })
	b, err := json.Marshal(list)
	if err != nil {
		return err
	}
	tmp := s.path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, s.path)
}

// Get finds a network by name, full ID or unique ID prefix, as Docker does
// (an exact name wins over an ID prefix).
func (s *Store) Get(ref string) (*Network, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.get(ref)
}

// get is Get with s.mu held.
func (s *Store) get(ref string) (*Network, error) {
	if n, ok := s.nets[ref]; ok {
		return n, nil
	}
	if n := s.byName(ref); n != nil {
		return n, nil
	}
	var found *Network
	matches := 0
	for id, n := range s.nets {
		if ref != "" && strings.HasPrefix(id, ref) {
			found = n
			matches++
		}
	}
	if matches > 1 {
		return nil, errorf(ErrInvalid, "network %s is ambiguous (%d matches found based on ID prefix)", ref, matches)
	}
	if found == nil {
		return nil, errorf(ErrNotFound, "network %s not found", ref)
	}
	return found, nil
}

// List returns the networks, sorted by name.
func (s *Store) List() []*Network {
	s.mu.Lock()
	defer s.mu.Unlock()
	list := make([]*Network, 0, len(s.nets))
	for _, n := range s.nets {
		list = append(list, n)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].Name < list[j].Name })
	return list
}

// Create makes a bridge network: its subnet (given, or the next free /16
// from 172.18.0.0 on, as Docker's default pools), gateway and bridge name.
// Only the record is made: the bridge appears with its first container.
func (s *Store) Create(o CreateOptions) (*Network, error) {
	if o.Driver == "" {
		o.Driver = "bridge"
	}
	switch o.Driver {
	case "bridge":
	case "host", "null":
		return nil, errorf(ErrForbidden, "only one instance of \"%s\" network is allowed", o.Driver)
	case "macvlan", "ipvlan":
		return nil, errorf(ErrInvalid, "the %s driver needs root mode (run the skiff engine as root)", o.Driver)
	default:
		return nil, errorf(ErrNotFound, "could not find plugin %s in v1 plugin registry: plugin not found", o.Driver)
	}
	if err := validIPAM(o); err != nil {
		return nil, err
	}
	n := &Network{
		Name: o.Name, Driver: o.Driver, Internal: o.Internal, Attach: o.Attach,
		Labels: o.Labels, Options: o.Options, Created: time.Now().UTC(),
	}
	if o.Subnet != "" {
		n.Subnet = netip.MustParsePrefix(o.Subnet)
		n.UserSubnet = true
	}
	if o.IPRange != "" {
		n.IPRange = netip.MustParsePrefix(o.IPRange)
	}
	if o.Gateway != "" {
		n.Gateway = netip.MustParseAddr(o.Gateway)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.byName(o.Name) != nil {
		return nil, errorf(ErrConflict, "network with name %s already exists", o.Name)
	}
	if n.Subnet.IsValid() {
		for _, other := range s.nets {
			if other.Subnet.IsValid() && other.Subnet.Overlaps(n.Subnet) {
				return nil, errorf(ErrForbidden, "invalid pool request: Pool overlaps with other one on this address space")
			}
		}
	} else {
		p, err := s.freeSubnet(o.Avoid)
		if err != nil {
			return nil, err
		}
		n.Subnet = p
	}
	if !n.Gateway.IsValid() {
		base := n.Subnet
		if n.IPRange.IsValid() {
			base = n.IPRange
		}
		n.Gateway = base.Masked().Addr().Next()
	}
	n.ID = newID()
	n.Bridge = "br-" + n.ID[:12]
	if name := o.Options[BridgeNameOption]; name != "" {
		if err := s.checkBridgeName(name, o.LinkExists); err != nil {
			return nil, err
		}
		n.Bridge = name
	}
	s.nets[n.ID] = n
	if err := s.save(); err != nil {
		delete(s.nets, n.ID)
		return nil, err
	}
	return n, nil
}

// checkBridgeName refuses a bridge name that is no interface name, that
// another network has, or that names an interface skiff did not make
// (removing the network would delete it). The caller holds s.mu.
func (s *Store) checkBridgeName(name string, exists func(string) bool) error {
	if len(name) > 15 || strings.ContainsAny(name, "/ \t\n:") {
		return errorf(ErrInvalid, "invalid bridge name %q: at most 15 characters, no '/', ':' or spaces", name)
	}
	for _, n := range s.nets {
		if n.Bridge == name {
			return errorf(ErrConflict, "bridge name %s is already used by network %s", name, n.Name)
		}
	}
	if exists != nil && exists(name) {
		return errorf(ErrConflict, "bridge name %s is already used by another interface", name)
	}
	return nil
}

// validIPAM checks the addresses as Docker's daemon does, with its messages.
func validIPAM(o CreateOptions) error {
	if o.Subnet == "" {
		if o.IPRange != "" || o.Gateway != "" {
			return errorf(ErrInvalid, "every ip-range or gateway must have a corresponding subnet")
		}
		return nil
	}
	p, err := netip.ParsePrefix(o.Subnet)
	if err != nil {
		return errorf(ErrInvalid, "invalid network config:\ninvalid subnet %s: invalid CIDR block notation", o.Subnet)
	}
	if p.Addr().Is6() {
		return errorf(ErrInvalid, "IPv6 networks are not supported by skiff yet")
	}
	if errs := ipamErrors(p, o.IPRange, o.Gateway); len(errs) > 0 {
		return errorf(ErrInvalid, "invalid network config:\n%s", joinDocker(errs))
	}
	if p.Bits() > 30 {
		return errorf(ErrInvalid, "invalid subnet %s: too small for a gateway and a container", o.Subnet)
	}
	return nil
}

// ipamErrors are what Docker's daemon finds wrong with an IPv4 subnet's
// ip-range and gateway (its validateIpamConfig), in its order and words.
func ipamErrors(subnet netip.Prefix, ipRange, gateway string) []string {
	var errs []string
	if subnet != subnet.Masked() {
		errs = append(errs, fmt.Sprintf("invalid subnet %s: it should be %s", subnet, subnet.Masked()))
	}
	if ipRange != "" {
		r, err := netip.ParsePrefix(ipRange)
		switch {
		case err != nil:
			errs = append(errs, fmt.Sprintf("invalid ip-range %s: invalid CIDR block notation", ipRange))
		case !r.Addr().Is4():
			errs = append(errs, fmt.Sprintf("invalid ip-range %s: parent subnet is an IPv4 block", ipRange))
		default:
			if r.Bits() < subnet.Bits() {
				errs = append(errs, fmt.Sprintf("invalid ip-range %s: CIDR block is bigger than its parent subnet %s", ipRange, subnet))
			}
			if r != r.Masked() {
				errs = append(errs, fmt.Sprintf("invalid ip-range %s: it should be %s", r, r.Masked()))
			}
			if !subnet.Overlaps(r) {
				errs = append(errs, fmt.Sprintf("invalid ip-range %s: parent subnet %s doesn't contain ip-range", ipRange, subnet))
			}
		}
	}
	if gateway != "" {
		g, err := netip.ParseAddr(gateway)
		switch {
		case err != nil:
			errs = append(errs, fmt.Sprintf("invalid gateway %s: invalid address", gateway))
		case !g.Is4():
			errs = append(errs, fmt.Sprintf("invalid gateway %s: parent subnet is an IPv4 block", gateway))
		case !subnet.Contains(g):
			errs = append(errs, fmt.Sprintf("invalid gateway %s: parent subnet %s doesn't contain this address", gateway, subnet))
		}
	}
	return errs
}

// joinDocker joins errors as Docker's daemon does: one alone, several as
// a list of "* " lines.
func joinDocker(errs []string) string {
	if len(errs) == 1 {
		return errs[0]
	}
	return "* " + strings.Join(errs, "\n* ")
}

// freeSubnet picks the first /16 of 172.17-31.0.0, then /20s of
// 192.168.0.0/16, that no network uses. The caller holds s.mu.
func (s *Store) freeSubnet(avoid []netip.Prefix) (netip.Prefix, error) {
	var pools []netip.Prefix
	for i := 18; i <= 31; i++ {
		pools = append(pools, netip.PrefixFrom(netip.AddrFrom4([4]byte{172, byte(i), 0, 0}), 16))
	}
	for i := 0; i < 256; i += 16 {
		pools = append(pools, netip.PrefixFrom(netip.AddrFrom4([4]byte{192, 168, byte(i), 0}), 20))
	}
next:
	for _, p := range pools {
		for _, n := range s.nets {
			if n.Subnet.IsValid() && n.Subnet.Overlaps(p) {
				continue next
			}
		}
		for _, a := range avoid {
			if a.Overlaps(p) {
				continue next
			}
		}
		return p, nil
	}
	return netip.Prefix{}, errorf(ErrForbidden, "could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the network")
}

// Remove deletes a user network. The caller checks it has no containers.
func (s *Store) Remove(id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, ok := s.nets[id]
	if !ok {
		return errorf(ErrNotFound, "network %s not found", id)
	}
	if n.Builtin() {
		return errorf(ErrForbidden, "%s is a pre-defined network and cannot be removed", n.Name)
	}
	delete(s.nets, id)
	delete(s.leases, id)
	if err := s.save(); err != nil {
		s.nets[id] = n
		return err
	}
	return nil
}

// Lease gives container ctrID an address on n: want when valid (it must
// be inside the subnet and free), else the lowest free one in the ip-range
// (or subnet), never the network, gateway or broadcast address.
func (s *Store) Lease(n *Network, ctrID string, want netip.Addr) (netip.Addr, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	used := s.leases[n.ID]
	if used == nil {
		used = map[netip.Addr]string{}
		s.leases[n.ID] = used
	}
	for a, id := range used {
		if id == ctrID && (!want.IsValid() || a == want) {
			return a, nil
		}
	}
	if want.IsValid() {
		if !n.UserSubnet {
			return netip.Addr{}, errorf(ErrInvalid, "user specified IP address is supported only when connecting to networks with user configured subnets")
		}
		if !n.Subnet.Contains(want) || want == n.Gateway || want == n.Subnet.Masked().Addr() || want == broadcast(n.Subnet) {
			return netip.Addr{}, errorf(ErrInvalid, "no available IPv4 addresses on this network's address pools: %s (%s)", n.Name, n.ID)
		}
		if owner, ok := used[want]; ok && owner != ctrID {
			return netip.Addr{}, errorf(ErrForbidden, "Address already in use")
		}
		used[want] = ctrID
		return want, nil
	}
	pool := n.Subnet
	if n.IPRange.IsValid() {
		pool = n.IPRange
	}
	bcast := broadcast(n.Subnet)
	for a := pool.Masked().Addr(); pool.Contains(a); a = a.Next() {
		if a == n.Subnet.Masked().Addr() || a == n.Gateway || a == bcast {
			continue
		}
		if _, ok := used[a]; !ok {
			used[a] = ctrID
			return a, nil
		}
	}
	return netip.Addr{}, errorf(ErrForbidden, "no available IPv4 addresses on this network's address pools: %s (%s)", n.Name, n.ID)
}

// Reserve records that ctrID holds ip on network netID (a container that
// kept running across an engine restart).
func (s *Store) Reserve(netID, ctrID string, ip netip.Addr) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.leases[netID] == nil {
		s.leases[netID] = map[netip.Addr]string{}
	}
	s.leases[netID][ip] = ctrID
}

// Release frees the address ctrID holds on network netID.
func (s *Store) Release(netID, ctrID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for a, id := range s.leases[netID] {
		if id == ctrID {
			delete(s.leases[netID], a)
		}
	}
}

// broadcast is the last address of p.
func broadcast(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().As4()
	host := uint32(1)<<(32-p.Bits()) - 1
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3]) | host
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

// MACFor is the address Docker gives an endpoint: 02:42 and the IPv4.
func MACFor(ip netip.Addr) net.HardwareAddr {
	b := ip.As4()
	return net.HardwareAddr{0x02, 0x42, b[0], b[1], b[2], b[3]}
}
