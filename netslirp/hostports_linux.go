package netslirp

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"sync"
	"syscall"
	"time"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

// HostPublisher publishes ports as root, as Docker does: a DNAT rule for
// traffic that reaches the host from outside (the container sees the
// client's address) and a userland proxy, listening on the host port, for
// connections from the host itself (loopback), which DNAT cannot turn.
// The proxy's listener also holds the port, so two containers cannot
// publish the same one.
type HostPublisher struct {
	// DP holds the bridges; the rules go in its namespace.
	DP *Dataplane
	mu sync.Mutex
	// next numbers the forwards; dnats are those in place.
	next  int
	dnats map[int]dnat
}

// dnat is one published port's rule: to the container's address.
type dnat struct {
	m     PortMapping
	ctrIP netip.Addr
}

// Publish implements Publisher.
func (p *HostPublisher) Publish(ctrIP netip.Addr, m PortMapping) (PortMapping, func() error, error) {
	host := "0.0.0.0"
	if m.HostIP.IsValid() {
		host = m.HostIP.String()
	}
	laddr := net.JoinHostPort(host, PortString(m.HostPort))
	target := net.JoinHostPort(ctrIP.String(), PortString(m.CtrPort))
	var stop func()
	if m.Proto == "udp" {
		pc, err := net.ListenPacket("udp4", laddr)
		if err != nil {
			return m, nil, portInUse(m, err)
		}
		m.HostPort = uint16(pc.LocalAddr().(*net.UDPAddr).Port)
		stop = proxyUDP(pc.(*net.UDPConn), target)
	} else {
		l, err := net.Listen("tcp4", laddr)
		if err != nil {
			return m, nil, portInUse(m, err)
		}
		m.HostPort = uint16(l.Addr().(*net.TCPAddr).Port)
		stop = proxyTCP(l.(*net.TCPListener), target)
	}
	p.mu.Lock()
	if p.dnats == nil {
		p.dnats = map[int]dnat{}
	}
	p.next++
	id := p.next
	p.dnats[id] = dnat{m, ctrIP}
	err := p.sync()
	p.mu.Unlock()
	if err != nil {
		stop()
		p.mu.Lock()
		delete(p.dnats, id)
		p.mu.Unlock()
		return m, nil, err
	}
	return m, func() error {
		stop()
		p.mu.Lock()
		defer p.mu.Unlock()
		delete(p.dnats, id)
		return p.sync()
	}, nil
}

// Reset removes the rules an earlier engine left (their containers are
// published again as the engine finds them).
func (p *HostPublisher) Reset() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.sync()
}

// portInUse is Docker's message for a host port that cannot be bound.
func portInUse(m PortMapping, err error) error {
	if errors.Is(err, syscall.EADDRINUSE) {
		host := "0.0.0.0"
		if m.HostIP.IsValid() {
			host = m.HostIP.String()
		}
		return fmt.Errorf("Bind for %s:%d failed: port is already allocated", host, m.HostPort)
	}
	return fmt.Errorf("Error starting userland proxy: %w", err)
}

// sync rewrites the DNAT table. The caller holds p.mu.
func (p *HostPublisher) sync() error {
	p.DP.mu.Lock()
	defer p.DP.mu.Unlock()
	var build func(c *nftables.Conn, t *nftables.Table)
	if len(p.dnats) > 0 {
		build = func(c *nftables.Conn, t *nftables.Table) {
			pre := c.AddChain(&nftables.Chain{Name: "prerouting", Table: t, Type: nftables.ChainTypeNAT,
				Hooknum: nftables.ChainHookPrerouting, Priority: nftables.ChainPriorityNATDest})
			for _, d := range p.dnats {
				c.AddRule(&nftables.Rule{Table: t, Chain: pre, Exprs: dnatExprs(d, p.DP.bridges)})
			}
		}
	}
	return InNetNS(p.DP.NS, func() error {
		if err := replaceTable(p.DP.table()+"_ports", build); err != nil {
			return fmt.Errorf("writing the port forwarding rules: %w", err)
		}
		return nil
	})
}

