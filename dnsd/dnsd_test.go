package dnsd

import (
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// fakeResolver answers from maps keyed by the asking container.
type fakeResolver struct {
	hosts     map[string]map[string][]netip.Addr // from → name → addresses
	ptrs      map[string]map[netip.Addr][]string // from → address → names
	upstreams []string
}

func (r *fakeResolver) LookupHost(from, name string) ([]netip.Addr, bool) {
	addrs, ok := r.hosts[from][name]
	return addrs, ok
}

func (r *fakeResolver) LookupAddr(from string, ip netip.Addr) ([]string, bool) {
	names, ok := r.ptrs[from][ip]
	return names, ok
}

func (r *fakeResolver) Upstreams(string) []string { return r.upstreams }

func addrs(ss ...string) []netip.Addr {
	var out []netip.Addr
	for _, s := range ss {
		out = append(out, netip.MustParseAddr(s))
	}
	return out
}

func newResolver(upstreams ...string) *fakeResolver {
	return &fakeResolver{
		hosts: map[string]map[string][]netip.Addr{
			"c1": {
				"web": addrs("172.18.0.2", "172.18.0.3", "172.18.0.4"),
				"db":  addrs("172.18.0.5"),
			},
			"c2": {
				"db":  addrs("172.19.0.9"),
				"api": addrs("172.19.0.10"),
			},
		},
		ptrs: map[string]map[netip.Addr][]string{
			"c1": {netip.MustParseAddr("172.18.0.5"): {"db", "db.net1"}},
		},
		upstreams: upstreams,
	}
}

// serve starts s for container from on fresh 127.0.0.1 sockets and returns
// the address it listens on (UDP and TCP share the port).
func serve(t *testing.T, s *Server, from string) string {
	t.Helper()
	pc, l := listenPair(t)
	c := s.Serve(from, pc, l)
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return pc.LocalAddr().String()
}

// listenPair listens on one random 127.0.0.1 port over UDP and TCP.
func listenPair(t testing.TB) (net.PacketConn, net.Listener) {
	t.Helper()
	for range 20 {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		l, err := net.Listen("tcp", pc.LocalAddr().String())
		if err == nil {
			return pc, l
		}
		pc.Close() // port taken over TCP: try another
	}
	t.Fatal("no free port for both UDP and TCP")
	return nil, nil
}

func query(t *testing.T, network, addr, name string, qtype uint16) *dns.Msg {
	t.Helper()
	q := new(dns.Msg)
	q.SetQuestion(name, qtype)
	c := &dns.Client{Net: network, Timeout: 5 * time.Second}
	r, _, err := c.Exchange(q, addr)
	if err != nil {
		t.Fatalf("querying %s %s over %s: %v", name, dns.TypeToString[qtype], network, err)
	}
	if r.Id != q.Id {
		t.Fatalf("reply ID %d, want %d", r.Id, q.Id)
	}
	return r
}

// answerAddrs returns the A records of r, in order.
func answerAddrs(t *testing.T, r *dns.Msg) []string {
	t.Helper()
	var out []string
	for _, rr := range r.Answer {
		a, ok := rr.(*dns.A)
		if !ok {
			t.Fatalf("answer %v is no A record", rr)
		}
		out = append(out, a.A.String())
	}
	return out
}

func TestRoundRobin(t *testing.T) {
	addr := serve(t, &Server{Resolver: newResolver()}, "c1")
	want := []string{"172.18.0.2", "172.18.0.3", "172.18.0.4"}
	firsts := map[string]bool{}
	for range 30 {
		r := query(t, "udp", addr, "web.", dns.TypeA)
		got := answerAddrs(t, r)
		if len(got) == 0 {
			t.Fatalf("no answer: %v", r)
		}
		firsts[got[0]] = true
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Fatalf("answers %v, want %v", got, want)
		}
	}
	if len(firsts) < 2 {
		t.Errorf("first answer was always %v over 30 queries", firsts)
	}
}

