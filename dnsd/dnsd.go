// Package dnsd is the embedded DNS server that answers containers on
// user-defined networks at 127.0.0.11, like Docker's: container names and
// aliases are answered locally, everything else is forwarded upstream.
package dnsd

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"
)

// Resolver supplies the names a container may resolve. from is the ID of
// the container that asked (the socket it came in on). It must be safe for
// concurrent use.
type Resolver interface {
	// LookupHost returns the addresses of name (lower-case, no trailing
	// dot) as container from sees it: IPv4 addresses answer A queries, IPv6
	// ones AAAA queries. ok is false when name is no container, alias or
	// link it can see (then the query is forwarded upstream). The returned
	// slice is not modified.
	LookupHost(from, name string) (addrs []netip.Addr, ok bool)
	// LookupAddr returns the names (no trailing dot) of ip for a PTR query,
	// ok=false when ip is not a container address it can see (then the
	// query is forwarded).
	LookupAddr(from string, ip netip.Addr) (names []string, ok bool)
	// Upstreams returns the servers ("ip:port"; a bare ip means port 53) to
	// forward other queries to, tried in order.
	Upstreams(from string) []string
}

// Server answers DNS queries for containers. Its fields must not change
// once Serve has been called; one Server may serve many containers.
type Server struct {
	// Resolver supplies container names and upstream servers. Required.
	Resolver Resolver
	// TTL is the answer TTL for container names; 0 means 600 (Docker's).
	TTL uint32
	// Timeout bounds each exchange with one upstream; 0 means 2s.
	Timeout time.Duration
	// Dial, when set, creates the connection used to forward (network
	// "udp" or "tcp", address); the default is a net.Dialer. The engine
	// uses this to forward from another network namespace.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// MaxForwards bounds the queries of one Serve call being forwarded at
	// once; queries beyond it get SERVFAIL. 0 means 100.
	MaxForwards int
	// Logf, when set, reports failures to reach upstreams. The default
	// discards them.
	Logf func(format string, args ...any)
}

const (
	defaultTTL         = 600
	defaultTimeout     = 2 * time.Second
	defaultMaxForwards = 100
	// tcpIdleTimeout closes client TCP connections that send nothing.
	tcpIdleTimeout = 10 * time.Second
	// ednsSize is the UDP payload size advertised in replies to EDNS
	// queries.
	ednsSize = 1232
)

// udpBufs holds 64 KiB buffers for reading UDP replies from upstreams.
var udpBufs = sync.Pool{New: func() any { return new([dns.MaxMsgSize]byte) }}

// Serve answers queries arriving on pc (UDP) and l (TCP, may be nil) for
// container from, until Close is called on the returned io.Closer (which
// closes pc and l and waits for the goroutines). It returns at once. Queries
// for names the Resolver knows are answered in pc's read loop; the others
// are forwarded, each UDP one in its own goroutine.
func (s *Server) Serve(from string, pc net.PacketConn, l net.Listener) io.Closer {
	ctx, cancel := context.WithCancel(context.Background())
	slots := s.MaxForwards
	if slots <= 0 {
		slots = defaultMaxForwards
	}
	x := &session{
		s:      s,
		from:   from,
		pc:     pc,
		l:      l,
		ctx:    ctx,
		cancel: cancel,
		slots:  make(chan struct{}, slots),
		conns:  make(map[net.Conn]struct{}),
	}
	x.wg.Go(x.serveUDP)
	if l != nil {
		x.wg.Go(x.serveTCP)
	}
	return x
}

// session is one Serve call: the sockets of one container.
type session struct {
	s      *Server
	from   string
	pc     net.PacketConn
	l      net.Listener
	ctx    context.Context // cancelled by Close
	cancel context.CancelFunc
	slots  chan struct{} // one per query being forwarded
	wg     sync.WaitGroup

	mu     sync.Mutex
	conns  map[net.Conn]struct{} // open client TCP connections
	closed bool
	// lastLog and quiet rate-limit logf.
	lastLog time.Time
	quiet   int

	closeOnce sync.Once
	closeErr  error
}

