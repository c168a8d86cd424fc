package engine

import (
	"bufio"
	"bytes"
	"errors"
	"net"
	"os"
	"strings"

	"go.podman.io/storage"

	"github.com/skiff-dev/skiff/images"
)

// slirpDNS is the DNS forwarder slirp4netns offers rootless containers.
const slirpDNS = "10.0.2.3"

// writeEtcFiles writes the container's /etc/hostname, /etc/hosts and
// /etc/resolv.conf, which are bind-mounted over the image's.
func (e *Engine) writeEtcFiles(c *ctr) error {
	hostname := c.rec.Config.Hostname
	if err := os.WriteFile(c.hostnamePath(), []byte(hostname+"\n"), 0o644); err != nil {
		return err
	}
	var hosts bytes.Buffer
	hosts.WriteString("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n" +
		"fe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n")
	hosts.WriteString("127.0.1.1\t" + hostname + "\n")
	for _, h := range c.rec.HostConfig.ExtraHosts {
		name, ip, ok := strings.Cut(h, ":")
		if ok {
			hosts.WriteString(ip + "\t" + name + "\n")
		}
	}
	if err := os.WriteFile(c.hostsPath(), hosts.Bytes(), 0o644); err != nil {
		return err
	}
	return os.WriteFile(c.resolvConfPath(), e.resolvConf(c), 0o644)
}

// resolvConf is the host's resolv.conf, with nameservers on the host's
// loopback (unreachable from a container) replaced by slirp4netns's
// forwarder when rootless, or dropped as root.
func (e *Engine) resolvConf(c *ctr) []byte {
	var out bytes.Buffer
	dns := c.rec.HostConfig.DNS
	hostConf, _ := os.ReadFile("/etc/resolv.conf")
	var servers, other []string
	sc := bufio.NewScanner(bytes.NewReader(hostConf))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		f := strings.Fields(line)
		if len(f) >= 2 && f[0] == "nameserver" {
			ip := net.ParseIP(f[1])
			if ip != nil && ip.IsLoopback() {
				continue
			}
			servers = append(servers, f[1])
			continue
		}
		if len(f) >= 1 && (f[0] == "search" || f[0] == "options" || f[0] == "domain") {
			other = append(other, line)
		}
	}
	if len(dns) > 0 {
		servers = servers[:0]
		for _, a := range dns {
			servers = append(servers, a.String())
		}
	} else if e.opt.Paths.Rootless {
		servers = []string{slirpDNS}
	}
	for _, s := range servers {
		out.WriteString("nameserver " + s + "\n")
	}
	for _, o := range other {
		out.WriteString(o + "\n")
	}
	return out.Bytes()
}

func isNotExist(err error) bool {
	return errors.Is(err, storage.ErrContainerUnknown) || errors.Is(err, storage.ErrNotAContainer) || errors.Is(err, os.ErrNotExist)
}

// displayRef is a reference as Docker prints it in errors (busybox:latest).
func displayRef(ref string) string {
	named, err := images.Normalize(ref)
	if err != nil {
		return ref
	}
	return images.Familiar(named.String())
}