func TestKnownNames(t *testing.T) {
	addr := serve(t, &Server{Resolver: newResolver()}, "c1")
	tests := []struct {
		network string
		name    string
		qtype   uint16
		want    []string
	}{
		{"udp", "db.", dns.TypeA, []string{"172.18.0.5"}},
		{"udp", "DB.", dns.TypeA, []string{"172.18.0.5"}},
		{"udp", "WeB.", dns.TypeA, []string{"172.18.0.2", "172.18.0.3", "172.18.0.4"}},
		{"udp", "db.", dns.TypeAAAA, nil},
		{"udp", "db.", dns.TypeMX, nil},
		{"tcp", "db.", dns.TypeA, []string{"172.18.0.5"}},
		{"tcp", "web.", dns.TypeAAAA, nil},
	}
	for _, tt := range tests {
		t.Run(tt.network+"/"+tt.name+dns.TypeToString[tt.qtype], func(t *testing.T) {
			r := query(t, tt.network, addr, tt.name, tt.qtype)
			if r.Rcode != dns.RcodeSuccess || r.Authoritative || !r.RecursionAvailable {
				t.Fatalf("rcode %s aa %v ra %v, want NOERROR, not authoritative, recursion available",
					dns.RcodeToString[r.Rcode], r.Authoritative, r.RecursionAvailable)
			}
			got := answerAddrs(t, r)
			slices.Sort(got)
			if !slices.Equal(got, tt.want) {
				t.Fatalf("answers %v, want %v", got, tt.want)
			}
			for _, rr := range r.Answer {
				if h := rr.Header(); h.Ttl != 600 || h.Name != tt.name {
					t.Errorf("answer %v: want TTL 600 and name %s", rr, tt.name)
				}
			}
		})
	}
}

func TestTTL(t *testing.T) {
	addr := serve(t, &Server{Resolver: newResolver(), TTL: 5}, "c1")
	r := query(t, "udp", addr, "db.", dns.TypeA)
	if len(r.Answer) != 1 || r.Answer[0].Header().Ttl != 5 {
		t.Fatalf("answer %v, want one with TTL 5", r.Answer)
	}
}

func TestPTR(t *testing.T) {
	up := startUpstream(t)
	addr := serve(t, &Server{Resolver: newResolver(up.addr)}, "c1")

	r := query(t, "udp", addr, "5.0.18.172.IN-ADDR.ARPA.", dns.TypePTR)
	var got []string
	for _, rr := range r.Answer {
		ptr, ok := rr.(*dns.PTR)
		if !ok || ptr.Hdr.Ttl != 600 {
			t.Fatalf("answer %v, want PTR with TTL 600", rr)
		}
		got = append(got, ptr.Ptr)
	}
	if want := []string{"db.", "db.net1."}; !slices.Equal(got, want) {
		t.Errorf("PTR answers %v, want %v", got, want)
	}

	// An address that is no container's goes upstream.
	r = query(t, "udp", addr, "1.2.0.192.in-addr.arpa.", dns.TypePTR)
	if r.Rcode != dns.RcodeNameError {
		t.Errorf("unknown PTR: rcode %s, want NXDOMAIN from upstream", dns.RcodeToString[r.Rcode])
	}
}

func TestScoping(t *testing.T) {
	s := &Server{Resolver: newResolver()}
	addr1 := serve(t, s, "c1")
	addr2 := serve(t, s, "c2")
	for _, tt := range []struct{ addr, want string }{{addr1, "172.18.0.5"}, {addr2, "172.19.0.9"}} {
		got := answerAddrs(t, query(t, "udp", tt.addr, "db.", dns.TypeA))
		if !slices.Equal(got, []string{tt.want}) {
			t.Errorf("db on %s: %v, want %s", tt.addr, got, tt.want)
		}
	}
}

// upstream is a fake upstream DNS server.
type upstream struct {
	addr                   string
	udpQueries, tcpQueries atomic.Int32
}