// Close stops serving: it closes the sockets and client connections,
// cancels forwarded queries and waits for all goroutines to end.
func (x *session) Close() error {
	x.closeOnce.Do(func() {
		x.cancel()
		errs := []error{x.pc.Close()}
		if x.l != nil {
			errs = append(errs, x.l.Close())
		}
		x.mu.Lock()
		x.closed = true
		for c := range x.conns {
			c.Close()
		}
		x.mu.Unlock()
		x.wg.Wait()
		x.closeErr = errors.Join(errs...)
		if x.closeErr != nil {
			x.closeErr = fmt.Errorf("closing dns server for %s: %w", x.from, x.closeErr)
		}
	})
	return x.closeErr
}

func (x *session) serveUDP() {
	buf := make([]byte, dns.MaxMsgSize)
	for {
		n, addr, err := x.pc.ReadFrom(buf)
		if err != nil {
			return // closed
		}
		q, reply := x.answer(buf[:n])
		switch {
		case q == nil: // malformed: drop
		case reply != nil:
			x.writeUDP(reply, q, addr)
		case x.acquire():
			raw := bytes.Clone(buf[:n])
			x.wg.Go(func() {
				defer x.release()
				x.writeUDP(x.forward("udp", q, raw), q, addr)
			})
		default:
			x.writeUDP(failure(q, dns.RcodeServerFailure), q, addr)
		}
	}
}

// writeUDP sends reply to the query q, truncated to the size q allows.
func (x *session) writeUDP(reply []byte, q *dns.Msg, addr net.Addr) {
	if reply == nil {
		return
	}
	size := dns.MinMsgSize
	if opt := q.IsEdns0(); opt != nil && int(opt.UDPSize()) > size {
		size = int(opt.UDPSize())
	}
	if len(reply) > size {
		m := new(dns.Msg)
		if err := m.Unpack(reply); err != nil {
			return
		}
		m.Truncate(size)
		var err error
		if reply, err = m.Pack(); err != nil {
			return
		}
	}
	_, _ = x.pc.WriteTo(reply, addr) // a client gone away is no concern of ours
}

// maxTCPConns bounds one session's client TCP connections: more are
// closed at once, so one container cannot use up the engine's files.
const maxTCPConns = 64

func (x *session) serveTCP() {
	backoff := 5 * time.Millisecond
	for {
		c, err := x.l.Accept()
		if err != nil {
			if x.ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of files or the like: wait and try again, as net/http.
			select {
			case <-x.ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, time.Second)
			continue
		}
		backoff = 5 * time.Millisecond
		x.mu.Lock()
		if x.closed || len(x.conns) >= maxTCPConns {
			closed := x.closed
			x.mu.Unlock()
			c.Close()
			if closed {
				return
			}
			continue
		}
		x.conns[c] = struct{}{}
		x.mu.Unlock()
		x.wg.Go(func() { x.serveConn(c) })
	}
}

// serveConn answers the queries on one client TCP connection, in order.
func (x *session) serveConn(c net.Conn) {
	defer func() {
		x.mu.Lock()
		delete(x.conns, c)
		x.mu.Unlock()
		c.Close()
	}()
	for {
		if err := c.SetReadDeadline(time.Now().Add(tcpIdleTimeout)); err != nil {
			return
		}
		raw, err := readTCP(c)
		if err != nil {
			return
		}
		q, reply := x.answer(raw)
		switch {
		case q == nil: // malformed: drop
			continue
		case reply != nil:
		case x.acquire():
			reply = x.forward("tcp", q, raw)
			x.release()
		default:
			reply = failure(q, dns.RcodeServerFailure)
		}
		if reply == nil {
			continue
		}
		if err := c.SetWriteDeadline(time.Now().Add(tcpIdleTimeout)); err != nil {
			return
		}
		if err := writeTCP(c, reply); err != nil {
			return
		}
	}
}

func (x *session) acquire() bool {
	select {
	case x.slots <- struct{}{}:
		return true
	default:
		return false
	}
}

func (x *session) release() { <-x.slots }

// answer parses the query raw and answers it from the Resolver. It returns a
// nil q for a packet to drop, and a nil reply for a query to forward.
func (x *session) answer(raw []byte) (q *dns.Msg, reply []byte) {
	q = new(dns.Msg)
	if err := q.Unpack(raw); err != nil || q.Response {
		return nil, nil
	}
	if q.Opcode != dns.OpcodeQuery {
		return q, failure(q, dns.RcodeNotImplemented)
	}
	if len(q.Question) != 1 {
		return q, failure(q, dns.RcodeFormatError)
	}
	m := x.lookup(q)
	if m == nil {
		return q, nil
	}
	reply, err := m.Pack()
	if err != nil {
		return nil, nil
	}
	return q, reply
}

