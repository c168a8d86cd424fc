package netslirp

import (
	"encoding/binary"
	"fmt"
	"net/netip"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

// RedirectDNS makes addr:53 inside the network namespace at ctrNS reach
// the embedded DNS, which listens at addr on the ports udp and tcp, as
// Docker does: the container keeps port 53 for a server of its own.
func RedirectDNS(ctrNS string, addr netip.Addr, udp, tcp uint16) error {
	return InNetNS(ctrNS, func() error {
		c, err := nftables.New()
		if err != nil {
			return err
		}
		// Replacing the table: an earlier engine's rules name its ports.
		t := &nftables.Table{Family: nftables.TableFamilyIPv4, Name: "skiff_dns"}
		c.AddTable(t)
		c.DelTable(t)
		c.AddTable(t)
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
		if err := c.Flush(); err != nil {
			return fmt.Errorf("redirecting the embedded DNS: %w", err)
		}
		return nil
	})
}
