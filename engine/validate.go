package engine

import (
	"errors"
	"fmt"
	"net"
	"regexp"
	goruntime "runtime"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/skiff-dev/skiff/images"
	"github.com/skiff-dev/skiff/netslirp"
	"github.com/skiff-dev/skiff/opts"
)

// createExtras are what a create request says beside its body.
type createExtras struct {
	// platform is ?platform=os/arch[/variant], nil when not given.
	platform *v1.Platform
	// macAddress is the deprecated container-wide Config.MacAddress,
	// which the API types no longer hold.
	macAddress string
}

// validateConfig is the Docker daemon's check of a new container's
// configuration (daemon/container.go verifyContainerSettings and
// daemon_unix.go verifyPlatformContainerSettings), with its messages, and
// beyond Docker a refusal of control characters in what lands in the
// container's /etc files. It runs before anything is looked up or made.
func validateConfig(cfg *container.Config, hc *container.HostConfig, nc *network.NetworkingConfig) error {
	for _, env := range cfg.Env {
		if _, err := opts.ValidateEnv(env, nil); err != nil {
			return err
		}
	}
	if err := validateHealthcheck(cfg.Healthcheck); err != nil {
		return err
	}
	if err := opts.NoControl("hostname", cfg.Hostname); err != nil {
		return err
	}
	if err := opts.NoControl("domainname", cfg.Domainname); err != nil {
		return err
	}
	for _, h := range hc.ExtraHosts {
		if _, _, err := opts.ValidateExtraHostAPI(h); err != nil {
			return err
		}
	}
	for _, s := range hc.DNSSearch {
		if err := opts.NoControl("dns-search", s); err != nil {
			return err
		}
	}
	for _, o := range hc.DNSOptions {
		if err := opts.NoControl("dns-option", o); err != nil {
			return err
		}
	}
	for _, l := range hc.Links {
		if _, _, err := opts.ParseLink(l); err != nil {
			return err
		}
	}
	if nc != nil {
		for name, ep := range nc.EndpointsConfig {
			if err := checkEndpointNames(ep); err != nil {
				return fmt.Errorf("invalid config for network %s: %w", name, err)
			}
		}
	}
	if !hc.Isolation.IsValid() {
		return fmt.Errorf("invalid isolation (%s): linux only supports 'default'", hc.Isolation)
	}
	for k := range hc.Annotations {
		if k == "" {
			return errors.New("invalid Annotations: the empty string is not permitted as an annotation key")
		}
	}
	if err := validateNamespaceModes(hc); err != nil {
		return err
	}
	if hc.ShmSize < 0 {
		return errors.New("SHM size can not be less than 0")
	}
	if hc.OomScoreAdj < -1000 || hc.OomScoreAdj > 1000 {
		return fmt.Errorf("Invalid value %d, range for oom score adj is [-1000, 1000]", hc.OomScoreAdj)
	}
	switch hc.Runtime {
	// Docker's default runtime's names mean the default to clients
	// that copy a configuration from Docker.
	case "", defaultRuntime, "runc", "io.containerd.runc.v2":
	default:
		return fmt.Errorf("unknown or invalid runtime name: %s", hc.Runtime)
	}
	return nil
}

// defaultRuntime is the one runtime /info lists.
const defaultRuntime = "skiff"

// validateHealthcheck is the daemon's check of Config.Healthcheck.
func validateHealthcheck(h *container.HealthConfig) error {
	if h == nil {
		return nil
	}
	for _, d := range []struct {
		name string
		v    int64
	}{
		{"Interval", int64(h.Interval)}, {"Timeout", int64(h.Timeout)},
	} {
		if d.v != 0 && d.v < int64(container.MinimumDuration) {
			return fmt.Errorf("%s in Healthcheck cannot be less than %s", d.name, container.MinimumDuration)
		}
	}
	if h.Retries < 0 {
		return errors.New("Retries in Healthcheck cannot be negative")
	}
	for _, d := range []struct {
		name string
		v    int64
	}{
		{"StartPeriod", int64(h.StartPeriod)}, {"StartInterval", int64(h.StartInterval)},
	} {
		if d.v != 0 && d.v < int64(container.MinimumDuration) {
			return fmt.Errorf("%s in Healthcheck cannot be less than %s", d.name, container.MinimumDuration)
		}
	}
	return nil
}