// startUpstream serves, over UDP and TCP on one port, example.test. and
// big.test. (truncated over UDP) and NXDOMAIN for other names.
func startUpstream(t *testing.T) *upstream {
	t.Helper()
	pc, l := listenPair(t)
	up := &upstream{addr: pc.LocalAddr().String()}
	h := dns.HandlerFunc(func(w dns.ResponseWriter, q *dns.Msg) {
		_, udp := w.LocalAddr().(*net.UDPAddr)
		if udp {
			up.udpQueries.Add(1)
		} else {
			up.tcpQueries.Add(1)
		}
		r := new(dns.Msg)
		r.SetReply(q)
		a := func(ip string) {
			r.Answer = append(r.Answer, &dns.A{
				Hdr: dns.RR_Header{Name: q.Question[0].Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 30},
				A:   net.ParseIP(ip),
			})
		}
		switch strings.ToLower(q.Question[0].Name) {
		case "example.test.":
			a("192.0.2.1")
		case "big.test.":
			if udp {
				r.Truncated = true
			} else {
				a("192.0.2.2")
			}
		default:
			r.Rcode = dns.RcodeNameError
		}
		_ = w.WriteMsg(r) // a client that gave up waiting is what some tests make
	})
	for _, srv := range []*dns.Server{{PacketConn: pc, Handler: h}, {Listener: l, Handler: h}} {
		started := make(chan struct{})
		srv.NotifyStartedFunc = func() { close(started) }
		served := make(chan error, 1)
		go func() { served <- srv.ActivateAndServe() }()
		<-started
		t.Cleanup(func() {
			if err := srv.Shutdown(); err != nil {
				t.Errorf("stopping the upstream: %v", err)
			}
			if err := <-served; err != nil {
				t.Errorf("upstream: %v", err)
			}
		})
	}
	return up
}

// deadUpstream returns the address of a UDP socket that never replies.
func deadUpstream(t *testing.T) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	return pc.LocalAddr().String()
}

func TestForward(t *testing.T) {
	up := startUpstream(t)
	addr := serve(t, &Server{Resolver: newResolver(up.addr)}, "c1")
	for _, network := range []string{"udp", "tcp"} {
		t.Run(network, func(t *testing.T) {
			before := up.tcpQueries.Load()
			r := query(t, network, addr, "Example.Test.", dns.TypeA)
			if got := answerAddrs(t, r); r.Rcode != dns.RcodeSuccess || !slices.Equal(got, []string{"192.0.2.1"}) {
				t.Fatalf("example.test: rcode %s answers %v, want 192.0.2.1", dns.RcodeToString[r.Rcode], got)
			}
			if r.Answer[0].Header().Name != "Example.Test." {
				t.Errorf("answer name %s, want the query's case", r.Answer[0].Header().Name)
			}
			r = query(t, network, addr, "nope.test.", dns.TypeA)
			if r.Rcode != dns.RcodeNameError {
				t.Errorf("nope.test: rcode %s, want NXDOMAIN", dns.RcodeToString[r.Rcode])
			}
			// A name only other containers see is forwarded too.
			r = query(t, network, addr, "api.", dns.TypeA)
			if r.Rcode != dns.RcodeNameError {
				t.Errorf("api: rcode %s, want NXDOMAIN", dns.RcodeToString[r.Rcode])
			}
			wantTCP := before
			if network == "tcp" {
				wantTCP += 3
			}
			if got := up.tcpQueries.Load(); got != wantTCP {
				t.Errorf("upstream got %d TCP queries, want %d", got, wantTCP)
			}
		})
	}
}

func TestForwardTruncated(t *testing.T) {
	up := startUpstream(t)
	addr := serve(t, &Server{Resolver: newResolver(up.addr)}, "c1")
	r := query(t, "udp", addr, "big.test.", dns.TypeA)
	if got := answerAddrs(t, r); r.Truncated || !slices.Equal(got, []string{"192.0.2.2"}) {
		t.Errorf("big.test: truncated %v answers %v, want 192.0.2.2 fetched over TCP", r.Truncated, got)
	}
	if up.udpQueries.Load() != 1 || up.tcpQueries.Load() != 1 {
		t.Errorf("upstream got %d UDP and %d TCP queries, want 1 each", up.udpQueries.Load(), up.tcpQueries.Load())
	}
}

