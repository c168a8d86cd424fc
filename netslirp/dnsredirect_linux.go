package netslirp

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

// ListenDNS opens, inside the network namespace at ctrNS, a UDP socket and
// a TCP listener on addr at free ports for an embedded DNS, and redirects
// addr:53 to them, as Docker does: the container keeps port 53 for a
// server of its own. The rules replace any an earlier engine left.
func ListenDNS(ctrNS string, addr netip.Addr) (net.PacketConn, net.Listener, error) {
	var pc net.PacketConn
	var l net.Listener
	err := InNetNS(ctrNS, func() error {
		var err error
		if pc, err = net.ListenPacket("udp4", netip.AddrPortFrom(addr, 0).String()); err != nil {
			return err
		}
		if l, err = net.Listen("tcp4", netip.AddrPortFrom(addr, 0).String()); err != nil {
			pc.Close()
			return err
		}
		udp, tcp := uint16(pc.LocalAddr().(*net.UDPAddr).Port), uint16(l.Addr().(*net.TCPAddr).Port)
		err = replaceTable("skiff_dns", func(c *nftables.Conn, t *nftables.Table) {
			out := c.AddChain(&nftables.Chain{Name: "output", Table: t, Type: nftables.ChainTypeNAT,
				Hooknum: nftables.ChainHookOutput, Priority: nftables.ChainPriorityNATDest})
			for _, r := range []struct {
				proto byte
				port  uint16
			}{{unix.IPPROTO_UDP, udp}, {unix.IPPROTO_TCP, tcp}} {
				to := make([]byte, 2)
				binary.BigEndian.PutUint16(to, r.port)
				c.AddRule(&nftables.Rule{Table: t, Chain: out, Exprs: []expr.Any{
					&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 16, Len: 4},
					&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: addr.AsSlice()},
					&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
					&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{r.proto}},
					&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2},
					&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{0, 53}},
					&expr.Immediate{Register: 1, Data: addr.AsSlice()},
					&expr.Immediate{Register: 2, Data: to},
					&expr.NAT{Type: expr.NATTypeDestNAT, Family: unix.NFPROTO_IPV4, RegAddrMin: 1, RegProtoMin: 2, Specified: true},
				}})
			}
		})
		if err != nil {
			pc.Close()
			l.Close()
		}
		return err
	})
	if err != nil {
		return nil, nil, fmt.Errorf("starting the embedded DNS: %w", err)
	}
	return pc, l, nil
}