// dnatExprs is `iifname != BRIDGE... [ip daddr H] fib daddr type local
// meta l4proto P th dport N dnat to CTR:PORT`. Connections from the
// containers' own bridges are left to the proxy: DNAT without masquerade
// would have a container's sibling answer from an address it did not call.
func dnatExprs(d dnat, bridges []string) []expr.Any {
	proto := byte(unix.IPPROTO_TCP)
	if d.m.Proto == "udp" {
		proto = unix.IPPROTO_UDP
	}
	var ex []expr.Any
	for _, b := range bridges {
		ex = append(ex, ifname(expr.MetaKeyIIFNAME, b, false)...)
	}
	if d.m.HostIP.IsValid() {
		ex = append(ex,
			&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 16, Len: 4},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: d.m.HostIP.AsSlice()})
	} else {
		local := make([]byte, 4)
		binary.NativeEndian.PutUint32(local, unix.RTN_LOCAL)
		ex = append(ex,
			&expr.Fib{Register: 1, FlagDADDR: true, ResultADDRTYPE: true},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: local})
	}
	port := func(n uint16) []byte { b := make([]byte, 2); binary.BigEndian.PutUint16(b, n); return b }
	return append(ex,
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{proto}},
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: port(d.m.HostPort)},
		&expr.Immediate{Register: 1, Data: d.ctrIP.AsSlice()},
		&expr.Immediate{Register: 2, Data: port(d.m.CtrPort)},
		&expr.NAT{Type: expr.NATTypeDestNAT, Family: unix.NFPROTO_IPV4, RegAddrMin: 1, RegProtoMin: 2, Specified: true},
	)
}

// proxyTCP relays every connection accepted on l to target until stopped.
func proxyTCP(l *net.TCPListener, target string) func() {
	var wg sync.WaitGroup
	var mu sync.Mutex
	conns := map[net.Conn]bool{}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns[c] = true
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() { mu.Lock(); delete(conns, c); mu.Unlock(); c.Close() }()
				back, err := net.DialTimeout("tcp4", target, 5*time.Second)
				if err != nil {
					return
				}
				defer back.Close()
				splice(c.(*net.TCPConn), back.(*net.TCPConn))
			}()
		}
	}()
	return func() {
		l.Close()
		mu.Lock()
		for c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	}
}

// splice copies both ways (the kernel's splice between TCP sockets), half
// closing each direction when it ends. A direction that breaks just ends,
// as it would between the two ends without the proxy: the errors are
// theirs to see.
func splice(a, b *net.TCPConn) {
	done := make(chan struct{})
	go func() {
		_, _ = io.Copy(b, a)
		_ = b.CloseWrite()
		close(done)
	}()
	_, _ = io.Copy(a, b)
	_ = a.CloseWrite()
	<-done
}

// proxyUDP relays datagrams: one socket towards target per client address,
// dropped after a minute without traffic.
func proxyUDP(pc *net.UDPConn, target string) func() {
	raddr, _ := net.ResolveUDPAddr("udp4", target)
	var mu sync.Mutex
	flows := map[netip.AddrPort]*net.UDPConn{}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		buf := make([]byte, 65535)
		for {
			n, from, err := pc.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			mu.Lock()
			back, ok := flows[from]
			if !ok {
				back, err = net.DialUDP("udp4", nil, raddr)
				if err != nil {
					mu.Unlock()
					continue
				}
				flows[from] = back
				wg.Add(1)
				go func() {
					defer wg.Done()
					b := make([]byte, 65535)
					for {
						if err := back.SetReadDeadline(time.Now().Add(time.Minute)); err != nil {
							break
						}
						n, err := back.Read(b)
						if err != nil {
							break
						}
						// A datagram that cannot be relayed is lost, as UDP allows.
						_, _ = pc.WriteToUDPAddrPort(b[:n], from)
					}
					mu.Lock()
					delete(flows, from)
					mu.Unlock()
					back.Close()
				}()
			}
			mu.Unlock()
			_, _ = back.Write(buf[:n]) // lost, as UDP allows
		}
	}()
	return func() {
		pc.Close()
		mu.Lock()
		for _, c := range flows {
			// Wakes its relay, which closes it; one already closed is
			// on its way out.
			_ = c.SetReadDeadline(time.Now())
		}
		mu.Unlock()
		wg.Wait()
	}
}