func TestTruncateLocal(t *testing.T) {
	res := newResolver()
	var many []netip.Addr
	for i := range 100 {
		many = append(many, netip.AddrFrom4([4]byte{10, 0, 0, byte(i)}))
	}
	res.hosts["c1"]["many"] = many
	addr := serve(t, &Server{Resolver: res}, "c1")

	r := query(t, "udp", addr, "many.", dns.TypeA)
	r.Compress = true
	if !r.Truncated || r.Len() > dns.MinMsgSize {
		t.Errorf("over UDP: truncated %v length %d, want truncated to 512", r.Truncated, r.Len())
	}
	r = query(t, "tcp", addr, "many.", dns.TypeA)
	if r.Truncated || len(r.Answer) != 100 {
		t.Errorf("over TCP: truncated %v with %d answers, want all 100", r.Truncated, len(r.Answer))
	}
}

func TestForwardFailover(t *testing.T) {
	up := startUpstream(t)
	timeout := 300 * time.Millisecond
	addr := serve(t, &Server{Resolver: newResolver(deadUpstream(t), up.addr), Timeout: timeout}, "c1")
	start := time.Now()
	r := query(t, "udp", addr, "example.test.", dns.TypeA)
	if got := answerAddrs(t, r); !slices.Equal(got, []string{"192.0.2.1"}) {
		t.Errorf("answers %v, want 192.0.2.1 from the second upstream", got)
	}
	if d := time.Since(start); d < timeout {
		t.Errorf("answered after %v, before the dead upstream timed out", d)
	}
}

func TestServfail(t *testing.T) {
	timeout := 200 * time.Millisecond
	tests := []struct {
		name      string
		upstreams []string
	}{
		{"none", nil},
		{"dead", []string{deadUpstream(t), deadUpstream(t)}},
		{"refused", []string{"127.0.0.1:1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr := serve(t, &Server{Resolver: newResolver(tt.upstreams...), Timeout: timeout}, "c1")
			start := time.Now()
			r := query(t, "udp", addr, "example.test.", dns.TypeA)
			if r.Rcode != dns.RcodeServerFailure {
				t.Errorf("rcode %s, want SERVFAIL", dns.RcodeToString[r.Rcode])
			}
			// Only that it does not hang: a loaded CI machine is slow.
			if d, limit := time.Since(start), time.Duration(len(tt.upstreams))*timeout+2*time.Second; d > limit {
				t.Errorf("SERVFAIL after %v, want within %v", d, limit)
			}
		})
	}
}

func TestMaxForwards(t *testing.T) {
	addr := serve(t, &Server{Resolver: newResolver(deadUpstream(t)), Timeout: 5 * time.Second, MaxForwards: 1}, "c1")
	// The first query holds the only forwarding slot.
	c, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	q := new(dns.Msg)
	q.SetQuestion("slow.test.", dns.TypeA)
	b, _ := q.Pack()
	if _, err := c.Write(b); err != nil {
		t.Fatal(err)
	}

	start := time.Now()
	r := query(t, "udp", addr, "example.test.", dns.TypeA)
	if r.Rcode != dns.RcodeServerFailure || time.Since(start) > time.Second {
		t.Errorf("rcode %s after %v, want SERVFAIL at once", dns.RcodeToString[r.Rcode], time.Since(start))
	}
	// Local names are still answered.
	if got := answerAddrs(t, query(t, "udp", addr, "db.", dns.TypeA)); len(got) != 1 {
		t.Errorf("db: %v, want one address", got)
	}
}

