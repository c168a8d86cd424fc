package engine

import (
	"bytes"
	"errors"
	"os"
	"strings"

	"go.podman.io/storage"

	"github.com/skiff-dev/skiff/runtime"

	"github.com/skiff-dev/skiff/opts"
)

// slirpDNS is the DNS forwarder slirp4netns offers rootless containers.
const slirpDNS = "10.0.2.3"

// writeEtcFiles writes the container's /etc/hostname, /etc/hosts and
// /etc/resolv.conf, which are bind-mounted over the image's. At start they
// are rewritten with the container's addresses and its links' lines.
func (e *Engine) writeEtcFiles(c *ctr, links []linked) error {
	c.mu.Lock()
	hostname := c.rec.Config.Hostname
	extra := c.rec.HostConfig.ExtraHosts
	ownIP := firstIP(c)
	c.mu.Unlock()
	if err := os.WriteFile(c.hostnamePath(), []byte(hostname+"\n"), 0o644); err != nil {
		return err
	}
	var hosts bytes.Buffer
	hosts.WriteString("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n" +
		"fe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n")
	for _, h := range extra {
		name, ip, ok := strings.Cut(h, ":")
		if n, i, eq := strings.Cut(h, "="); eq && (!ok || strings.Contains(i, ":")) {
			name, ip, ok = n, i, true
		}
		if ok {
			if ip == "host-gateway" {
				ip = e.hostGateway()
			}
			hosts.WriteString(ip + "\t" + name + "\n")
		}
	}
	hosts.Write(linkHosts(links))
	if ownIP != "" {
		hosts.WriteString(ownIP + "\t" + hostname + "\n")
	} else {
		hosts.WriteString("127.0.1.1\t" + hostname + "\n")
	}
	if err := os.WriteFile(c.hostsPath(), hosts.Bytes(), 0o644); err != nil {
		return err
	}
	return os.WriteFile(c.resolvConfPath(), e.resolvConf(c), 0o644)
}

// shareEtcFiles makes a --network container:X container use X's
// hostname, /etc/hosts and /etc/resolv.conf, as Docker does.
func (e *Engine) shareEtcFiles(c *ctr, spec *runtime.Spec) error {
	c.mu.Lock()
	mode := modeOf(c.rec.HostConfig)
	c.mu.Unlock()
	if !sharesNetNS(mode) {
		return nil
	}
	other, err := e.lookup(strings.TrimPrefix(mode, "container:"))
	if err != nil {
		return err
	}
	other.mu.Lock()
	spec.Hostname = other.rec.Config.Hostname
	other.mu.Unlock()
	for i, m := range spec.Mounts {
		switch m.Source {
		case c.resolvConfPath():
			spec.Mounts[i].Source = other.resolvConfPath()
		case c.hostnamePath():
			spec.Mounts[i].Source = other.hostnamePath()
		case c.hostsPath():
			spec.Mounts[i].Source = other.hostsPath()
		}
	}
	return nil
}

// resolvConf is the container's resolv.conf. On a user-defined network:
// the embedded DNS (127.0.0.11), as Docker. Elsewhere: --dns, the engine's
// dns setting, or the host's servers, with those on the host's loopback
// (unreachable from a container) replaced by slirp4netns's forwarder when
// rootless, or dropped as root. --dns-search and --dns-option replace the
// host's search and options lines.
func (e *Engine) resolvConf(c *ctr) []byte {
	c.mu.Lock()
	hc := c.rec.HostConfig
	var dns []string
	for _, a := range hc.DNS {
		dns = append(dns, a.String())
	}
	search, options := hc.DNSSearch, hc.DNSOptions
	c.mu.Unlock()
	servers, other := hostResolvConf(false)
	switch {
	case e.usesEmbeddedDNS(c):
		servers = []string{embeddedDNS}
		// As Docker: the container's own options first, then ndots:0.
		options = append(append([]string(nil), options...), "ndots:0")
	case len(dns) > 0:
		servers = dns
	case len(e.opt.Settings.DNS) > 0:
		servers = e.opt.Settings.DNS
	case e.opt.Paths.Rootless:
		servers = []string{slirpDNS}
	}
	var out bytes.Buffer
	for _, s := range servers {
		out.WriteString("nameserver " + s + "\n")
	}
	for _, o := range other {
		f := strings.Fields(o)
		if (f[0] == "search" || f[0] == "domain") && len(search) > 0 || f[0] == "options" && len(options) > 0 {
			continue
		}
		out.WriteString(o + "\n")
	}
	if len(search) > 0 {
		out.WriteString("search " + strings.Join(search, " ") + "\n")
	}
	if len(options) > 0 {
		out.WriteString("options " + strings.Join(options, " ") + "\n")
	}
	return out.Bytes()
}

func isNotExist(err error) bool {
	return errors.Is(err, storage.ErrContainerUnknown) || errors.Is(err, storage.ErrNotAContainer) || errors.Is(err, os.ErrNotExist)
}

// displayRef is a reference as Docker prints it in errors (busybox:latest).
func displayRef(ref string) string {
	named, err := opts.NormalizeImage(ref)
	if err != nil {
		return ref
	}
	return opts.FamiliarImage(named.String())
}