// validateNamespaceModes refuses the IPC, PID, UTS, user and cgroup
// namespace modes Docker refuses, with its messages; and, beyond Docker,
// the valid ones skiff cannot honour (it would give the container a
// namespace of its own instead, silently).
func validateNamespaceModes(hc *container.HostConfig) error {
	if !hc.IpcMode.Valid() {
		return fmt.Errorf("invalid IPC mode: %v", hc.IpcMode)
	}
	if !hc.PidMode.Valid() {
		return fmt.Errorf("invalid PID mode: %v", hc.PidMode)
	}
	if !hc.UTSMode.Valid() {
		return fmt.Errorf("invalid UTS mode: %v", hc.UTSMode)
	}
	// The Docker daemon takes any user namespace mode; its CLI refuses
	// all but "" and host ("--userns: invalid USER mode").
	if !hc.UsernsMode.Valid() {
		return fmt.Errorf("invalid USER mode: %v", hc.UsernsMode)
	}
	if !hc.CgroupnsMode.Valid() {
		return fmt.Errorf("invalid cgroup namespace mode: %v", hc.CgroupnsMode)
	}
	switch {
	case hc.IpcMode.IsHost() || hc.IpcMode.IsContainer():
		return unsupportedMode("IPC", string(hc.IpcMode))
	case hc.PidMode.IsHost() || hc.PidMode.IsContainer():
		return unsupportedMode("PID", string(hc.PidMode))
	case hc.UTSMode.IsHost():
		return unsupportedMode("UTS", string(hc.UTSMode))
	}
	return nil
}

func unsupportedMode(kind, mode string) error {
	return fmt.Errorf("%s mode %q is not supported by skiff: the container would get a namespace of its own", kind, mode)
}

// checkSysctls is runc's check of HostConfig.Sysctls, which Docker
// answers with: only the sysctls of a namespace the container has of its
// own. A container always has its own IPC and UTS namespaces; its network
// namespace is the host's with --network host (or when it shares that of
// a container on the host's); rootless, it is in a user namespace.
func (e *Engine) checkSysctls(hc *container.HostConfig) error {
	if len(hc.Sysctls) == 0 {
		return nil
	}
	ns := opts.Namespaces{IPC: true, UTS: true, Net: !e.hostNetwork(hc), User: e.opt.Paths.Rootless}
	for k := range hc.Sysctls {
		if err := opts.CheckSysctl(k, ns); err != nil {
			return err
		}
	}
	return nil
}

// hostNetwork reports whether a container with hc would be in the
// host's network namespace: --network host, or container:X (and so on)
// with X there.
func (e *Engine) hostNetwork(hc *container.HostConfig) bool {
	mode := modeOf(hc)
	for range 16 {
		if !sharesNetNS(mode) {
			break
		}
		other, err := e.lookup(strings.TrimPrefix(mode, "container:"))
		if err != nil {
			return false
		}
		other.mu.Lock()
		mode = modeOf(other.rec.HostConfig)
		other.mu.Unlock()
	}
	return mode == netslirp.HostNetwork
}

// sysctlsOf are the sysctls to set in a container: Config.Domainname as
// kernel.domainname (as Docker sets it), then HostConfig.Sysctls, named
// with dots (net/ipv4/ip_forward is net.ipv4.ip_forward).
func sysctlsOf(cfg *container.Config, hc *container.HostConfig) map[string]string {
	if len(hc.Sysctls) == 0 && cfg.Domainname == "" {
		return nil
	}
	out := map[string]string{}
	if cfg.Domainname != "" {
		out["kernel.domainname"] = cfg.Domainname
	}
	for k, v := range hc.Sysctls {
		out[opts.SysctlDots(k)] = v
	}
	return out
}

// applyMacAddress is Docker's handling of the deprecated container-wide
// MacAddress for API clients before 1.44 (skiff speaks 1.41): it is the
// main network's endpoint's, which only a bridge or user-defined network
// has.
func applyMacAddress(mac string, hc *container.HostConfig, nc *network.NetworkingConfig) error {
	if mac == "" {
		return nil
	}
	mode := modeOf(hc)
	if mode == netslirp.HostNetwork || mode == netslirp.NoneNetwork || sharesNetNS(mode) {
		return errors.New("conflicting options: mac-address and the network mode")
	}
	hw, err := net.ParseMAC(mac)
	if err != nil {
		return fmt.Errorf("invalid config for network %s: invalid MAC address %s", mode, mac)
	}
	if nc.EndpointsConfig == nil {
		nc.EndpointsConfig = map[string]*network.EndpointSettings{}
	}
	ep := nc.EndpointsConfig[mode]
	if ep == nil && len(nc.EndpointsConfig) == 1 {
		// API < 1.44 has at most one endpoint: the main network's,
		// whatever it is keyed by ("default", the network's ID).
		for k, v := range nc.EndpointsConfig {
			if v == nil {
				v = &network.EndpointSettings{}
				nc.EndpointsConfig[k] = v
			}
			ep = v
		}
	}
	if ep == nil {
		ep = &network.EndpointSettings{}
		nc.EndpointsConfig[mode] = ep
	}
	if len(ep.MacAddress) > 0 && ep.MacAddress.String() != hw.String() {
		return errors.New("the container-wide MAC address must match the endpoint-specific MAC address for the main network, or be left empty")
	}
	ep.MacAddress = network.HardwareAddr(hw)
	return nil
}

// platformComponent is containerd's check of each part of a platform.
var platformComponent = regexp.MustCompile(`^[A-Za-z0-9_.-]+$`)