func TestBadQueries(t *testing.T) {
	addr := serve(t, &Server{Resolver: newResolver()}, "c1")
	c, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.SetDeadline(time.Now().Add(5 * time.Second)); err != nil {
		t.Fatal(err)
	}
	exchange := func(m *dns.Msg) *dns.Msg {
		t.Helper()
		b, err := m.Pack()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Write(b); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 512)
		n, err := c.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		r := new(dns.Msg)
		if err := r.Unpack(buf[:n]); err != nil {
			t.Fatal(err)
		}
		if r.Id != m.Id {
			t.Fatalf("reply ID %d, want %d", r.Id, m.Id)
		}
		return r
	}

	// Garbage and a stray response are dropped: the next reply read is
	// the one to the query that follows.
	stray := new(dns.Msg).SetQuestion("db.", dns.TypeA)
	stray.Response = true
	for _, junk := range [][]byte{{0x12}, []byte("\x00\x01junk junk junk junk"), mustPack(t, stray)} {
		if _, err := c.Write(junk); err != nil {
			t.Fatal(err)
		}
	}
	q := new(dns.Msg).SetQuestion("db.", dns.TypeA)
	if r := exchange(q); len(r.Answer) != 1 {
		t.Errorf("after junk: answers %v, want one", r.Answer)
	}

	noQuestion := &dns.Msg{MsgHdr: dns.MsgHdr{Id: 4242, RecursionDesired: true}}
	if r := exchange(noQuestion); r.Rcode != dns.RcodeFormatError {
		t.Errorf("no question: rcode %s, want FORMERR", dns.RcodeToString[r.Rcode])
	}
	update := new(dns.Msg).SetUpdate("db.")
	if r := exchange(update); r.Rcode != dns.RcodeNotImplemented {
		t.Errorf("update: rcode %s, want NOTIMP", dns.RcodeToString[r.Rcode])
	}
}

func mustPack(t *testing.T, m *dns.Msg) []byte {
	t.Helper()
	b, err := m.Pack()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestEDNS(t *testing.T) {
	addr := serve(t, &Server{Resolver: newResolver()}, "c1")
	q := new(dns.Msg).SetQuestion("db.", dns.TypeA)
	q.SetEdns0(4096, false)
	r, _, err := (&dns.Client{Timeout: 5 * time.Second}).Exchange(q, addr)
	if err != nil {
		t.Fatal(err)
	}
	if r.IsEdns0() == nil || len(r.Answer) != 1 {
		t.Errorf("reply %v, want an OPT record and one answer", r)
	}
}

// TestClose checks that Close stops every goroutine Serve started, even
// with a client TCP connection open and a query waiting on an upstream.
func TestClose(t *testing.T) {
	dead := deadUpstream(t)
	before := runtime.NumGoroutine()

	pc, l := listenPair(t)
	addr := pc.LocalAddr().String()
	c := (&Server{Resolver: newResolver(dead), Timeout: time.Minute}).Serve("c1", pc, l)

	query(t, "udp", addr, "db.", dns.TypeA)
	tcp, err := (&dns.Client{Net: "tcp", Timeout: 5 * time.Second}).Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer tcp.Close()
	if err := tcp.WriteMsg(new(dns.Msg).SetQuestion("db.", dns.TypeA)); err != nil {
		t.Fatal(err)
	}
	if _, err := tcp.ReadMsg(); err != nil {
		t.Fatal(err)
	}
	u, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	if _, err := u.Write(mustPack(t, new(dns.Msg).SetQuestion("slow.test.", dns.TypeA))); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond) // let the forward start

	start := time.Now()
	if err := c.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Close took %v", d)
	}
	if err := c.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}

	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("%d goroutines after Close, %d before:\n%s",
				runtime.NumGoroutine(), before, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}

	// And nothing answers any more.
	_, _, err = (&dns.Client{Timeout: 200 * time.Millisecond}).Exchange(new(dns.Msg).SetQuestion("db.", dns.TypeA), addr)
	if err == nil {
		t.Error("closed server answered")
	}
}

func BenchmarkQueryA(b *testing.B) {
	pc, l := listenPair(b)
	c := (&Server{Resolver: newResolver()}).Serve("c1", pc, l)
	defer c.Close()
	conn, err := net.Dial("udp", pc.LocalAddr().String())
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	benchQueries(b, conn)
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "queries/s")
}

