package netslirp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"time"

	rkclient "github.com/rootless-containers/rootlesskit/v3/pkg/api/client"
	"github.com/rootless-containers/rootlesskit/v3/pkg/port"
)

// PortMapping is one published port: HostIP:HostPort on the host to the
// container's CtrPort. An invalid HostIP means every address.
type PortMapping struct {
	Proto    string // tcp or udp
	HostIP   netip.Addr
	HostPort uint16 // 0 means a free one is picked
	CtrPort  uint16
}

// String is the mapping as ps shows it: 0.0.0.0:8080->80/tcp.
func (m PortMapping) String() string {
	ip := "0.0.0.0"
	if m.HostIP.IsValid() {
		ip = m.HostIP.String()
	}
	return fmt.Sprintf("%s:%d->%d/%s", ip, m.HostPort, m.CtrPort, m.Proto)
}

// Publisher publishes container ports on the host.
type Publisher interface {
	// Publish forwards m to ctrIP and returns m with its host port picked
	// and a function that removes the forward.
	Publish(ctrIP netip.Addr, m PortMapping) (PortMapping, func() error, error)
}

// FreePort returns a port on ip that nothing listens on now, from the
// kernel's ephemeral range, as Docker picks one for `-p CTR`.
func FreePort(proto string, ip netip.Addr) (uint16, error) {
	host := ""
	if ip.IsValid() {
		host = ip.String()
	}
	addr := net.JoinHostPort(host, "0")
	if proto == "udp" {
		c, err := net.ListenPacket("udp4", addr)
		if err != nil {
			return 0, err
		}
		defer c.Close()
		return uint16(c.LocalAddr().(*net.UDPAddr).Port), nil
	}
	l, err := net.Listen("tcp4", addr)
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return uint16(l.Addr().(*net.TCPAddr).Port), nil
}

// RootlessKitPublisher publishes through rootlesskit's builtin port
// driver: its parent listens on the host and its child dials the
// container's address inside skiff's network namespace, binding the
// client's own address (transparent source IP) for TCP.
type RootlessKitPublisher struct {
	// APISock is rootlesskit's API socket.
	APISock string
}

// Publish implements Publisher.
func (p *RootlessKitPublisher) Publish(ctrIP netip.Addr, m PortMapping) (PortMapping, func() error, error) {
	c, err := rkclient.New(p.APISock)
	if err != nil {
		return m, nil, err
	}
	pm := c.PortManager()
	// Picking a free port and binding it are two steps: retry if another
	// process took it in between.
	for try := 0; ; try++ {
		picked := m.HostPort == 0
		if picked {
			hp, err := FreePort(m.Proto, m.HostIP)
			if err != nil {
				return m, nil, err
			}
			m.HostPort = hp
		}
		spec := port.Spec{Proto: m.Proto + "4", ParentPort: int(m.HostPort), ChildIP: ctrIP.String(), ChildPort: int(m.CtrPort)}
		if m.HostIP.IsValid() {
			spec.ParentIP = m.HostIP.String()
		} else {
			spec.ParentIP = "0.0.0.0"
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		st, err := pm.AddPort(ctx, spec)
		cancel()
		if err != nil {
			if picked && try < 3 {
				m.HostPort = 0
				continue
			}
			return m, nil, err
		}
		id := st.ID
		return m, func() error {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			return pm.RemovePort(ctx, id)
		}, nil
	}
}

// ParseProto checks a port protocol as Docker does.
func ParseProto(p string) (string, error) {
	switch p {
	case "", "tcp":
		return "tcp", nil
	case "udp":
		return "udp", nil
	case "sctp":
		return "", errors.New("sctp ports are not supported by skiff")
	}
	return "", fmt.Errorf("invalid proto: %s", p)
}

// PortString is a port number as text.
func PortString(p uint16) string { return strconv.Itoa(int(p)) }