// lookup returns the local reply to q, or nil if q is to be forwarded.
func (x *session) lookup(q *dns.Msg) *dns.Msg {
	question := q.Question[0]
	if question.Qclass != dns.ClassINET {
		return nil
	}
	name := strings.ToLower(strings.TrimSuffix(question.Name, "."))
	ttl := x.s.TTL
	if ttl == 0 {
		ttl = defaultTTL
	}
	hdr := dns.RR_Header{Name: question.Name, Rrtype: question.Qtype, Class: dns.ClassINET, Ttl: ttl}

	if question.Qtype == dns.TypePTR {
		if ip, ok := parseReverse(name); ok {
			names, ok := x.s.Resolver.LookupAddr(x.from, ip)
			if !ok {
				return nil
			}
			m := newReply(q)
			for _, n := range names {
				m.Answer = append(m.Answer, &dns.PTR{Hdr: hdr, Ptr: dns.Fqdn(n)})
			}
			return m
		}
	}

	addrs, ok := x.s.Resolver.LookupHost(x.from, name)
	if !ok {
		return nil
	}
	m := newReply(q)
	for _, a := range addrs {
		a = a.Unmap()
		switch {
		case question.Qtype == dns.TypeA && a.Is4():
			m.Answer = append(m.Answer, &dns.A{Hdr: hdr, A: a.AsSlice()})
		case question.Qtype == dns.TypeAAAA && a.Is6():
			m.Answer = append(m.Answer, &dns.AAAA{Hdr: hdr, AAAA: a.AsSlice()})
		}
	}
	// Round robin between the containers sharing a name, as Docker does.
	rand.Shuffle(len(m.Answer), func(i, j int) {
		m.Answer[i], m.Answer[j] = m.Answer[j], m.Answer[i]
	})
	return m
}

// parseReverse returns the address named by "d.c.b.a.in-addr.arpa".
func parseReverse(name string) (netip.Addr, bool) {
	rest, ok := strings.CutSuffix(name, ".in-addr.arpa")
	if !ok {
		return netip.Addr{}, false
	}
	labels := strings.Split(rest, ".")
	if len(labels) != 4 {
		return netip.Addr{}, false
	}
	ip, err := netip.ParseAddr(labels[3] + "." + labels[2] + "." + labels[1] + "." + labels[0])
	return ip, err == nil
}

// newReply starts a successful, non-authoritative reply to q.
func newReply(q *dns.Msg) *dns.Msg {
	m := new(dns.Msg)
	m.SetReply(q)
	m.RecursionAvailable = true
	m.Compress = true
	if q.IsEdns0() != nil {
		m.SetEdns0(ednsSize, false)
	}
	return m
}

// failure returns a packed reply to q with rcode and no answers.
func failure(q *dns.Msg, rcode int) []byte {
	m := new(dns.Msg)
	m.SetRcode(q, rcode)
	m.RecursionAvailable = true
	b, err := m.Pack()
	if err != nil {
		return nil
	}
	return b
}

// forward sends the query raw (q unpacked) to the upstreams in turn and
// returns the first reply, with the client's ID, or SERVFAIL. network is
// the protocol the client used. raw is modified.
func (x *session) forward(network string, q *dns.Msg, raw []byte) []byte {
	// A fresh ID makes forged upstream replies harder to slip in.
	binary.BigEndian.PutUint16(raw, uint16(rand.Uint32()))
	for _, up := range x.s.Resolver.Upstreams(x.from) {
		if _, _, err := net.SplitHostPort(up); err != nil {
			up = net.JoinHostPort(up, "53")
		}
		reply, err := x.exchange(network, up, raw)
		if err != nil {
			x.logf("dnsd: %s: forwarding %s: %v", x.from, q.Question[0].Name, err)
			continue
		}
		if network == "udp" && reply[2]&0x02 != 0 { // TC
			tcp, err := x.exchange("tcp", up, raw)
			if err == nil {
				reply = tcp
			} else {
				x.logf("dnsd: %s: forwarding truncated %s: %v", x.from, q.Question[0].Name, err)
			}
		}
		binary.BigEndian.PutUint16(reply, q.Id)
		return reply
	}
	return failure(q, dns.RcodeServerFailure)
}