func BenchmarkQueryParallel(b *testing.B) {
	pc, l := listenPair(b)
	c := (&Server{Resolver: newResolver()}).Serve("c1", pc, l)
	defer c.Close()
	b.RunParallel(func(p *testing.PB) {
		conn, err := net.Dial("udp", pc.LocalAddr().String())
		if err != nil {
			b.Error(err)
			return
		}
		defer conn.Close()
		q := webQuery(b)
		buf := make([]byte, 512)
		for p.Next() {
			if !roundTrip(b, conn, q, buf) {
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "queries/s")
}

// benchQueries sends queries on conn one after the other.
func benchQueries(b *testing.B, conn net.Conn) {
	q := webQuery(b)
	buf := make([]byte, 512)
	for b.Loop() {
		if !roundTrip(b, conn, q, buf) {
			return
		}
	}
}

// webQuery returns a packed A query for web.
func webQuery(b *testing.B) []byte {
	m := new(dns.Msg).SetQuestion("web.", dns.TypeA)
	q, err := m.Pack()
	if err != nil {
		b.Fatal(err)
	}
	return q
}

// roundTrip sends q on conn and reads the reply into buf.
func roundTrip(b *testing.B, conn net.Conn, q, buf []byte) bool {
	if _, err := conn.Write(q); err != nil {
		b.Error(err)
		return false
	}
	if err := conn.SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
		b.Error(err)
		return false
	}
	n, err := conn.Read(buf)
	if err != nil || n < 12 || buf[0] != q[0] || buf[1] != q[1] {
		b.Errorf("bad reply (%d bytes): %v", n, err)
		return false
	}
	return true
}

func TestDial(t *testing.T) {
	up := startUpstream(t)
	var dialed atomic.Value
	s := &Server{
		Resolver: newResolver("127.0.0.1:1", up.addr),
		Dial: func(ctx context.Context, network, addr string) (net.Conn, error) {
			dialed.Store(network + " " + addr)
			var d net.Dialer
			return d.DialContext(ctx, network, up.addr) // whatever was asked
		},
	}
	addr := serve(t, s, "c1")
	r := query(t, "tcp", addr, "example.test.", dns.TypeA)
	if got := answerAddrs(t, r); !slices.Equal(got, []string{"192.0.2.1"}) {
		t.Errorf("answers %v, want 192.0.2.1 through Dial", got)
	}
	if got, want := dialed.Load(), "tcp 127.0.0.1:1"; got != want {
		t.Errorf("dialed %q, want %q", got, want)
	}
}

// TestTCPConnectionCap: a session holds at most maxTCPConns client
// connections; more are closed at once, and once one of the held ones
// goes, a new client is served again.
func TestTCPConnectionCap(t *testing.T) {
	addr := serve(t, &Server{Resolver: newResolver()}, "c1")
	var held []net.Conn
	for range maxTCPConns {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, c)
	}
	defer func() {
		for _, c := range held {
			c.Close()
		}
	}()
	// Every held connection is registered before the next is accepted:
	// wait until one over the cap is refused.
	refused := false
	for deadline := time.Now().Add(5 * time.Second); !refused && time.Now().Before(deadline); {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.SetReadDeadline(time.Now().Add(time.Second)); err != nil {
			t.Fatal(err)
		}
		_, err = c.Read(make([]byte, 1))
		refused = errors.Is(err, io.EOF)
		c.Close()
	}
	if !refused {
		t.Fatalf("a connection over the cap of %d was not closed", maxTCPConns)
	}
	held[0].Close()
	held = held[1:]
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		q := new(dns.Msg)
		q.SetQuestion("web.", dns.TypeA)
		r, _, err := (&dns.Client{Net: "tcp", Timeout: time.Second}).Exchange(q, addr)
		if err == nil && len(r.Answer) == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no TCP client served after a held connection closed: %v %v", r, err)
		}
	}
}
