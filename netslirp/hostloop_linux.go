package netslirp

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// SlirpHostAddr is slirp4netns's address for the host: traffic to it
// reaches the host's loopback when the engine allows that.
var SlirpHostAddr = netip.MustParseAddr("10.0.2.2")

// HostLoopback relays containers' TCP connections to the host's loopback
// (slirp4netns's host address, 10.0.2.2) in the engine, without slirp4netns's
// userspace TCP stack: a redirect rule in the bridges' namespace sends them
// to a listener there, and each is spliced to a connection the engine dials
// from the host's network namespace, where it runs, to 127.0.0.1 and the
// original port. UDP keeps going through slirp4netns.
type HostLoopback struct {
	l    *net.TCPListener
	wg   sync.WaitGroup
	port uint16
}

// StartHostLoopback listens in the bridges' namespace and installs the
// redirect (with the next SyncRules).
func (d *Dataplane) StartHostLoopback() (*HostLoopback, error) {
	var l net.Listener
	err := InNetNS(d.NS, func() error {
		var err error
		l, err = net.Listen("tcp4", "0.0.0.0:0")
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("host loopback relay: %w", err)
	}
	h := &HostLoopback{l: l.(*net.TCPListener), port: uint16(l.Addr().(*net.TCPAddr).Port)}
	d.mu.Lock()
	d.hostLoop = h
	d.mu.Unlock()
	h.wg.Add(1)
	go h.serve()
	return h, nil
}

func (h *HostLoopback) serve() {
	defer h.wg.Done()
	for {
		c, err := h.l.AcceptTCP()
		if err != nil {
			return
		}
		go h.relay(c)
	}
}

func (h *HostLoopback) relay(c *net.TCPConn) {
	defer c.Close()
	dst, err := originalDst(c)
	if err != nil || dst.Addr() != SlirpHostAddr {
		return
	}
	back, err := net.DialTimeout("tcp4", net.JoinHostPort("127.0.0.1", strconv.Itoa(int(dst.Port()))), 5*time.Second)
	if err != nil {
		return // the client sees the connection close, as slirp4netns's refusal
	}
	defer back.Close()
	splice(c, back.(*net.TCPConn))
}

// Close stops the relay; connections in progress end on their own.
func (h *HostLoopback) Close() error {
	err := h.l.Close()
	h.wg.Wait()
	return err
}

// originalDst is a redirected connection's destination before the
// redirect (SO_ORIGINAL_DST).
func originalDst(c *net.TCPConn) (netip.AddrPort, error) {
	raw, err := c.SyscallConn()
	if err != nil {
		return netip.AddrPort{}, err
	}
	var mreq *unix.IPv6Mreq
	var serr error
	err = raw.Control(func(fd uintptr) {
		// sockaddr_in fits the 16 bytes of an IPv6Mreq.
		mreq, serr = unix.GetsockoptIPv6Mreq(int(fd), unix.SOL_IP, unix.SO_ORIGINAL_DST)
	})
	if err != nil {
		return netip.AddrPort{}, err
	}
	if serr != nil {
		return netip.AddrPort{}, serr
	}
	b := mreq.Multiaddr
	return netip.AddrPortFrom(netip.AddrFrom4([4]byte{b[4], b[5], b[6], b[7]}), binary.BigEndian.Uint16(b[2:4])), nil
}