// exchange sends query to the upstream addr over network and returns its
// reply, at least a DNS header long with the query's ID.
func (x *session) exchange(network, addr string, query []byte) ([]byte, error) {
	timeout := x.s.Timeout
	if timeout <= 0 {
		timeout = defaultTimeout
	}
	ctx, cancel := context.WithTimeout(x.ctx, timeout)
	defer cancel()
	c, err := x.dial(ctx, network, addr)
	if err != nil {
		return nil, fmt.Errorf("dialing %s %s: %w", network, addr, err)
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.Close() }) // on Close or timeout
	defer stop()
	deadline, _ := ctx.Deadline()
	if err := c.SetDeadline(deadline); err != nil {
		return nil, fmt.Errorf("%s %s: %w", network, addr, err)
	}

	var reply []byte
	if network == "udp" {
		reply, err = exchangeUDP(c, query)
	} else {
		reply, err = exchangeTCP(c, query)
	}
	if err != nil {
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		return nil, fmt.Errorf("asking %s over %s: %w", addr, network, err)
	}
	return reply, nil
}

func (x *session) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	if x.s.Dial != nil {
		return x.s.Dial(ctx, network, addr)
	}
	var d net.Dialer
	return d.DialContext(ctx, network, addr)
}

// logf reports an upstream failure: the first one, then at most one a
// minute with the count of those left out, so that a container asking
// for names no upstream answers does not flood the engine's log.
func (x *session) logf(format string, args ...any) {
	if x.s.Logf == nil {
		return
	}
	x.mu.Lock()
	now := time.Now()
	if !x.lastLog.IsZero() && now.Sub(x.lastLog) < time.Minute {
		x.quiet++
		x.mu.Unlock()
		return
	}
	quiet := x.quiet
	x.lastLog, x.quiet = now, 0
	x.mu.Unlock()
	if quiet > 0 {
		format += fmt.Sprintf(" (and %d more upstream failures for %s in the last minute)", quiet, x.from)
	}
	x.s.Logf(format, args...)
}

var errBadReply = errors.New("malformed reply")

// exchangeUDP writes query to c and reads datagrams until the reply to it.
func exchangeUDP(c net.Conn, query []byte) ([]byte, error) {
	if _, err := c.Write(query); err != nil {
		return nil, err
	}
	buf := udpBufs.Get().(*[dns.MaxMsgSize]byte)
	defer udpBufs.Put(buf)
	for {
		n, err := c.Read(buf[:])
		if err != nil {
			return nil, err
		}
		if isReply(buf[:n], query) {
			return bytes.Clone(buf[:n]), nil
		}
		// A late or forged reply to something else: keep waiting.
	}
}

// exchangeTCP writes query to c and reads one reply.
func exchangeTCP(c net.Conn, query []byte) ([]byte, error) {
	if err := writeTCP(c, query); err != nil {
		return nil, err
	}
	reply, err := readTCP(c)
	if err != nil {
		return nil, err
	}
	if !isReply(reply, query) {
		return nil, errBadReply
	}
	return reply, nil
}

// isReply reports whether msg has a header that answers query.
func isReply(msg, query []byte) bool {
	const qr = 0x80
	return len(msg) >= 12 && msg[0] == query[0] && msg[1] == query[1] && msg[2]&qr != 0
}

// readTCP reads one length-prefixed DNS message.
func readTCP(c net.Conn) ([]byte, error) {
	var n [2]byte
	if _, err := io.ReadFull(c, n[:]); err != nil {
		return nil, err
	}
	msg := make([]byte, binary.BigEndian.Uint16(n[:]))
	if _, err := io.ReadFull(c, msg); err != nil {
		return nil, err
	}
	return msg, nil
}

// writeTCP writes msg with its length prefix in one write.
func writeTCP(c net.Conn, msg []byte) error {
	b := make([]byte, 2+len(msg))
	binary.BigEndian.PutUint16(b, uint16(len(msg)))
	copy(b[2:], msg)
	_, err := c.Write(b)
	return err
}
