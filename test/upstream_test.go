package test

import (
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/miekg/dns"
)

// upstream is the DNS server the tests own on the host's 127.0.0.1:53
// (UDP and TCP) for the whole run. Containers that look names up use
// --dns 127.0.0.1, so whatever the embedded DNS forwards ends here, never
// at a real resolver: it answers names under "outside.test." with
// 192.0.2.7 and everything else with SERVFAIL, and counts the queries.
var upstream struct {
	queries atomic.Int64
	mu      sync.Mutex
	names   []string
	servers []*dns.Server
}

// startUpstream binds 127.0.0.1:53; a port that is taken stops the run,
// since the queries would reach whatever resolver holds it.
func startUpstream() error {
	h := dns.HandlerFunc(func(w dns.ResponseWriter, q *dns.Msg) {
		upstream.queries.Add(1)
		m := new(dns.Msg)
		m.SetReply(q)
		if len(q.Question) == 1 {
			name := q.Question[0].Name
			upstream.mu.Lock()
			upstream.names = append(upstream.names, name)
			upstream.mu.Unlock()
			if strings.HasSuffix(name, "outside.test.") && q.Question[0].Qtype == dns.TypeA {
				rr, _ := dns.NewRR(name + " 60 IN A 192.0.2.7")
				m.Answer = append(m.Answer, rr)
			} else if !strings.HasSuffix(name, "outside.test.") {
				m.Rcode = dns.RcodeServerFailure
			}
		}
		_ = w.WriteMsg(m) // a client that gave up is what some tests make
	})
	pc, err := net.ListenPacket("udp4", "127.0.0.1:53")
	if err != nil {
		return fmt.Errorf("the tests' stand-in DNS upstream needs 127.0.0.1:53: %w", err)
	}
	l, err := net.Listen("tcp4", "127.0.0.1:53")
	if err != nil {
		pc.Close()
		return fmt.Errorf("the tests' stand-in DNS upstream needs 127.0.0.1:53: %w", err)
	}
	for _, s := range []*dns.Server{{PacketConn: pc, Handler: h}, {Listener: l, Handler: h}} {
		upstream.servers = append(upstream.servers, s)
		go func() {
			if err := s.ActivateAndServe(); err != nil {
				fmt.Fprintln(os.Stderr, "the tests' stand-in DNS upstream:", err)
			}
		}()
	}
	return nil
}

func stopUpstream() {
	for _, s := range upstream.servers {
		if err := s.Shutdown(); err != nil {
			fmt.Fprintln(os.Stderr, "stopping the tests' stand-in DNS upstream:", err)
		}
	}
}