// parsePlatform reads ?platform= as Docker does (containerd's platforms
// package): os[/arch[/variant]], or a lone architecture.
func parsePlatform(s string) (*v1.Platform, error) {
	parts := strings.Split(s, "/")
	for _, part := range parts {
		if !platformComponent.MatchString(part) {
			return nil, fmt.Errorf("%q is an invalid component of %q: platform specifier component must match %q: invalid argument", part, s, platformComponent.String())
		}
	}
	p := &v1.Platform{}
	switch len(parts) {
	case 1:
		if os := strings.ToLower(parts[0]); knownOS[os] {
			p.OS, p.Architecture = os, normalizeArch(goruntime.GOARCH)
			return p, nil
		}
		p.Architecture, p.Variant = normalizeArchVariant(parts[0], "")
		if !knownArch[p.Architecture] {
			return nil, fmt.Errorf("%q: unknown operating system or architecture: invalid argument", s)
		}
		p.OS = "linux"
	case 2:
		p.OS = strings.ToLower(parts[0])
		p.Architecture, p.Variant = normalizeArchVariant(parts[1], "")
	case 3:
		p.OS = strings.ToLower(parts[0])
		p.Architecture, p.Variant = normalizeArchVariant(parts[1], parts[2])
	default:
		return nil, fmt.Errorf("%q: cannot parse platform specifier: invalid argument", s)
	}
	if p.OS == "macos" {
		p.OS = "darwin"
	}
	return p, nil
}

var knownOS = map[string]bool{
	"aix": true, "android": true, "darwin": true, "dragonfly": true, "freebsd": true, "hurd": true, "illumos": true,
	"ios": true, "js": true, "linux": true, "nacl": true, "netbsd": true, "openbsd": true, "plan9": true,
	"solaris": true, "windows": true, "zos": true,
}

var knownArch = map[string]bool{
	"386": true, "amd64": true, "amd64p32": true, "arm": true, "armbe": true, "arm64": true, "arm64be": true,
	"ppc64": true, "ppc64le": true, "loong64": true, "mips": true, "mipsle": true, "mips64": true, "mips64le": true,
	"mips64p32": true, "mips64p32le": true, "ppc": true, "riscv": true, "riscv64": true, "s390": true,
	"s390x": true, "sparc": true, "sparc64": true, "wasm": true,
}

func normalizeArch(a string) string { arch, _ := normalizeArchVariant(a, ""); return arch }

// normalizeArchVariant is containerd's spelling of an architecture.
func normalizeArchVariant(arch, variant string) (string, string) {
	arch, variant = strings.ToLower(arch), strings.ToLower(variant)
	switch arch {
	case "i386":
		return "386", ""
	case "x86_64", "x86-64", "amd64":
		if variant == "v1" {
			variant = ""
		}
		return "amd64", variant
	case "aarch64", "arm64":
		if variant == "8" || variant == "v8" || variant == "v8.0" {
			variant = ""
		}
		return "arm64", variant
	case "armhf":
		return "arm", "v7"
	case "armel":
		return "arm", "v6"
	}
	return arch, variant
}

// checkPlatform refuses an image whose platform is not the one asked
// for, with Docker's message (a 404).
func checkPlatform(img *images.Image, ref string, want *v1.Platform) error {
	if want == nil {
		return nil
	}
	have := v1.Platform{OS: img.Config.OS, Architecture: img.Config.Architecture, Variant: img.Config.Variant}
	if have.OS == want.OS && normalizeArch(have.Architecture) == want.Architecture &&
		(want.Variant == "" || have.Variant == want.Variant) {
		return nil
	}
	return errNotFound(fmt.Errorf("image with reference %s was found but its platform (%s) does not match the specified platform (%s)",
		ref, formatPlatform(have), formatPlatform(*want)))
}

// formatPlatform is containerd's FormatAll: os/arch[/variant].
func formatPlatform(p v1.Platform) string {
	s := p.OS + "/" + p.Architecture
	if p.Variant != "" {
		s += "/" + p.Variant
	}
	return s
}

// checkLinks resolves the legacy links of a container on the default
// bridge (or none) as Docker does at create: each must name a container
// that is not on the host's network.
func (e *Engine) checkLinks(hc *container.HostConfig) error {
	if mode := modeOf(hc); mode != netslirp.DefaultBridge && mode != netslirp.NoneNetwork {
		return nil
	}
	for _, l := range hc.Links {
		name, _, err := opts.ParseLink(l)
		if err != nil {
			return errInvalid(err)
		}
		if _, err := e.lookup(name); err != nil {
			return errInvalid(fmt.Errorf("could not get container for %s: %w", name, err))
		}
		if e.hostNetwork(&container.HostConfig{NetworkMode: container.NetworkMode("container:" + name)}) {
			return errInvalid(errConflictHostLinks)
		}
	}
	return nil
}

// checkEndpointNames refuses an endpoint's aliases and links that hold a
// control character (they become DNS names and /etc/hosts lines), and
// links Docker cannot parse.
func checkEndpointNames(ep *network.EndpointSettings) error {
	if ep == nil {
		return nil
	}
	for _, a := range ep.Aliases {
		if err := opts.NoControl("alias", a); err != nil {
			return err
		}
	}
	for _, l := range ep.Links {
		if _, _, err := opts.ParseLink(l); err != nil {
			return err
		}
	}
	return nil
}
